"""Playing a dispute on chain: each party's moves from its :class:`Player`, deadlines, the verdict.

:class:`DisputeRunner` drives one dispute to its end the way the daemons do: it reads the
dispute's stage, asks each party that has not posted for its answer and sends it, lets a
deadline pass when a party stays silent (then anyone may call ``timeout``), and, once the
fault is located, has every committee member decide on its own and submits the aggregate
verdict. Gas is recorded per transaction kind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from node.chain.deploy import Network
from node.chain.disputes import INITIAL_STATE, Dispute, Party, Stage
from node.chain.transactor import Sender, address_of
from node.errors import ContractRevert
from node.roles.referee import Committee
from verifier.dispute.game import Adaptive, Player, Referee

__all__ = ["DisputeRunner", "GasLog"]

logger = logging.getLogger(__name__)


@dataclass
class GasLog:
    open: int = 0
    respond: int = 0
    moves: list[int] = field(default_factory=list)  # gas of each posted bisection move (both parties)
    chain_end: int = 0
    verdict: int = 0
    timeout: int = 0
    referee_seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.open + self.respond + sum(self.moves) + self.chain_end + self.verdict + self.timeout


class DisputeRunner:
    """Drive dispute ``dispute_id`` with the two parties' players until it resolves."""

    def __init__(self, net: Network, dispute_id: int, parties: dict[Party, tuple[Sender, Player]], committee: Committee,
                 referee: Referee, *, keeper: Sender, pass_time: Callable[[int], None], gas: GasLog | None = None) -> None:  # fmt: skip
        self.net = net
        self.dispute_id = dispute_id
        self.parties = parties
        self.committee = committee
        self.referee = referee
        self.keeper = keeper
        self.pass_time = pass_time
        self.gas = gas or GasLog()
        self.start: bytes | None = None  # S_t of the located step, seen when phase 1 ends
        self.rejected = 0
        self._move_gas = 0

    def run(self, max_steps: int = 10_000) -> Dispute:
        for _ in range(max_steps):
            d = self.net.disputes.get(self.dispute_id)
            if d.stage == Stage.RESOLVED:
                return d
            if not self._advance(d):
                self._wait_out(d)
        raise RuntimeError(f"dispute {self.dispute_id} did not resolve")

    def _advance(self, d: Dispute) -> bool:
        """One round of answers; False when someone stayed silent."""
        if d.stage == Stage.AWAIT_DEFENDER:
            sender, player = self.parties[Party.DEFENDER]
            first, last = player.anchor(0), player.anchor(d.steps)
            if first is None or last is None:
                return False
            self.gas.respond += self._gas(self.net.disputes.respond(sender, d.dispute_id, *first, *last))
            return True
        if d.stage == Stage.AWAIT_VERDICT:
            return self._verdict(d)
        if d.stage == Stage.CHAIN_END:
            self.start = d.agreed
        before = d.moves
        index = self.net.disputes.query(d.dispute_id)
        answered = True
        for party in (Party.DEFENDER, Party.CHALLENGER):
            if d.has_posted(party):
                continue
            sender, player = self.parties[party]
            receipt = self._answer(d, sender, player, index)
            if receipt is None:
                answered = False
                continue
            gas = self._gas(receipt)
            if d.stage == Stage.CHAIN_END:
                self.gas.chain_end += gas
            else:
                self._move_gas += gas
        after = self.net.disputes.get(d.dispute_id)
        if d.stage in (Stage.STEPS, Stage.OPS) and after.moves > before:
            self.gas.moves.append(self._move_gas)
            self.gas.moves.extend([0] * (after.moves - before - 1))  # moves decided in the padding
            self._move_gas = 0
        elif d.stage == Stage.CHAIN_END and after.moves > before:
            self.gas.moves.extend([0] * (after.moves - before))
        return answered

    def _answer(self, d: Dispute, sender: Sender, player: Player, index: int):  # noqa: ANN202
        games = self.net.disputes
        if d.stage == Stage.STEPS:
            if isinstance(player, Adaptive):
                value, proof = player.try_alt_state(index)
                if value != player.claim.states[index]:
                    try:
                        return games.post_state(sender, d.dispute_id, value, proof)
                    except ContractRevert as exc:
                        if exc.name != "DisputeGameInvalidProof":
                            raise
                        self.rejected += 1  # its other trace fails the proof; back to its own
            answer = player.state(index)
            return None if answer is None else games.post_state(sender, d.dispute_id, *answer)
        if d.stage == Stage.CHAIN_END:
            value = player.chain_end(d.step)
            return None if value is None else games.post_chain_end(sender, d.dispute_id, value)
        value = player.chain(d.step, index)
        return None if value is None else games.post_chain(sender, d.dispute_id, value)

    def _verdict(self, d: Dispute) -> bool:
        # The parties hand in their evidence (uploaded on demand; their cost, not the referees').
        evidence = [] if d.op == INITIAL_STATE else [self.parties[p][1].evidence(d.step, d.op) for p in (Party.DEFENDER, Party.CHALLENGER)]
        votes: dict[str, bytes] = {}
        for member in self.committee.members:  # each member recomputes on its own
            began = time.perf_counter()
            votes[address_of(member.sender)] = self.referee(d.step, d.op, self.start or b"", d.agreed, evidence)
            self.gas.referee_seconds = time.perf_counter() - began
        verdict = self.committee.sign(int(self.net.w3.eth.chain_id), self.net.disputes.address, d.dispute_id, d.op, votes)
        receipt = self.net.disputes.submit_verdict(self.keeper, d.dispute_id, verdict.output_hash, verdict.signers, verdict.apk2, verdict.sigma)
        self.gas.verdict = self._gas(receipt)
        return True

    def _wait_out(self, d: Dispute) -> None:
        now = int(self.net.w3.eth.get_block("latest")["timestamp"])
        self.pass_time(max(1, d.deadline - now + 1))
        self.gas.timeout += self._gas(self.net.disputes.timeout(self.keeper, d.dispute_id))

    @staticmethod
    def _gas(receipt) -> int:  # noqa: ANN001
        return int(receipt["gasUsed"])
