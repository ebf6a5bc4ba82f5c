"""The demo network: a task owner, an aggregator and N trainers, each trainer and the
aggregator a separate process, training real models over several rounds.

On the embedded default the chain runs in this process (eth-tester) and is served to the
role processes over JSON-RPC (:class:`~node.chain.rpc_bridge.RpcBridge`); the content store is
an embedded store in the output folder that every process opens. With ``rpc`` and
``store`` it runs the same on anvil/Hardhat and a real IPFS node. A devnet clock skips the
wait for phase deadlines once everyone expected has acted.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.chain.contracts import Role
from node.chain.deploy import DeployParams, Network, deploy, record_deployment
from node.chain.provider import connect
from node.chain.reputation import post_epoch
from node.chain.rpc_bridge import RpcBridge
from node.errors import ConfigError, MeritnetError
from node.roles.clock import DevnetClock
from node.roles.owner import TaskSetup, publish_task
from node.storage import as_cid, open_store
from node.training.data import dataset_for
from node.training.loop import TrainConfig

__all__ = ["DemoConfig", "run_demo"]

logger = logging.getLogger(__name__)
TOKEN = 10**18


@dataclass(frozen=True)
class DemoConfig:
    trainers: int = 3
    rounds: int = 3
    steps: int = 20
    model: str = "mlp"
    backend: str = "stock"
    device: str = "cpu"
    reward: int = 100  # MERIT per round
    rpc: str | None = None  # None: the embedded in-process chain
    store: str | None = None  # None: an embedded store in the output folder
    grace: float = 30.0
    timeout: float = 600.0


class _Process:
    """A role process whose JSON event lines are collected by a reader thread."""

    def __init__(self, name: str, cmd: list[str], on_event: Callable[[dict[str, Any]], None], log: Path) -> None:
        self.name = name
        self.log = log
        self._stderr = open(log, "w")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self.done = False
        self._thread = threading.Thread(target=self._read, args=(on_event,), daemon=True)
        self._thread.start()

    def _read(self, on_event: Callable[[dict[str, Any]], None]) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "done":
                self.done = True
            on_event(event)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._thread.join(timeout=5)
        self._stderr.close()
        return self.proc.returncode


def _role_cmd(role: str, task_id: int, account: str, url: str, store: str, deployments: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "node.cli.app", role, "run", "--task", str(task_id), "--account", account, "--rpc", url,
            "--store", store, "--deployments", str(deployments), "--json", *extra]  # fmt: skip


def run_demo(cfg: DemoConfig, out: Path, *, on_event: Callable[[dict[str, Any]], None] = lambda _e: None) -> dict[str, Any]:
    """Run the network; return a report (per-round accuracy, rewards, reputation)."""
    out.mkdir(parents=True, exist_ok=True)
    bridge: RpcBridge | None = None
    if cfg.rpc is None:
        w3 = connect(f"eth-tester://?accounts={cfg.trainers + 2}")
        bridge = RpcBridge(w3).start()
        url = bridge.url
    else:
        url = cfg.rpc
        w3 = connect(url)
    if len(w3.eth.accounts) < cfg.trainers + 2:
        raise ConfigError(f"the node holds {len(w3.eth.accounts)} unlocked accounts; the demo needs {cfg.trainers + 2}")
    processes: list[_Process] = []
    try:
        owner, aggregator, *rest = w3.eth.accounts[: cfg.trainers + 2]
        trainers = list(rest)
        on_event({"event": "deploying", "rpc": url})
        net: Network = deploy(w3, owner, DeployParams(min_stake=10 * TOKEN))
        deployments = out / "deployments"
        record_deployment(deployments, net.deployment)
        for account in [owner, aggregator, *trainers]:
            net.token.mint(owner, account, 1_000 * TOKEN)
        store_uri = cfg.store or f"embedded:{out / 'store'}"
        store = open_store(store_uri, default_dir=out / "store")
        train_cfg = TrainConfig.for_model(cfg.model, steps=cfg.steps, backend=cfg.backend)
        setup = TaskSetup(aggregator=aggregator, reward_per_round=cfg.reward * TOKEN, rounds=cfg.rounds, shards=max(cfg.trainers, 2),
                          phase_seconds=3600, min_stake=10 * TOKEN, no_reveal_penalty=5 * TOKEN, name=cfg.model)  # fmt: skip
        task_id = publish_task(net, store, owner, dataset_for(cfg.model), train_cfg, setup)
        on_event({"event": "task-created", "task": task_id, "trainers": cfg.trainers, "rounds": cfg.rounds})
        logs = out / "logs"
        logs.mkdir(exist_ok=True)
        processes.append(_Process("aggregator", _role_cmd("aggregator", task_id, aggregator, url, store_uri, deployments, []), on_event, logs / "aggregator.log"))
        for i, t in enumerate(trainers):
            extra = ["--journal", str(out / "journal"), "--device", cfg.device, "--stake", str(20 * TOKEN)]
            processes.append(_Process(f"trainer-{i}", _role_cmd("trainer", task_id, t, url, store_uri, deployments, extra), on_event, logs / f"trainer-{i}.log"))
        clock = DevnetClock(net, task_id, trainers=cfg.trainers, grace=cfg.grace)
        deadline = time.monotonic() + cfg.timeout
        while not all(p.done or p.proc.poll() is not None for p in processes):
            if time.monotonic() > deadline:
                raise MeritnetError(f"the demo did not finish within {cfg.timeout:.0f} s", hint=f"see the logs in {logs}")
            clock.tick()
            time.sleep(0.2)
        failed = [p for p in processes if not p.done]
        if failed:
            tail = failed[0].log.read_text()[-800:]
            raise MeritnetError(f"{failed[0].name} exited with code {failed[0].proc.returncode}: {tail.strip()}")
        net.reputation.grant_poster(owner, aggregator)
        epoch, reputation = post_epoch(net, aggregator, owner, store=store)
        on_event({"event": "reputation-posted", "epoch": epoch})
        return _report(net, store, task_id, owner, aggregator, trainers, reputation.scores, epoch)
    finally:
        for p in processes:
            p.stop()
        if bridge is not None:
            bridge.stop()


def _report(net: Network, store: Any, task_id: int, owner: str, aggregator: str, trainers: list[str], reputation: dict[str, float], epoch: int) -> dict[str, Any]:
    task = net.tasks.get_task(task_id)
    rounds = []
    earned = dict.fromkeys(trainers, 0)
    for r in range(1, task.current_round + 1):
        rnd = net.tasks.get_round(task_id, r)
        table = json.loads(store.get(as_cid(rnd.scores_cid))) if rnd.scores_cid else None
        if table:
            for entry in table["entries"]:
                earned[entry["account"]] = earned.get(entry["account"], 0) + int(entry["amount"])
        rounds.append({
            "round": r, "finalized": net.tasks.is_finalized(task_id, r), "reveals": rnd.reveals,
            "accuracy_before": table["validation"]["accuracy_before"] if table else None,
            "accuracy": table["validation"]["accuracy_after"] if table else None,
            "loss": table["validation"]["loss_after"] if table else None,
            "total_reward": rnd.total_reward, "claimed": net.vault.round_rewards(task_id, r).claimed,
            "model": str(as_cid(rnd.new_model_cid)) if rnd.new_model_cid else None,
        })  # fmt: skip
    participants = []
    for account in [aggregator, *trainers]:
        role = "aggregator" if account == aggregator else "trainer"
        participants.append({
            "address": account, "role": role, "stake": net.registry.stake_of(account),
            "token_balance": net.token.balance_of(account), "earned": earned.get(account, 0),
            "reputation": reputation.get(account, 0.0), "registered": bool(net.registry.roles_of(account) & (Role.TRAINER | Role.AGGREGATOR)),
        })  # fmt: skip
    return {
        "task": task_id,
        "budget": task.config.budget,
        "paid": sum(r["claimed"] for r in rounds),
        "rounds": rounds,
        "participants": participants,
        "reputation": {"epoch": epoch, "ego": owner, "scores": reputation},
    }
