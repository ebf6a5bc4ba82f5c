"""A content store that returns bytes not matching the CID is refused (embedded and IPFS client)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from multiformats import CID, multihash

from node.errors import ContentMismatch, StorageError
from node.storage import EmbeddedStore, cid_of
from node.storage.ipfs_http import IpfsHttpStore
from node.storage.unixfs import CHUNK_SIZE, verify


class _ForgingClient:
    """Stands in for the IPFS daemon's RPC client; serves whatever it was given."""

    def __init__(self, served: bytes) -> None:
        self.served = served

    def cat(self, _cid: str, timeout: float) -> bytes:
        return self.served

    def close(self) -> None:
        pass


def _ipfs_serving(served: bytes) -> IpfsHttpStore:
    store = IpfsHttpStore("/ip4/127.0.0.1/tcp/9")  # never contacted: the client is replaced
    store._client = _ForgingClient(served)  # type: ignore[assignment]
    return store


@pytest.mark.parametrize("size", [10, CHUNK_SIZE * 2 + 3])
def test_ipfs_store_refuses_bytes_that_are_not_the_cid(size: int) -> None:
    wanted = os.urandom(size)
    forged = bytearray(wanted)
    forged[size // 2] ^= 1

    with pytest.raises(ContentMismatch) as info:
        _ipfs_serving(bytes(forged)).get(cid_of(wanted))

    assert "not the content of" in info.value.one_line() and "fetch from another node" in info.value.one_line()
    assert _ipfs_serving(wanted).get(cid_of(wanted)) == wanted


def test_ipfs_store_refuses_cids_it_cannot_verify() -> None:
    v0 = CID("base58btc", 0, "dag-pb", multihash.digest(b"x", "sha2-256"))

    with pytest.raises(ContentMismatch, match="CIDv1 with SHA-256"):
        _ipfs_serving(b"x").get(v0)


def test_verify_is_a_storage_error_naming_the_source() -> None:
    with pytest.raises(StorageError, match="the peer returned 3 bytes"):
        verify(cid_of(b"abcd"), b"abc", source="the peer")


def test_embedded_store_refuses_a_tampered_block(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    cid = store.put(b"meritnet delta")
    block = tmp_path / "blocks" / str(cid.set(base="base32"))
    block.write_bytes(b"meritnet delte")

    with pytest.raises(ContentMismatch) as info:
        store.get(cid)

    assert f"delete {block}" in info.value.one_line()
