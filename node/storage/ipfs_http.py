"""A ContentStore over the Kubo RPC HTTP API (Kubo, js-ipfs, any compatible node).

Uses ipfshttpclient's ``Client`` directly: its ``connect()`` refuses every daemon newer than
0.8 (js-ipfs reports 0.18), while the client itself speaks the API fine. Content is added
with ``cid-version=1``, raw leaves and 256 KiB chunks, the settings the embedded store
reproduces.
"""

from __future__ import annotations

import io
import logging
import warnings

import ipfshttpclient
from multiformats import CID

from node.errors import ContentNotFound, StorageError, StorageUnavailable
from node.storage.base import DEFAULT_MAX_SIZE, ContentStore
from node.storage.unixfs import CHUNK_SIZE, as_cid, verify

__all__ = ["DEFAULT_API", "IpfsHttpStore"]

logger = logging.getLogger(__name__)

# ipfshttpclient 0.7 passes urllib3 a `strict` argument that urllib3 2.x only warns about;
# harmless, and it printed a FutureWarning on every IPFS command.
warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)

DEFAULT_API = "/ip4/127.0.0.1/tcp/5001"


class IpfsHttpStore(ContentStore):
    """Content on an IPFS node reached through its RPC API (a multiaddr, e.g. /ip4/127.0.0.1/tcp/5001)."""

    def __init__(self, api: str = DEFAULT_API, *, timeout: float = 30.0, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.api = api
        self.timeout = timeout
        self.max_size = max_size
        try:
            self._client = ipfshttpclient.Client(api, timeout=timeout)
        except ipfshttpclient.exceptions.AddressError as exc:
            raise StorageError(f"{api!r} is not an IPFS API multiaddr", hint="e.g. /ip4/127.0.0.1/tcp/5001") from exc

    def _unavailable(self, exc: Exception) -> StorageUnavailable:
        return StorageUnavailable(f"the IPFS node at {self.api} does not answer ({type(exc).__name__})", hint="is the daemon running? `meritnet devnet start --ipfs`")

    def put(self, data: bytes) -> CID:
        self._check_size(data)
        try:
            reply = self._client.add(io.BytesIO(data), cid_version=1, raw_leaves=True, chunker=f"size-{CHUNK_SIZE}", pin=True)
        except (ipfshttpclient.exceptions.ConnectionError, ipfshttpclient.exceptions.TimeoutError) as exc:
            raise self._unavailable(exc) from exc
        except ipfshttpclient.exceptions.Error as exc:
            raise StorageError(f"the IPFS node refused the content: {exc}") from exc
        return CID.decode(reply["Hash"])

    def get(self, cid: CID | str | bytes, *, timeout: float | None = None) -> bytes:
        target = as_cid(cid)
        try:
            data: bytes = self._client.cat(str(target), timeout=timeout or self.timeout)
        except ipfshttpclient.exceptions.TimeoutError as exc:
            raise ContentNotFound(f"content {target} could not be fetched within {timeout or self.timeout:g} s") from exc
        except ipfshttpclient.exceptions.ConnectionError as exc:
            raise self._unavailable(exc) from exc
        except ipfshttpclient.exceptions.ErrorResponse as exc:
            raise ContentNotFound(f"the IPFS node has no content {target}: {exc}") from exc
        if len(data) > self.max_size:
            raise StorageError(f"content {target} exceeds the store's limit of {self.max_size} bytes")
        verify(target, data, source=f"the IPFS node at {self.api}")
        return data

    def has(self, cid: CID | str | bytes) -> bool:
        target = as_cid(cid)
        try:
            self._client.block.stat(str(target), timeout=min(self.timeout, 5.0), offline=True)
            return True
        except (ipfshttpclient.exceptions.ErrorResponse, ipfshttpclient.exceptions.TimeoutError):
            return False
        except ipfshttpclient.exceptions.ConnectionError as exc:
            raise self._unavailable(exc) from exc

    def pin(self, cid: CID | str | bytes) -> None:
        target = as_cid(cid)
        try:
            self._client.pin.add(str(target), timeout=self.timeout)
        except ipfshttpclient.exceptions.ConnectionError as exc:
            raise self._unavailable(exc) from exc
        except (ipfshttpclient.exceptions.ErrorResponse, ipfshttpclient.exceptions.TimeoutError) as exc:
            raise ContentNotFound(f"cannot pin {target}: {exc}") from exc

    def close(self) -> None:
        self._client.close()
