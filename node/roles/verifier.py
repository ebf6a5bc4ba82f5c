"""The verifier daemon: re-execute submissions, dispute the ones that do not reproduce.

For a verifiable task (RepOps program, K and M on chain) the verifier re-runs a configured
fraction of each round's revealed submissions from public inputs (:mod:`node.roles.reexec`).
An honest run reproduces the trainer's final state hash bit for bit; one that does not is
disputed at once (bond from the verifier's balance), and the verifier then plays its side of
the dispute until it resolves. A run that reproduces the trace but whose published delta is not
``params(S_K) - base`` gets a delta dispute (``openDelta``), decided by the referees alone. Which submissions it checks is a deterministic draw from the
round seed, the trainer and the verifier, so a trainer cannot tell in advance.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from node.chain.contracts import Phase, Role
from node.chain.deploy import Network
from node.chain.disputes import Dispute, Stage
from node.chain.logs import logs_of
from node.chain.transactor import Sender, address_of
from node.errors import ContractRevert
from node.roles.common import TaskData, ensure_role, run_daemon
from node.roles.dispute import PartyAgent
from node.roles.reexec import run_inputs
from node.roles.waits import Waits
from node.storage import ContentStore
from node.training.claims import cid_hash, delta_hash
from verifier.dispute.referee import final_delta
from verifier.dispute.claims import TraceClaim
from verifier.dispute.game import Player

__all__ = ["Verifier"]

logger = logging.getLogger(__name__)


class Verifier:
    def __init__(self, net: Network, store: ContentStore, sender: Sender, task_id: int, *, fraction: float = 1.0, stake: int | None = None,
                 on_event: Callable[[dict[str, Any]], None] | None = None, poll: float = 0.3, accuse: str | None = None) -> None:  # fmt: skip
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be in [0, 1]")
        self.net, self.store, self.sender, self.task_id = net, store, sender, task_id
        self.address = address_of(sender)
        self.fraction, self.stake, self.poll = fraction, stake, poll
        # A dishonest verifier for tests and the demo: accuses this trainer with a fabricated run.
        self.accuse = accuse
        self.data = TaskData(net, store, task_id)
        self._emit = on_event or (lambda _e: None)
        self.waits = Waits(self.emit)
        self.checked: dict[tuple[int, str], bool] = {}  # (round, trainer) -> reproduced
        self.claims: dict[tuple[int, str], TraceClaim] = {}
        self.reported: set[int] = set()
        self._revealed: dict[int, list[Any]] = {}
        self.scores_checked: dict[int, bool | None] = {}
        self.agent = PartyAgent(net, sender, self._player, store=store, on_event=lambda e, **f: self.emit(e, **f))

    def emit(self, event: str, **fields: Any) -> None:
        self._emit({"role": "verifier", "address": self.address, "task": self.task_id, "event": event, **fields})

    def ensure_registered(self) -> None:
        minimum = max(self.net.registry.min_stake(), 1)
        if ensure_role(self.net, self.sender, Role.VERIFIER, minimum, self.stake) is not None:
            self.emit("registered")

    def selected(self, round_: int, trainer: str) -> bool:
        seed = self.net.tasks.get_round(self.task_id, round_).seed
        draw = hashlib.sha256(b"verify" + seed + bytes.fromhex(trainer[2:]) + bytes.fromhex(self.address[2:])).digest()
        return int.from_bytes(draw[:8], "big") < self.fraction * 2**64

    def _player(self, d: Dispute) -> Player | None:
        claim = self.claims.get((d.round, d.defender))
        return Player(claim) if claim is not None else None

    def _check_round(self, round_: int) -> None:
        if round_ not in self._revealed:  # reveals are closed once the round is scored: read them once
            logs = logs_of(self.net.w3, self.net.tasks.contract, "Revealed", self.net.deployment.contracts["TaskManager"].block)
            self._revealed[round_] = [e for e in logs if e["args"]["taskId"] == self.task_id and e["args"]["round"] == round_]
        for event in self._revealed[round_]:
            trainer = str(event["args"]["trainer"])
            key = (round_, trainer)
            if key in self.checked or trainer == self.address or not (self.selected(round_, trainer) or trainer == self.accuse):
                continue
            inputs = run_inputs(self.net, self.data, self.task_id, round_, trainer)
            claim = inputs.claim((inputs.config.steps // 2, 3) if trainer == self.accuse else None)
            same_final = claim.states[-1] == bytes(event["args"]["finalStateHash"])
            reproduced = same_final and claim.root == bytes(event["args"]["traceRoot"])
            expected_delta = delta_hash(final_delta(inputs.base, claim.final_state()), inputs.config.compression)
            same_delta = expected_delta == cid_hash(bytes(event["args"]["deltaCid"]))
            self.checked[key] = reproduced and same_delta
            self.emit("checked", round=round_, trainer=trainer, reproduced=reproduced and same_delta)
            if not same_final:
                self.claims[key] = claim
                self._open(round_, trainer, claim)
            elif not same_delta:  # the trace may even match: the delta is not the one it implies
                self.claims[key] = claim
                self._open_delta(round_, trainer, bytes(event["args"]["deltaCid"]), bytes(event["args"]["salt"]), expected_delta)

    def check_scores(self, round_: int) -> bool | None:
        """Recompute the round's scores table as the aggregator must have; whether its root is
        the posted one (None before the aggregator posted)."""
        rnd = self.net.tasks.get_round(self.task_id, round_)
        if rnd.scores_root == b"\x00" * 32:
            return None
        from node.roles.aggregator import Aggregator

        _, tree, _, _ = Aggregator(self.net, self.store, self.net.tasks.aggregator_of(self.task_id), self.task_id).compute(round_)
        same = tree.root == rnd.scores_root
        self.emit("scores-reproduced" if same else "scores-mismatch", round=round_, root=rnd.scores_root.hex())
        return same

    def _open(self, round_: int, trainer: str, claim: TraceClaim) -> None:
        games = self.net.disputes
        self.net.token.approve(self.sender, games.address, games.params().bond)
        try:
            dispute_id, _ = games.open(self.sender, self.task_id, round_, trainer, claim.root, *claim.state(0), *claim.state(claim.steps))
        except ContractRevert as exc:
            self.emit("error", round=round_, trainer=trainer, message=exc.one_line())
            return
        self.emit("dispute-opened", round=round_, trainer=trainer, dispute=dispute_id)

    def _open_delta(self, round_: int, trainer: str, delta_cid: bytes, salt: bytes, expected: bytes) -> None:
        games = self.net.disputes
        self.net.token.approve(self.sender, games.address, games.params().bond)
        try:
            dispute_id, _ = games.open_delta(self.sender, self.task_id, round_, trainer, delta_cid, salt, expected)
        except ContractRevert as exc:
            self.emit("error", round=round_, trainer=trainer, message=exc.one_line())
            return
        self.emit("dispute-opened", round=round_, trainer=trainer, dispute=dispute_id, kind="delta")

    def my_disputes(self) -> list[Dispute]:
        games = self.net.disputes
        return [d for d in games.all(self.task_id) if d.challenger == self.address]

    def step(self) -> bool:
        """Check what can be checked now and play open disputes; False once all is settled."""
        task = self.data.refresh()
        rnd = self.net.tasks.get_round(self.task_id, task.current_round)
        if rnd.phase in (Phase.COMMIT, Phase.REVEAL):
            self.waits.waiting((task.current_round, rnd.phase), f"waiting for round {task.current_round}'s reveals to close "
                               f"(now {rnd.phase.name.capitalize()}, deadline {rnd.deadline}) before re-executing submissions")  # fmt: skip
        if rnd.phase == Phase.CHALLENGE and task.current_round not in self.scores_checked:
            self.scores_checked[task.current_round] = self.check_scores(task.current_round)
        if task.config.ops_per_step == 0:
            return not self.net.tasks.is_complete(self.task_id)  # submissions not verifiable by re-execution
        if rnd.phase in (Phase.SCORE, Phase.CHALLENGE):
            self._check_round(task.current_round)
        open_disputes = False
        for d in self.my_disputes():
            if d.stage != Stage.RESOLVED:
                open_disputes = True
                self.agent.act(d)
            elif d.dispute_id not in self.reported:
                self.reported.add(d.dispute_id)
                self.emit("dispute-resolved", dispute=d.dispute_id, winner=d.winner.name.lower(), slashed=d.slashed)
        return open_disputes or not self.net.tasks.is_complete(self.task_id)

    def run(self, *, timeout: float | None = None) -> None:
        run_daemon("verifier", self.ensure_registered, self.step, self.emit, poll=self.poll, timeout=timeout)
