"""The referee committee: BLS keys on chain, one-operator recomputation, signed verdicts.

Each member registers its key pair with a proof of possession. For a located operator each
member runs the referee's check on its own (:func:`make_referee`: fetch a party's evidence,
check it against the agreed hashes, recompute one operator with RepOps) and signs
``(chainId, game, disputeId, op, outputHash)``; signatures and G2 keys are summed and anyone
submits the verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from node.chain.contracts import Role
from node.chain.deploy import Network
from node.chain.disputes import Dispute, Stage
from node.chain.transactor import Sender, address_of
from node.errors import ContractRevert, MeritnetError
from node.roles.common import ensure_role
from node.storage import ContentStore, as_cid
from node.training.claims import delta_hash
from verifier.dispute.bls import (
    KeyPair,
    aggregate_g1,
    aggregate_g2,
    bn_point,
    bn_point2,
    g1_to_sol,
    g2_to_sol,
    signer_bitmap,
    verdict_message,
    verify_signature,
)
from verifier.dispute.game import INITIAL_STATE, Referee
from verifier.dispute.referee import FINAL_DELTA, Evidence, EvidenceRejected, ProgramOp, decide, decide_delta, initial_state_hash, optimizer_of
from verifier.errors import MeritnetError

__all__ = ["Member", "Committee", "RefereeNode", "make_referee", "NoValidEvidence"]

logger = logging.getLogger(__name__)


class NoValidEvidence(MeritnetError):
    """Neither party handed the referee evidence that checks out."""


@dataclass(frozen=True)
class Member:
    sender: Sender
    key: KeyPair


@dataclass
class Verdict:
    output_hash: bytes
    signers: int
    apk2: tuple
    sigma: tuple


class Committee:
    """Referee accounts and their BLS keys (each member signs only what it recomputed)."""

    def __init__(self, members: Sequence[Member]) -> None:
        self.members = list(members)
        self.indices: dict[str, int] = {}

    def register(self, net: Network, stake: int) -> None:
        """Register each member with at least the committee's stake floor (locked as its weight)."""
        stake = max(stake, net.committee.stake_floor())
        chain_id = int(net.w3.eth.chain_id)
        for m in self.members:
            address = address_of(m.sender)
            ensure_role(net, m.sender, Role.REFEREE, stake)
            index = net.committee.index_of(address)
            if index is None:
                pop = m.key.proof_of_possession(address, chain_id, net.committee.address)
                index, _ = net.committee.register_key(m.sender, g1_to_sol(m.key.pk1), g2_to_sol(m.key.pk2), g1_to_sol(pop))
            self.indices[address] = index

    def sign(self, chain_id: int, game: str, dispute: Dispute, votes: Mapping[str, bytes]) -> Verdict:
        """Aggregate the members' votes (address -> output hash) for the majority hash."""
        if not votes:
            raise NoValidEvidence(f"no referee could decide dispute {dispute.dispute_id}")
        tally: dict[bytes, list[Member]] = {}
        for m in self.members:
            vote = votes.get(address_of(m.sender))
            if vote is not None:
                tally.setdefault(vote, []).append(m)
        output_hash, signers = max(tally.items(), key=lambda item: len(item[1]))
        message = verdict_message(chain_id, game, dispute.vote_key, output_hash)
        sigma = aggregate_g1(m.key.sign(message) for m in signers)
        apk2 = aggregate_g2(m.key.pk2 for m in signers)
        bitmap = signer_bitmap([self.indices[address_of(m.sender)] for m in signers])
        return Verdict(output_hash, bitmap, g2_to_sol(apk2), g1_to_sol(sigma))


def make_referee(program: Sequence[ProgramOp], base: Mapping[str, torch.Tensor],
                 batch_for: Callable[[int], Mapping[str, torch.Tensor]], compression: str = "") -> Referee:  # fmt: skip
    """One referee's decision: the correct output hash of the located operator (``FINAL_DELTA``
    included: the delta compressed by the task's ``compression`` recipe), from the first
    party's evidence that checks out."""

    optimizer = optimizer_of(program)

    def referee(step: int, op: int, start: bytes, agreed: bytes, evidence: list[Evidence | None]) -> bytes:
        if op == INITIAL_STATE:
            return initial_state_hash(base, optimizer)
        reasons = []
        for item in evidence:
            if item is None:
                reasons.append("no evidence")
                continue
            try:
                if op == FINAL_DELTA:  # compress(params(S_K) - base), S_K the agreed (revealed) final state
                    return decide_delta(base, agreed, item, lambda delta: delta_hash(delta, compression))
                return decide(program, step, op, start, agreed, item, lambda: batch_for(step))
            except EvidenceRejected as exc:
                logger.info("evidence rejected: %s", exc)
                reasons.append(str(exc))
        raise NoValidEvidence(f"step {step} operator {op}: " + "; ".join(reasons))

    return referee


class RefereeNode:
    """A committee member's daemon: for every dispute awaiting a verdict, fetch the parties'
    evidence from the content store, decide on its own, publish its signed vote on chain; and
    once a threshold of votes agree, sum them into the verdict and submit it (whoever is first)."""

    def __init__(self, net: Network, store: ContentStore, member: Member, *, stake: int = 10**18,
                 on_event: Callable[[dict[str, Any]], None] | None = None, poll: float = 0.3) -> None:  # fmt: skip
        self.net, self.store, self.member, self.stake, self.poll = net, store, member, stake, poll
        self.address = address_of(member.sender)
        self._emit = on_event or (lambda _e: None)
        self.index: int | None = None
        self._data: dict[int, Any] = {}
        self._undecided: dict[int, frozenset[tuple[str, bytes]]] = {}  # dispute -> the evidence it could not decide on
        self._bad_votes: dict[int, set[tuple[int, bytes, tuple[int, int]]]] = {}  # dispute -> votes whose signature failed

    def emit(self, event: str, **fields: Any) -> None:
        self._emit({"role": "referee", "address": self.address, "task": None, "event": event, **fields})

    def ensure_registered(self) -> None:
        committee = Committee([self.member])
        committee.register(self.net, self.stake)
        self.index = committee.indices[self.address]

    def _referee_for(self, d: Dispute) -> Referee:
        from node.roles.common import TaskData
        from node.roles.reexec import run_inputs

        if d.task_id not in self._data:
            self._data[d.task_id] = TaskData(self.net, self.store, d.task_id)
        return run_inputs(self.net, self._data[d.task_id], d.task_id, d.round, d.defender).referee

    def _evidence(self, d: Dispute) -> list[Evidence | None]:
        from node.roles.dispute import decode_evidence

        out: list[Evidence | None] = []
        for party, cid in sorted(self.net.disputes.evidence(d.dispute_id).items(), key=lambda kv: kv[0] != d.defender):
            try:
                out.append(decode_evidence(self.store.get(as_cid(cid))))
            except (MeritnetError, ValueError) as exc:
                logger.info("evidence of %s unusable: %s", party, exc)
                out.append(None)
        return out

    def step(self) -> bool:
        games = self.net.disputes
        busy = False
        for d in games.all():
            if d.stage != Stage.AWAIT_VERDICT:
                busy = busy or d.stage != Stage.RESOLVED
                continue
            busy = True
            try:
                self._handle(d)
            except MeritnetError as exc:  # one dispute's trouble never stalls the others
                logger.warning("dispute %d: %s", d.dispute_id, exc)
                self.emit("error", dispute=d.dispute_id, reason=str(exc))
        return busy

    def _handle(self, d: Dispute) -> None:
        games, size = self.net.disputes, self.net.committee.size()
        if self.net.committee.index_at(self.address, games.snapshot_of(d.dispute_id)) is None:
            return  # joined after the dispute opened: not part of its snapshot
        votes = games.votes(d.dispute_id, size)
        if self.index not in votes:
            self._vote(d)
        else:
            self._submit(d, votes)

    def _vote(self, d: Dispute) -> None:
        # One party's evidence that checks out decides: its inputs are checked against the agreed
        # hashes, so the answer is the same whichever party it came from. Waiting for the other
        # party would let a cheater who withholds its evidence squeeze the vote to the deadline.
        posted = frozenset(self.net.disputes.evidence(d.dispute_id).items()) if d.op != INITIAL_STATE else frozenset()
        if d.op != INITIAL_STATE and (not posted or self._undecided.get(d.dispute_id) == posted):
            return  # nothing (new) to decide on yet
        evidence = [] if d.op == INITIAL_STATE else self._evidence(d)
        try:
            output_hash = self._referee_for(d)(d.step, d.op, d.start, d.agreed, evidence)
        except NoValidEvidence as exc:
            self._undecided[d.dispute_id] = posted
            self.emit("undecided", dispute=d.dispute_id, reason=str(exc))
            return
        message = verdict_message(int(self.net.w3.eth.chain_id), self.net.disputes.address, d.vote_key, output_hash)
        self.net.disputes.cast_vote(self.member.sender, d.dispute_id, output_hash, g1_to_sol(self.member.key.sign(message)))
        self.emit("voted", dispute=d.dispute_id, step=d.step, op=d.op, output_hash=output_hash.hex())

    def _submit(self, d: Dispute, votes: dict[int, tuple[bytes, tuple[int, int]]]) -> None:
        """Sum the leading votes into the verdict. Votes are taken on trust first (no pairing in
        the honest case); when the chain refuses the sum, each vote is checked on its own and
        the ones that do not verify are left out from then on, so one member storing a bad
        signature cannot block the verdict (found by an attacker review)."""
        bad = self._bad_votes.setdefault(d.dispute_id, set())
        votes = {i: v for i, v in votes.items() if (i, *v) not in bad}
        try:
            self._send_verdict(d, votes)
        except ContractRevert as exc:
            if exc.name != "DisputeGameInvalidVerdict":
                raise
            message_for = lambda h: verdict_message(int(self.net.w3.eth.chain_id), self.net.disputes.address, d.vote_key, h)  # noqa: E731
            for i, (output_hash, sigma) in votes.items():
                if not verify_signature(message_for(output_hash), bn_point(sigma), bn_point2(self.net.committee.member_g2(i))):
                    bad.add((i, output_hash, sigma))
            if not bad:
                raise
            self.emit("bad-votes", dispute=d.dispute_id, members=sorted(i for i, _, _ in bad))
            self._send_verdict(d, {i: v for i, v in votes.items() if (i, *v) not in bad})

    def _send_verdict(self, d: Dispute, votes: dict[int, tuple[bytes, tuple[int, int]]]) -> None:
        committee = self.net.committee
        snapshot = self.net.disputes.snapshot_of(d.dispute_id)
        weights = {i: committee.member(i).weight for i in votes}
        tally: dict[bytes, list[int]] = {}
        for index, (output_hash, _) in votes.items():
            tally.setdefault(output_hash, []).append(index)
        if not tally:
            return
        output_hash, signers = max(tally.items(), key=lambda kv: sum(weights[i] for i in kv[1]))
        if not committee.reaches_threshold(sum(weights[i] for i in signers), committee.total_weight_at(snapshot)):
            return
        sigma = aggregate_g1(bn_point(votes[i][1]) for i in signers)
        apk2 = aggregate_g2(bn_point2(committee.member_g2(i)) for i in signers)
        try:
            self.net.disputes.submit_verdict(self.member.sender, d.dispute_id, output_hash, signer_bitmap(signers), g2_to_sol(apk2), g1_to_sol(sigma))
        except ContractRevert as exc:
            if exc.name != "DisputeGameWrongStage":  # someone else submitted first
                raise
            return
        self.emit("verdict", dispute=d.dispute_id, output_hash=output_hash.hex(), signers=signers)
