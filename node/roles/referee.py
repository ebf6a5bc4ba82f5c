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

import torch

from node.chain.contracts import Role
from node.chain.deploy import Network
from node.chain.transactor import Sender, address_of
from node.roles.common import ensure_role
from verifier.dispute.bls import KeyPair, aggregate_g1, aggregate_g2, g1_to_sol, g2_to_sol, signer_bitmap, verdict_message
from verifier.dispute.game import INITIAL_STATE, Referee
from verifier.dispute.referee import Evidence, EvidenceRejected, ProgramOp, decide, initial_state_hash
from verifier.errors import MeritnetError

__all__ = ["Member", "Committee", "make_referee", "NoValidEvidence"]

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
        for m in self.members:
            address = address_of(m.sender)
            ensure_role(net, m.sender, Role.REFEREE, stake)
            index = net.committee.index_of(address)
            if index is None:
                pop = m.key.proof_of_possession(address)
                index, _ = net.committee.register_key(m.sender, g1_to_sol(m.key.pk1), g2_to_sol(m.key.pk2), g1_to_sol(pop))
            self.indices[address] = index

    def sign(self, chain_id: int, game: str, dispute_id: int, op: int, votes: Mapping[str, bytes]) -> Verdict:
        """Aggregate the members' votes (address -> output hash) for the majority hash."""
        if not votes:
            raise NoValidEvidence(f"no referee could decide dispute {dispute_id}")
        tally: dict[bytes, list[Member]] = {}
        for m in self.members:
            vote = votes.get(address_of(m.sender))
            if vote is not None:
                tally.setdefault(vote, []).append(m)
        output_hash, signers = max(tally.items(), key=lambda item: len(item[1]))
        message = verdict_message(chain_id, game, dispute_id, op, output_hash)
        sigma = aggregate_g1(m.key.sign(message) for m in signers)
        apk2 = aggregate_g2(m.key.pk2 for m in signers)
        bitmap = signer_bitmap([self.indices[address_of(m.sender)] for m in signers])
        return Verdict(output_hash, bitmap, g2_to_sol(apk2), g1_to_sol(sigma))


def make_referee(program: Sequence[ProgramOp], base: Mapping[str, torch.Tensor],
                 batch_for: Callable[[int], Mapping[str, torch.Tensor]]) -> Referee:  # fmt: skip
    """One referee's decision: the correct output hash of the located operator, from the first
    party's evidence that checks out."""

    def referee(step: int, op: int, start: bytes, agreed: bytes, evidence: list[Evidence | None]) -> bytes:
        if op == INITIAL_STATE:
            return initial_state_hash(base)
        reasons = []
        for item in evidence:
            if item is None:
                reasons.append("no evidence")
                continue
            try:
                return decide(program, step, op, start, agreed, item, lambda: batch_for(step))
            except EvidenceRejected as exc:
                logger.info("evidence rejected: %s", exc)
                reasons.append(str(exc))
        raise NoValidEvidence(f"step {step} operator {op}: " + "; ".join(reasons))

    return referee
