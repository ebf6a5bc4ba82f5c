"""The aggregator daemon: collect reveals, validate and score deltas, aggregate, post, finalize.

Each round, once reveals close: fetch every revealed delta (with retries and a timeout), check
it against the model (names, shapes, dtypes, finite, size), measure it (validation-loss
improvement, own-shard vs another shard's gain, the trainer's update history, its previous
EMA and its MeritRank reputation), score and reward it by the task's policy
(:mod:`verifier.scoring.policy`: robust filter, similarity, EMA, reputation, capped split),
aggregate the kept deltas, store the new model and the scores table, and post
``(newModelCid, scoresRoot, traceRoot)``. Every model evaluation uses the task's operator
backend (RepOps for verifiable tasks), so a verifier recomputing the table gets the same root.
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
from node.chain.logs import logs_of
from node.chain.transactor import Sender, address_of
from node.errors import InvalidTensors, StorageError
from node.roles.common import TaskData, ensure_role, retry, run_daemon, scores_table_json, try_advance
from node.roles.waits import Waits
from node.storage import ContentStore, as_cid, cid_of
from node.training.codec import decode_delta, encode_tensors
from node.training.data import assign_shard
from node.training.loop import apply_delta, evaluate
from node.training.ops import get_backend
from verifier.merkle import REWARD_ENCODING, RewardLeaf, StandardMerkleTree, TraceTree
from verifier.reputation.epoch import EpochResult
from verifier.scoring import fedavg, leave_one_out, relative_improvement, to_fixed_score
from verifier.scoring.policy import Contribution, ScoringPolicy, aggregate, score_round
from verifier.scoring.robust import flatten
from verifier.scoring.shapley import shapley

__all__ = ["Aggregator", "ScoredDelta"]

logger = logging.getLogger(__name__)

Event = Callable[[dict[str, Any]], None]
MAX_DELTA_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ScoredDelta:
    """One row of a round's scores table (what `meritnet rewards` shows)."""

    account: str
    delta_cid: str
    valid: bool
    reason: str
    loss: float | None
    score: float  # relative validation-loss improvement
    amount: int = 0
    kept: bool = False  # passed the robust filter
    own_gain: float | None = None
    random_gain: float | None = None
    copy_suspect: bool = False
    similarity: float = 0.0
    ema: float = 0.0
    reputation: float = 1.0
    weight: float = 0.0
    shapley: float | None = None  # marginal value (diagnostic)
    loo: float | None = None  # leave-one-out (diagnostic)


class Aggregator:
    def __init__(self, net: Network, store: ContentStore, sender: Sender, task_id: int, *, on_event: Event | None = None,
                 poll: float = 0.3, fetch_timeout: float = 20.0, stake: int | None = None, mine_empty: bool = False) -> None:  # fmt: skip
        self.net, self.store, self.sender, self.task_id = net, store, sender, task_id
        self.address = address_of(sender)
        self.data = TaskData(net, store, task_id, on_retry=lambda m: self.emit("retry", message=m))
        self.poll = poll
        self.fetch_timeout = fetch_timeout
        self.stake = stake
        self._emit = on_event or (lambda _e: None)
        self.mine_empty = mine_empty
        self.waits = Waits(self.emit)
        self.reports: dict[int, dict[str, Any]] = {}
        self._epochs: dict[int, EpochResult] = {}
        self.dispute_margin = 120  # seconds before the Score deadline when it scores regardless of open disputes

    def emit(self, event: str, **fields: Any) -> None:
        self._emit({"role": "aggregator", "address": self.address, "task": self.task_id, "event": event, **fields})

    def ensure_registered(self) -> None:
        minimum = max(self.data.task.config.min_stake, self.net.registry.min_stake())
        stake = ensure_role(self.net, self.sender, Role.AGGREGATOR, minimum, self.stake)
        if stake is not None:
            self.emit("registered", stake=stake)

    def _events(self, name: str, round_: int) -> list[Any]:
        start = self.net.deployment.contracts["TaskManager"].block
        logs = logs_of(self.net.w3, self.net.tasks.contract, name, start)
        return [log for log in logs if log["args"]["taskId"] == self.task_id and log["args"]["round"] == round_]

    def _reveals(self, round_: int) -> list[tuple[str, bytes]]:
        return sorted((log["args"]["trainer"], bytes(log["args"]["deltaCid"])) for log in self._events("Revealed", round_))

    def _no_shows(self, round_: int) -> list[str]:
        committed = {log["args"]["trainer"] for log in self._events("Committed", round_)}
        revealed = {t for t, _ in self._reveals(round_)}
        return sorted(committed - revealed)

    def _fetch(self, account: str, cid: bytes) -> tuple[dict[str, Any] | None, str]:
        try:
            blob = retry(lambda: self.store.get(as_cid(cid), timeout=self.fetch_timeout), what=f"fetch the delta of {account}", attempts=3)
            return decode_delta(blob, self.data.spec, self.data.config.compression, max_bytes=MAX_DELTA_BYTES), ""
        except InvalidTensors as exc:
            return None, f"invalid delta: {exc}"
        except StorageError as exc:
            return None, f"delta unavailable: {exc.one_line()}"

    @property
    def policy(self) -> ScoringPolicy:
        c = self.data.config
        return ScoringPolicy(rule=c.aggregation, cap_bps=c.reward_cap_bps, ema_alpha=c.ema_alpha)

    def _gain(self, params: dict[str, Any], delta: dict[str, Any], shard_cid: str) -> float:
        ops = get_backend(self.data.config.backend)
        shard = self.data.dataset(shard_cid)
        before, _ = evaluate(self.data.config.model, params, shard, ops)
        after, _ = evaluate(self.data.config.model, apply_delta(params, delta), shard, ops)
        return relative_improvement(before, after)

    def _previous(self, round_: int) -> dict[str, dict[str, Any]]:
        """The previous round's table entries by account (for EMA and update histories)."""
        if round_ <= 1:
            return {}
        if round_ - 1 not in self.reports:
            self.reports[round_ - 1] = scores_table_json(self.net, self.store, self.task_id, round_ - 1) or {}
        return {e["account"]: e for e in self.reports[round_ - 1].get("entries", [])}

    def _history(self, account: str, round_: int, delta: dict[str, Any]) -> Any:
        """The trainer's summed updates through this round (deltas of its kept earlier rounds)."""
        total = flatten(delta)
        for past in range(1, round_):
            entry = self._previous(past + 1).get(account)
            if entry and entry.get("valid"):
                old, _ = self._fetch(account, bytes(as_cid(entry["delta_cid"])))
                if old is not None:
                    total = total + flatten(old)
        return total

    def _marginal(self, round_: int, base: dict[str, Any], loss_before: float, deltas: list[dict[str, Any] | None], ops: Any) -> dict[int, dict[str, float]]:
        """Shapley values (exact for n <= 8, Monte Carlo above) and leave-one-out of the kept
        deltas, with v(S) = the validation improvement of S's plain FedAvg: diagnostics in the
        scores table, every ``shapley_every`` rounds and in the last round."""
        every, last = self.data.config.shapley_every, round_ == self.data.task.config.num_rounds
        players = [i for i, d in enumerate(deltas) if d is not None]
        if not players or every <= 0 or (round_ % every and not last):
            return {}

        def value(coalition: frozenset[int]) -> float:
            if not coalition:
                return 0.0
            chosen = [deltas[players[k]] for k in sorted(coalition)]
            model = fedavg(base, chosen, [1.0] * len(chosen))  # type: ignore[arg-type]
            return relative_improvement(loss_before, evaluate(self.data.config.model, model, self.data.validation, ops)[0])

        seed = int.from_bytes(self.net.tasks.get_round(self.task_id, round_).seed[:8], "big")
        phi = shapley(len(players), value, seed=seed)
        loo = leave_one_out(len(players), value)
        return {i: {"shapley": phi[k], "loo": loo[k]} for k, i in enumerate(players)}

    def _reputation(self) -> dict[str, float]:
        """MeritRank factors from the latest posted epoch, relative to the best (empty: none posted)."""
        latest = self.net.reputation.latest_epoch()
        while latest > 0 and not self.net.reputation.get_epoch(latest).posted:
            latest -= 1  # open, or expired without a root
        if latest == 0:
            return {}
        if latest not in self._epochs:
            from node.chain.reputation import recompute_epoch

            self._epochs[latest] = recompute_epoch(self.net, latest)
        scores = self._epochs[latest].scores
        top = max((v for v in scores.values() if v > 0), default=0.0)
        return {k: max(0.0, v) / top for k, v in scores.items()} if top > 0 else {}

    def compute(self, round_: int) -> tuple[dict[str, Any], StandardMerkleTree, bytes, TraceTree]:
        """Score and aggregate round ``round_`` (nothing is stored or posted): the scores table,
        its Merkle tree, the new model's bytes and the aggregation trace. A verifier calls it
        too and compares the roots."""
        data = self.data
        rnd = self.net.tasks.get_round(self.task_id, round_)
        model_name = data.config.model
        ops = get_backend(data.config.backend)
        base = data.model(rnd.base_model_cid)
        loss_before, acc_before = evaluate(model_name, base, data.validation, ops)
        previous, reputation, shards = self._previous(round_), self._reputation(), data.manifest.shards
        rows: list[ScoredDelta] = []
        contributions: list[Contribution] = []
        deltas: list[dict[str, Any] | None] = []
        for account, cid in self._reveals(round_):
            delta, reason = self._fetch(account, cid)
            if delta is not None and self.net.tasks.is_disqualified(self.task_id, round_, account):
                delta, reason = None, "disqualified: lost a dispute over this submission"
            if delta is None:
                rows.append(ScoredDelta(account, str(as_cid(cid)), False, reason, None, 0.0))
                contributions.append(Contribution(account, False))
                deltas.append(None)
                continue
            loss, _ = evaluate(model_name, apply_delta(base, delta), data.validation, ops)
            own = assign_shard(rnd.seed, self.task_id, round_, account, len(shards))
            other = (own + 1 + int.from_bytes(hashlib.sha256(rnd.seed + bytes.fromhex(account[2:])).digest()[:4], "big") % max(1, len(shards) - 1)) % len(shards)
            own_gain = self._gain(base, delta, shards[own]) if len(shards) > 1 else None
            random_gain = self._gain(base, delta, shards[other]) if len(shards) > 1 else None
            prev = previous.get(account, {})
            improvement = relative_improvement(loss_before, loss)
            rows.append(ScoredDelta(account, str(as_cid(cid)), True, "", loss, improvement, own_gain=own_gain, random_gain=random_gain))
            contributions.append(Contribution(account, True, improvement, own_gain, random_gain, self._history(account, round_, delta),
                                              prev.get("ema") if prev.get("valid") else None, reputation.get(account, 1.0 if not reputation else 0.0)))  # fmt: skip
            deltas.append(delta)
        verdicts = score_round(self.policy, contributions, deltas, data.task.config.reward_per_round)
        scored = [
            ScoredDelta(**{**asdict(s), "reason": s.reason or v.reason, "amount": v.amount, "kept": v.kept, "copy_suspect": v.copy_suspect,
                           "similarity": v.similarity, "ema": v.ema, "reputation": v.reputation, "weight": v.weight})
            for s, v in zip(rows, verdicts, strict=True)
        ]  # fmt: skip
        new_model = aggregate(self.policy, base, [d or {} for d in deltas], [v.weight for v in verdicts])
        marginal = self._marginal(round_, base, loss_before, [d if v.kept else None for d, v in zip(deltas, verdicts, strict=True)], ops)
        scored = [ScoredDelta(**{**asdict(s), **marginal.get(i, {})}) for i, s in enumerate(scored)]
        loss_after, acc_after = evaluate(model_name, new_model, data.validation, ops)
        model_bytes = encode_tensors(new_model)
        new_cid = cid_of(model_bytes)
        leaves = [RewardLeaf(s.account, to_fixed_score(s.score), s.amount) for s in scored]
        table = {
            "task": self.task_id, "round": round_, "base_model": str(as_cid(rnd.base_model_cid)), "new_model": str(new_cid),
            "validation": {"loss_before": loss_before, "accuracy_before": acc_before, "loss_after": loss_after, "accuracy_after": acc_after},
            "entries": [asdict(s) for s in scored],
            "leaves": [{"account": lf.account, "score": lf.score, "amount": lf.amount} for lf in leaves],
        }  # fmt: skip
        # Commitment to the aggregation's inputs and output, in order.
        trace = TraceTree([hashlib.sha256(rnd.base_model_cid).digest(), *[hashlib.sha256(bytes(as_cid(s.delta_cid))).digest() for s in scored], hashlib.sha256(model_bytes).digest()])
        # A table with no trainer still needs a root: a zero-amount leaf for the aggregator itself.
        tree = StandardMerkleTree.of([lf.row() for lf in leaves] or [RewardLeaf(self.address, 0, 0).row()], REWARD_ENCODING)
        return table, tree, model_bytes, trace

    def aggregate(self, round_: int) -> dict[str, Any]:
        """Score, aggregate, store and post round ``round_``; return the scores table."""
        table, tree, model_bytes, trace = self.compute(round_)
        new_cid = retry(lambda: self.store.put(model_bytes), what="store the new model")
        self.store.pin(new_cid)
        # The same rows as StandardMerkleTree.dump(), so @openzeppelin/merkle-tree loads them;
        # the table names it (the table's own CID is the one on chain).
        tree_cid = retry(lambda: self.store.put(json.dumps(tree.dump()).encode()), what="store the scores tree")
        self.store.pin(tree_cid)
        table = {**table, "merkle_tree": str(tree_cid)}
        table_cid = retry(lambda: self.store.put(json.dumps(table, sort_keys=True).encode()), what="store the scores table")
        self.store.pin(table_cid)
        scored = table["entries"]
        validation = table["validation"]
        self.net.tasks.post_scores(
            self.sender, self.task_id, round_, new_model_cid=bytes(new_cid), scores_root=tree.root, trace_root=trace.root,
            scores_cid=bytes(table_cid), total_reward=sum(s["amount"] for s in scored),
        )  # fmt: skip
        self.reports[round_] = table
        self.emit("posted", round=round_, trainers=len(scored), accuracy=validation["accuracy_after"], loss=validation["loss_after"],
                  accuracy_before=validation["accuracy_before"], rewarded=sum(1 for s in scored if s["amount"]),
                  total_reward=sum(s["amount"] for s in scored))  # fmt: skip
        return table

    def step(self) -> bool:
        task = self.data.refresh()
        current = task.current_round
        rnd = self.net.tasks.get_round(self.task_id, current)
        now = int(self.net.w3.eth.get_block("latest")["timestamp"])
        if rnd.phase == Phase.SCORE and rnd.open_disputes and now < rnd.deadline - self.dispute_margin:
            pass  # let the round's disputes settle first: their losers are disqualified from scoring
        elif rnd.phase == Phase.SCORE:
            for trainer in self._no_shows(current):
                if not self.net.tasks.get_submission(self.task_id, current, trainer).penalized:
                    self.net.tasks.slash_no_reveal(self.sender, self.task_id, current, trainer)
                    self.emit("slashed-no-reveal", round=current, trainer=trainer)
            self.aggregate(current)
        if try_advance(self.net, self.sender, self.task_id, waits=self.waits, mine_empty=self.mine_empty):
            after = self.net.tasks.get_round(self.task_id, current)
            self.emit("advanced", round=current, phase=after.phase.name.lower())
        return not self.net.tasks.is_complete(self.task_id)

    def run(self, *, timeout: float | None = None) -> None:
        """Register, then loop until the task is complete (or ``timeout`` seconds pass)."""
        run_daemon("aggregator", self.ensure_registered, self.step, self.emit, poll=self.poll, timeout=timeout)
