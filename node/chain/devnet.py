"""Run a local anvil devnet: start, stop and inspect it.

anvil comes from the npm package ``@foundry-rs/anvil``; we start the platform binary inside
it directly (the npm wrapper leaves a child process behind when killed). The chain state is
persisted with ``--state`` so a stopped devnet starts again where it left off. The pid file,
log and state live in ``$MERITNET_HOME/devnet`` (default ``./.meritnet/devnet``).
"""

from __future__ import annotations

import logging
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from node.errors import DevnetError
from node.paths import project_root, state_dir
from node.services import read_service, start_service, stop_service

__all__ = ["DEFAULT_PORT", "DevnetStatus", "anvil_binary", "devnet_dir", "start", "status", "stop"]

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8545
CHAIN_ID = 31337


@dataclass(frozen=True)
class DevnetStatus:
    running: bool
    pid: int | None
    url: str
    chain_id: int | None
    block: int | None
    state_file: str


def anvil_binary() -> Path:
    """The native anvil binary shipped in node_modules (or ``$MERITNET_ANVIL``)."""
    named = os.environ.get("MERITNET_ANVIL")
    if named:
        return Path(named)
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    path = project_root() / "node_modules" / "@foundry-rs" / f"anvil-linux-{arch}" / "bin" / "anvil"
    if not path.exists():
        raise DevnetError(f"anvil is not installed ({path} is missing)", hint="run `npm ci` in the repository")
    return path


def devnet_dir(home: Path | None = None) -> Path:
    return (home or state_dir()) / "devnet"


def _rpc(url: str, method: str) -> object:
    import requests

    reply = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": []}, timeout=2)
    return reply.json()["result"]


def status(home: Path | None = None, port: int = DEFAULT_PORT) -> DevnetStatus:
    """Whether our anvil is running and what it reports; the port of the last start, else ``port``."""
    info = read_service(devnet_dir(home), "anvil", f"http://127.0.0.1:{port}", port)
    chain_id = block = None
    if info.running:
        try:
            chain_id = int(str(_rpc(info.url, "eth_chainId")), 16)
            block = int(str(_rpc(info.url, "eth_blockNumber")), 16)
        except Exception:  # starting up or wedged: report what we know
            pass
    return DevnetStatus(info.running, info.pid, info.url, chain_id, block, str(devnet_dir(home) / "anvil-state.json"))


def start(
    home: Path | None = None, port: int = DEFAULT_PORT, *, accounts: int = 20, block_time: float | None = None, timeout: float = 20.0
) -> DevnetStatus:
    """Start anvil on 127.0.0.1:``port`` in the background; return once it answers.

    With ``block_time`` anvil mines a block every that many seconds, so chain time moves as on
    a real chain and phase deadlines pass by themselves; without it, anvil mines only when a
    transaction arrives."""
    directory = devnet_dir(home)
    url = f"http://127.0.0.1:{port}"
    cmd = [
        str(anvil_binary()),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(CHAIN_ID),
        "--accounts", str(accounts),
        "--state", str(directory / "anvil-state.json"),
        "--hardfork", "prague",
        *(["--block-time", f"{block_time:g}"] if block_time else []),
    ]  # fmt: skip
    start_service(directory, "anvil", cmd, port=port, url=url, ready=lambda: bool(_rpc(url, "eth_chainId")), timeout=timeout)
    logger.info("anvil running at %s", url)
    return status(home, port)


def stop(home: Path | None = None) -> bool:
    """Stop our anvil (it writes its state file on the way out). Returns whether it ran."""
    return stop_service(devnet_dir(home), "anvil")
