"""The Hardhat path: offline compile of the same sources, `npx hardhat node`, meritnet on it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.compiler import Artifact
from node.chain.contracts import Role
from node.chain.deploy import deploy
from node.chain.provider import connect
from tests.conftest import TEST_PARAMS, free_port
from tests.helpers import TOKEN, reverts

pytestmark = [pytest.mark.devnet, pytest.mark.slow]
ENV = {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}


@pytest.fixture(scope="module")
def hardhat_copy(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch copy of the project for Hardhat (it writes artifacts and caches)."""
    work = tmp_path_factory.mktemp("hardhat")
    for name in ("contracts", "hardhat.config.js", "package.json"):
        src = repo_root / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    (work / "node_modules").symlink_to(repo_root / "node_modules")
    return work


def test_hardhat_compiles_the_same_contracts_offline(hardhat_copy: Path, artifacts: dict[str, Artifact]) -> None:
    result = subprocess.run(["npx", "hardhat", "compile"], cwd=hardhat_copy, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = hardhat_copy / ".meritnet" / "hardhat" / "artifacts" / "contracts"
    for name in ("MeritToken", "Registry", "RewardVault", "TaskManager"):
        hh = json.loads((out / f"{name}.sol" / f"{name}.json").read_text())
        assert hh["abi"] == artifacts[name].abi
        assert hh["bytecode"][2:] == artifacts[name].bytecode


@pytest.fixture(scope="module")
def hardhat_node(hardhat_copy: Path) -> Iterator[Web3]:
    port = free_port()
    proc = subprocess.Popen(
        ["npx", "hardhat", "node", "--port", str(port), "--hostname", "127.0.0.1"],
        cwd=hardhat_copy, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                w3 = connect(f"http://127.0.0.1:{port}", timeout=2)
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("hardhat node did not start") from None
                time.sleep(0.3)
        yield w3
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_meritnet_deploys_on_hardhat_and_decodes_its_reverts(hardhat_node: Web3, artifacts: dict[str, Artifact]) -> None:
    w3 = hardhat_node
    assert w3.eth.chain_id == 31337
    net = deploy(w3, w3.eth.accounts[0], TEST_PARAMS, artifacts=artifacts)
    alice = w3.eth.accounts[1]
    net.token.mint(w3.eth.accounts[0], alice, 50 * TOKEN)
    net.token.approve(alice, net.registry.address, 50 * TOKEN)
    with reverts("RegistryStakeTooLow", account=alice, stake=TOKEN, minimum=10 * TOKEN):
        net.registry.register(alice, Role.TRAINER, TOKEN)
    net.registry.register(alice, Role.TRAINER, 20 * TOKEN)
    assert net.registry.stake_of(alice) == 20 * TOKEN
