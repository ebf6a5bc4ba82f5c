"""The embedded content store: IPFS blocks in a folder, no daemon.

Each block lives in ``<root>/blocks/<cid>`` (base32 CIDv1), written atomically, and is
verified against its CID when read, so a corrupted file is detected, not returned. Pins are
recorded in ``<root>/pins`` (one CID per line); nothing is ever collected automatically.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from multiformats import CID

from node.errors import ContentMismatch, ContentNotFound, StorageError
from node.storage.base import DEFAULT_MAX_SIZE, ContentStore
from node.storage.unixfs import as_cid, build_dag, decode_file_node

__all__ = ["EmbeddedStore"]


class EmbeddedStore(ContentStore):
    """Blocks on local disk, CIDs identical to IPFS."""

    def __init__(self, root: Path | str, *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.root = Path(root)
        self.max_size = max_size
        self._blocks = self.root / "blocks"
        self._blocks.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _path(self, cid: CID) -> Path:
        return self._blocks / str(cid.set(base="base32"))

    def put(self, data: bytes) -> CID:
        self._check_size(data)
        root, blocks = build_dag(data)
        for block in blocks:
            path = self._path(block.cid)
            if path.exists():
                continue
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(block.data)
            tmp.replace(path)
        return root

    def _block(self, cid: CID) -> bytes:
        try:
            data = self._path(cid).read_bytes()
        except FileNotFoundError:
            raise ContentNotFound(f"content {cid} is not in the embedded store at {self.root}") from None
        if hashlib.sha256(data).digest() != cid.raw_digest:
            raise ContentMismatch(f"block {cid} in {self.root} is corrupted (its hash does not match)", hint=f"delete {self._path(cid)} and fetch or add the content again")
        return data

    def get(self, cid: CID | str | bytes, *, timeout: float | None = None) -> bytes:
        root = as_cid(cid)
        if root.codec.name == "raw":
            return self._block(root)
        if root.codec.name != "dag-pb":
            raise StorageError(f"unsupported codec {root.codec.name} for {root}")
        parts: list[bytes] = []
        stack = [root]
        total = 0
        while stack:  # depth-first, children in order
            node = stack.pop()
            if node.codec.name == "raw":
                parts.append(self._block(node))
                total += len(parts[-1])
                if total > self.max_size:
                    raise StorageError(f"content {root} exceeds the store's limit of {self.max_size} bytes")
            else:
                stack.extend(reversed(decode_file_node(self._block(node))))
        return b"".join(parts)

    def has(self, cid: CID | str | bytes) -> bool:
        root = as_cid(cid)
        if not self._path(root).exists():
            return False
        if root.codec.name == "raw":
            return True
        return all(self.has(child) for child in decode_file_node(self._block(root)))

    def pin(self, cid: CID | str | bytes) -> None:
        root = as_cid(cid)
        if not self.has(root):
            raise ContentNotFound(f"cannot pin {root}: it is not in the embedded store")
        with self._lock:
            pins = self.root / "pins"
            existing = set(pins.read_text().split()) if pins.exists() else set()
            existing.add(str(root.set(base="base32")))
            pins.write_text("\n".join(sorted(existing)) + "\n")

    def pins(self) -> set[CID]:
        path = self.root / "pins"
        return {CID.decode(line) for line in path.read_text().split()} if path.exists() else set()
