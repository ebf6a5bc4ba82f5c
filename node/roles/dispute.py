"""Playing disputes on chain: each party's moves, deadlines, evidence, the committee's verdict.

:class:`PartyAgent` is one party's side of its disputes, as the trainer (defender) and
verifier (challenger) daemons run it: answer the current query from its :class:`Player`,
publish its evidence for the located operator in the content store and its CID on chain, and
call ``timeout`` when the other side let a deadline pass. :class:`DisputeRunner` drives one
dispute with both parties and the committee in one process (``meritnet dispute simulate``,
tests); the committee there signs directly instead of through on-chain votes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from web3.types import TxReceipt

from node.chain.deploy import Network
from node.chain.disputes import INITIAL_STATE, Dispute, Party, Stage
from node.chain.transactor import Sender, address_of
from node.errors import ContractRevert, InvalidTensors
from node.roles.referee import Committee
from node.storage import ContentStore
from node.training.codec import decode_tensors, encode_tensors
from verifier.dispute.game import Adaptive, Player, Referee
from verifier.dispute.referee import Evidence

__all__ = ["PartyAgent", "DisputeRunner", "GasLog", "encode_evidence", "decode_evidence"]

logger = logging.getLogger(__name__)


def encode_evidence(evidence: Evidence) -> bytes:
    """Evidence as canonical safetensors: ``in<i>``, ``state/<name>`` and ``prefix`` (j x 32 bytes)."""
    tensors: dict[str, torch.Tensor] = {f"in{i}": t for i, t in enumerate(evidence.inputs)}
    tensors.update({f"state/{k}": v for k, v in (evidence.start_state or {}).items()})
    tensors["prefix"] = torch.tensor(list(b"".join(evidence.prefix)), dtype=torch.uint8).reshape(-1, 32)  # (0, 32) for operator 0
    return encode_tensors(tensors)


def decode_evidence(data: bytes) -> Evidence:
    """The inverse of :func:`encode_evidence`; anything else (a missing or mis-shaped prefix,
    gaps in the inputs, unknown names) is :class:`InvalidTensors`, never a crash."""
    tensors = decode_tensors(data, finite=False)
    prefix_t = tensors.pop("prefix", None)
    if prefix_t is None or prefix_t.dtype != torch.uint8 or prefix_t.dim() != 2 or prefix_t.shape[1] != 32:
        shown = "missing" if prefix_t is None else f"{prefix_t.dtype} {tuple(prefix_t.shape)}"
        raise InvalidTensors(f"evidence prefix must be uint8 of shape (j, 32), got {shown}")
    inputs_n = sum(1 for k in tensors if k.startswith("in"))
    if set(k for k in tensors if k.startswith("in")) != {f"in{i}" for i in range(inputs_n)}:
        raise InvalidTensors(f"evidence inputs must be named in0..in{inputs_n - 1}, got {sorted(k for k in tensors if k.startswith('in'))}")
    if unknown := sorted(k for k in tensors if not k.startswith(("in", "state/"))):
        raise InvalidTensors(f"unexpected evidence tensors {unknown}")
    prefix = [bytes(row.tolist()) for row in prefix_t]
    inputs = [tensors[f"in{i}"] for i in range(inputs_n)]
    state = {k.removeprefix("state/"): v for k, v in tensors.items() if k.startswith("state/")}
    return Evidence(prefix, inputs, state or None)


@dataclass
class GasLog:
    open: int = 0
    respond: int = 0
    moves: list[int] = field(default_factory=list)  # gas of each bisection move (both parties' posts; 0 for padding moves)
    chain_end: int = 0
    verdict: int = 0
    timeout: int = 0
    referee_seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.open + self.respond + sum(self.moves) + self.chain_end + self.verdict + self.timeout


class PartyAgent:
    """One party (defender or challenger) in its disputes."""

    def __init__(self, net: Network, sender: Sender, player_for: Callable[[Dispute], Player | None], *,
                 store: ContentStore | None = None, on_event: Callable[..., None] | None = None) -> None:  # fmt: skip
        self.net, self.sender, self.player_for, self.store = net, sender, player_for, store
        self.address = address_of(sender)
        self.emit = on_event or (lambda *_a, **_k: None)
        self.rejected = 0  # an adaptive liar's answers that failed their proofs

    def act(self, d: Dispute) -> TxReceipt | None:
        """This party's pending transaction for ``d``, if any (one per call)."""
        party = d.party_of(self.address)
        if party == Party.NONE or d.stage == Stage.RESOLVED:
            return None
        player = self.player_for(d)
        if player is None:
            return None
        now = int(self.net.w3.eth.get_block("latest")["timestamp"])
        if now > d.deadline:
            return self._claim_timeout(d, party)
        try:
            return self._move(d, party, player)
        except ContractRevert as exc:
            if exc.name in ("DisputeGameDeadlinePassed", "DisputeGameWrongStage", "DisputeGameAlreadyPosted"):
                return None  # the dispute moved on meanwhile (a deadline, the other party, a verdict)
            raise

    def _move(self, d: Dispute, party: Party, player: Player) -> TxReceipt | None:
        games = self.net.disputes
        if d.stage == Stage.AWAIT_DEFENDER:
            if party != Party.DEFENDER:
                return None
            first, last = player.anchor(0), player.anchor(d.steps)
            if first is None or last is None:
                return None
            self.emit("dispute-respond", dispute=d.dispute_id)
            return games.respond(self.sender, d.dispute_id, *first, *last)
        if d.stage == Stage.AWAIT_VERDICT:
            return self._publish_evidence(d, player)
        if d.has_posted(party):
            return None
        return self.answer(d, player, games.query(d.dispute_id))

    def answer(self, d: Dispute, player: Player, index: int) -> TxReceipt | None:
        games = self.net.disputes
        if d.stage == Stage.STEPS:
            if isinstance(player, Adaptive):
                value, proof = player.try_alt_state(index)
                if value != player.claim.states[index]:
                    try:
                        return games.post_state(self.sender, d.dispute_id, value, proof)
                    except ContractRevert as exc:
                        if exc.name != "DisputeGameInvalidProof":
                            raise
                        self.rejected += 1  # its other trace fails the proof; back to its own
            answer = player.state(index)
            return None if answer is None else games.post_state(self.sender, d.dispute_id, *answer)
        if d.stage == Stage.CHAIN_END:
            value = player.chain_end(d.step)
            return None if value is None else games.post_chain_end(self.sender, d.dispute_id, value)
        value = player.chain(d.step, index)
        return None if value is None else games.post_chain(self.sender, d.dispute_id, value)

    def _publish_evidence(self, d: Dispute, player: Player) -> TxReceipt | None:
        if self.store is None or d.op == INITIAL_STATE or self.address in self.net.disputes.evidence(d.dispute_id):
            return None
        evidence = player.evidence(d.step, d.op)
        if evidence is None:
            return None
        cid = self.store.put(encode_evidence(evidence))
        self.emit("dispute-evidence", dispute=d.dispute_id, cid=str(cid))
        return self.net.disputes.post_evidence(self.sender, d.dispute_id, bytes(cid))

    def _claim_timeout(self, d: Dispute, party: Party) -> TxReceipt | None:
        mine = d.has_posted(party) or (d.stage == Stage.AWAIT_DEFENDER and party == Party.CHALLENGER)
        if d.stage == Stage.AWAIT_VERDICT or mine:
            self.emit("dispute-timeout", dispute=d.dispute_id)
            return self.net.disputes.timeout(self.sender, d.dispute_id)
        return None


class DisputeRunner:
    """Drive dispute ``dispute_id`` with both parties and the committee, in one process."""

    def __init__(self, net: Network, dispute_id: int, parties: dict[Party, tuple[Sender, Player]], committee: Committee,
                 referee: Referee, *, keeper: Sender, pass_time: Callable[[int], None], gas: GasLog | None = None) -> None:  # fmt: skip
        self.net, self.dispute_id, self.committee, self.referee = net, dispute_id, committee, referee
        self.players = {party: player for party, (_, player) in parties.items()}
        self.agents = {party: PartyAgent(net, sender, lambda _d, p=player: p) for party, (sender, player) in parties.items()}
        self.keeper, self.pass_time = keeper, pass_time
        self.gas = gas or GasLog()
        self._move_gas = 0

    @property
    def rejected(self) -> int:
        return sum(agent.rejected for agent in self.agents.values())

    def run(self, max_rounds: int = 10_000) -> Dispute:
        for _ in range(max_rounds):
            d = self.net.disputes.get(self.dispute_id)
            if d.stage == Stage.RESOLVED:
                return d
            if not self._advance(d):
                self._wait_out(d)
        raise RuntimeError(f"dispute {self.dispute_id} did not resolve")

    def _advance(self, d: Dispute) -> bool:
        """One round of answers; False when nothing moved (someone stays silent)."""
        if d.stage == Stage.AWAIT_VERDICT:
            return self._verdict(d)
        for party in (Party.DEFENDER, Party.CHALLENGER):
            receipt = self.agents[party].act(self.net.disputes.get(d.dispute_id))
            if receipt is not None:
                self._count(d, int(receipt["gasUsed"]))
        after = self.net.disputes.get(d.dispute_id)
        if after.moves > d.moves:
            posted_move = d.stage in (Stage.STEPS, Stage.OPS)
            if posted_move:
                self.gas.moves.append(self._move_gas)
            self.gas.moves.extend([0] * (after.moves - d.moves - posted_move))  # decided in the padding, without posts
            self._move_gas = 0
        return (after.stage, after.moves, after.posted) != (d.stage, d.moves, d.posted)

    def _count(self, d: Dispute, gas: int) -> None:
        if d.stage == Stage.AWAIT_DEFENDER:
            self.gas.respond += gas
        elif d.stage == Stage.CHAIN_END:
            self.gas.chain_end += gas
        else:
            self._move_gas += gas

    def _verdict(self, d: Dispute) -> bool:
        # The parties hand in their evidence (their cost, not the referees').
        evidence = [] if d.op == INITIAL_STATE else [self.players[p].evidence(d.step, d.op) for p in (Party.DEFENDER, Party.CHALLENGER)]
        votes: dict[str, bytes] = {}
        for member in self.committee.members:  # each member recomputes on its own
            began = time.perf_counter()
            votes[address_of(member.sender)] = self.referee(d.step, d.op, d.start, d.agreed, evidence)
            self.gas.referee_seconds = time.perf_counter() - began
        verdict = self.committee.sign(int(self.net.w3.eth.chain_id), self.net.disputes.address, d, votes)
        receipt = self.net.disputes.submit_verdict(self.keeper, d.dispute_id, verdict.output_hash, verdict.signers, verdict.apk2, verdict.sigma)
        self.gas.verdict = int(receipt["gasUsed"])
        return True

    def _wait_out(self, d: Dispute) -> None:
        now = int(self.net.w3.eth.get_block("latest")["timestamp"])
        self.pass_time(max(1, d.deadline - now + 1))
        self.gas.timeout += int(self.net.disputes.timeout(self.keeper, d.dispute_id)["gasUsed"])
