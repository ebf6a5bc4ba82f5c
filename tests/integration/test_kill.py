"""A trainer as a real OS process, SIGKILLed right after its commitment reached the chain and
restarted with the same command and journal: it reveals, is paid once, and is not slashed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from node.chain.deploy import record_deployment
from node.chain.logs import logs_of
from node.chain.rpc_bridge import RpcBridge
from node.roles.clock import DevnetClock
from node.roles.journal import read_journal
from node.training.loop import TrainConfig
from tests.integration.conftest import make_harness

REPO = Path(__file__).resolve().parents[2]
_EMPTY = b"\x00" * 32


def _wait(condition: Callable[[], bool], tick: Callable[[], object], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        tick()
        time.sleep(0.1)


@pytest.mark.slow
def test_trainer_process_killed_after_commit_resumes_and_is_paid_once(tmp_path: Path) -> None:
    h = make_harness(tmp_path, TrainConfig(steps=5), rounds=1, shards=1, accounts=3)
    net, task, me = h.net, h.task_id, h.accounts[2]
    aggregator = h.aggregator()
    clock = DevnetClock(net, task, trainers=1, grace=30.0)  # jumps only once a phase is done
    with RpcBridge(net.w3) as bridge:
        record_deployment(tmp_path / "deployments", net.deployment)
        cmd = [sys.executable, "-m", "node.cli.app", "trainer", "run", "--task", str(task), "--account", me, "--rpc", bridge.url,
               "--store", f"embedded:{tmp_path / 'store'}", "--deployments", str(tmp_path / "deployments"),
               "--journal", str(tmp_path / "journal"), "--device", "cpu", "--json", "--timeout", "180"]  # fmt: skip
        log = (tmp_path / "trainer.log").open("w")
        first = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            _wait(lambda: net.tasks.get_submission(task, 1, me).commitment != _EMPTY, lambda: None, "the commitment")
            os.kill(first.pid, signal.SIGKILL)
            assert first.wait(timeout=30) == -signal.SIGKILL
            stake = net.registry.stake_of(me)
            journaled = read_journal(tmp_path / "journal" / f"task{task}-{me}.json")["1"]
            assert {"delta_cid", "salt", "commitment"} <= set(journaled)  # all the restart needs, on disk before the send

            second = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
            _wait(lambda: second.poll() is not None, lambda: (aggregator.step(), clock.tick()), "the restarted trainer to finish", timeout=240)
        finally:
            for proc in (first, locals().get("second")):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()
            log.close()

    assert second.returncode == 0, (tmp_path / "trainer.log").read_text()[-2000:]
    start = net.deployment.contracts["TaskManager"].block
    for name in ("Committed", "Revealed"):
        assert [log_["args"]["trainer"] for log_ in logs_of(net.w3, net.tasks.contract, name, start)] == [me], f"one {name}, no double submission"
    assert net.tasks.is_finalized(task, 1) and net.vault.has_claimed(task, 1, me)
    assert net.registry.stake_of(me) == stake  # not slashed
