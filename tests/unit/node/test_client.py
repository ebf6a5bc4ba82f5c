"""The library's entry points for scripts take str or Path and have defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.chain.deploy import load_deployment
from node.chain.provider import connect
from node.client import connect_network
from node.errors import DeploymentError
from node.storage import EmbeddedStore, open_store


def test_open_store_defaults_to_the_embedded_store_under_meritnet_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERITNET_HOME", str(tmp_path / "home"))
    store = open_store()
    assert isinstance(store, EmbeddedStore) and store.root == tmp_path / "home" / "store"
    at = open_store(tmp_path / "here")
    assert isinstance(at, EmbeddedStore) and at.root == tmp_path / "here"
    assert isinstance(open_store("embedded", default_dir=str(tmp_path / "d")), EmbeddedStore)


def test_load_deployment_takes_a_str_folder(tmp_path: Path) -> None:
    w3 = connect("eth-tester://")
    with pytest.raises(DeploymentError, match="no meritnet deployment for chain"):
        load_deployment(w3, str(tmp_path / "deployments"))


def test_connect_network_takes_str_or_path_and_says_what_is_missing(tmp_path: Path) -> None:
    for folder in (str(tmp_path), tmp_path):
        with pytest.raises(DeploymentError, match="no meritnet deployment") as info:
            connect_network(rpc="eth-tester://", deployments=folder, store=tmp_path / "store")
        assert "meritnet deploy" in (info.value.hint or "")
