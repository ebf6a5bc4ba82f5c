"""Typed clients for the dispute contracts: RefereeCommittee and DisputeGame."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Sequence

from web3.logs import DISCARD
from web3.types import TxReceipt

from node.chain.contracts import TaskConfig, _Client
from node.chain.transactor import Sender
from verifier.dispute.bls import G1Point, G2Point, vote_key

__all__ = ["Stage", "Party", "GameParams", "Dispute", "CommitteeMember", "RefereeCommittee", "DisputeGame", "INITIAL_STATE",
           "FINAL_DELTA", "max_dispute_duration", "max_round_duration"]  # fmt: skip

INITIAL_STATE = 2**32 - 1
FINAL_DELTA = 2**32 - 2  # the operator "delta = params(S_K) - base" (IDisputeGame.FINAL_DELTA)


class Stage(IntEnum):
    """IDisputeGame.Stage."""

    NONE = 0
    AWAIT_DEFENDER = 1
    STEPS = 2
    CHAIN_END = 3
    OPS = 4
    AWAIT_VERDICT = 5
    RESOLVED = 6


class Party(IntEnum):
    NONE = 0
    DEFENDER = 1
    CHALLENGER = 2


@dataclass(frozen=True)
class GameParams:
    """IDisputeGame.GameParams: the bond, move and verdict windows (seconds), slash and reward shares (basis points)."""

    bond: int = 10**18
    move_duration: int = 3600
    verdict_duration: int = 6 * 3600
    slash_bps: int = 5000
    reward_bps: int = 5000

    def as_tuple(self) -> tuple[int, ...]:
        return (self.bond, self.move_duration, self.verdict_duration, self.slash_bps, self.reward_bps)


def _log2_ceil(n: int) -> int:
    bits = 0
    while (1 << bits) < n:
        bits += 1
    return bits


def max_dispute_duration(steps: int, ops: int, params: GameParams) -> int:
    """Longest a dispute over a K-step, M-operator round stays open (DisputeGame.maxDisputeDuration):
    the defender's answer, ceil(log2 K) step moves, the chain end and ceil(log2 M) operator
    moves, one move window each, then the verdict window."""
    return params.move_duration * (2 + _log2_ceil(steps) + _log2_ceil(ops)) + params.verdict_duration


def max_round_duration(config: TaskConfig, params: GameParams) -> int:
    """Worst-case seconds from a round's opening until it can be finalized
    (DisputeGame.maxRoundDuration): the four phases, plus one dispute's longest life for a
    verifiable task (disputes open before the Score/Challenge deadline and run in parallel;
    no number of challengers extends it), assuming anyone calls ``advance`` and ``timeout``
    as soon as they can."""
    phases = config.commit_duration + config.reveal_duration + config.score_duration + config.challenge_duration
    if config.steps_per_round == 0:
        return phases
    return phases + max_dispute_duration(config.steps_per_round, config.ops_per_step, params)


@dataclass(frozen=True)
class CommitteeMember:
    """One committee slot (IRefereeCommittee.Member)."""

    index: int
    weight: int  # zero once slashed for equivocation
    joined: int
    left: int
    account: str
    left_at: int
    slashed: bool
    pk1: G1Point
    pk2: G2Point

    @property
    def active(self) -> bool:
        return self.left == 0


@dataclass(frozen=True)
class Dispute:
    dispute_id: int
    task_id: int
    round: int
    stage: Stage
    winner: Party
    cancelled: bool
    posted: int
    deadline: int
    defender: str
    challenger: str
    steps: int
    ops: int
    lo: int
    hi: int
    step: int
    op: int
    moves: int
    defender_root: bytes
    challenger_root: bytes
    agreed: bytes
    start: bytes
    defender_hi: bytes
    challenger_hi: bytes
    defender_post: bytes
    challenger_post: bytes
    revealed_final: bytes
    bond: int
    slashed: int

    def party_of(self, account: str) -> Party:
        if account.lower() == self.defender.lower():
            return Party.DEFENDER
        if account.lower() == self.challenger.lower():
            return Party.CHALLENGER
        return Party.NONE

    @property
    def vote_key(self) -> bytes:
        """What its referees sign besides the chain, the game and the output (IDisputeGame.voteKey)."""
        return vote_key(self.task_id, self.round, self.defender, self.challenger, self.step, self.op, self.start, self.agreed)

    def has_posted(self, party: Party) -> bool:
        return bool(self.posted & (1 if party == Party.DEFENDER else 2))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value.hex() if isinstance(value, bytes) else value.name.lower() if isinstance(value, IntEnum) else value
        op: int | str | None = None if self.op == INITIAL_STATE else "delta" if self.op == FINAL_DELTA else self.op
        out["located"] = {"step": self.step, "op": op} if self.stage >= Stage.AWAIT_VERDICT else None
        return out


class RefereeCommittee(_Client):
    """Stake-weighted BLS referee keys, per-dispute snapshots and the verdict check."""

    def register_key(self, sender: Sender, pk1: G1Point, pk2: G2Point, pop: G1Point) -> tuple[int, TxReceipt]:
        receipt = self._send(sender, "registerKey", pk1, pk2, pop)
        (event,) = self.contract.events.MemberAdded().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["index"]), receipt

    def leave(self, sender: Sender) -> TxReceipt:
        return self._send(sender, "leave")

    def exit(self, sender: Sender) -> TxReceipt:
        return self._send(sender, "exit")

    def bind_game(self, sender: Sender, game: str) -> TxReceipt:
        return self._send(sender, "bindGame", game)

    def prove_equivocation(self, sender: Sender, referee: str, key: bytes,
                           vote_a: tuple[bytes, G1Point], vote_b: tuple[bytes, G1Point]) -> TxReceipt:  # fmt: skip
        """Slash ``referee`` for two different output hashes signed for the question ``key`` (``Dispute.vote_key``)."""
        return self._send(sender, "proveEquivocation", referee, key, vote_a[0], vote_a[1], vote_b[0], vote_b[1])

    def verify(self, message: bytes, signers: int, apk2: G2Point, sigma: G1Point) -> bool:
        return bool(self._call("verify", message, signers, apk2, sigma))

    def verify_at(self, message: bytes, signers: int, apk2: G2Point, sigma: G1Point, snapshot: int) -> bool:
        return bool(self._call("verifyAt", message, signers, apk2, sigma, snapshot))

    def size(self) -> int:
        return int(self._call("size"))

    def version(self) -> int:
        return int(self._call("version"))

    def total_weight(self) -> int:
        return int(self._call("totalWeight"))

    def total_weight_at(self, snapshot: int) -> int:
        return int(self._call("totalWeightAt", snapshot))

    def stake_floor(self) -> int:
        return int(self._call("stakeFloor"))

    def leave_delay(self) -> int:
        return int(self._call("leaveDelay"))

    def game(self) -> str:
        return str(self._call("game"))

    def threshold(self) -> tuple[int, int]:
        """(numerator, denominator): a verdict needs signers carrying more than this share of the snapshot's weight."""
        return int(self._call("thresholdNumerator")), int(self._call("thresholdDenominator"))

    def reaches_threshold(self, weight: int, total: int) -> bool:
        num, den = self.threshold()
        return weight > 0 and weight * den > total * num

    def member(self, index: int) -> CommitteeMember:
        weight, joined, left, account, left_at, slashed, pk1, pk2 = self._call("memberInfo", index)
        return CommitteeMember(index, int(weight), int(joined), int(left), str(account), int(left_at), bool(slashed),
                               (int(pk1[0]), int(pk1[1])), (tuple(pk2[0]), tuple(pk2[1])))  # type: ignore[arg-type]  # fmt: skip

    def member_g2(self, index: int) -> G2Point:
        x, y = self._call("memberG2", index)
        return (tuple(x), tuple(y))  # type: ignore[return-value]

    def index_of(self, account: str) -> int | None:
        plus_one = int(self._call("indexOf", account))
        return plus_one - 1 if plus_one else None

    def index_at(self, account: str, snapshot: int) -> int | None:
        plus_one = int(self._call("indexAt", account, snapshot))
        return plus_one - 1 if plus_one else None


class DisputeGame(_Client):
    """Open, play and settle disputes over revealed submissions."""

    def open(self, sender: Sender, task_id: int, round_: int, defender: str, trace_root: bytes,
             s0: bytes, proof0: Sequence[bytes], s_k: bytes, proof_k: Sequence[bytes]) -> tuple[int, TxReceipt]:  # fmt: skip
        receipt = self._send(sender, "open", task_id, round_, defender, trace_root, s0, list(proof0), s_k, list(proof_k))
        (event,) = self.contract.events.DisputeOpened().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["disputeId"]), receipt

    def open_delta(self, sender: Sender, task_id: int, round_: int, defender: str, delta_cid: bytes, salt: bytes,
                   delta_hash: bytes) -> tuple[int, TxReceipt]:  # fmt: skip
        """Dispute ``defender``'s published delta (``delta_cid`` and ``salt`` as revealed):
        ``delta_hash`` is sha256 of the CID of the delta its revealed final state implies."""
        receipt = self._send(sender, "openDelta", task_id, round_, defender, delta_cid, salt, delta_hash)
        (event,) = self.contract.events.DisputeOpened().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["disputeId"]), receipt

    def respond(self, sender: Sender, dispute_id: int, s0: bytes, proof0: Sequence[bytes], s_k: bytes, proof_k: Sequence[bytes]) -> TxReceipt:
        return self._send(sender, "respond", dispute_id, s0, list(proof0), s_k, list(proof_k))

    def post_state(self, sender: Sender, dispute_id: int, value: bytes, proof: Sequence[bytes]) -> TxReceipt:
        return self._send(sender, "postState", dispute_id, value, list(proof))

    def post_chain_end(self, sender: Sender, dispute_id: int, before_last: bytes) -> TxReceipt:
        return self._send(sender, "postChainEnd", dispute_id, before_last)

    def post_chain(self, sender: Sender, dispute_id: int, value: bytes) -> TxReceipt:
        return self._send(sender, "postChain", dispute_id, value)

    def post_evidence(self, sender: Sender, dispute_id: int, cid: bytes) -> TxReceipt:
        return self._send(sender, "postEvidence", dispute_id, cid)

    def cast_vote(self, sender: Sender, dispute_id: int, output_hash: bytes, sigma: G1Point) -> TxReceipt:
        return self._send(sender, "castVote", dispute_id, output_hash, sigma)

    def evidence(self, dispute_id: int) -> dict[str, bytes]:
        """Party address -> evidence CID, for the parties that posted one."""
        d = self.get(dispute_id)
        found = {party: bytes(self._call("evidenceOf", dispute_id, party)) for party in (d.defender, d.challenger)}
        return {party: cid for party, cid in found.items() if cid}

    def votes(self, dispute_id: int, members: int) -> dict[int, tuple[bytes, G1Point]]:
        """Member index -> (output hash, signature) for the members (of ``members``) that voted."""
        out = {}
        for index in range(members):
            output_hash, sigma = self._call("voteOf", dispute_id, index)
            if bytes(output_hash) != b"\x00" * 32:
                out[index] = (bytes(output_hash), (int(sigma[0]), int(sigma[1])))
        return out

    def all(self, task_id: int | None = None) -> list[Dispute]:
        """Every dispute (of ``task_id``), read from storage (no log scans); resolved disputes
        never change, so they are read once."""
        cache: dict[int, Dispute] = self.__dict__.setdefault("_resolved", {})
        found = []
        for i in range(1, self.count() + 1):
            d = cache.get(i) or self.get(i)
            if d.stage == Stage.RESOLVED:
                cache[i] = d
            found.append(d)
        return [d for d in found if task_id is None or d.task_id == task_id]

    def submit_verdict(self, sender: Sender, dispute_id: int, output_hash: bytes, signers: int, apk2: G2Point, sigma: G1Point) -> TxReceipt:
        return self._send(sender, "submitVerdict", dispute_id, output_hash, signers, apk2, sigma)

    def timeout(self, sender: Sender, dispute_id: int) -> TxReceipt:
        return self._send(sender, "timeout", dispute_id)

    def get(self, dispute_id: int) -> Dispute:
        raw = self._call("getDispute", dispute_id)
        values = list(raw)
        values[2], values[3] = Stage(values[2]), Party(values[3])
        return Dispute(dispute_id, *[bytes(v) if isinstance(v, (bytes, bytearray)) else v for v in values])

    def vote_key(self, dispute_id: int) -> bytes:
        return bytes(self._call("voteKey", dispute_id))

    def worst_case_dispute_duration(self) -> int:
        return int(self._call("worstCaseDisputeDuration"))

    def query(self, dispute_id: int) -> int:
        return int(self._call("query", dispute_id))

    def count(self) -> int:
        return int(self._call("disputeCount"))

    def params(self) -> GameParams:
        return GameParams(*self._call("params"))

    def snapshot_of(self, dispute_id: int) -> int:
        return int(self._call("snapshotOf", dispute_id))

    def is_decided(self, task_id: int, round_: int, defender: str) -> bool:
        return bool(self._call("isDecided", task_id, round_, defender))

    def has_challenged(self, task_id: int, round_: int, defender: str, challenger: str) -> bool:
        return bool(self._call("hasChallenged", task_id, round_, defender, challenger))

    def max_dispute_duration(self, steps: int, ops: int) -> int:
        return int(self._call("maxDisputeDuration", steps, ops))

    def max_round_duration(self, task_id: int) -> int:
        return int(self._call("maxRoundDuration", task_id))
