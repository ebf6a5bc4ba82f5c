"""One conformance suite for every ContentStore backend, and CIDs checked against a real IPFS node."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from multiformats import CID

from node.errors import ContentNotFound, StorageError, StorageUnavailable
from node.storage import ContentStore, EmbeddedStore, cid_of, open_store
from node.storage.ipfs_http import IpfsHttpStore
from node.storage.unixfs import CHUNK_SIZE, MAX_LINKS, build_dag
from tests.conftest import free_port

SIZES = [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 5 * 1024 * 1024]


class StoreConformance:
    """What every ContentStore must do. Subclasses provide the ``store`` fixture."""

    @pytest.mark.parametrize("size", SIZES)
    def test_put_get_round_trip_with_ipfs_cids(self, store: ContentStore, size: int) -> None:
        data = os.urandom(size)
        cid = store.put(data)
        assert isinstance(cid, CID) and cid.version == 1
        assert cid == cid_of(data)
        assert store.get(cid) == data
        assert store.get(str(cid)) == data and store.get(bytes(cid)) == data
        assert store.get(cid.encode("base58btc")) == data  # another spelling, same CID
        assert store.has(cid)

    def test_same_bytes_same_cid(self, store: ContentStore) -> None:
        data = b"meritnet" * 1000
        assert store.put(data) == store.put(data)

    def test_missing_content(self, store: ContentStore) -> None:
        missing = cid_of(os.urandom(64))
        assert not store.has(missing)
        with pytest.raises(ContentNotFound):
            store.get(missing, timeout=2)

    def test_pin_keeps_content(self, store: ContentStore) -> None:
        cid = store.put(os.urandom(CHUNK_SIZE * 2 + 5))
        store.pin(cid)
        assert store.has(cid)

    def test_oversized_content_is_refused(self, store: ContentStore) -> None:
        store.max_size = 1000
        with pytest.raises(StorageError, match="exceeds"):
            store.put(b"x" * 1001)

    def test_malformed_cid_is_a_value_error(self, store: ContentStore) -> None:
        with pytest.raises(ValueError):
            store.get("not-a-cid")


class TestEmbeddedStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> EmbeddedStore:
        return EmbeddedStore(tmp_path / "store")

    def test_corrupted_block_is_detected(self, store: EmbeddedStore) -> None:
        cid = store.put(b"precious")
        (store.root / "blocks" / str(cid)).write_bytes(b"tampered")
        with pytest.raises(StorageError, match="corrupted"):
            store.get(cid)

    def test_partial_dag_is_not_had(self, store: EmbeddedStore) -> None:
        data = os.urandom(CHUNK_SIZE * 3)
        root, blocks = build_dag(data)
        store.put(data)
        (store.root / "blocks" / str(blocks[1].cid)).unlink()
        assert not store.has(root)
        with pytest.raises(ContentNotFound):
            store.get(root)

    def test_pins_survive_reopening(self, store: EmbeddedStore) -> None:
        cid = store.put(b"keep me")
        store.pin(cid)
        assert cid in EmbeddedStore(store.root).pins()
        with pytest.raises(ContentNotFound):
            store.pin(cid_of(b"never stored"))


@pytest.mark.ipfs
@pytest.mark.devnet
class TestIpfsHttpStore(StoreConformance):
    @pytest.fixture
    def store(self, ipfs_api: str) -> IpfsHttpStore:
        return IpfsHttpStore(ipfs_api, timeout=10)

    def test_daemon_down_is_storage_unavailable(self) -> None:
        store = IpfsHttpStore(f"/ip4/127.0.0.1/tcp/{free_port()}", timeout=2)
        with pytest.raises(StorageUnavailable, match="does not answer"):
            store.put(b"x")

    @pytest.mark.slow
    def test_multi_level_dag_matches_the_node(self, store: IpfsHttpStore) -> None:
        data = os.urandom(CHUNK_SIZE * (MAX_LINKS + 3))  # needs two levels of links
        assert store.put(data) == cid_of(data)


def test_content_moves_between_backends_unchanged(tmp_path: Path) -> None:
    a, b = EmbeddedStore(tmp_path / "a"), EmbeddedStore(tmp_path / "b")
    data = os.urandom(CHUNK_SIZE + 7)
    cid = a.put(data)
    assert b.put(a.get(cid)) == cid


def test_open_store_by_uri(tmp_path: Path) -> None:
    assert isinstance(open_store(None, default_dir=tmp_path), EmbeddedStore)
    assert isinstance(open_store(f"embedded:{tmp_path / 'x'}", default_dir=tmp_path), EmbeddedStore)
    assert isinstance(open_store("/ip4/127.0.0.1/tcp/5001", default_dir=tmp_path), IpfsHttpStore)
    with pytest.raises(ValueError, match="unsupported content store"):
        open_store("s3://bucket", default_dir=tmp_path)
