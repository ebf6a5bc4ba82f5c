"""Pick a web3 provider from a URI, and the few devnet controls tests and demos need.

``eth-tester://`` (the default) runs an in-process py-evm chain; ``http(s)://host:port``
talks to anvil, a Hardhat node or any JSON-RPC endpoint. We do not wrap web3: callers get a
plain :class:`web3.Web3`.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlparse

import requests
from web3 import Web3
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.providers.eth_tester import EthereumTesterProvider

from node.errors import ConfigError, ConnectionFailed

__all__ = ["DEFAULT_URI", "connect", "is_in_process", "advance_time", "mine", "snapshot", "revert_to"]

logger = logging.getLogger(__name__)

DEFAULT_URI = "eth-tester://"
# A public development mnemonic: in-process test funds only.
_DEV_MNEMONIC = "test test test test test test test test test test test junk"


# Reads (web3's allowlist: calls, receipts, logs, blocks; never a send) are retried with backoff
# on a dropped connection, an HTTP error or a timeout. web3's own default lists the builtin
# ConnectionError, which requests' ConnectionError (a reset or refused connection) is not.
_READ_RETRIES = ExceptionRetryConfiguration(
    errors=(ConnectionError, requests.exceptions.ConnectionError, requests.exceptions.HTTPError, requests.exceptions.Timeout),
    retries=6,
    backoff_factor=0.125,
)


def connect(uri: str = DEFAULT_URI, *, timeout: float = 30.0) -> Web3:
    """Return a connected Web3 for ``uri``; raise :class:`ConnectionFailed` if it does not answer."""
    parsed = urlparse(uri)
    if parsed.scheme == "eth-tester":
        return _eth_tester(parse_qs(parsed.query))
    if parsed.scheme in ("http", "https"):
        w3 = Web3(Web3.HTTPProvider(uri, request_kwargs={"timeout": timeout}, exception_retry_configuration=_READ_RETRIES))
        try:
            w3.eth.chain_id
        except Exception as exc:  # requests raises several unrelated types here
            raise ConnectionFailed(
                f"no Ethereum node answers at {uri}",
                hint="start one with `meritnet devnet start` or check --rpc / MERITNET_RPC",
            ) from exc
        return w3
    raise ConfigError(
        f"unsupported RPC URI {uri!r}", hint="use eth-tester:// (in process) or http://host:port (anvil, hardhat)"
    )


def _eth_tester(query: dict[str, list[str]]) -> Web3:
    from eth_tester import EthereumTester, PyEVMBackend

    try:
        accounts = int(query.get("accounts", ["10"])[0])
    except ValueError:
        raise ConfigError("eth-tester://?accounts= takes a number") from None
    backend = PyEVMBackend.from_mnemonic(_DEV_MNEMONIC, num_accounts=accounts)
    return Web3(EthereumTesterProvider(EthereumTester(backend)))


def is_in_process(w3: Web3) -> bool:
    """Whether the chain lives in this process (and dies with it)."""
    return isinstance(w3.provider, EthereumTesterProvider)


def advance_time(w3: Web3, seconds: int) -> None:
    """Move the chain's clock forward by ``seconds`` and mine a block (devnets only)."""
    if is_in_process(w3):
        tester = w3.provider.ethereum_tester
        latest = w3.eth.get_block("latest")["timestamp"]
        tester.time_travel(latest + seconds)
        return
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


def mine(w3: Web3, blocks: int = 1) -> None:
    """Mine ``blocks`` empty blocks (devnets only)."""
    if is_in_process(w3):
        w3.provider.ethereum_tester.mine_blocks(blocks)
        return
    for _ in range(blocks):
        w3.provider.make_request("evm_mine", [])


def snapshot(w3: Web3) -> object:
    """Take a chain snapshot; pass the result to :func:`revert_to`."""
    if is_in_process(w3):
        return w3.provider.ethereum_tester.take_snapshot()
    return w3.provider.make_request("evm_snapshot", [])["result"]


def revert_to(w3: Web3, snap: object) -> None:
    """Return the chain to a snapshot taken with :func:`snapshot`."""
    if is_in_process(w3):
        w3.provider.ethereum_tester.revert_to_snapshot(snap)
        return
    w3.provider.make_request("evm_revert", [snap])
