"""The dispute game's rules off chain, and the players that answer its queries.

:func:`play` runs the same state machine as ``contracts/DisputeGame.sol`` (bisection over
steps with trace proofs, then over one step's operator prefix chain, then the referee) in
plain Python. It is the reference the contract is tested against, and it makes the
200-trial property test cheap. The on-chain driver (``node/roles/dispute.py``) asks the same
:class:`Player` objects for their moves.

Numbering is from 0: step t is ``S_t -> S_t+1``; operator j is the j-th call of that step,
``c_(j+1) = sha256(c_j || h_j)``; ``INITIAL_STATE`` as an operator means the parties
disagree on ``S_0`` itself.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from verifier.dispute.claims import TraceClaim
from verifier.dispute.referee import FINAL_DELTA, Evidence
from verifier.merkle import verify_trace_proof

__all__ = ["INITIAL_STATE", "FINAL_DELTA", "Player", "Honest", "Silent", "Adaptive", "Outcome", "play", "play_delta", "expected_moves"]

INITIAL_STATE = 2**32 - 1
Side = Literal["defender", "challenger"]
Stage = Literal["respond", "steps", "chain_end", "ops", "verdict"]


def expected_moves(steps: int, ops: int) -> int:
    """ceil(log2 K) + ceil(log2 M): the moves that localize a fault."""
    return math.ceil(math.log2(steps)) + math.ceil(math.log2(ops))


class Player:
    """Answers from its own committed trace (an honest party, or a liar whose run was faulty)."""

    def __init__(self, claim: TraceClaim) -> None:
        self.claim = claim

    def state(self, index: int) -> tuple[bytes, list[bytes]] | None:
        return self.claim.state(index)

    def anchor(self, index: int) -> tuple[bytes, list[bytes]] | None:
        """S_0 or S_K with its proof, when opening or answering a dispute."""
        return self.claim.state(index)

    def chain_end(self, step: int) -> bytes | None:
        return self.claim.chain(step)[-2]

    def chain(self, step: int, index: int) -> bytes | None:
        return self.claim.chain(step)[index]

    def evidence(self, step: int, op: int) -> Evidence | None:
        return self.claim.evidence(step, op)


Honest = Player


class Silent(Player):
    """Stops answering from ``stage`` on."""

    def __init__(self, claim: TraceClaim, stage: Stage) -> None:
        super().__init__(claim)
        self.stage = stage
        self.silenced = False

    def _live(self, stage: Stage) -> bool:
        order = ["respond", "steps", "chain_end", "ops", "verdict"]
        self.silenced = self.silenced or order.index(stage) >= order.index(self.stage)
        return not self.silenced

    def state(self, index: int) -> tuple[bytes, list[bytes]] | None:
        return super().state(index) if self._live("steps") else None

    def anchor(self, index: int) -> tuple[bytes, list[bytes]] | None:
        return super().anchor(index) if self._live("respond") else None

    def chain_end(self, step: int) -> bytes | None:
        return super().chain_end(step) if self._live("chain_end") else None

    def chain(self, step: int, index: int) -> bytes | None:
        return super().chain(step, index) if self._live("ops") else None

    def evidence(self, step: int, op: int) -> Evidence | None:
        return super().evidence(step, op) if self._live("verdict") else None


class Adaptive(Player):
    """A liar that answers each query from another trace (``alt``, e.g. the honest one) to look
    consistent: in phase 1 its answers fail their proofs against its committed root, so it has
    to fall back on its own values (``rejected`` counts the failed tries); in phase 2 nothing
    is committed up front, so it answers with ``alt``'s chain; and it hands the referee
    ``alt``'s evidence."""

    def __init__(self, claim: TraceClaim, alt: TraceClaim) -> None:
        super().__init__(claim)
        self.alt = alt
        self.rejected = 0

    def try_alt_state(self, index: int) -> tuple[bytes, list[bytes]]:
        return self.alt.state(index)

    def chain_end(self, step: int) -> bytes | None:
        return self.alt.chain(step)[-2]

    def chain(self, step: int, index: int) -> bytes | None:
        return self.alt.chain(step)[index]

    def evidence(self, step: int, op: int) -> Evidence | None:
        return self.alt.evidence(step, op)


def _pow2(n: int) -> int:
    p = 1
    while p < n:
        p *= 2
    return p


@dataclass
class Outcome:
    winner: Side | None
    loser: Side | None
    moves: int  # bisection moves, both phases (those decided in the padding included)
    step: int | None = None
    op: int | None = None
    reason: str = ""
    rejected_answers: int = 0


Referee = Callable[[int, int, bytes, bytes, list[Evidence | None]], bytes]


def _other(side: Side) -> Side:
    return "challenger" if side == "defender" else "defender"


def play(defender: Player, challenger: Player, ops: int, referee: Referee, *, defender_final: bytes | None = None) -> Outcome:
    """Run one dispute to its end. ``referee(step, op, start, agreed, evidence)`` returns the
    correct output hash of the located operator (``start`` = S_t, ``agreed`` = c_op) from the
    parties' evidence (defender's first)."""
    players = {"defender": defender, "challenger": challenger}
    roots = {side: p.claim.root for side, p in players.items()}
    k = challenger.claim.steps
    rejected = 0

    def anchored(side: Side, index: int) -> bytes | None:
        answer = players[side].anchor(index)
        return answer[0] if answer is not None and verify_trace_proof(answer[0], index, answer[1], roots[side]) else None

    def proven(side: Side, index: int) -> bytes | None:
        nonlocal rejected
        player = players[side]
        if isinstance(player, Adaptive):
            value, proof = player.try_alt_state(index)
            if value != player.claim.states[index]:
                if verify_trace_proof(value, index, proof, roots[side]):
                    return value  # unreachable for a binding tree; kept to mirror the contract
                rejected += 1  # the contract reverts this move; the liar falls back
        answer = player.state(index)
        if answer is None:
            return None
        value, proof = answer
        return value if verify_trace_proof(value, index, proof, roots[side]) else None

    def silent_loses(values: dict[Side, bytes | None], moves: int, stage: str) -> Outcome | None:
        missing = [s for s, v in values.items() if v is None]
        if not missing:
            return None
        loser: Side = "challenger" if len(missing) == 2 else missing[0]
        return Outcome(_other(loser), loser, moves, reason=f"{loser} silent at {stage}", rejected_answers=rejected)

    c_s0, c_sk = challenger.claim.states[0], challenger.claim.states[k]  # the challenger opened with these
    if c_sk == defender_final:
        raise ValueError("the challenger cannot open this dispute: the final states agree")
    d_s0, d_sk = anchored("defender", 0), anchored("defender", k)
    if d_s0 is None or d_sk is None:
        return Outcome("challenger", "defender", 0, reason="defender silent at respond")
    if defender_final is not None and d_sk != defender_final:
        return Outcome("challenger", "defender", 0, reason="the defender's trace does not end at its revealed final state")
    if d_s0 != c_s0:
        correct = referee(0, INITIAL_STATE, b"", b"", [])
        return _judge(correct, {"defender": d_s0, "challenger": c_s0}, 0, 0, INITIAL_STATE, rejected)
    if d_sk == c_sk:
        return Outcome("defender", "challenger", 0, reason="the traces agree", rejected_answers=rejected)

    moves, lo, hi = 0, 0, _pow2(k)
    agreed, high = c_s0, {"defender": d_sk, "challenger": c_sk}
    while hi - lo > 1:
        m = (lo + hi) // 2
        moves += 1
        if m >= k:  # padding: the disputed S_K; no posts
            hi = m
            continue
        values: dict[Side, bytes | None] = {s: proven(s, m) for s in ("defender", "challenger")}
        if (out := silent_loses(values, moves - 1, "steps")) is not None:
            return out
        if values["defender"] == values["challenger"]:
            lo, agreed = m, values["defender"]  # type: ignore[assignment]
        else:
            hi, high = m, values  # type: ignore[assignment]
    step, start = lo, agreed
    ends: dict[Side, bytes | None] = {s: players[s].chain_end(step) for s in ("defender", "challenger")}
    if (out := silent_loses(ends, moves, "chain_end")) is not None:
        return out
    high = {s: hashlib.sha256(ends[s] + high[s]).digest() for s in ("defender", "challenger")}  # type: ignore[operator]
    lo, hi = 0, _pow2(ops)
    while hi - lo > 1:
        m = (lo + hi) // 2
        moves += 1
        if m >= ops:
            hi = m
            continue
        values = {s: players[s].chain(step, m) for s in ("defender", "challenger")}
        if (out := silent_loses(values, moves - 1, "ops")) is not None:
            return out
        if values["defender"] == values["challenger"]:
            lo, agreed = m, values["defender"]  # type: ignore[assignment]
        else:
            hi, high = m, values  # type: ignore[assignment]
    correct = referee(step, lo, start, agreed, [defender.evidence(step, lo), challenger.evidence(step, lo)])
    expected = hashlib.sha256(agreed + correct).digest()
    return _judge(expected, high, moves, step, lo, rejected)


def play_delta(defender: Player, challenger: Player, referee: Referee, *, final: bytes, published: bytes, claimed: bytes) -> Outcome:
    """A dispute over the published delta (``IDisputeGame.openDelta``): ``final`` is the
    revealed S_K, ``published`` sha256 of the revealed delta CID, ``claimed`` the challenger's.
    No bisection: the referee decides ``FINAL_DELTA`` from the parties' final states."""
    if claimed == published:
        raise ValueError("the challenger cannot open this dispute: the delta hashes agree")
    k = challenger.claim.steps
    correct = referee(k, FINAL_DELTA, final, final, [defender.evidence(k, FINAL_DELTA), challenger.evidence(k, FINAL_DELTA)])
    return _judge(correct, {"defender": published, "challenger": claimed}, 0, k, FINAL_DELTA, 0)


def _judge(expected: bytes, high: dict[Side, bytes], moves: int, step: int, op: int, rejected: int) -> Outcome:
    if expected == high["defender"]:
        return Outcome("defender", "challenger", moves, step, op, "verdict", rejected)
    if expected == high["challenger"]:
        return Outcome("challenger", "defender", moves, step, op, "verdict", rejected)
    return Outcome(None, "defender", moves, step, op, "verdict: both wrong", rejected)
