"""Registry: registration, roles, stake, unbonding with delay and cap, slashing."""

from __future__ import annotations

from node.chain.contracts import Role
from node.chain.deploy import Network
from node.chain.provider import advance_time
from tests.helpers import TOKEN, register, reverts

ZERO = "0x0000000000000000000000000000000000000000"


def test_register_records_roles_and_pulls_stake(net: Network, accounts: list[str]) -> None:
    alice = accounts[1]
    before = net.token.balance_of(alice)
    register(net, alice, Role.TRAINER | Role.VERIFIER, 25 * TOKEN)
    assert net.registry.stake_of(alice) == 25 * TOKEN
    assert net.registry.roles_of(alice) == Role.TRAINER | Role.VERIFIER
    assert net.token.balance_of(alice) == before - 25 * TOKEN
    assert net.registry.is_eligible(alice, Role.TRAINER, 25 * TOKEN)
    assert not net.registry.is_eligible(alice, Role.TRAINER, 26 * TOKEN)
    assert not net.registry.is_eligible(alice, Role.AGGREGATOR, 0)


def test_register_twice_reverts(net: Network, accounts: list[str]) -> None:
    register(net, accounts[1])
    net.token.approve(accounts[1], net.registry.address, 20 * TOKEN)
    with reverts("RegistryAlreadyRegistered", account=accounts[1]):
        net.registry.register(accounts[1], Role.TRAINER, 20 * TOKEN)


def test_register_invalid_roles_reverts(net: Network, accounts: list[str]) -> None:
    net.token.approve(accounts[1], net.registry.address, 20 * TOKEN)
    with reverts("RegistryInvalidRoles", roles=0):
        net.registry.register(accounts[1], Role(0), 20 * TOKEN)
    with reverts("RegistryInvalidRoles", roles=16):
        net.registry.register(accounts[1], 16, 20 * TOKEN)  # type: ignore[arg-type]


def test_register_below_minimum_reverts(net: Network, accounts: list[str]) -> None:
    net.token.approve(accounts[1], net.registry.address, 20 * TOKEN)
    with reverts("RegistryStakeTooLow", account=accounts[1], stake=9 * TOKEN, minimum=10 * TOKEN):
        net.registry.register(accounts[1], Role.TRAINER, 9 * TOKEN)


def test_register_without_allowance_reverts_with_token_error(net: Network, accounts: list[str]) -> None:
    with reverts("ERC20InsufficientAllowance", spender=net.registry.address, allowance=0, needed=20 * TOKEN):
        net.registry.register(accounts[1], Role.TRAINER, 20 * TOKEN)


def test_unregistered_account_cannot_change_anything(net: Network, accounts: list[str]) -> None:
    bob = accounts[2]
    with reverts("RegistryNotRegistered", account=bob):
        net.registry.set_roles(bob, Role.TRAINER)
    with reverts("RegistryNotRegistered", account=bob):
        net.registry.add_stake(bob, TOKEN)
    with reverts("RegistryNotRegistered", account=bob):
        net.registry.request_unbond(bob, TOKEN)


def test_set_roles_and_add_stake(net: Network, accounts: list[str]) -> None:
    alice = accounts[1]
    register(net, alice)
    net.registry.set_roles(alice, Role.AGGREGATOR)
    assert net.registry.roles_of(alice) == Role.AGGREGATOR
    with reverts("RegistryInvalidRoles", roles=0):
        net.registry.set_roles(alice, Role(0))
    net.token.approve(alice, net.registry.address, 5 * TOKEN)
    net.registry.add_stake(alice, 5 * TOKEN)
    assert net.registry.stake_of(alice) == 25 * TOKEN
    with reverts("RegistryZeroAmount"):
        net.registry.add_stake(alice, 0)


def test_unbond_respects_delay(net: Network, accounts: list[str]) -> None:
    alice = accounts[1]
    register(net, alice, stake=30 * TOKEN)
    net.registry.request_unbond(alice, 10 * TOKEN)
    assert net.registry.stake_of(alice) == 20 * TOKEN
    assert net.registry.slashable_of(alice) == 30 * TOKEN
    (pending,) = net.registry.pending_unbonds(alice)
    assert pending.amount == 10 * TOKEN
    with reverts("RegistryNothingToWithdraw", account=alice):
        net.registry.withdraw_unbonded(alice)
    advance_time(net.w3, net.registry.unbonding_delay() - 10)
    with reverts("RegistryNothingToWithdraw", account=alice):
        net.registry.withdraw_unbonded(alice)
    advance_time(net.w3, 20)
    before = net.token.balance_of(alice)
    net.registry.withdraw_unbonded(alice)
    assert net.token.balance_of(alice) == before + 10 * TOKEN
    assert net.registry.pending_unbonds(alice) == []
    assert net.registry.slashable_of(alice) == 20 * TOKEN


def test_unbond_cap_on_pending_entries(net: Network, accounts: list[str]) -> None:
    alice = accounts[1]
    register(net, alice, stake=100 * TOKEN)
    cap = net.registry.max_pending_unbonds()
    for _ in range(cap):
        net.registry.request_unbond(alice, TOKEN)
    with reverts("RegistryTooManyUnbonds", account=alice, pending=cap, maximum=cap):
        net.registry.request_unbond(alice, TOKEN)


def test_unbond_bad_amounts_revert(net: Network, accounts: list[str]) -> None:
    alice = accounts[1]
    register(net, alice, stake=20 * TOKEN)
    with reverts("RegistryZeroAmount"):
        net.registry.request_unbond(alice, 0)
    with reverts("RegistryInsufficientStake", account=alice, stake=20 * TOKEN, requested=21 * TOKEN):
        net.registry.request_unbond(alice, 21 * TOKEN)
    with reverts("RegistryStakeTooLow", account=alice, stake=5 * TOKEN, minimum=10 * TOKEN):
        net.registry.request_unbond(alice, 15 * TOKEN)
    net.registry.request_unbond(alice, 20 * TOKEN)  # leaving entirely is allowed
    assert net.registry.stake_of(alice) == 0
    assert not net.registry.is_eligible(alice, Role.TRAINER, 0)


def test_only_granted_contracts_can_slash(net: Network, accounts: list[str]) -> None:
    alice, mallory = accounts[1], accounts[2]
    register(net, alice)
    role = net.registry.contract.functions.SLASHER_ROLE().call()
    with reverts("AccessControlUnauthorizedAccount", account=mallory, neededRole=role):
        net.registry.slash(mallory, alice, TOKEN, mallory)
    admin = accounts[0]
    with reverts("AccessControlUnauthorizedAccount", account=admin):
        net.registry.slash(admin, alice, TOKEN, admin)
    assert net.registry.stake_of(alice) == 20 * TOKEN


def test_slash_takes_stake_then_pending_unbonds(net: Network, accounts: list[str]) -> None:
    admin, alice, judge, winner = accounts[0], accounts[1], accounts[3], accounts[4]
    net.registry.grant_slasher(admin, judge)
    register(net, alice, stake=30 * TOKEN)
    net.registry.request_unbond(alice, 12 * TOKEN)
    net.registry.request_unbond(alice, 8 * TOKEN)
    before = net.token.balance_of(winner)
    net.registry.slash(judge, alice, 15 * TOKEN, winner)
    assert net.token.balance_of(winner) == before + 15 * TOKEN
    assert net.registry.stake_of(alice) == 0
    assert [u.amount for u in net.registry.pending_unbonds(alice)] == [12 * TOKEN, 3 * TOKEN]
    assert net.registry.slashable_of(alice) == 15 * TOKEN
    with reverts("RegistrySlashExceedsStake", account=alice, total=15 * TOKEN, requested=16 * TOKEN):
        net.registry.slash(judge, alice, 16 * TOKEN, winner)
    with reverts("RegistryZeroAmount"):
        net.registry.slash(judge, alice, 0, winner)


def test_slash_to_zero_beneficiary_burns(net: Network, accounts: list[str]) -> None:
    admin, alice, judge = accounts[0], accounts[1], accounts[3]
    net.registry.grant_slasher(admin, judge)
    register(net, alice)
    supply = net.token.total_supply()
    net.registry.slash(judge, alice, 4 * TOKEN, ZERO)
    assert net.token.total_supply() == supply - 4 * TOKEN
    assert net.registry.stake_of(alice) == 16 * TOKEN
