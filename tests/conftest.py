"""Shared fixtures: compiled artifacts, one chain per backend, a deployed network per chain.

Contract tests run on every backend in ``BACKENDS``: the in-process eth-tester chain and a
real anvil devnet (marked ``devnet``; started here from node_modules, stopped at the end).
Each test starts from a chain snapshot and reverts to it afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from web3 import Web3

from node.chain import devnet
from node.chain.compiler import Artifact, compile_contracts
from node.chain.deploy import DeployParams, Network, deploy
from node.chain.provider import connect, revert_to, snapshot
from node.chain.rpc_bridge import RpcBridge
from node.services import free_port
from node.storage import ipfs_daemon

# CI runs property tests with a fixed derandomized seed; locally they explore new examples.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# eth-tester in process; the same chain behind meritnet's JSON-RPC bridge (what role processes
# use on the embedded default); a real anvil devnet.
BACKENDS = ["eth-tester", "bridge", pytest.param("anvil", marks=pytest.mark.devnet)]
TOKEN = 10**18
TEST_PARAMS = DeployParams(min_stake=10 * TOKEN, unbonding_delay=3600, max_pending_unbonds=3)


@pytest.fixture(scope="session")
def artifacts() -> dict[str, Artifact]:
    return compile_contracts()


@pytest.fixture(scope="session")
def anvil_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("anvil-home")
    status = devnet.start(home, free_port(), accounts=20)
    try:
        yield status.url
    finally:
        devnet.stop(home)


@pytest.fixture(scope="session")
def ipfs_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A js-ipfs daemon (from node_modules) for the whole session; its RPC API multiaddr."""
    home = tmp_path_factory.mktemp("ipfs-home")
    info = ipfs_daemon.start_ipfs(home, free_port())
    try:
        yield info.url
    finally:
        ipfs_daemon.stop_ipfs(home)


@pytest.fixture(scope="session")
def bridge_url() -> Iterator[str]:
    with RpcBridge(connect("eth-tester://?accounts=20")) as bridge:
        yield bridge.url


@pytest.fixture(scope="session", params=BACKENDS)
def w3(request: pytest.FixtureRequest) -> Web3:
    if request.param in ("anvil", "bridge"):
        return connect(request.getfixturevalue(f"{request.param}_url"))
    return connect("eth-tester://?accounts=20")


@pytest.fixture(scope="session")
def deployed(w3: Web3, artifacts: dict[str, Artifact]) -> Network:
    net = deploy(w3, w3.eth.accounts[0], TEST_PARAMS, artifacts=artifacts)
    admin = w3.eth.accounts[0]
    for account in w3.eth.accounts:
        net.token.mint(admin, account, 1_000 * TOKEN)
    return net


@pytest.fixture
def net(deployed: Network) -> Iterator[Network]:
    snap = snapshot(deployed.w3)
    try:
        yield deployed
    finally:
        revert_to(deployed.w3, snap)


@pytest.fixture
def accounts(w3: Web3) -> list[str]:
    return list(w3.eth.accounts)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
