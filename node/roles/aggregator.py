"""The aggregator daemon: collect reveals, validate and score deltas, aggregate, post, finalize.

Each round, once reveals close: fetch every revealed delta (with retries and a timeout), check
it against the model (names, shapes, dtypes, finite, size), score it by relative
validation-loss improvement, aggregate with weighted FedAvg, split the round's reward, store
the new model and the scores table, and post ``(newModelCid, scoresRoot, traceRoot)``.
Trainers that committed and never revealed are slashed (one O(1) call each). The aggregator
also moves phases on when their deadlines pass, so a round completes even if trainers stop.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from node.chain.contracts import Phase, Role
from node.chain.deploy import Network
from node.chain.transactor import Sender, address_of
from node.errors import InvalidTensors, StorageError
from node.roles.common import TaskData, ensure_role, retry, run_daemon, try_advance
from node.storage import ContentStore, as_cid
from node.training.codec import decode_tensors, encode_tensors
from node.training.loop import apply_delta, evaluate
from verifier.merkle import RewardLeaf, SortedMerkleTree, TraceTree
from verifier.scoring import fedavg, relative_improvement, split_rewards, to_fixed_score

__all__ = ["Aggregator", "ScoredDelta"]

logger = logging.getLogger(__name__)

Event = Callable[[dict[str, Any]], None]
MAX_DELTA_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ScoredDelta:
    account: str
    delta_cid: str
    valid: bool
    reason: str
    loss: float | None
    score: float
    amount: int = 0


class Aggregator:
    def __init__(self, net: Network, store: ContentStore, sender: Sender, task_id: int, *, on_event: Event | None = None,
                 poll: float = 0.3, fetch_timeout: float = 20.0, stake: int | None = None) -> None:  # fmt: skip
        self.net, self.store, self.sender, self.task_id = net, store, sender, task_id
        self.address = address_of(sender)
        self.data = TaskData(net, store, task_id, on_retry=lambda m: self.emit("retry", message=m))
        self.poll = poll
        self.fetch_timeout = fetch_timeout
        self.stake = stake
        self._emit = on_event or (lambda _e: None)
        self.reports: dict[int, dict[str, Any]] = {}

    def emit(self, event: str, **fields: Any) -> None:
        self._emit({"role": "aggregator", "address": self.address, "task": self.task_id, "event": event, **fields})

    def ensure_registered(self) -> None:
        minimum = max(self.data.task.config.min_stake, self.net.registry.min_stake())
        stake = ensure_role(self.net, self.sender, Role.AGGREGATOR, minimum, self.stake)
        if stake is not None:
            self.emit("registered", stake=stake)

    def _reveals(self, round_: int) -> list[tuple[str, bytes]]:
        logs = self.net.tasks.contract.events.Revealed().get_logs(
            from_block=self.net.deployment.contracts["TaskManager"].block, argument_filters={"taskId": self.task_id, "round": round_}
        )
        return sorted((log["args"]["trainer"], bytes(log["args"]["deltaCid"])) for log in logs)

    def _no_shows(self, round_: int) -> list[str]:
        start = self.net.deployment.contracts["TaskManager"].block
        committed = {log["args"]["trainer"] for log in self.net.tasks.contract.events.Committed().get_logs(from_block=start, argument_filters={"taskId": self.task_id, "round": round_})}
        revealed = {t for t, _ in self._reveals(round_)}
        return sorted(committed - revealed)

    def _fetch(self, account: str, cid: bytes) -> tuple[dict[str, Any] | None, str]:
        try:
            blob = retry(lambda: self.store.get(as_cid(cid), timeout=self.fetch_timeout), what=f"fetch the delta of {account}", attempts=3)
            return decode_tensors(blob, self.data.spec, max_bytes=MAX_DELTA_BYTES), ""
        except InvalidTensors as exc:
            return None, f"invalid delta: {exc}"
        except StorageError as exc:
            return None, f"delta unavailable: {exc.one_line()}"

    def aggregate(self, round_: int) -> dict[str, Any]:
        """Score, aggregate and post round ``round_``; return the scores table."""
        data = self.data
        rnd = self.net.tasks.get_round(self.task_id, round_)
        model_name = data.config.model
        base = data.model(rnd.base_model_cid)
        loss_before, acc_before = evaluate(model_name, base, data.validation)
        scored: list[ScoredDelta] = []
        deltas: list[dict[str, Any]] = []
        for account, cid in self._reveals(round_):
            delta, reason = self._fetch(account, cid)
            if delta is None:
                scored.append(ScoredDelta(account, str(as_cid(cid)), False, reason, None, 0.0))
                deltas.append({})
                continue
            loss, _ = evaluate(model_name, apply_delta(base, delta), data.validation)
            scored.append(ScoredDelta(account, str(as_cid(cid)), True, "", loss, relative_improvement(loss_before, loss)))
            deltas.append(delta)
        weights = [max(0.0, s.score) if s.valid else 0.0 for s in scored]
        amounts = split_rewards(data.task.config.reward_per_round, weights)
        scored = [ScoredDelta(**{**asdict(s), "amount": a}) for s, a in zip(scored, amounts, strict=True)]
        valid = [(d, w) for d, w in zip(deltas, weights, strict=True) if w > 0]
        new_model = fedavg(base, [d for d, _ in valid], [w for _, w in valid])
        loss_after, acc_after = evaluate(model_name, new_model, data.validation)
        model_bytes = encode_tensors(new_model)
        new_cid = retry(lambda: self.store.put(model_bytes), what="store the new model")
        self.store.pin(new_cid)
        leaves = [RewardLeaf(s.account, to_fixed_score(s.score), s.amount) for s in scored]
        table = {
            "task": self.task_id, "round": round_, "base_model": str(as_cid(rnd.base_model_cid)), "new_model": str(new_cid),
            "validation": {"loss_before": loss_before, "accuracy_before": acc_before, "loss_after": loss_after, "accuracy_after": acc_after},
            "entries": [asdict(s) for s in scored],
            "leaves": [{"account": lf.account, "score": lf.score, "amount": lf.amount} for lf in leaves],
        }  # fmt: skip
        table_cid = retry(lambda: self.store.put(json.dumps(table, sort_keys=True).encode()), what="store the scores table")
        self.store.pin(table_cid)
        # Commitment to the aggregation's inputs and output, in order.
        trace = TraceTree([hashlib.sha256(rnd.base_model_cid).digest(), *[hashlib.sha256(bytes(as_cid(s.delta_cid))).digest() for s in scored], hashlib.sha256(model_bytes).digest()])
        # A table with no trainer still needs a root: a zero-amount leaf for the aggregator itself.
        tree = SortedMerkleTree([lf.hash() for lf in leaves] or [RewardLeaf(self.address, 0, 0).hash()])
        self.net.tasks.post_scores(
            self.sender, self.task_id, round_, new_model_cid=bytes(new_cid), scores_root=tree.root, trace_root=trace.root,
            scores_cid=bytes(table_cid), total_reward=sum(s.amount for s in scored),
        )  # fmt: skip
        self.reports[round_] = table
        self.emit("posted", round=round_, trainers=len(scored), accuracy=acc_after, loss=loss_after, accuracy_before=acc_before,
                  rewarded=sum(1 for s in scored if s.amount), total_reward=sum(s.amount for s in scored))  # fmt: skip
        return table

    def step(self) -> bool:
        task = self.data.refresh()
        current = task.current_round
        rnd = self.net.tasks.get_round(self.task_id, current)
        if rnd.phase == Phase.SCORE:
            for trainer in self._no_shows(current):
                if not self.net.tasks.get_submission(self.task_id, current, trainer).penalized:
                    self.net.tasks.slash_no_reveal(self.sender, self.task_id, current, trainer)
                    self.emit("slashed-no-reveal", round=current, trainer=trainer)
            self.aggregate(current)
        if try_advance(self.net, self.sender, self.task_id):
            after = self.net.tasks.get_round(self.task_id, current)
            self.emit("advanced", round=current, phase=after.phase.name.lower())
        return not self.net.tasks.is_complete(self.task_id)

    def run(self, *, timeout: float | None = None) -> None:
        """Register, then loop until the task is complete (or ``timeout`` seconds pass)."""
        run_daemon("aggregator", self.ensure_registered, self.step, self.emit, poll=self.poll, timeout=timeout)
