"""MeritToken: minting is restricted, burning is one's own."""

from __future__ import annotations

from node.chain.deploy import Network
from tests.helpers import TOKEN, reverts


def test_minter_mints_and_others_cannot(net: Network, accounts: list[str]) -> None:
    admin, alice = accounts[0], accounts[1]
    before = net.token.balance_of(alice)
    net.token.mint(admin, alice, 3 * TOKEN)
    assert net.token.balance_of(alice) == before + 3 * TOKEN
    role = net.token.contract.functions.MINTER_ROLE().call()
    with reverts("AccessControlUnauthorizedAccount", account=alice, neededRole=role):
        net.token.mint(alice, alice, TOKEN)


def test_burn_reduces_supply_and_balance(net: Network, accounts: list[str]) -> None:
    alice = accounts[1]
    supply, balance = net.token.total_supply(), net.token.balance_of(alice)
    net.tx.send(net.token.contract.functions.burn(TOKEN), alice)
    assert net.token.total_supply() == supply - TOKEN
    assert net.token.balance_of(alice) == balance - TOKEN
    with reverts("ERC20InsufficientBalance", sender=alice, balance=balance - TOKEN, needed=balance):
        net.tx.send(net.token.contract.functions.burn(balance), alice)
