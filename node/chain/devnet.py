"""Run a local anvil devnet: start, stop and inspect it.

anvil comes from the npm package ``@foundry-rs/anvil``; we start the platform binary inside
it directly (the npm wrapper leaves a child process behind when killed). The chain state is
persisted with ``--state`` so a stopped devnet starts again where it left off. The pid file,
log and state live in ``$MERITNET_HOME/devnet`` (default ``./.meritnet/devnet``).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from node.errors import DevnetError
from node.paths import project_root, state_dir

__all__ = ["DevnetStatus", "anvil_binary", "start", "stop", "status", "DEFAULT_PORT"]

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


def _dir(home: Path | None) -> Path:
    return (home or state_dir()) / "devnet"


def _rpc(url: str, method: str) -> object:
    import requests

    reply = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": []}, timeout=2)
    return reply.json()["result"]


def _read_meta(home: Path | None) -> dict[str, object] | None:
    meta = _dir(home) / "anvil.json"
    if not meta.exists():
        return None
    try:
        return json.loads(meta.read_text())
    except json.JSONDecodeError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); check its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def status(home: Path | None = None, port: int = DEFAULT_PORT) -> DevnetStatus:
    """Whether our anvil is running and what it reports."""
    meta = _read_meta(home) or {}
    pid = int(meta["pid"]) if "pid" in meta else None
    url = str(meta.get("url", f"http://127.0.0.1:{port}"))
    state_file = str(_dir(home) / "anvil-state.json")
    running = pid is not None and _alive(pid)
    chain_id = block = None
    if running:
        try:
            chain_id = int(str(_rpc(url, "eth_chainId")), 16)
            block = int(str(_rpc(url, "eth_blockNumber")), 16)
        except Exception:  # starting up or wedged: report what we know
            pass
    return DevnetStatus(running, pid if running else None, url, chain_id, block, state_file)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start(home: Path | None = None, port: int = DEFAULT_PORT, *, accounts: int = 10, timeout: float = 20.0) -> DevnetStatus:
    """Start anvil on 127.0.0.1:``port`` in the background; return once it answers."""
    current = status(home, port)
    if current.running:
        return current
    if not _port_free(port):
        raise DevnetError(
            f"port {port} is already in use by another process",
            hint="stop it, or pass --port to use another port",
        )
    directory = _dir(home)
    directory.mkdir(parents=True, exist_ok=True)
    state_file = directory / "anvil-state.json"
    log = open(directory / "anvil.log", "ab")  # noqa: SIM115 - handed to the child
    cmd = [
        str(anvil_binary()),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(CHAIN_ID),
        "--accounts", str(accounts),
        "--state", str(state_file),
        "--hardfork", "prague",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    url = f"http://127.0.0.1:{port}"
    (directory / "anvil.json").write_text(json.dumps({"pid": proc.pid, "url": url, "port": port}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (directory / "anvil.log").read_text(errors="replace")[-500:]
            raise DevnetError(f"anvil exited with code {proc.returncode}: {tail.strip()}")
        try:
            _rpc(url, "eth_chainId")
            logger.info("anvil running at %s (pid %s)", url, proc.pid)
            return status(home, port)
        except Exception:
            time.sleep(0.1)
    stop(home)
    raise DevnetError(f"anvil did not answer on {url} within {timeout:.0f} s", hint=f"see {directory / 'anvil.log'}")


def stop(home: Path | None = None, *, timeout: float = 10.0) -> bool:
    """Stop our anvil (it writes its state file on the way out). Returns whether it ran."""
    meta = _read_meta(home)
    if not meta or "pid" not in meta:
        return False
    pid = int(meta["pid"])
    (_dir(home) / "anvil.json").unlink(missing_ok=True)
    if not _alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
            if finished == pid:
                return True
        except ChildProcessError:
            if not _alive(pid):
                return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True
