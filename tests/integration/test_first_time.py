"""What a new user meets first: MERIT on a devnet, roles, waits, and errors that say the fix."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from node.chain import devnet
from node.chain.contracts import Phase, Role
from node.chain.deploy import DeployParams, deploy, load_deployment
from node.chain.provider import connect
from node.roles.common import try_advance
from node.roles.waits import Waits
from node.services import free_port
from tests.helpers import TOKEN, create_task, post, register, run_round_to_score
from tests.integration.conftest import make_harness
from tests.integration.test_cli import meritnet


def test_a_node_says_once_that_it_waits_for_the_phase_deadline(tmp_path: Path) -> None:
    h = make_harness(tmp_path, rounds=1)
    events: list[dict[str, object]] = []
    waits = Waits(lambda event, **fields: events.append({"event": event, **fields}))
    for _ in range(3):
        assert try_advance(h.net, h.accounts[0], h.task_id, waits=waits) is False
    deadline = h.net.tasks.get_round(h.task_id, 1).deadline
    assert len(events) == 1
    assert "waiting for chain time to pass the Commit deadline (chain at " in str(events[0]["message"])
    assert f"deadline {deadline})" in str(events[0]["message"])


def test_referee_keygen_writes_a_private_key_file_it_will_not_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "referee.key"
    made = meritnet("referee", "keygen", str(path), "--json")
    assert made.returncode == 0, made.stderr
    secret = int(path.read_text().strip(), 16)
    assert 0 < secret and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(made.stdout)["key_file"] == str(path)
    again = meritnet("referee", "keygen", str(path))
    assert again.returncode == 1 and "--force" in again.stderr and int(path.read_text().strip(), 16) == secret


def test_the_in_process_chain_is_a_devnet_for_deploy_funding() -> None:
    result = meritnet("deploy", "--json", "--fund", "5")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["funded"] == {"accounts": 10, "amount": 5 * TOKEN}


@pytest.mark.devnet
def test_deploy_funds_devnet_accounts_and_the_faucet_mints_more(tmp_path: Path, anvil_url: str) -> None:
    env = {"MERITNET_DEPLOYMENTS": str(tmp_path / "deployments"), "MERITNET_STORE": f"embedded:{tmp_path / 'store'}"}
    deployed = meritnet("deploy", "--rpc", anvil_url, "--force", "--json", env=env)
    assert deployed.returncode == 0, deployed.stderr
    w3 = connect(anvil_url)
    net = load_deployment(w3, tmp_path / "deployments")
    accounts = w3.eth.accounts
    assert json.loads(deployed.stdout)["funded"] == {"accounts": len(accounts), "amount": 1000 * TOKEN}
    assert all(net.token.balance_of(a) == 1000 * TOKEN for a in accounts)
    assert net.reputation.is_poster(accounts[0])
    minted = meritnet("faucet", accounts[7], "2.5", "--rpc", anvil_url, "--json", env=env)
    assert minted.returncode == 0, minted.stderr
    assert json.loads(minted.stdout)["balance"] == net.token.balance_of(accounts[7]) == 1002_5 * TOKEN // 10
    shown = meritnet("query", "account", accounts[7], "--rpc", anvil_url, env=env)
    assert "1,002.5 MERIT" in shown.stdout
    not_minter = meritnet("faucet", accounts[7], "--account", accounts[3], "--rpc", anvil_url, env=env)
    assert not_minter.returncode == 1 and "MINTER_ROLE" in not_minter.stderr and "deployer" in not_minter.stderr
    listed = meritnet("query", "accounts", "--addresses", "--rpc", anvil_url, env=env)
    assert listed.stdout.split() == list(accounts)


@pytest.mark.devnet
def test_errors_a_new_user_meets_say_the_fix(tmp_path: Path, anvil_url: str) -> None:
    env = {"MERITNET_DEPLOYMENTS": str(tmp_path / "deployments"), "MERITNET_STORE": f"embedded:{tmp_path / 'store'}"}
    assert meritnet("deploy", "--rpc", anvil_url, "--force", "--fund", "0", "--json", env=env).returncode == 0
    w3 = connect(anvil_url)
    net = load_deployment(w3, tmp_path / "deployments")
    owner, agg, t1, t2, stranger = (
        w3.eth.accounts[0],
        w3.eth.accounts[1],
        w3.eth.accounts[2],
        w3.eth.accounts[3],
        w3.eth.accounts[9],
    )
    assert net.token.balance_of(owner) == 0  # --fund 0
    # an account without MERIT
    broke = meritnet("task", "create", "--aggregator", agg, "--account", owner, "--rpc", anvil_url, env=env)
    assert (
        broke.returncode == 1
        and "ERC20InsufficientBalance" in broke.stderr
        and f"meritnet faucet {owner}" in broke.stderr
    )
    # a missing role: the reputation oracle's poster, checked before any epoch starts
    no_role = meritnet("post-epoch", "--ego", owner, "--account", stranger, "--rpc", anvil_url, env=env)
    assert no_role.returncode == 1 and "POSTER_ROLE" in no_role.stderr and "--account" in no_role.stderr
    assert net.reputation.latest_epoch() == 0
    # an account the node cannot sign for
    foreign = "0x000000000000000000000000000000000000bEEF"
    unsigned = meritnet("faucet", owner, "--account", foreign, "--rpc", anvil_url, env=env)
    assert (
        unsigned.returncode == 1 and "cannot sign for" in unsigned.stderr and "MERITNET_PRIVATE_KEY" in unsigned.stderr
    )
    # an unknown task
    unknown = meritnet("trainer", "run", "--task", "9", "--account", t1, "--rpc", anvil_url, env=env)
    assert (
        unknown.returncode == 1
        and "task 9 does not exist" in unknown.stderr
        and "meritnet task create" in unknown.stderr
    )
    # a scores table that is not in the embedded store
    for a in (owner, agg, t1, t2):
        net.token.mint(owner, a, 1000 * TOKEN)
    register(net, agg, Role.AGGREGATOR)
    register(net, t1)
    register(net, t2)
    task_id = create_task(net, owner, agg)
    run_round_to_score(net, task_id, 1, [t1, t2], stranger)
    post(net, task_id, 1, agg, [(t1, 3 * 10**17, 30 * TOKEN), (t2, 10**17, 10 * TOKEN)])
    missing = meritnet("query", "rewards", t1, "--task", str(task_id), "--rpc", anvil_url, env=env)
    assert missing.returncode == 1 and "not in the embedded store" in missing.stderr and "--store" in missing.stderr
    # the role's fix worked: the deployer posts an epoch
    posted = meritnet("post-epoch", "--ego", owner, "--walks", "200", "--rpc", anvil_url, "--json", env=env)
    assert posted.returncode == 0, posted.stderr
    assert json.loads(posted.stdout)["epoch"] == 1


@pytest.mark.devnet
def test_on_a_node_that_mines_on_demand_a_node_can_mine_an_empty_block(tmp_path: Path, artifacts: dict) -> None:  # type: ignore[type-arg]
    # Its own anvil, with no block time (it mines only on transactions): the session's anvil has
    # had its clock moved ahead of the wall clock by other tests, and this test needs chain time
    # to stand still while the wall clock passes a deadline.
    status = devnet.start(tmp_path / "anvil", free_port(), accounts=4)
    try:
        w3 = connect(status.url)
        owner, agg = w3.eth.accounts[0], w3.eth.accounts[1]
        net = deploy(w3, owner, DeployParams(min_stake=TOKEN), artifacts=artifacts)
        net.token.mint(owner, owner, 1000 * TOKEN)
        net.token.mint(owner, agg, 100 * TOKEN)
        register(net, agg, Role.AGGREGATOR, 2 * TOKEN)
        task_id = create_task(net, owner, agg, commit_duration=2, min_stake=TOKEN)
        deadline = net.tasks.get_round(task_id, 1).deadline
        assert deadline < time.time() + 60, "chain time runs ahead of the wall clock"
        while time.time() <= deadline + 6:  # wall clock well past the deadline; no block comes meanwhile
            time.sleep(0.5)
        events: list[str] = []
        waits = Waits(lambda _event, **fields: events.append(str(fields["message"])))
        assert try_advance(net, owner, task_id, waits=waits) is False
        assert net.tasks.get_round(task_id, 1).phase == Phase.COMMIT
        assert events and "--mine-empty-blocks" in events[-1] and f"deadline {deadline}" in events[-1]
        assert try_advance(net, owner, task_id, waits=waits, mine_empty=True) is True
        assert net.tasks.get_round(task_id, 1).phase == Phase.REVEAL
    finally:
        devnet.stop(tmp_path / "anvil")
