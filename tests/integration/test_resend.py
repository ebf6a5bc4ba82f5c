"""A signed transaction whose answer is lost is sent again byte for byte (same nonce, same
hash): it is mined once, never twice (through the fault-injecting proxy)."""

from __future__ import annotations

import pytest
from eth_account import Account

from node.chain.deploy import DeployParams, Network, deploy
from node.chain.provider import connect
from node.chain.rpc_bridge import RpcBridge
from node.errors import ConnectionFailed
from tests.tools.rpc_proxy import FaultyRpcProxy

TOKEN = 10**18


@pytest.fixture(scope="module")
def direct() -> Network:
    w3 = connect("eth-tester://?accounts=1")
    return deploy(w3, w3.eth.accounts[0], DeployParams(min_stake=TOKEN))


@pytest.mark.parametrize("faults", [["reset"], ["drop"], ["5xx"], ["reset", "reset", "drop"]])
def test_lost_send_of_a_signed_transaction_is_mined_once(direct: Network, faults: list[str]) -> None:
    admin = direct.w3.eth.accounts[0]
    key = Account.create()
    direct.w3.eth.send_transaction({"from": admin, "to": key.address, "value": 10**18})
    direct.token.mint(admin, key.address, 5 * TOKEN)
    with RpcBridge(direct.w3) as bridge, FaultyRpcProxy(bridge.url, rate=0.0, seed=1, force={"eth_sendRawTransaction": list(faults)}) as proxy:
        net = Network(connect(proxy.url), direct.deployment, direct.artifacts)

        net.token.transfer(key, admin, TOKEN)

    assert sum(proxy.faults.values()) == len(faults)
    assert direct.token.balance_of(key.address) == 4 * TOKEN  # moved once
    assert direct.w3.eth.get_transaction_count(key.address) == 1  # one transaction, one nonce


def test_a_send_the_node_never_takes_is_a_retryable_error_and_uses_no_nonce(direct: Network) -> None:
    admin = direct.w3.eth.accounts[0]
    key = Account.create()
    direct.w3.eth.send_transaction({"from": admin, "to": key.address, "value": 10**18})
    direct.token.mint(admin, key.address, 5 * TOKEN)
    with RpcBridge(direct.w3) as bridge, FaultyRpcProxy(bridge.url, rate=0.0, seed=1, force={"eth_sendRawTransaction": ["5xx"] * 10}) as proxy:
        w3 = connect(proxy.url)
        w3.provider.exception_retry_configuration = None  # type: ignore[attr-defined]  # only the transactor's own resends
        net = Network(w3, direct.deployment, direct.artifacts)

        with pytest.raises(ConnectionFailed, match="did not take the transaction"):
            net.token.transfer(key, admin, TOKEN)

    assert proxy.faults["5xx"] == 4  # the transactor's tries, each refused
    assert direct.w3.eth.get_transaction_count(key.address) == 0 and direct.token.balance_of(key.address) == 5 * TOKEN
