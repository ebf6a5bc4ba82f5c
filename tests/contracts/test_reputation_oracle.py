"""ReputationOracle and reputation edges: epochs, roots, proofs, recomputation from events."""

from __future__ import annotations

import pytest

from node.chain.contracts import Role
from node.chain.deploy import DeployParams, Network, deploy
from node.chain.provider import advance_time
from node.chain.reputation import edge_records, post_epoch, recompute_epoch
from node.errors import ConfigError
from tests.helpers import TOKEN, advance, create_task, post, register, reverts, run_round_to_score
from verifier.reputation.epoch import score_leaf_hash

WALKS = 2000


@pytest.fixture
def round_paid(net: Network, accounts: list[str]) -> dict[str, object]:
    """Task 1 with one finalized round in which t1 and t2 claimed (scores 0.3 and 0.1)."""
    owner, agg, t1, t2, outsider = accounts[0], accounts[1], accounts[2], accounts[3], accounts[9]
    register(net, agg, Role.AGGREGATOR)
    register(net, t1)
    register(net, t2)
    task_id = create_task(net, owner, agg)
    run_round_to_score(net, task_id, 1, [t1, t2], outsider)
    tree, leaves = post(net, task_id, 1, agg, [(t1, 3 * 10**17, 30 * TOKEN), (t2, 10**17, 10 * TOKEN)])
    advance(net, task_id, outsider)
    for leaf in leaves:
        net.vault.claim(leaf.account, task_id, 1, leaf.score, leaf.amount, tree.proof(leaf.hash()))
    return {"owner": owner, "agg": agg, "t1": t1, "t2": t2, "task": task_id}


def test_task_creation_and_claims_emit_reputation_edges(net: Network, round_paid: dict) -> None:  # type: ignore[type-arg]
    edges = [(e.src, e.dst, e.weight) for e in edge_records(net)]
    p = round_paid
    assert edges == [(p["owner"], p["agg"], TOKEN), (p["agg"], p["t1"], 3 * 10**17), (p["agg"], p["t2"], 10**17)]


def test_posted_epoch_is_recomputable_and_scores_prove_on_chain(net: Network, round_paid: dict, accounts: list[str]) -> None:  # type: ignore[type-arg]
    poster = round_paid["agg"]
    net.reputation.grant_poster(accounts[0], poster)
    epoch, result = post_epoch(net, poster, round_paid["owner"], walks=WALKS)
    assert epoch == 1 and net.reputation.get_epoch(1).root == result.root
    again = recompute_epoch(net, 1, walks=WALKS)
    assert again.fixed == result.fixed
    assert result.scores[round_paid["t1"]] > result.scores[round_paid["t2"]] > 0
    for account, value in result.fixed.items():
        assert net.reputation.verify_score(1, account, value, result.proof(account))
        assert not net.reputation.verify_score(1, account, value + 1, result.proof(account))


def test_a_poster_cannot_post_a_root_nobody_can_recompute(net: Network, round_paid: dict, accounts: list[str]) -> None:  # type: ignore[type-arg]
    liar = round_paid["agg"]
    net.reputation.grant_poster(accounts[0], liar)
    epoch, _ = net.reputation.start_epoch(accounts[5])
    inflated = score_leaf_hash(liar, 10**18)
    net.reputation.post_epoch(liar, epoch, round_paid["owner"], inflated)
    with pytest.raises(ConfigError, match="does not match the recomputation"):
        recompute_epoch(net, epoch, walks=WALKS)


def test_epoch_rules(net: Network, accounts: list[str]) -> None:
    admin, poster, anyone = accounts[0], accounts[1], accounts[5]
    role = net.reputation.contract.functions.POSTER_ROLE().call()
    with reverts("ReputationOracleUnknownEpoch", epoch=1):
        net.reputation.get_epoch(1)
    epoch, _ = net.reputation.start_epoch(anyone)
    with reverts("ReputationOracleEpochOpen", epoch=epoch):
        net.reputation.start_epoch(anyone)
    with reverts("AccessControlUnauthorizedAccount", account=poster, neededRole=role):
        net.reputation.post_epoch(poster, epoch, admin, b"\x01" * 32)
    net.reputation.grant_poster(admin, poster)
    with reverts("ReputationOracleNotOpen", epoch=2, openEpoch=1):
        net.reputation.post_epoch(poster, 2, admin, b"\x01" * 32)
    with reverts("ReputationOracleEmptyRoot"):
        net.reputation.post_epoch(poster, epoch, admin, b"\x00" * 32)
    net.reputation.post_epoch(poster, epoch, admin, b"\x01" * 32)
    with reverts("ReputationOracleNotOpen", epoch=1, openEpoch=0):
        net.reputation.post_epoch(poster, epoch, admin, b"\x02" * 32)
    second, _ = net.reputation.start_epoch(anyone)
    assert second == 2 and net.reputation.latest_epoch() == 2
    assert net.reputation.get_epoch(2).snapshot_block > net.reputation.get_epoch(1).snapshot_block


def test_recompute_errors(net: Network, accounts: list[str]) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        recompute_epoch(net, 1)
    net.reputation.start_epoch(accounts[0])
    with pytest.raises(ConfigError, match="not posted yet"):
        recompute_epoch(net, 1)


def test_deployer_holds_poster_role_and_a_chosen_poster_can_be_named(net: Network, accounts: list[str], artifacts: dict) -> None:  # type: ignore[type-arg]
    assert net.reputation.is_poster(accounts[0])
    assert not net.reputation.is_poster(accounts[1])
    other = deploy(net.w3, accounts[0], DeployParams(epoch_post_window=600), artifacts=artifacts, poster=accounts[4])
    assert other.reputation.is_poster(accounts[4]) and not other.reputation.is_poster(accounts[0])
    assert other.reputation.post_window() == 600


def test_an_unposted_epoch_expires_and_a_new_one_can_start(net: Network, accounts: list[str]) -> None:
    admin, anyone = accounts[0], accounts[5]
    window = net.reputation.post_window()
    epoch, _ = net.reputation.start_epoch(anyone)
    deadline = net.reputation.get_epoch(epoch).post_deadline
    with reverts("ReputationOracleEpochOpen", epoch=epoch, postDeadline=deadline):
        net.reputation.start_epoch(anyone)
    advance_time(net.w3, window + 5)
    with reverts("ReputationOracleEpochExpired", epoch=epoch, postDeadline=deadline):
        net.reputation.post_epoch(admin, epoch, admin, b"\x01" * 32)
    second, _ = net.reputation.start_epoch(anyone)
    assert second == epoch + 1
    net.reputation.post_epoch(admin, second, admin, b"\x01" * 32)
    assert net.reputation.get_epoch(second).posted and not net.reputation.get_epoch(epoch).posted


def test_post_epoch_finishes_an_epoch_someone_else_started(net: Network, round_paid: dict, accounts: list[str]) -> None:  # type: ignore[type-arg]
    started, _ = net.reputation.start_epoch(accounts[7])  # a stranger starts one and never posts
    epoch, result = post_epoch(net, accounts[0], round_paid["owner"], walks=WALKS)
    assert epoch == started and net.reputation.get_epoch(epoch).root == result.root
    assert recompute_epoch(net, epoch, walks=WALKS).root == result.root


def test_post_epoch_checks_the_role_before_starting_anything(net: Network, round_paid: dict, accounts: list[str]) -> None:  # type: ignore[type-arg]
    before = net.reputation.latest_epoch()
    with pytest.raises(ConfigError, match="POSTER_ROLE") as info:
        post_epoch(net, accounts[6], round_paid["owner"], walks=WALKS)
    assert "--account" in (info.value.hint or "")
    assert net.reputation.latest_epoch() == before
