"""Where meritnet finds its own files and keeps its caches and state."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "cache_dir", "state_dir"]


def project_root() -> Path:
    """The repository root: contracts/, node_modules/ and hardhat.config.js live there."""
    named = os.environ.get("MERITNET_ROOT")
    return Path(named) if named else Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Compiler artifacts and other re-creatable data (``$MERITNET_CACHE_DIR``)."""
    named = os.environ.get("MERITNET_CACHE_DIR")
    return Path(named) if named else Path.home() / ".cache" / "meritnet"


def state_dir() -> Path:
    """Devnet pid files, logs and chain state (``$MERITNET_HOME``, default ``./.meritnet``)."""
    named = os.environ.get("MERITNET_HOME")
    return Path(named) if named else Path.cwd() / ".meritnet"
