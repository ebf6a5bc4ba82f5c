"""The trainer daemon: register, then each round train, store the delta, commit, reveal, claim.

Every step is journaled before and after its transaction, and the chain is the judge of what
already happened, so a trainer killed at any point and restarted finishes the round without
training twice, without a second commitment and without losing its salt. RPC and IPFS
failures are retried with backoff and reported.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from node.chain.contracts import Phase, Role
from node.chain.deploy import Network
from node.chain.disputes import Dispute, Stage
from node.chain.transactor import Sender, address_of
from node.errors import ContractRevert
from node.roles.common import TaskData, ensure_role, retry, run_daemon, scores_table, try_advance
from node.roles.dispute import PartyAgent
from node.roles.journal import Journal
from node.roles.reexec import run_inputs
from node.roles.waits import Waits
from node.storage import ContentStore, as_cid
from node.training.codec import encode_delta, encode_tensors
from node.training.data import Dataset, assign_shard, trainer_seed
from node.training.loop import TrainResult, resolve_device, train
from verifier.dispute.claims import TraceClaim
from verifier.dispute.game import Player
from verifier.merkle import SortedMerkleTree
from verifier.repops.ops import RepOps

__all__ = ["BEHAVIOURS", "Trainer"]

BEHAVIOURS = ("honest", "lazy", "label-flip", "boosted", "copycat")

logger = logging.getLogger(__name__)

Event = Callable[[dict[str, Any]], None]


class Trainer:
    """One trainer on one task. Call :meth:`run` (loops) or :meth:`step` (one pass)."""

    def __init__(
        self,
        net: Network,
        store: ContentStore,
        sender: Sender,
        task_id: int,
        *,
        journal_dir: Path,
        device: str = "auto",
        stake: int | None = None,
        on_event: Event | None = None,
        poll: float = 0.3,
        fault: tuple[int, int] | None = None,
        behaviour: str = "honest",
        copy_from: Trainer | None = None,
        mine_empty: bool = False,
    ) -> None:
        self.net, self.store, self.sender, self.task_id = net, store, sender, task_id
        self.address = address_of(sender)
        self.data = TaskData(net, store, task_id, on_retry=lambda m: self.emit("retry", message=m))
        self.device = resolve_device(device)
        self.stake = stake
        self.poll = poll
        self.journal = Journal(journal_dir / f"task{task_id}-{self.address}.json")
        self.checkpoint_dir = journal_dir / "checkpoints"
        self._emit = on_event or (lambda _e: None)
        self.mine_empty = mine_empty
        self.waits = Waits(self.emit)
        # A cheating trainer for tests and the adversarial demo: computes operator j of step t wrongly.
        self.fault = fault
        # Adversaries for tests and the demo: lazy (a zero delta), label-flip (trains on wrong
        # labels), boosted (its delta x10), copycat (submits copy_from's delta and trace).
        if behaviour not in BEHAVIOURS or (behaviour == "copycat") != (copy_from is not None):
            raise ValueError(f"behaviour must be one of {BEHAVIOURS} (copycat needs copy_from)")
        self.behaviour, self.copy_from = behaviour, copy_from
        self._claims: dict[int, TraceClaim] = {}
        self.defender = PartyAgent(net, sender, self._player, store=store, on_event=lambda e, **f: self.emit(e, **f))

    def emit(self, event: str, **fields: Any) -> None:
        self._emit({"role": "trainer", "address": self.address, "task": self.task_id, "event": event, **fields})

    # -- setup -------------------------------------------------------------------------

    def ensure_registered(self) -> None:
        config = self.data.task.config
        # A commitment locks max(minStake, noRevealPenalty) of free stake.
        minimum = max(config.min_stake, config.no_reveal_penalty, self.net.registry.min_stake())
        rounds = self.journal.rounds()
        latest = rounds[max(rounds)] if rounds else {}
        if latest.get("commitment") and not latest.get("claimed"):
            minimum = 0  # restarted mid-round: the locked stake backs this node's own commitment, no top-up
        stake = ensure_role(self.net, self.sender, Role.TRAINER, minimum, self.stake)
        if stake is not None:
            self.emit("registered", stake=stake)

    # -- one round ---------------------------------------------------------------------

    def _train(self, round_: int, seed: bytes, base_cid: bytes) -> dict[str, Any] | None:
        data = self.data
        shard_index = assign_shard(seed, self.task_id, round_, self.address, len(data.manifest.shards))
        shard = data.dataset(data.manifest.shards[shard_index])
        base = data.model(base_cid)
        self.emit("training", round=round_, shard=shard_index, steps=data.config.steps, device=str(self.device))
        started = time.perf_counter()
        if self.behaviour == "copycat":
            source = self.copy_from.journal.round(round_)  # type: ignore[union-attr]
            if "delta_cid" not in source:
                return None  # nothing to copy yet; try again next pass
            entry = self.journal.update(round_, shard=shard_index, delta_cid=source["delta_cid"], trace_root=source["trace_root"],
                                        final_state_hash=source["final_state_hash"], salt=os.urandom(32).hex(), train_seconds=0.0)  # fmt: skip
            self.emit("trained", round=round_, delta_cid=source["delta_cid"], seconds=0.0, behaviour="copycat")
            return entry
        if self.behaviour == "label-flip":
            shard = Dataset(shard.x, (shard.y + 1) % max(2, data.manifest.num_classes))
        ops = RepOps(fault=self.fault) if self.fault is not None else None
        result: TrainResult = train(base, shard, data.config, seed=trainer_seed(seed, self.task_id, round_, self.address), device=self.device, ops=ops)
        seconds = time.perf_counter() - started
        self._save_checkpoints(round_, result)
        delta = result.delta
        if self.behaviour == "lazy":
            delta = {k: torch.zeros_like(v) for k, v in delta.items()}
        elif self.behaviour == "boosted":
            delta = {k: v * 10 for k, v in delta.items()}
        delta_cid = retry(lambda: self.store.put(encode_delta(delta, data.config.compression)), what="store the delta", on_retry=lambda m: self.emit("retry", message=m))
        entry = self.journal.update(
            round_, shard=shard_index, delta_cid=str(delta_cid), trace_root=result.trace_root.hex(),
            final_state_hash=result.final_state_hash.hex(), salt=os.urandom(32).hex(), train_seconds=seconds,
        )  # fmt: skip
        self.emit("trained", round=round_, delta_cid=str(delta_cid), seconds=round(seconds, 3))
        return entry

    def _save_checkpoints(self, round_: int, result: TrainResult) -> None:
        folder = self.checkpoint_dir / f"task{self.task_id}-round{round_}-{self.address}"
        folder.mkdir(parents=True, exist_ok=True)
        for step, state in result.checkpoints.items():
            (folder / f"step{step:06d}.safetensors").write_bytes(encode_tensors(state))
        (folder / "state_hashes.json").write_text(json.dumps([h.hex() for h in result.state_hashes]))

    @staticmethod
    def _values(entry: dict[str, Any]) -> tuple[bytes, bytes, bytes, bytes]:
        return (bytes(as_cid(entry["delta_cid"])), bytes.fromhex(entry["trace_root"]), bytes.fromhex(entry["final_state_hash"]), bytes.fromhex(entry["salt"]))

    def _commit(self, round_: int, entry: dict[str, Any]) -> None:
        commitment = self.net.tasks.compute_commitment(*self._values(entry), self.address, self.task_id, round_)
        self.journal.update(round_, commitment=commitment.hex())
        self.net.tasks.commit(self.sender, self.task_id, round_, commitment)
        self.journal.update(round_, committed=True)
        self.emit("committed", round=round_)

    def _reveal(self, round_: int, entry: dict[str, Any]) -> None:
        self.net.tasks.reveal(self.sender, self.task_id, round_, *self._values(entry))
        self.journal.update(round_, revealed=True)
        self.emit("revealed", round=round_, delta_cid=entry["delta_cid"])

    def _claim(self, round_: int) -> None:
        entry = self.journal.round(round_)
        if entry.get("claimed") or not entry.get("revealed"):
            return
        if self.net.vault.has_claimed(self.task_id, round_, self.address):
            self.journal.update(round_, claimed=True)
            return
        if self.net.tasks.is_disqualified(self.task_id, round_, self.address):
            self._release(round_)
            self.journal.update(round_, claimed=True, amount=0, disqualified=True)
            self.emit("disqualified", round=round_)
            return
        leaves = scores_table(self.net, self.store, self.task_id, round_) or []
        mine = next((leaf for leaf in leaves if leaf.account == self.address), None)
        if mine is None or mine.amount == 0:
            self._release(round_)
            self.journal.update(round_, claimed=True, amount=0)
            self.emit("no-reward", round=round_)
            return
        proof = SortedMerkleTree([lf.hash() for lf in leaves]).proof(mine.hash())
        self.net.vault.claim(self.sender, self.task_id, round_, mine.score, mine.amount, proof)
        self.journal.update(round_, claimed=True, amount=mine.amount)
        self.emit("claimed", round=round_, amount=mine.amount, score=mine.score)

    # -- disputes ------------------------------------------------------------------------

    def _player(self, d: Dispute) -> Player:
        """Defend from the run this trainer really submitted, recomputed from its inputs (a
        copycat's is the copied trainer's run, a label-flipper's the run on wrong labels)."""
        if d.round not in self._claims:
            source = self.copy_from.address if self.copy_from is not None else self.address
            inputs = run_inputs(self.net, self.data, self.task_id, d.round, source)
            if self.behaviour == "label-flip":
                inputs = dataclasses.replace(inputs, shard=Dataset(inputs.shard.x, (inputs.shard.y + 1) % max(2, inputs.classes)))
            self._claims[d.round] = inputs.claim(self.fault)
        return Player(self._claims[d.round])

    def _defend(self) -> bool:
        """Play every open dispute against this trainer; True while one is open."""
        games = self.net.disputes
        open_ = False
        for d in games.all(self.task_id):
            dispute_id = d.dispute_id
            if d.defender != self.address or d.stage == Stage.RESOLVED:
                continue
            open_ = True
            if d.stage == Stage.AWAIT_DEFENDER:
                self.emit("disputed", round=d.round, dispute=dispute_id, challenger=d.challenger)
            self.defender.act(d)
        return open_

    def step(self) -> bool:
        """Do what the chain allows now. Returns False once the task is complete and settled."""
        task = self.data.refresh()
        current = task.current_round
        self._settle(current)
        defending = task.config.ops_per_step != 0 and self._defend()
        rnd = self.net.tasks.get_round(self.task_id, current)
        sub = self.net.tasks.get_submission(self.task_id, current, self.address)
        entry = self.journal.round(current)
        if rnd.phase == Phase.COMMIT and sub.commitment == b"\x00" * 32:
            if "delta_cid" not in entry:
                entry = self._train(current, rnd.seed, rnd.base_model_cid)  # type: ignore[assignment]
            try:
                if entry is not None:
                    self._commit(current, entry)
            except ContractRevert as exc:
                if exc.name != "TaskManagerDeadlinePassed":
                    raise
                self.emit("missed", round=current, phase="commit")
        elif rnd.phase == Phase.REVEAL and sub.commitment != b"\x00" * 32 and not sub.revealed:
            if "salt" not in entry:
                self.emit("error", round=current, message="committed but the journal holds no salt: cannot reveal")
            elif entry.get("commitment") and bytes.fromhex(entry["commitment"]) != sub.commitment:
                self.emit("error", round=current, message="the journal's commitment differs from the chain's: cannot reveal")
            else:
                self.journal.update(current, committed=True)
                self._reveal(current, entry)
        elif sub.revealed and not entry.get("revealed") and entry:
            self.journal.update(current, committed=True, revealed=True)
        try_advance(self.net, self.sender, self.task_id, waits=self.waits, mine_empty=self.mine_empty)
        complete = self.net.tasks.is_complete(self.task_id)
        if complete:
            self._settle(current)
        return defending or not complete

    def _settle(self, current: int) -> None:
        """Claim every finalized round this trainer revealed in and has not settled yet (a
        claim also releases the stake the round's commitment locked); release the stake of
        failed rounds."""
        for past in range(1, current + 1):
            entry = self.journal.round(past)
            if entry.get("revealed") and not entry.get("claimed") and self.net.tasks.is_finalized(self.task_id, past):
                self._claim(past)
            elif entry.get("committed") and not entry.get("released") and self.net.tasks.get_round(self.task_id, past).phase == Phase.FINALIZED:
                self._release(past)

    def _release(self, round_: int) -> None:
        """Free the stake this round's commitment locked (once the round is finalized)."""
        sub = self.net.tasks.get_submission(self.task_id, round_, self.address)
        if sub.commitment != b"\x00" * 32 and not sub.released:
            try:
                self.net.tasks.release(self.sender, self.task_id, round_, self.address)
            except ContractRevert as exc:
                self.emit("error", round=round_, message=exc.one_line())
                return
        self.journal.update(round_, released=True)

    def run(self, *, timeout: float | None = None) -> None:
        """Register, then loop until the task is complete (or ``timeout`` seconds pass)."""
        run_daemon("trainer", self.ensure_registered, self.step, self.emit, poll=self.poll, timeout=timeout)
