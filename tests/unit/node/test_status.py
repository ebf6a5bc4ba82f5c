"""The pure part of ``meritnet status``: the next action and the pending steps."""

from __future__ import annotations

from typing import Any

import pytest

from node.chain.contracts import Phase, Submission
from node.status import _pending, next_action

NONE = Submission(commitment=b"\x00" * 32, revealed=False, penalized=False, released=False, trace_root=b"", final_state_hash=b"")
COMMITTED = Submission(commitment=b"\x07" * 32, revealed=False, penalized=False, released=False, trace_root=b"", final_state_hash=b"")
REVEALED = Submission(commitment=b"\x07" * 32, revealed=True, penalized=False, released=False, trace_root=b"", final_state_hash=b"")


@pytest.mark.parametrize(
    ("phase", "sub", "entry", "unclaimed", "expected"),
    [
        (Phase.COMMIT, NONE, {}, 0, "train on its shard, store the delta and commit"),
        (Phase.COMMIT, NONE, {"delta_cid": "b"}, 0, "commit the journaled delta"),
        (Phase.COMMIT, COMMITTED, {"delta_cid": "b"}, 0, "wait for the reveal phase"),
        (Phase.REVEAL, COMMITTED, {"salt": "ab", "commitment": "07" * 32}, 0, "reveal the committed delta"),
        (Phase.REVEAL, COMMITTED, {}, 0, "cannot reveal: the journal holds no salt for this round"),
        (Phase.REVEAL, COMMITTED, {"salt": "ab", "commitment": "08" * 32}, 0, "cannot reveal: the journal's commitment differs from the chain's"),
        (Phase.REVEAL, NONE, {}, 0, "wait for the next round (no commitment this round)"),
        (Phase.REVEAL, REVEALED, {"salt": "ab"}, 0, "wait for the aggregator's scores"),
        (Phase.CHALLENGE, REVEALED, {}, 0, "wait for the challenge window to close"),
        (Phase.COMMIT, NONE, {}, 1, "train on its shard, store the delta and commit"),
        (Phase.FINALIZED, REVEALED, {}, 1, "claim the round's reward"),
    ],
)
def test_next_action_follows_the_trainers_step(phase: Phase, sub: Submission, entry: dict[str, Any], unclaimed: int, expected: str) -> None:
    assert next_action(registered=True, complete=False, phase=phase, submission=sub, entry=entry, unclaimed=unclaimed) == expected


def test_next_action_before_registration_and_after_completion() -> None:
    assert next_action(registered=False, complete=False, phase=Phase.COMMIT, submission=NONE, entry={}, unclaimed=0) == "register with a stake"
    assert next_action(registered=True, complete=True, phase=Phase.FINALIZED, submission=REVEALED, entry={}, unclaimed=2) == "claim the unclaimed rewards"
    assert next_action(registered=True, complete=True, phase=Phase.FINALIZED, submission=REVEALED, entry={}, unclaimed=0) == "nothing: the task is complete"


def test_a_journaled_commitment_the_chain_lacks_is_pending() -> None:
    assert _pending({"commitment": "07" * 32}, NONE) == ["commit (journaled, not on chain)"]
    assert _pending({"commitment": "07" * 32}, COMMITTED) == []
    assert _pending({"commitment": "07" * 32, "committed": True}, NONE) == []
