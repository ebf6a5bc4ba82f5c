"""What every role shares: the task as data, retries with backoff, advancing phases."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import torch
from multiformats import CID, multihash

from node.chain.contracts import Phase, Role, Task
from node.chain.deploy import Network
from node.chain.provider import mine
from node.chain.transactor import Sender, address_of
from node.errors import (
    ConfigError,
    ConnectionFailed,
    ContentNotFound,
    ContractRevert,
    MeritnetError,
    StorageUnavailable,
    TransactionFailed,
)
from node.roles.waits import Waits, deadline_wait
from node.storage import ContentStore, as_cid
from node.training.codec import decode_tensors, spec_of
from node.training.data import DataManifest, Dataset, decode_dataset
from node.training.loop import TrainConfig
from node.training.models import get_model
from verifier.merkle import RewardLeaf, reward_leaves

__all__ = ["RETRYABLE", "TaskData", "config_cid", "ensure_role", "retry", "run_daemon", "scores_table", "scores_table_json", "try_advance"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
RETRYABLE = (StorageUnavailable, ConnectionFailed, ContentNotFound)
_STALLED_AFTER = 5.0  # seconds without a new block past a deadline before a node calls the chain stalled
_BENIGN_ADVANCE = {"TaskManagerDeadlineNotReached", "TaskManagerTaskComplete", "TaskManagerDisputeOpen"}


def config_cid(config_hash: bytes) -> CID:
    """The CID of a training config whose sha256 is ``config_hash`` (a single raw block)."""
    return CID("base32", 1, "raw", multihash.wrap(config_hash, "sha2-256"))


def retry(fn: Callable[[], T], *, what: str, attempts: int = 6, base_delay: float = 0.5, on_retry: Callable[[str], None] | None = None) -> T:
    """Call ``fn``; on a retryable failure wait (exponential backoff) and try again."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except RETRYABLE as exc:
            if attempt == attempts:
                raise
            delay = base_delay * 2 ** (attempt - 1)
            message = f"{what}: {exc.one_line()}; retry {attempt}/{attempts - 1} in {delay:.1f} s"
            logger.warning("%s", message)
            if on_retry:
                on_retry(message)
            time.sleep(delay)
    raise AssertionError("unreachable")


def ensure_role(net: Network, sender: Sender, role: Role, minimum: int, stake: int | None = None) -> int | None:
    """Make ``sender`` eligible for ``role`` with at least ``minimum`` free stake: register (with
    ``stake`` or the minimum), or add the role and top up an existing registration. Returns
    the stake when something changed, None when it already was eligible."""
    address = address_of(sender)
    if net.registry.is_eligible(address, role, minimum):
        return None
    roles = net.registry.roles_of(address)
    if roles:
        if not roles & role:
            net.registry.set_roles(sender, roles | role)
        missing = minimum - net.registry.free_stake_of(address)  # locked stake backs other work
        if missing > 0:
            net.token.approve(sender, net.registry.address, missing)
            net.registry.add_stake(sender, missing)
    else:
        amount = max(stake or 0, minimum)
        net.token.approve(sender, net.registry.address, amount)
        net.registry.register(sender, role, amount)
    return net.registry.stake_of(address)


def run_daemon(
    name: str,
    register: Callable[[], None],
    step: Callable[[], bool],
    emit: Callable[..., None],
    *,
    poll: float,
    timeout: float | None = None,
) -> None:
    """Register, then call ``step`` every ``poll`` seconds until it returns False (the task
    is complete) or ``timeout`` passes. Retryable failures are retried with backoff; other
    meritnet errors are reported and the loop goes on (the next step re-reads the chain)."""
    retry(register, what="register")
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            if not retry(step, what=f"{name} step", on_retry=lambda m: emit("retry", message=m)):
                emit("done")
                return
        except MeritnetError as exc:
            emit("error", message=exc.one_line())
            logger.error("%s step failed: %s", name, exc.one_line())
        if deadline is not None and time.monotonic() > deadline:
            emit("timeout")
            return
        time.sleep(poll)


def try_advance(net: Network, sender: Sender, task_id: int, *, waits: Waits | None = None, mine_empty: bool = False) -> bool:
    """Advance the task's current phase if its deadline has passed; False when not yet.

    The next block's time is at least the latest block's plus one and, on a live node, the
    wall clock; before that passes the deadline no transaction is sent. Losing a race to
    another participant's advance is not an error. ``waits`` hears once what the node waits
    for. On a node that mines only on demand, chain time stands still: with ``mine_empty``
    (devnets only) an empty block is mined once the wall clock passed the deadline.
    """
    task = net.tasks.get_task(task_id)
    rnd = net.tasks.get_round(task_id, task.current_round)
    if rnd.phase == Phase.FINALIZED:
        return False
    chain_time = int(net.w3.eth.get_block("latest")["timestamp"])
    next_block_time = max(chain_time + 1, int(time.time()))
    phase = rnd.phase.name.capitalize()
    if next_block_time <= rnd.deadline:
        if waits is not None:
            waits.waiting((task.current_round, phase), deadline_wait(phase, chain_time, rnd.deadline))
        return False
    if mine_empty and chain_time <= rnd.deadline:
        mine(net.w3)
    try:
        net.tasks.advance(sender, task_id)
    except TransactionFailed:
        return False  # another participant's advance was mined first
    except ContractRevert as exc:
        if exc.name == "TaskManagerDeadlineNotReached" and waits is not None and time.time() - chain_time > _STALLED_AFTER:
            # the wall clock passed the deadline and no block came for a while: a node that mines on demand
            waits.waiting((task.current_round, phase, "stalled"), deadline_wait(phase, chain_time, rnd.deadline, stalled=True))
        if exc.name in _BENIGN_ADVANCE or exc.name == "TaskManagerWrongPhase":
            return False
        raise
    if waits is not None:
        waits.done()
    return True


def scores_table_json(net: Network, store: ContentStore, task_id: int, round_: int, *, attempts: int = 6) -> dict[str, Any] | None:
    """The whole scores table a round's aggregator published (None before it posted)."""
    rnd = net.tasks.get_round(task_id, round_)
    if not rnd.scores_cid:
        return None
    table: dict[str, Any] = json.loads(retry(lambda: store.get(as_cid(rnd.scores_cid)), what="fetch the scores table", attempts=attempts))
    return table


def scores_table(net: Network, store: ContentStore, task_id: int, round_: int, *, attempts: int = 6) -> list[RewardLeaf] | None:
    """The reward leaves a round's aggregator published (None before it posted): from the
    scores table, or from a ``StandardMerkleTree`` dump where the round's CID holds one."""
    table = scores_table_json(net, store, task_id, round_, attempts=attempts)
    if table is None:
        return None
    try:
        return reward_leaves(table)
    except ValueError as exc:
        raise ConfigError(f"the scores table of task {task_id} round {round_} is malformed: {exc}") from exc


@dataclass
class TaskData:
    """A task's on-chain record and its off-chain inputs, fetched lazily from the store."""

    net: Network
    store: ContentStore
    task_id: int
    on_retry: Callable[[str], None] | None = None
    _cache: dict[str, Dataset] = field(default_factory=dict)

    def _get(self, cid: CID | str | bytes, what: str) -> bytes:
        return retry(lambda: self.store.get(as_cid(cid)), what=what, on_retry=self.on_retry)

    @cached_property
    def task(self) -> Task:
        return self.net.tasks.get_task(self.task_id)

    def refresh(self) -> Task:
        self.__dict__.pop("task", None)
        return self.task

    @cached_property
    def config(self) -> TrainConfig:
        raw = self._get(config_cid(self.task.config.config_hash), "fetch the training config")
        if hashlib.sha256(raw).digest() != self.task.config.config_hash:
            raise ConfigError("the training config does not match the task's configHash")
        return TrainConfig.from_bytes(raw)

    @cached_property
    def manifest(self) -> DataManifest:
        return DataManifest.from_bytes(self._get(self.task.config.data_cid, "fetch the data manifest"))

    def dataset(self, cid: str) -> Dataset:
        if cid not in self._cache:
            self._cache[cid] = decode_dataset(self._get(cid, f"fetch data {cid}"))
        return self._cache[cid]

    @property
    def validation(self) -> Dataset:
        return self.dataset(self.manifest.validation)

    @cached_property
    def spec(self) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
        init = get_model(self.config.model).init(self.config.init_seed, self.manifest.input_shape_features, self.manifest.num_classes)
        return spec_of(init)

    def model(self, cid: bytes | str | CID) -> dict[str, torch.Tensor]:
        return decode_tensors(self._get(cid, "fetch the model"), self.spec)
