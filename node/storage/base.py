"""The ContentStore interface: bytes in, CID out, and back.

Every backend returns, for the same bytes, the CID that ``ipfs add --cid-version=1`` returns,
so content and on-chain records move between backends unchanged. Compare CIDs as objects
(``multiformats.CID``), never as strings: the same CID has several string spellings.
"""

from __future__ import annotations

import abc
from types import TracebackType

from multiformats import CID

from node.errors import StorageError

__all__ = ["ContentStore", "DEFAULT_MAX_SIZE"]

DEFAULT_MAX_SIZE = 256 * 1024 * 1024


class ContentStore(abc.ABC):
    """Content-addressed storage. Implementations: EmbeddedStore, IpfsHttpStore."""

    max_size: int = DEFAULT_MAX_SIZE

    @abc.abstractmethod
    def put(self, data: bytes) -> CID:
        """Store ``data``; return its CID (as ``ipfs add --cid-version=1``)."""

    @abc.abstractmethod
    def get(self, cid: CID | str | bytes, *, timeout: float | None = None) -> bytes:
        """The bytes of ``cid``; ``ContentNotFound`` when they cannot be had in time."""

    @abc.abstractmethod
    def has(self, cid: CID | str | bytes) -> bool:
        """Whether the content is available here without fetching it from elsewhere."""

    @abc.abstractmethod
    def pin(self, cid: CID | str | bytes) -> None:
        """Keep ``cid`` (and every block below it) from garbage collection."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing open
        """Release resources (connections, files)."""

    def _check_size(self, data: bytes) -> None:
        if len(data) > self.max_size:
            raise StorageError(f"content of {len(data)} bytes exceeds the store's limit of {self.max_size} bytes")

    def __enter__(self) -> ContentStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
