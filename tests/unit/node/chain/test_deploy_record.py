"""Deployment records from disk are untrusted: any content gives a DeploymentError with the fix,
and a record pointing at addresses without code is refused (in-process chain, no daemon)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from node.chain.deploy import CORE_CONTRACTS, load_deployment
from node.chain.provider import connect
from node.errors import DeploymentError


@pytest.fixture(scope="module")
def chain() -> Web3:
    return connect("eth-tester://?accounts=1")


def _record(chain_id: int) -> dict[str, object]:
    contracts = {name: {"address": "0x" + f"{i + 1:02x}" * 20, "abi_hash": "00", "block": 0} for i, name in enumerate(CORE_CONTRACTS)}
    return {"current": {"chain_id": chain_id, "deployer": "0x" + "ab" * 20, "contracts": contracts}}


def test_record_pointing_at_addresses_without_code_is_refused(chain: Web3, tmp_path: Path) -> None:
    chain_id = int(chain.eth.chain_id)
    (tmp_path / f"{chain_id}.json").write_text(json.dumps(_record(chain_id)))

    with pytest.raises(DeploymentError) as info:
        load_deployment(chain, tmp_path)

    line = info.value.one_line()
    assert "has no code at 0x0101010101010101010101010101010101010101" in line and "meritnet deploy" in line


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["current"]["contracts"].update(Registry={"address": 5, "abi_hash": "00", "block": 0}), "not an Ethereum address"),
        (lambda r: r["current"]["contracts"].update(Registry={"address": "0x12", "abi_hash": "00", "block": 0}), "not an Ethereum address"),
        (lambda r: r["current"]["contracts"].update(Registry={"address": "0x" + "01" * 20, "abi_hash": "00", "block": "x"}), "block an integer"),
        (lambda r: r["current"].update(contracts=[]), "malformed deployment record"),
        (lambda r: r.update(current=[1, 2]), "malformed deployment record"),
    ],
)
def test_record_with_wrong_types_is_a_deployment_error(chain: Web3, tmp_path: Path, change: object, message: str) -> None:
    chain_id = int(chain.eth.chain_id)
    record = _record(chain_id)
    change(record)  # type: ignore[operator]
    (tmp_path / f"{chain_id}.json").write_text(json.dumps(record))

    with pytest.raises(DeploymentError, match=message) as info:
        load_deployment(chain, tmp_path)

    assert "deploy again" in info.value.one_line()


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)


@settings(max_examples=100, deadline=None)
@given(st.one_of(_JSON, st.fixed_dictionaries({"current": st.fixed_dictionaries({"chain_id": st.integers(), "deployer": _JSON, "contracts": _JSON})})), st.binary(max_size=4))
def test_any_record_content_is_a_deployment_error(chain: Web3, tmp_path_factory: pytest.TempPathFactory, content: object, junk: bytes) -> None:
    folder = tmp_path_factory.mktemp("records")
    (folder / f"{int(chain.eth.chain_id)}.json").write_bytes(json.dumps(content).encode() + (junk if junk[:1] == b"\xff" else b""))

    with pytest.raises(DeploymentError):
        load_deployment(chain, folder)
