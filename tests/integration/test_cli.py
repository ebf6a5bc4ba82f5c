"""The `meritnet` command as a user runs it: help, deploy, query, devnet, demo, and errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from node.chain.contracts import Role
from node.chain.deploy import load_deployment
from node.chain.devnet import anvil_binary
from node.chain.provider import connect
from node.storage import as_cid, open_store
from tests.conftest import free_port
from tests.helpers import TOKEN, create_task, register
from verifier.merkle import REWARD_ENCODING, StandardMerkleTree

_ANVIL = anvil_binary()
CAST = _ANVIL.parents[2] / _ANVIL.parents[1].name.replace("anvil", "cast") / "bin" / "cast"


def meritnet(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "MERITNET_COMPACT_JSON": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "node.cli.app", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=300
    )


def test_help_lists_the_commands() -> None:
    result = meritnet("--help")
    assert result.returncode == 0
    for command in ("deploy", "devnet", "query", "demo"):
        assert command in result.stdout


def test_deploy_json_on_the_in_process_chain() -> None:
    result = meritnet("deploy", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["created"] is True and info["record"] is None
    assert set(info["contracts"]) == {"MeritToken", "Registry", "RewardVault", "TaskManager", "ReputationOracle", "RefereeCommittee", "DisputeGame"}


def test_deploy_can_renounce_or_hand_over_admin() -> None:
    result = meritnet("deploy", "--json", "--renounce-admin")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["admin"] is None
    new_admin = "0x" + "ab" * 20
    result = meritnet("deploy", "--json", "--admin", new_admin)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["admin"].lower() == new_admin


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "--admin", "0x" + "ab" * 20, "--renounce-admin"], "exclude each other"),
        (["deploy", "--admin", "0x12"], "is not an address"),
        (["query", "task", "1", "--rpc", "eth-tester://"], "in-process chain"),
        (["deploy", "--rpc", "ftp://nowhere"], "unsupported RPC URI"),
        (["query", "account", "0x00", "--rpc", "http://127.0.0.1:{port}"], "no Ethereum node answers"),
        (["deploy", "--rpc", "eth-tester://", "--config", "/nonexistent.toml"], "cannot read config file"),
    ],
)
def test_bad_input_is_one_line_without_traceback(args: list[str], message: str) -> None:
    result = meritnet(*[a.format(port=free_port()) for a in args])
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 3


def test_debug_shows_the_traceback() -> None:
    result = meritnet("--debug", "deploy", "--rpc", "ftp://nowhere")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_demo_command_runs_the_network_and_reports_json(tmp_path: Path) -> None:
    result = meritnet("demo", "--processes", "--json", "--trainers", "2", "--rounds", "1", "--steps", "10", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["out"] == str(tmp_path) and (tmp_path / "logs" / "aggregator.log").exists()
    (only,) = report["rounds"]
    assert only["finalized"] and only["accuracy"] > only["accuracy_before"]
    assert 0 < report["paid"] <= report["budget"]
    trainers = [p for p in report["participants"] if p["role"] == "trainer"]
    assert len(trainers) == 2 and all(p["stake"] == 20 * TOKEN and p["earned"] > 0 for p in trainers)


@pytest.mark.devnet
def test_devnet_lifecycle_and_queries_match_cast(tmp_path: Path) -> None:
    port = free_port()
    env = {"MERITNET_HOME": str(tmp_path / "home"), "MERITNET_DEPLOYMENTS": str(tmp_path / "deployments")}
    rpc = f"http://127.0.0.1:{port}"
    started = meritnet("devnet", "start", "--port", str(port), "--json", env=env)
    assert started.returncode == 0, started.stderr
    try:
        status = json.loads(meritnet("devnet", "status", "--port", str(port), "--json", env=env).stdout)
        assert status["running"] and status["chain_id"] == 31337
        deployed = meritnet("deploy", "--rpc", rpc, "--json", env=env)
        assert deployed.returncode == 0, deployed.stderr
        info = json.loads(deployed.stdout)
        assert info["created"] and Path(info["record"]).exists()
        again = json.loads(meritnet("deploy", "--rpc", rpc, "--json", env=env).stdout)
        assert again["created"] is False and again["contracts"] == info["contracts"]
        # some state to read: a registered trainer and a task
        w3 = connect(rpc)
        net = load_deployment(w3, tmp_path / "deployments")
        owner, agg, trainer = w3.eth.accounts[:3]
        for a in (owner, agg, trainer):
            net.token.mint(owner, a, 1000 * TOKEN)
        register(net, agg, Role.AGGREGATOR, 2 * TOKEN)
        register(net, trainer, Role.TRAINER, 3 * TOKEN)
        task_id = create_task(net, owner, agg, min_stake=TOKEN)
        account = json.loads(meritnet("query", "account", trainer, "--rpc", rpc, "--json", env=env).stdout)
        task = json.loads(meritnet("query", "task", str(task_id), "--rpc", rpc, "--json", env=env).stdout)
        rnd = json.loads(meritnet("query", "round", str(task_id), "--rpc", rpc, "--json", env=env).stdout)
        assert account["stake"] == 3 * TOKEN and account["roles"] == ["trainer"]
        assert task["current_round"] == 1 and rnd["phase"] == "commit"
        script = subprocess.run(
            [sys.executable, "scripts/query.py", "--rpc", rpc, "--deployments", env["MERITNET_DEPLOYMENTS"], "task", str(task_id)],
            capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip
        assert json.loads(script.stdout) == task

        def cast(*args: str) -> str:
            out = subprocess.run([str(CAST), "call", *args, "--rpc-url", rpc], capture_output=True, text=True, check=True)
            return out.stdout.split()[0]

        contracts = info["contracts"]
        assert int(cast(contracts["MeritToken"], "balanceOf(address)(uint256)", trainer)) == account["token_balance"]
        assert int(cast(contracts["Registry"], "stakeOf(address)(uint256)", trainer)) == account["stake"]
        assert int(cast(contracts["TaskManager"], "taskCount()(uint256)")) == task_id
        assert int(cast(contracts["RewardVault"], "unallocated(uint256)(uint256)", str(task_id))) == task["unallocated"]
        missing = meritnet("query", "task", "99", "--rpc", rpc, env=env)
        assert missing.returncode == 1 and "task 99 does not exist" in missing.stderr
        bad = meritnet("query", "account", "0x1234", "--rpc", rpc, env=env)
        assert bad.returncode == 1 and "not an Ethereum address" in bad.stderr
    finally:
        stopped = meritnet("devnet", "stop", "--json", env=env)
    assert json.loads(stopped.stdout)["stopped"] is True
    down = meritnet("devnet", "status", "--port", str(port), "--json", env=env)
    assert down.returncode == 3 and json.loads(down.stdout)["running"] is False
    # without --port, status reports the port of the last start, not the default
    last = json.loads(meritnet("devnet", "status", "--json", env=env).stdout)
    assert last["running"] is False and last["url"] == rpc
    # state persisted: a restart serves the same deployment
    assert meritnet("devnet", "start", "--port", str(port), env=env).returncode == 0
    try:
        assert json.loads(meritnet("deploy", "--rpc", rpc, "--json", env=env).stdout)["created"] is False
    finally:
        meritnet("devnet", "stop", env=env)


@pytest.mark.devnet
def test_devnet_start_on_a_busy_port_fails_clearly(tmp_path: Path, anvil_url: str) -> None:
    port = anvil_url.rsplit(":", 1)[1]
    result = meritnet("devnet", "start", "--port", port, env={"MERITNET_HOME": str(tmp_path)})
    assert result.returncode == 1 and "already in use" in result.stderr


@pytest.mark.devnet
def test_reputation_commands_on_a_devnet(tmp_path: Path, anvil_url: str) -> None:
    from tests.walkthrough import run_walkthrough

    env = {"MERITNET_DEPLOYMENTS": str(tmp_path / "deployments")}
    assert meritnet("deploy", "--rpc", anvil_url, "--force", "--json", env=env).returncode == 0
    w3 = connect(anvil_url)
    net = load_deployment(w3, tmp_path / "deployments")
    report = run_walkthrough(w3, trainers=2, net=net, walks=2000)
    owner = report["reputation"]["ego"]
    posted = meritnet("reputation", "--epoch", "1", "--walks", "2000", "--rpc", anvil_url, "--json", env=env)
    assert posted.returncode == 0, posted.stderr
    data = json.loads(posted.stdout)
    assert data["root"] == report["reputation"]["root"]
    assert data["scores"] and all(entry["verified_on_chain"] for entry in data["scores"])
    assert {e["address"]: e["score"] for e in data["scores"]} == report["reputation"]["scores"]
    wrong_walks = meritnet("reputation", "--epoch", "1", "--walks", "1000", "--rpc", anvil_url, env=env)
    assert wrong_walks.returncode == 1 and "does not match the recomputation" in wrong_walks.stderr
    now = json.loads(meritnet("reputation", owner, "--ego", owner, "--walks", "500", "--rpc", anvil_url, "--json", env=env).stdout)
    assert now["scores"][0]["address"] == owner and now["scores"][0]["score"] > 0
    # post-epoch by the deployer (it is the admin, so grant itself the role first)
    net.reputation.grant_poster(w3.eth.accounts[0], w3.eth.accounts[0])
    store = f"embedded:{tmp_path / 'store'}"
    second = meritnet("post-epoch", "--ego", owner, "--walks", "500", "--store", store, "--rpc", anvil_url, "--json", env=env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["epoch"] == 2
    # the epoch's table is published as a StandardMerkleTree dump and read back in place of a recomputation
    dump = json.loads(open_store(store, default_dir=tmp_path).get(as_cid(json.loads(second.stdout)["table"])))
    assert dump["format"] == "standard-v1" and dump["leafEncoding"] == ["address", "int256"]
    (tmp_path / "epoch2.json").write_text(json.dumps(dump))
    recomputed = json.loads(meritnet("reputation", "--epoch", "2", "--walks", "500", "--rpc", anvil_url, "--json", env=env).stdout)
    for how in (["--published", "--store", store], ["--table", str(tmp_path / "epoch2.json")]):
        read = meritnet("reputation", "--epoch", "2", *how, "--rpc", anvil_url, "--json", env=env)
        assert read.returncode == 0, read.stderr
        data = json.loads(read.stdout)
        assert data["root"] == recomputed["root"] and all(e["verified_on_chain"] for e in data["scores"])
        assert {e["address"]: e["fixed"] for e in data["scores"]} == {e["address"]: e["fixed"] for e in recomputed["scores"]}
    wrong_epoch = meritnet("reputation", "--epoch", "1", "--table", str(tmp_path / "epoch2.json"), "--rpc", anvil_url, env=env)
    assert wrong_epoch.returncode == 1 and "is not the posted root" in wrong_epoch.stderr
    # the round's reward table as a StandardMerkleTree dump serves `query rewards --leaves`
    rows = [(r["account"], r["score"], r["amount"]) for r in report["rewards"]]
    (tmp_path / "rewards.json").write_text(json.dumps(StandardMerkleTree.of(rows, REWARD_ENCODING).dump()))
    trainer = rows[0][0]
    claim = meritnet("query", "rewards", trainer, "--task", str(report["task"]["task_id"]), "--round", "1", "--leaves", str(tmp_path / "rewards.json"),
                     "--rpc", anvil_url, "--json", env=env)  # fmt: skip
    assert claim.returncode == 0, claim.stderr
    (entry,) = json.loads(claim.stdout)["rounds"]
    assert entry["amount"] == rows[0][2] and entry["claimed"] is True and entry["proof"] is not None
    script = subprocess.run(
        [sys.executable, "scripts/query_reputation.py", "--rpc", anvil_url, "--deployments", env["MERITNET_DEPLOYMENTS"], "--epoch", "2", "--walks", "500"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert script.returncode == 0, script.stderr
    assert json.loads(script.stdout)["root"] == json.loads(second.stdout)["root"]
    both = meritnet("reputation", "--rpc", anvil_url, env=env)
    assert both.returncode == 1 and "exactly one of --ego" in both.stderr


def test_dispute_simulate_reports_the_located_fault_and_the_gas() -> None:
    result = meritnet("dispute", "simulate", "--steps", "3", "--fault-step", "2", "--fault-op", "4", "--liar", "defender", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["winner"], out["loser"], out["located"]) == ("challenger", "defender", {"step": 2, "op": 4})
    assert out["moves"] == out["expected_moves"] == 2 + 5
    assert len(out["gas"]["per_move"]) == out["moves"] and out["gas"]["total"] > out["gas"]["verdict"] > 0
    assert 0 < out["referee_seconds"] and 0 < out["step_seconds"]
    bad = meritnet("dispute", "simulate", "--steps", "3", "--fault-step", "3")
    assert bad.returncode == 1 and "--fault-step must be in 0..2" in bad.stderr


@pytest.mark.devnet
def test_dispute_list_and_show_on_a_devnet(tmp_path: Path, anvil_url: str) -> None:
    from node.dispute_sim import Arena, SimulationSpec

    env = {"MERITNET_DEPLOYMENTS": str(tmp_path / "deployments")}
    assert meritnet("deploy", "--rpc", anvil_url, "--force", "--json", env=env).returncode == 0
    w3 = connect(anvil_url)
    arena = Arena(w3, load_deployment(w3, tmp_path / "deployments"))
    out = arena.dispute(SimulationSpec(steps=4, fault_step=1, fault_op=20, liar="defender"))
    listed = json.loads(meritnet("dispute", "list", "--rpc", anvil_url, "--json", env=env).stdout)
    assert [(d["dispute_id"], d["stage"], d["winner"]) for d in listed] == [(out["dispute_id"], "resolved", "challenger")]
    shown = meritnet("dispute", "show", str(out["dispute_id"]), "--rpc", anvil_url, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["located"] == {"step": 1, "op": 20} and len(data["move_log"]) == data["moves"] == out["moves"]
    assert data["slashed"] == out["slashed"] > 0
    missing = meritnet("dispute", "show", "99", "--rpc", anvil_url, env=env)
    assert missing.returncode == 1 and "no dispute 99" in missing.stderr


@pytest.mark.devnet
def test_task_create_uploads_inputs_and_records_the_task(tmp_path: Path, anvil_url: str) -> None:
    env = {"MERITNET_DEPLOYMENTS": str(tmp_path / "deployments"), "MERITNET_STORE": f"embedded:{tmp_path / 'store'}"}
    assert meritnet("deploy", "--rpc", anvil_url, "--force", "--json", env=env).returncode == 0
    w3 = connect(anvil_url)
    owner, agg = w3.eth.accounts[:2]
    load_deployment(w3, tmp_path / "deployments").token.mint(owner, owner, 10_000 * TOKEN)
    created = meritnet("task", "create", "--aggregator", agg, "--account", owner, "--rounds", "2", "--reward", "50", "--model", "cnn",
                       "--rpc", anvil_url, "--json", env=env)  # fmt: skip
    assert created.returncode == 0, created.stderr
    info = json.loads(created.stdout)
    task = json.loads(meritnet("query", "task", str(info["task"]), "--rpc", anvil_url, "--json", env=env).stdout)
    assert task["budget"] == 100 * TOKEN and task["config"]["aggregator"] == agg and info["config"]["model"] == "cnn"
    from node.storage import EmbeddedStore, as_cid

    store = EmbeddedStore(tmp_path / "store")
    assert store.has(as_cid(bytes.fromhex(task["config"]["model_cid"][2:]))) and store.has(as_cid(bytes.fromhex(task["config"]["data_cid"][2:])))
    bad = meritnet("task", "create", "--aggregator", agg, "--account", owner, "--data", str(tmp_path / "nope.npz"), "--rpc", anvil_url, env=env)
    assert bad.returncode == 1 and "cannot read data set" in bad.stderr
    rewards = meritnet("query", "rewards", owner, "--task", "99", "--rpc", anvil_url, env=env)
    assert rewards.returncode == 1 and "task 99 does not exist" in rewards.stderr
