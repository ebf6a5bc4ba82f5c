"""The network end to end: real training, deltas in the store, rounds settled on chain."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from node.chain.contracts import Phase
from node.demo import DemoConfig, run_demo
from node.roles.common import config_cid
from node.storage import cid_of, ipfs_daemon
from node.storage.unixfs import as_cid
from node.storage.ipfs_http import IpfsHttpStore
from node.training.codec import encode_delta, encode_tensors
from tests.conftest import free_port
from node.training.data import assign_shard, trainer_seed
from node.training.loop import TrainConfig, train
from tests.integration.conftest import TOKEN, Harness, make_harness

REPO = Path(__file__).resolve().parents[2]


def _check_report(report: dict, trainers: int) -> None:  # type: ignore[type-arg]
    rounds = report["rounds"]
    assert all(r["finalized"] and r["reveals"] == trainers for r in rounds)
    assert rounds[0]["accuracy"] > rounds[0]["accuracy_before"] + 0.2
    assert rounds[-1]["accuracy"] >= rounds[0]["accuracy"]
    assert 0 < report["paid"] <= report["budget"]
    assert report["paid"] == sum(p["earned"] for p in report["participants"])
    assert all(p["earned"] > 0 for p in report["participants"] if p["role"] == "trainer")
    assert report["reputation"]["scores"]


@pytest.mark.slow
def test_demo_network_on_the_embedded_default(tmp_path: Path) -> None:
    report = run_demo(DemoConfig(trainers=3, rounds=2, steps=20), tmp_path)
    _check_report(report, 3)
    assert (tmp_path / "store" / "blocks").is_dir() and (tmp_path / "journal").is_dir()


@pytest.mark.slow
@pytest.mark.devnet
@pytest.mark.ipfs
def test_demo_network_on_anvil_and_js_ipfs(tmp_path: Path, anvil_url: str, ipfs_api: str) -> None:
    report = run_demo(DemoConfig(trainers=3, rounds=2, steps=20, rpc=anvil_url, store=ipfs_api), tmp_path)
    _check_report(report, 3)
    assert not (tmp_path / "store").exists()  # everything went through the IPFS node
    trainer = next(p for p in report["participants"] if p["role"] == "trainer")
    common = ["--rpc", anvil_url, "--store", ipfs_api, "--deployments", str(tmp_path / "deployments"), "--task", str(report["task"])]
    script = subprocess.run([sys.executable, "scripts/query_rewards.py", *common, trainer["address"]], capture_output=True, text=True, cwd=REPO)
    assert script.returncode == 0, script.stderr
    rounds = json.loads(script.stdout)["rounds"]
    assert [r["claimed"] for r in rounds] == [True, True] and sum(r["amount"] for r in rounds) == trainer["earned"]
    cli = subprocess.run([sys.executable, "-m", "node.cli.app", "query", "rewards", trainer["address"], *common, "--json"], capture_output=True, text=True, cwd=REPO)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["rounds"] == rounds


def test_trainer_killed_after_commit_resumes_and_is_paid_once(harness: Harness) -> None:
    accounts = harness.accounts
    agg = harness.aggregator()
    honest = harness.trainer(accounts[2])
    victim = harness.trainer(accounts[3])
    task = harness.task_id
    for node in (honest, victim):
        node.step()
    assert harness.net.tasks.get_submission(task, 1, victim.address).commitment != b"\x00" * 32
    trained = sum(1 for e in harness.events if e["event"] == "trained" and e["address"] == victim.address)
    del victim  # killed after commit, before reveal
    restarted = harness.trainer(accounts[3])  # same journal folder
    harness.run([honest.step, restarted.step, agg.step], trainers=2)
    assert sum(1 for e in harness.events if e["event"] == "trained" and e["address"] == restarted.address) == trained + 1  # round 2 only
    claims = [e for e in harness.events if e["event"] == "claimed" and e["address"] == restarted.address]
    assert sorted(e["round"] for e in claims) == [1, 2]
    assert harness.net.tasks.get_submission(task, 1, restarted.address).revealed
    assert harness.net.registry.stake_of(restarted.address) == TOKEN  # not slashed


def test_restart_after_a_sent_but_unjournaled_commit_still_reveals(harness: Harness) -> None:
    accounts = harness.accounts
    agg = harness.aggregator()
    node = harness.trainer(accounts[2])
    node.step()
    entry = node.journal.round(1)
    assert entry["committed"]
    node.journal.update(1, committed=False)  # as if killed between the transaction and the journal write
    restarted = harness.trainer(accounts[2])
    harness.run([restarted.step, agg.step], trainers=1)
    assert harness.net.tasks.get_submission(harness.task_id, 1, restarted.address).revealed
    assert harness.net.vault.has_claimed(harness.task_id, 1, restarted.address)


@pytest.mark.parametrize("attack", ["nan", "wrong-shape", "garbage", "missing-cid"])
def test_malformed_deltas_score_zero_and_the_round_completes(harness: Harness, attack: str) -> None:
    accounts = harness.accounts
    net, store, task = harness.net, harness.store, harness.task_id
    agg = harness.aggregator()
    honest = [harness.trainer(a) for a in accounts[2:4]]
    attacker = harness.trainer(accounts[4])
    spec = agg.data.spec
    if attack == "nan":
        blob = encode_tensors({k: torch.full(shape, float("nan")) for k, (shape, _) in spec.items()})
    elif attack == "wrong-shape":
        blob = encode_tensors({k: torch.zeros(shape[0] + 1, *shape[1:]) for k, (shape, _) in spec.items()})
    else:
        blob = b"\x00garbage\xff" * 10
    cid = store.put(blob) if attack != "missing-cid" else None
    delta_cid = bytes(cid) if cid is not None else bytes(cid_of(b"never uploaded"))
    values = (delta_cid, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)
    net.tasks.commit(attacker.address, task, 1, net.tasks.compute_commitment(*values, attacker.address, task, 1))
    harness.run([h.step for h in honest] + [agg.step], trainers=3, until=lambda: net.tasks.get_round(task, 1).phase == Phase.REVEAL)
    net.tasks.reveal(attacker.address, task, 1, *values)
    harness.run([h.step for h in honest] + [agg.step], trainers=3, until=lambda: net.tasks.is_finalized(task, 1))
    table = agg.reports[1]
    bad = next(e for e in table["entries"] if e["account"] == attacker.address)
    assert not bad["valid"] and bad["amount"] == 0 and bad["reason"]
    assert all(e["valid"] and e["amount"] > 0 for e in table["entries"] if e["account"] != attacker.address)
    assert table["validation"]["accuracy_after"] > table["validation"]["accuracy_before"]


def test_a_trainer_that_never_reveals_is_slashed_and_others_are_paid(harness: Harness) -> None:
    accounts = harness.accounts
    net, task = harness.net, harness.task_id
    agg = harness.aggregator()
    honest = harness.trainer(accounts[2])
    quitter = harness.trainer(accounts[3])
    quitter.step()  # trains and commits, then stops for good
    harness.run([honest.step, agg.step], trainers=2, until=lambda: net.vault.has_claimed(task, 1, honest.address))
    assert net.tasks.get_submission(task, 1, quitter.address).penalized
    assert net.registry.stake_of(quitter.address) == 0  # its 1-token stake went towards the penalty
    assert net.registry.stake_of(honest.address) == TOKEN
    assert any(e["event"] == "slashed-no-reveal" and e["trainer"] == quitter.address for e in harness.events)
    assert all(e["account"] != quitter.address for e in agg.reports[1]["entries"])  # never revealed: not scored


@pytest.mark.ipfs
@pytest.mark.devnet
def test_ipfs_outage_is_retried_until_the_node_returns(harness: Harness, tmp_path: Path) -> None:
    home = tmp_path / "ipfs-home"
    port = free_port()
    ipfs_daemon.start_ipfs(home, port)
    remote = IpfsHttpStore(ipfs_daemon.api_multiaddr(port), timeout=3)
    try:
        # the task's inputs live on the IPFS node too (same CIDs as in the embedded store)
        for cid in (harness.net.tasks.get_task(harness.task_id).config.model_cid, harness.net.tasks.get_task(harness.task_id).config.data_cid):
            remote.put(harness.store.get(cid))
        trainer = harness.trainer(harness.accounts[2], store=remote)
        manifest = trainer.data.manifest
        for cid in [*manifest.shards, manifest.validation]:
            remote.put(harness.store.get(cid))
        remote.put(harness.store.get(config_cid(trainer.data.task.config.config_hash)))
        ipfs_daemon.stop_ipfs(home)  # outage
        restarter = threading.Timer(2.5, lambda: ipfs_daemon.start_ipfs(home, port))
        restarter.start()
        started = time.monotonic()
        trainer.step()  # trains, then storing the delta fails until the node is back
        restarter.join()
        assert harness.net.tasks.get_submission(harness.task_id, 1, trainer.address).commitment != b"\x00" * 32
        retries = [e for e in harness.events if e["event"] == "retry"]
        assert retries and "does not answer" in retries[0]["message"]
        assert time.monotonic() - started >= 2
        assert remote.has(trainer.journal.round(1)["delta_cid"])
    finally:
        ipfs_daemon.stop_ipfs(home)


def test_a_verifiable_task_trains_with_repops_and_re_execution_matches_the_reveal(tmp_path: Path) -> None:
    h = make_harness(tmp_path, TrainConfig(steps=8, backend="repops"), rounds=1, shards=2)
    net, task = h.net, h.task_id
    agg = h.aggregator()
    trainers = [h.trainer(a) for a in h.accounts[2:4]]
    h.run([t.step for t in trainers] + [agg.step], trainers=2)
    assert net.tasks.is_finalized(task, 1)
    # a verifier re-executes one submission from public inputs alone and gets the same bits
    node = trainers[0]
    data = node.data
    rnd = net.tasks.get_round(task, 1)
    shard = data.dataset(data.manifest.shards[assign_shard(rnd.seed, task, 1, node.address, len(data.manifest.shards))])
    again = train(data.model(rnd.base_model_cid), shard, data.config, seed=trainer_seed(rnd.seed, task, 1, node.address))
    sub = net.tasks.get_submission(task, 1, node.address)
    assert again.trace_root == sub.trace_root and again.final_state_hash == sub.final_state_hash


@pytest.mark.slow
def test_a_compressed_task_publishes_compressed_deltas_that_re_execution_reproduces(tmp_path: Path) -> None:
    recipe = "topk:0.1,int8"
    h = make_harness(tmp_path, TrainConfig(steps=4, backend="repops", compression=recipe), rounds=1, shards=2)
    net, task = h.net, h.task_id
    agg = h.aggregator()
    trainers = [h.trainer(a) for a in h.accounts[2:4]]
    h.run([t.step for t in trainers] + [agg.step], trainers=2)
    assert net.tasks.is_finalized(task, 1)
    entries = agg.reports[1]["entries"]
    assert len(entries) == 2 and all(e["valid"] for e in entries), entries  # the aggregator decoded every compressed delta
    node = trainers[0]
    data = node.data
    rnd = net.tasks.get_round(task, 1)
    shard = data.dataset(data.manifest.shards[assign_shard(rnd.seed, task, 1, node.address, len(data.manifest.shards))])
    again = train(data.model(rnd.base_model_cid), shard, data.config, seed=trainer_seed(rnd.seed, task, 1, node.address))
    published = node.journal.round(1)["delta_cid"]
    assert str(cid_of(encode_delta(again.delta, recipe))) == published  # the compressed bytes, reproduced bit for bit
    assert len(h.store.get(as_cid(published))) < len(encode_tensors(again.delta)) / 5
