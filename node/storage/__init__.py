"""Content storage: the ContentStore interface, its backends, and backend choice by URI."""

from __future__ import annotations

from pathlib import Path

from node.errors import ConfigError
from node.storage.base import ContentStore
from node.storage.embedded import EmbeddedStore
from node.storage.unixfs import as_cid, cid_of

__all__ = ["ContentStore", "EmbeddedStore", "as_cid", "cid_of", "open_store"]


def open_store(uri: str | Path | None = None, *, default_dir: str | Path | None = None) -> ContentStore:
    """``None`` or ``embedded[:PATH]``: the embedded store (``default_dir``, else
    ``$MERITNET_HOME/store``, ``./.meritnet/store``); a ``Path``: an embedded store there; a
    multiaddr (``/ip4/...``) or ``http://host:port``: an IPFS node's RPC API."""
    if isinstance(uri, Path):
        return EmbeddedStore(uri.expanduser())
    if uri is None or uri == "embedded":
        if default_dir is None:
            from node.paths import state_dir

            default_dir = state_dir() / "store"
        return EmbeddedStore(Path(default_dir))
    if uri.startswith("embedded:"):
        return EmbeddedStore(Path(uri.split(":", 1)[1]).expanduser())
    if uri.startswith("/"):
        from node.storage.ipfs_http import IpfsHttpStore

        return IpfsHttpStore(uri)
    if uri.startswith("http://"):
        from node.storage.ipfs_http import IpfsHttpStore

        host, _, port = uri[len("http://") :].rstrip("/").partition(":")
        return IpfsHttpStore(f"/ip4/{host}/tcp/{port or 5001}" if host[:1].isdigit() else f"/dns/{host}/tcp/{port or 5001}")
    raise ConfigError(f"unsupported content store {uri!r}", hint="use embedded, embedded:PATH, /ip4/127.0.0.1/tcp/5001 or http://host:port")
