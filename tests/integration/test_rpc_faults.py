"""A round through a faulty JSON-RPC endpoint: requests dropped, answered 503, or forwarded
with the answer lost (the transaction went through); the nodes re-read the chain and the
round ends as it would without faults."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from node.chain.deploy import Network
from node.chain.logs import logs_of
from node.chain.provider import connect
from node.chain.rpc_bridge import RpcBridge
from node.errors import MeritnetError
from node.roles.aggregator import Aggregator
from node.roles.trainer import Trainer
from node.training.loop import TrainConfig
from tests.integration.conftest import make_harness
from tests.tools.rpc_proxy import FaultyRpcProxy


def _tolerant(step: Callable[[], object], errors: list[str]) -> Callable[[], bool]:
    """What run_daemon does with a failed step: report it, re-read the chain next pass."""

    def run() -> bool:
        try:
            return bool(step())
        except MeritnetError as exc:
            errors.append(exc.one_line())
            return True

    return run


@pytest.mark.slow
def test_a_round_completes_through_a_faulty_rpc_with_the_same_outcome(tmp_path: Path) -> None:
    h = make_harness(tmp_path, TrainConfig(steps=5), rounds=1, shards=1, accounts=3)
    task, direct = h.task_id, h.net
    errors: list[str] = []
    # 10% of all requests faulted at random, and the first sends forced: one never arrives, one
    # is refused with 503, two go through with the answer lost (the node must see they did).
    force = {"eth_sendTransaction": ["drop", "reset", "5xx", "reset"]}
    with RpcBridge(direct.w3) as bridge, FaultyRpcProxy(bridge.url, rate=0.1, seed=18, force=force) as proxy:
        net = Network(connect(proxy.url), direct.deployment, direct.artifacts)
        trainers = [Trainer(net, h.store, h.accounts[2], task, journal_dir=tmp_path / "journal", device="cpu")]
        aggregator = Aggregator(net, h.store, h.accounts[1], task, fetch_timeout=2)
        nodes = [*trainers, aggregator]
        for _ in range(20):  # registration: approve and register, each re-checked on the chain
            for n in nodes:
                _tolerant(n.ensure_registered, errors)()
        assert all(direct.registry.roles_of(n.address) for n in nodes), errors
        stakes = {t.address: direct.registry.stake_of(t.address) for t in trainers}
        h.run([_tolerant(n.step, errors) for n in nodes], trainers=1, max_ticks=600,
              until=lambda: direct.tasks.is_finalized(task, 1) and all(direct.vault.has_claimed(task, 1, t.address) for t in trainers))  # fmt: skip

    assert proxy.by_method[("eth_sendTransaction", "reset")] >= 2 and sum(proxy.faults.values()) >= 20, proxy.by_method
    assert errors  # the failed sends were reported, then the nodes went on
    start = direct.deployment.contracts["TaskManager"].block
    for name in ("Committed", "Revealed"):
        submitted = [log["args"]["trainer"] for log in logs_of(direct.w3, direct.tasks.contract, name, start)]
        assert sorted(submitted) == sorted(t.address for t in trainers), f"{name}: one each, no double submission"
    table = aggregator.reports[1]
    assert all(e["valid"] and e["amount"] > 0 for e in table["entries"])
    assert direct.vault.round_rewards(task, 1).claimed == sum(e["amount"] for e in table["entries"])
    assert {t.address: direct.registry.stake_of(t.address) for t in trainers} == stakes  # nobody slashed
