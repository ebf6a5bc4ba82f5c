"""An in-process network for role tests: chain, store, task, trainers, aggregator, clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from node.chain.deploy import DeployParams, Network, deploy
from node.chain.provider import connect
from node.roles.aggregator import Aggregator
from node.roles.clock import DevnetClock
from node.roles.owner import TaskSetup, publish_task
from node.roles.trainer import Trainer
from node.storage import ContentStore, EmbeddedStore
from node.training.data import load_digits
from node.training.loop import TrainConfig

TOKEN = 10**18


@dataclass
class Harness:
    net: Network
    store: ContentStore
    task_id: int
    tmp: Path
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accounts(self) -> list[str]:
        return list(self.net.w3.eth.accounts)

    def trainer(self, account: str, store: ContentStore | None = None) -> Trainer:
        node = Trainer(self.net, store or self.store, account, self.task_id, journal_dir=self.tmp / "journal", device="cpu", on_event=self.events.append)
        node.ensure_registered()
        return node

    def aggregator(self) -> Aggregator:
        node = Aggregator(self.net, self.store, self.accounts[1], self.task_id, on_event=self.events.append, fetch_timeout=2)
        node.ensure_registered()
        return node

    def run(self, steppers: list[Callable[[], bool]], *, trainers: int, max_ticks: int = 400, until: Callable[[], bool] | None = None) -> None:
        clock = DevnetClock(self.net, self.task_id, trainers=trainers, grace=0.0 if trainers == 0 else 3.0)
        for _ in range(max_ticks):
            busy = [step() for step in steppers]
            if until is not None and until():
                return
            if not any(busy):
                return
            clock.tick()
        raise AssertionError("the network did not finish")


def make_harness(tmp_path: Path, config: TrainConfig = TrainConfig(steps=15), *, rounds: int = 2, shards: int = 3, accounts: int = 8) -> Harness:
    """A fresh in-process chain with a deployment, funded accounts and one published task."""
    w3 = connect(f"eth-tester://?accounts={accounts}")
    accounts = w3.eth.accounts
    net = deploy(w3, accounts[0], DeployParams(min_stake=TOKEN))
    for a in accounts:
        net.token.mint(accounts[0], a, 1_000 * TOKEN)
    store = EmbeddedStore(tmp_path / "store")
    task_id = publish_task(net, store, accounts[0], load_digits(), config,
                           TaskSetup(aggregator=accounts[1], reward_per_round=90 * TOKEN, rounds=rounds, shards=shards, min_stake=TOKEN))  # fmt: skip
    return Harness(net, store, task_id, tmp_path)


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return make_harness(tmp_path)
