"""RewardVault: Merkle pull claims, locks, no double claim, budget bound, reentrancy."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.chain.contracts import Role
from node.chain.contracts import TaskManager as TaskClient
from node.chain.deploy import Network
from node.chain.provider import advance_time, is_in_process, revert_to, snapshot
from node.errors import ContractRevert
from tests.helpers import (
    TOKEN,
    advance,
    create_task,
    post,
    register,
    reverts,
    reward_table,
    run_round_to_score,
    task_config,
)


@pytest.fixture
def scored(net: Network, accounts: list[str]) -> dict[str, object]:
    """Task 1, round 1 scored: t1 and t2 earn 30 and 50 tokens; the round is in Challenge."""
    owner, agg, t1, t2, outsider = accounts[0], accounts[1], accounts[2], accounts[3], accounts[9]
    register(net, agg, Role.AGGREGATOR)
    register(net, t1)
    register(net, t2)
    task_id = create_task(net, owner, agg)
    run_round_to_score(net, task_id, 1, [t1, t2], outsider)
    tree, leaves = post(net, task_id, 1, agg, [(t1, 2 * 10**17, 30 * TOKEN), (t2, 3 * 10**17, 50 * TOKEN)])
    return {"task": task_id, "tree": tree, "leaves": leaves, "t1": t1, "t2": t2, "outsider": outsider, "agg": agg}


def _claim(net: Network, s: dict, index: int, *, sender: str | None = None) -> None:  # type: ignore[type-arg]
    leaf = s["leaves"][index]
    net.vault.claim(sender or leaf.account, s["task"], 1, leaf.score, leaf.amount, s["tree"].proof(leaf.hash()))


def test_claim_before_finalization_reverts(net: Network, scored: dict) -> None:  # type: ignore[type-arg]
    with reverts("RewardVaultRoundNotFinalized", taskId=scored["task"], round=1):
        _claim(net, scored, 0)


def test_claim_after_finalization_pays_once(net: Network, scored: dict) -> None:  # type: ignore[type-arg]
    advance(net, scored["task"], scored["outsider"])
    t1 = scored["t1"]
    before = net.token.balance_of(t1)
    _claim(net, scored, 0)
    assert net.token.balance_of(t1) == before + 30 * TOKEN
    assert net.vault.has_claimed(scored["task"], 1, t1)
    assert net.vault.round_rewards(scored["task"], 1).claimed == 30 * TOKEN
    with reverts("RewardVaultAlreadyClaimed", taskId=scored["task"], round=1, account=t1):
        _claim(net, scored, 0)


def test_claim_with_wrong_proof_or_values_reverts(net: Network, scored: dict) -> None:  # type: ignore[type-arg]
    advance(net, scored["task"], scored["outsider"])
    task, tree, (l1, l2) = scored["task"], scored["tree"], scored["leaves"]
    with reverts("RewardVaultInvalidProof", account=l1.account):
        net.vault.claim(l1.account, task, 1, l1.score, l1.amount + 1, tree.proof(l1.hash()))
    with reverts("RewardVaultInvalidProof", account=l1.account):
        net.vault.claim(l1.account, task, 1, l1.score, l1.amount, tree.proof(l2.hash()))
    # Someone else presenting t1's valid leaf and proof is checked against their own address.
    with reverts("RewardVaultInvalidProof", account=scored["outsider"]):
        _claim(net, scored, 0, sender=scored["outsider"])


def test_claim_while_dispute_open_reverts(net: Network, scored: dict, accounts: list[str]) -> None:  # type: ignore[type-arg]
    net.tasks.grant_dispute_role(accounts[0], accounts[7])
    net.tasks.open_dispute(accounts[7], scored["task"], 1)
    with reverts("TaskManagerDisputeOpen"):
        advance(net, scored["task"], scored["outsider"])
    with reverts("RewardVaultRoundNotFinalized", taskId=scored["task"], round=1):
        _claim(net, scored, 0)


def test_claims_cannot_exceed_allocation_whatever_the_root(net: Network, accounts: list[str]) -> None:
    """An aggregator posts leaves that sum to more than it allocated: the vault pays no more."""
    owner, agg, t1, t2, outsider = accounts[0], accounts[1], accounts[2], accounts[3], accounts[9]
    register(net, agg, Role.AGGREGATOR)
    task_id = create_task(net, owner, agg)
    run_round_to_score(net, task_id, 1, [], outsider)
    tree, leaves = post(net, task_id, 1, agg, [(t1, 1, 60 * TOKEN), (t2, 1, 60 * TOKEN)], total=100 * TOKEN)
    advance(net, task_id, outsider)
    net.vault.claim(t1, task_id, 1, 1, 60 * TOKEN, tree.proof(leaves[0].hash()))
    with reverts("RewardVaultAllocationExceeded", taskId=task_id, round=1, remaining=40 * TOKEN, requested=60 * TOKEN):
        net.vault.claim(t2, task_id, 1, 1, 60 * TOKEN, tree.proof(leaves[1].hash()))


def test_only_task_manager_moves_budgets(net: Network, accounts: list[str]) -> None:
    mallory = accounts[5]
    with reverts("RewardVaultNotTaskManager", caller=mallory):
        net.tx.send(net.vault.contract.functions.deposit(1, mallory, 1), mallory)
    with reverts("RewardVaultNotTaskManager", caller=mallory):
        net.tx.send(net.vault.contract.functions.allocate(1, 1, b"\x01" * 32, 1), mallory)
    with reverts("RewardVaultAlreadyBound", taskManager=net.tasks.address):
        net.vault.bind(accounts[0], mallory)


def test_reclaim_unallocated_budget_after_task_completes(net: Network, scored: dict, accounts: list[str]) -> None:  # type: ignore[type-arg]
    owner, task = accounts[0], scored["task"]
    with reverts("RewardVaultNotReclaimable", taskId=task, caller=owner):
        net.vault.reclaim(owner, task)
    advance(net, task, scored["outsider"])  # round 1 final, round 2 opens
    run_round_to_score(net, task, 2, [], scored["outsider"])
    advance(net, task, scored["outsider"])  # round 2 fails: no posting
    assert net.tasks.is_complete(task)
    with reverts("RewardVaultNotReclaimable", taskId=task, caller=scored["t1"]):
        net.vault.reclaim(scored["t1"], task)
    before = net.token.balance_of(owner)
    net.vault.reclaim(owner, task)
    assert net.token.balance_of(owner) == before + 120 * TOKEN  # 200 budget - 80 allocated
    _claim(net, scored, 1)  # allocated rewards stay claimable


def test_reentrant_receiver_cannot_claim_twice(net: Network, accounts: list[str]) -> None:
    """A token with receive hooks lets a hostile trainer re-enter claim(): it is paid once."""
    w3, arts, admin = net.w3, net.artifacts, accounts[0]

    def deploy(name: str, *args: object) -> object:
        art = arts[name]
        receipt = net.tx.deploy(w3.eth.contract(abi=art.abi, bytecode=art.bytecode), admin, *args)
        return w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)

    token = deploy("ReentrantToken")
    registry = deploy("Registry", admin, token.address, 0, 3600, 3)
    vault = deploy("RewardVault", admin, token.address, 86_400)
    tasks = deploy("TaskManager", admin, registry.address, vault.address)
    claimer = deploy("ReentrantClaimer", vault.address)
    send = net.tx.send
    send(vault.functions.bind(tasks.address), admin)
    agg, honest, outsider = accounts[1], accounts[2], accounts[9]
    for who in (admin, agg):
        send(token.functions.mint(who, 1000 * TOKEN), admin)
    send(token.functions.approve(registry.address, TOKEN), agg)
    send(registry.functions.register(int(Role.AGGREGATOR), TOKEN), agg)
    send(token.functions.approve(vault.address, 100 * TOKEN), admin)
    send(tasks.functions.createTask(task_config(agg, num_rounds=1, min_stake=0).as_tuple()), admin)
    client = TaskClient(tasks, net.tx)
    for _ in range(2):
        advance_time(w3, 101)
        client.advance(outsider, 1)
    tree, leaves = reward_table([(claimer.address, 1, 10 * TOKEN), (honest, 1, 10 * TOKEN)])
    client.post_scores(agg, 1, 1, new_model_cid=b"\x01", scores_root=tree.root, trace_root=b"\x00" * 32,
                       scores_cid=b"", total_reward=20 * TOKEN)  # fmt: skip
    advance_time(w3, 101)
    client.advance(outsider, 1)
    send(claimer.functions.attack(1, 1, 1, 10 * TOKEN, tree.proof(leaves[0].hash())), outsider)
    assert claimer.functions.reentries().call() == 1
    assert claimer.functions.reentrySucceeded().call() is False
    err = net.tx.decoder.decode(bytes(claimer.functions.reentryError().call()))
    assert err.name == "ReentrancyGuardReentrantCall"
    assert token.functions.balanceOf(claimer.address).call() == 10 * TOKEN
    assert vault.functions.roundRewards(1, 1).call()[2] == 10 * TOKEN


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rewards=st.lists(st.integers(min_value=0, max_value=80 * TOKEN), min_size=1, max_size=6),
    allocated=st.integers(min_value=0, max_value=100 * TOKEN),
    order=st.randoms(use_true_random=False),
)
def test_total_claimed_never_exceeds_budget(deployed: Network, rewards: list[int], allocated: int, order: object) -> None:
    """Whatever leaves the aggregator posts and in whatever order trainers claim."""
    net = deployed
    if not is_in_process(net.w3):
        pytest.skip("property test runs on the in-process chain (many examples)")
    snap = snapshot(net.w3)
    try:
        accounts = net.w3.eth.accounts
        owner, agg, outsider = accounts[0], accounts[1], accounts[19]
        trainers = accounts[2 : 2 + len(rewards)]
        register(net, agg, Role.AGGREGATOR)
        task_id = create_task(net, owner, agg, num_rounds=1)
        run_round_to_score(net, task_id, 1, [], outsider)
        tree, leaves = post(net, task_id, 1, agg, [(t, i, r) for i, (t, r) in enumerate(zip(trainers, rewards, strict=True))], total=allocated)
        advance(net, task_id, outsider)
        vault_before = net.token.balance_of(net.vault.address)
        paid = 0
        indices = list(range(len(leaves)))
        order.shuffle(indices)  # type: ignore[attr-defined]
        for i in indices:
            leaf = leaves[i]
            try:
                net.vault.claim(leaf.account, task_id, 1, leaf.score, leaf.amount, tree.proof(leaf.hash()))
                paid += leaf.amount
            except ContractRevert as exc:
                assert exc.name == "RewardVaultAllocationExceeded"
        assert paid <= allocated <= 100 * TOKEN
        assert net.vault.round_rewards(task_id, 1).claimed == paid
        assert net.token.balance_of(net.vault.address) == vault_before - paid
        for leaf in leaves:
            with reverts("RewardVaultAlreadyClaimed") if net.vault.has_claimed(task_id, 1, leaf.account) else reverts(
                "RewardVaultAllocationExceeded"
            ):
                net.vault.claim(leaf.account, task_id, 1, leaf.score, leaf.amount, tree.proof(leaf.hash()))
    finally:
        revert_to(net.w3, snap)


def test_vault_budget_guards_against_a_faulty_task_manager(net: Network, accounts: list[str]) -> None:
    """A vault bound to a (here: scripted) task manager still never allocates past its deposits."""
    admin, manager, funder = accounts[0], accounts[6], accounts[7]
    art = net.artifacts["RewardVault"]
    receipt = net.tx.deploy(net.w3.eth.contract(abi=art.abi, bytecode=art.bytecode), admin, admin, net.token.address, 86_400)
    vault = net.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)
    net.tx.send(vault.functions.bind(manager), admin)
    net.token.approve(funder, vault.address, 10 * TOKEN)
    net.tx.send(vault.functions.deposit(1, funder, 10 * TOKEN), manager)
    with reverts("RewardVaultInsufficientBudget", taskId=1, available=10 * TOKEN, requested=11 * TOKEN):
        net.tx.send(vault.functions.allocate(1, 1, b"\x01" * 32, 11 * TOKEN), manager)
    net.tx.send(vault.functions.allocate(1, 1, b"\x01" * 32, 4 * TOKEN), manager)
    with reverts("RewardVaultAlreadyAllocated", taskId=1, round=1):
        net.tx.send(vault.functions.allocate(1, 1, b"\x02" * 32, TOKEN), manager)
    assert vault.functions.unallocated(1).call() == 6 * TOKEN
