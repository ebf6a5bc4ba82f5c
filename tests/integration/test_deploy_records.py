"""Deployment records: idempotent deploys, history kept, clear errors for missing or stale records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.compiler import Artifact
from node.chain.deploy import ensure_deployed, load_deployment
from node.chain.provider import connect
from node.errors import DeploymentError

pytestmark = pytest.mark.devnet


@pytest.fixture
def anvil(anvil_url: str) -> Web3:
    return connect(anvil_url)


def test_deploy_twice_reuses_and_force_keeps_history(anvil: Web3, tmp_path: Path, artifacts: dict[str, Artifact]) -> None:
    admin = anvil.eth.accounts[0]
    first, created = ensure_deployed(anvil, admin, tmp_path, artifacts=artifacts)
    assert created
    again, created_again = ensure_deployed(anvil, admin, tmp_path, artifacts=artifacts)
    assert not created_again
    assert again.deployment.contracts == first.deployment.contracts
    forced, created_forced = ensure_deployed(anvil, admin, tmp_path, force=True, artifacts=artifacts)
    assert created_forced
    assert forced.tasks.address != first.tasks.address
    record = json.loads((tmp_path / "31337.json").read_text())
    assert record["current"]["contracts"]["TaskManager"]["address"] == forced.tasks.address
    assert record["history"][-1]["contracts"]["TaskManager"]["address"] == first.tasks.address
    assert load_deployment(anvil, tmp_path, artifacts=artifacts).tasks.address == forced.tasks.address


def test_missing_record_says_to_deploy(anvil: Web3, tmp_path: Path, artifacts: dict[str, Artifact]) -> None:
    with pytest.raises(DeploymentError, match="no meritnet deployment for chain 31337") as info:
        load_deployment(anvil, tmp_path, artifacts=artifacts)
    assert "meritnet deploy" in (info.value.hint or "")


def test_record_for_another_chain_or_without_code_is_rejected(anvil: Web3, tmp_path: Path, artifacts: dict[str, Artifact]) -> None:
    net, _ = ensure_deployed(anvil, anvil.eth.accounts[0], tmp_path, artifacts=artifacts)
    path = tmp_path / "31337.json"
    record = json.loads(path.read_text())
    record["current"]["chain_id"] = 5
    path.write_text(json.dumps(record))
    with pytest.raises(DeploymentError, match="records chain id 5"):
        load_deployment(anvil, tmp_path, artifacts=artifacts)
    record["current"]["chain_id"] = 31337
    record["current"]["contracts"]["Registry"]["address"] = "0x" + "12" * 20
    path.write_text(json.dumps(record))
    with pytest.raises(DeploymentError, match="no code"):
        load_deployment(anvil, tmp_path, artifacts=artifacts)
    # a stale record is replaced by a fresh deployment, and kept in history
    fresh, created = ensure_deployed(anvil, anvil.eth.accounts[0], tmp_path, artifacts=artifacts)
    assert created and json.loads(path.read_text())["history"]
    path.write_text("{not json")
    with pytest.raises(DeploymentError, match="not valid JSON"):
        load_deployment(anvil, tmp_path, artifacts=artifacts)
