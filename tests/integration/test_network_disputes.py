"""A running network catches a cheating trainer: a verifier re-executes every submission, the
dispute game localizes the fault on chain, the referee committee (three daemons, BLS votes on
chain, a 2-of-3 verdict) decides, the cheater is slashed and disqualified and the verifier paid.
Honest trainers are re-executed too and never disputed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from node.chain.disputes import FINAL_DELTA, Party, Stage
from node.roles.dispute import PartyAgent
from node.roles.referee import Member, RefereeNode
from node.roles.verifier import Verifier
from node.training.loop import TrainConfig
from tests.integration.conftest import make_harness
from verifier.dispute.bls import KeyPair


def test_a_cheating_trainer_is_caught_slashed_and_unpaid(tmp_path: Path) -> None:
    h = make_harness(tmp_path, TrainConfig(steps=6, backend="repops"), rounds=1, accounts=10)
    acc = h.accounts
    honest = [h.trainer(acc[2]), h.trainer(acc[3])]
    cheater = h.trainer(acc[4])
    cheater.fault = (3, 10)  # computes relu_grad of step 3 wrongly and carries on
    verifier = Verifier(h.net, h.store, acc[5], h.task_id, fraction=1.0, on_event=h.events.append)
    verifier.ensure_registered()
    referees = [RefereeNode(h.net, h.store, Member(a, KeyPair.from_seed(a.encode())), on_event=h.events.append) for a in acc[6:9]]
    for r in referees:
        r.ensure_registered()
    aggregator = h.aggregator()
    before = {a: h.net.registry.slashable_of(a) for a in acc[2:6]}
    balance = {a: h.net.token.balance_of(a) for a in acc[2:6]}

    steppers = [*(t.step for t in honest), cheater.step, verifier.step, *(r.step for r in referees), aggregator.step]
    h.run(steppers, trainers=3, max_ticks=300)

    games = h.net.disputes
    (d,) = games.all(h.task_id)
    dispute_id = d.dispute_id
    assert (d.defender, d.challenger, d.stage, d.winner) == (acc[4], acc[5], Stage.RESOLVED, Party.CHALLENGER)
    assert (d.step, d.op) == (3, 10) and d.slashed == before[acc[4]] // 2
    assert len(games.votes(dispute_id, 3)) >= 2 and len(games.evidence(dispute_id)) == 2
    checked = {e["trainer"]: e["reproduced"] for e in h.events if e["event"] == "checked"}
    assert checked == {acc[2]: True, acc[3]: True, acc[4]: False}
    # The cheater: slashed, disqualified, no reward. The verifier: paid half the slash, bond back.
    assert h.net.registry.slashable_of(acc[4]) == before[acc[4]] - d.slashed
    assert h.net.tasks.is_disqualified(h.task_id, 1, acc[4]) and not h.net.vault.has_claimed(h.task_id, 1, acc[4])
    assert h.net.token.balance_of(acc[5]) == balance[acc[5]] + d.slashed // 2
    # Honest trainers: untouched stakes, paid.
    for a in acc[2:4]:
        assert h.net.registry.slashable_of(a) == before[a]
        assert h.net.token.balance_of(a) > balance[a]
    assert h.net.tasks.is_finalized(h.task_id, 1)


def test_a_delta_that_is_not_the_trainers_trace_loses_a_delta_dispute(tmp_path: Path) -> None:
    """A trainer reveals its honest trace and final state but publishes its delta x10: the
    verifier reproduces the trace, not the delta CID, and opens a delta dispute; the referee
    daemons recompute params(S_K) - base from the final state and the booster loses."""
    h = make_harness(tmp_path, TrainConfig(steps=4, backend="repops"), rounds=1, accounts=10)
    acc = h.accounts
    honest = [h.trainer(acc[2]), h.trainer(acc[3])]
    booster = h.trainer(acc[4])
    booster.behaviour = "boosted"
    verifier = Verifier(h.net, h.store, acc[5], h.task_id, fraction=1.0, on_event=h.events.append)
    verifier.ensure_registered()
    referees = [RefereeNode(h.net, h.store, Member(a, KeyPair.from_seed(a.encode())), on_event=h.events.append) for a in acc[6:9]]
    for r in referees:
        r.ensure_registered()
    aggregator = h.aggregator()
    before = {a: h.net.registry.slashable_of(a) for a in acc[2:6]}
    balance = {a: h.net.token.balance_of(a) for a in acc[2:6]}

    steppers = [*(t.step for t in honest), booster.step, verifier.step, *(r.step for r in referees), aggregator.step]
    h.run(steppers, trainers=3, max_ticks=300)

    (d,) = h.net.disputes.all(h.task_id)
    assert (d.defender, d.challenger, d.stage, d.winner, d.cancelled) == (acc[4], acc[5], Stage.RESOLVED, Party.CHALLENGER, False)
    assert (d.step, d.op, d.moves) == (4, FINAL_DELTA, 0) and d.slashed == before[acc[4]] // 2
    checked = {e["trainer"]: e["reproduced"] for e in h.events if e["event"] == "checked"}
    assert checked == {acc[2]: True, acc[3]: True, acc[4]: False}
    assert h.net.tasks.is_disqualified(h.task_id, 1, acc[4])
    assert h.net.token.balance_of(acc[5]) == balance[acc[5]] + d.slashed // 2  # bond back, half the slash
    for a in acc[2:4]:
        assert h.net.registry.slashable_of(a) == before[a]
        assert h.net.token.balance_of(a) > balance[a]


def test_a_cheater_withholding_its_evidence_is_decided_on_the_challengers_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Attack (found by an attacker review): the cheating defender never posts its evidence.
    The referees decide on the challenger's evidence as soon as it checks out, long before the
    verdict deadline; they do not wait for the defender's (a cheater could squeeze the vote
    into the window's last minute and escape by cancellation)."""
    h = make_harness(tmp_path, TrainConfig(steps=4, backend="repops"), rounds=1, accounts=10)
    acc = h.accounts
    honest = [h.trainer(acc[2]), h.trainer(acc[3])]
    cheater = h.trainer(acc[4])
    cheater.fault = (2, 10)
    publish = PartyAgent._publish_evidence
    monkeypatch.setattr(PartyAgent, "_publish_evidence", lambda self, d, player: None if self.address == acc[4] else publish(self, d, player))
    verifier = Verifier(h.net, h.store, acc[5], h.task_id, fraction=1.0, on_event=h.events.append)
    verifier.ensure_registered()
    votes: list[dict[str, Any]] = []

    def record(event: dict[str, Any]) -> None:
        if event["event"] == "voted":  # when, against the dispute's verdict deadline
            now = int(h.net.w3.eth.get_block("latest")["timestamp"])
            votes.append({**event, "left": h.net.disputes.get(event["dispute"]).deadline - now})
        h.events.append(event)

    referees = [RefereeNode(h.net, h.store, Member(a, KeyPair.from_seed(a.encode())), on_event=record) for a in acc[6:9]]
    for r in referees:
        r.ensure_registered()
    aggregator = h.aggregator()
    before = h.net.registry.slashable_of(acc[4])
    h.run([*(t.step for t in honest), cheater.step, verifier.step, *(r.step for r in referees), aggregator.step], trainers=3, max_ticks=300)

    (d,) = h.net.disputes.all(h.task_id)
    assert (d.defender, d.stage, d.winner, d.cancelled) == (acc[4], Stage.RESOLVED, Party.CHALLENGER, False)
    assert list(h.net.disputes.evidence(d.dispute_id)) == [acc[5]]  # the challenger's only
    assert len(votes) >= 2 and all(v["left"] > h.net.disputes.params().verdict_duration // 2 for v in votes)
    assert h.net.registry.slashable_of(acc[4]) == before - d.slashed and h.net.tasks.is_disqualified(h.task_id, 1, acc[4])
