"""Provider selection by URI and the errors for bad or dead endpoints."""

from __future__ import annotations

import pytest

from node.chain.provider import advance_time, connect, is_in_process
from node.errors import ConfigError, ConnectionFailed
from tests.conftest import free_port


def test_eth_tester_uri_gives_an_in_process_chain_with_funded_accounts() -> None:
    w3 = connect("eth-tester://?accounts=3")
    assert is_in_process(w3)
    assert len(w3.eth.accounts) == 3
    assert w3.eth.get_balance(w3.eth.accounts[2]) > 0


def test_advance_time_moves_block_time() -> None:
    w3 = connect("eth-tester://")
    before = w3.eth.get_block("latest")["timestamp"]
    advance_time(w3, 1000)
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": 1})
    assert w3.eth.get_block("latest")["timestamp"] >= before + 1000


@pytest.mark.parametrize("uri", ["ftp://x", "127.0.0.1:8545", "eth-tester://?accounts=many"])
def test_unsupported_uri_is_a_config_error(uri: str) -> None:
    with pytest.raises(ConfigError):
        connect(uri)


def test_dead_endpoint_is_a_connection_error_with_a_hint() -> None:
    with pytest.raises(ConnectionFailed, match="no Ethereum node answers") as info:
        connect(f"http://127.0.0.1:{free_port()}", timeout=2)
    assert "meritnet devnet start" in (info.value.hint or "")
