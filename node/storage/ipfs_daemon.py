"""Run a local js-ipfs daemon (npm ``ipfs`` 0.66.1) that serves the Kubo RPC API.

No Kubo binary can be installed on these machines; js-ipfs from npm can, with the overrides
in package.json. The repository is initialised with the ``test`` profile, every address is
on loopback (the API on the requested port, swarm, gateway and gRPC on free ports), and the
daemon runs ``--offline``: no outside connection is attempted.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from node.errors import DevnetError
from node.paths import project_root, state_dir
from node.services import ServiceInfo, read_service, start_service, stop_service

__all__ = ["DEFAULT_IPFS_PORT", "jsipfs_binary", "start_ipfs", "stop_ipfs", "ipfs_status", "api_multiaddr"]

DEFAULT_IPFS_PORT = 5001


def jsipfs_binary() -> Path:
    path = project_root() / "node_modules" / ".bin" / "jsipfs"
    if not path.exists():
        raise DevnetError(f"js-ipfs is not installed ({path} is missing)", hint="run `npm ci` in the repository")
    return path


def api_multiaddr(port: int) -> str:
    return f"/ip4/127.0.0.1/tcp/{port}"


def _dir(home: Path | None) -> Path:
    return (home or state_dir()) / "devnet"


def _jsipfs(repo: Path, *args: str) -> None:
    env = {**os.environ, "IPFS_PATH": str(repo)}
    result = subprocess.run([str(jsipfs_binary()), *args], env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise DevnetError(f"jsipfs {' '.join(args)} failed: {(result.stderr or result.stdout).strip()[-400:]}")


def _configure(repo: Path, port: int) -> None:
    if not (repo / "config").exists():
        _jsipfs(repo, "init", "--profile", "test")
    config = json.loads((repo / "config").read_text())
    config["Addresses"]["API"] = api_multiaddr(port)
    config["Addresses"]["Gateway"] = "/ip4/127.0.0.1/tcp/0"
    config["Addresses"]["RPC"] = "/ip4/127.0.0.1/tcp/0"
    config["Addresses"]["Swarm"] = ["/ip4/127.0.0.1/tcp/0"]
    config["Bootstrap"] = []
    config.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
    (repo / "config").write_text(json.dumps(config, indent=2))


def start_ipfs(home: Path | None = None, port: int = DEFAULT_IPFS_PORT, *, timeout: float = 60.0) -> ServiceInfo:
    """Start the js-ipfs daemon with its API on 127.0.0.1:``port``; return once it answers."""
    directory = _dir(home)
    current = read_service(directory, "ipfs", api_multiaddr(port), port)
    if current.running:
        return current
    repo = directory / "ipfs-repo"
    directory.mkdir(parents=True, exist_ok=True)
    _configure(repo, port)
    (repo / "api").unlink(missing_ok=True)  # a stale api file from a killed daemon blocks the start

    def ready() -> bool:
        import requests

        return requests.post(f"http://127.0.0.1:{port}/api/v0/id", timeout=2).status_code == 200

    cmd = [str(jsipfs_binary()), "daemon", "--offline", "--enable-preload=false"]
    return start_service(directory, "ipfs", cmd, port=port, url=api_multiaddr(port), ready=ready, env={"IPFS_PATH": str(repo)}, timeout=timeout)


def stop_ipfs(home: Path | None = None) -> bool:
    return stop_service(_dir(home), "ipfs")


def ipfs_status(home: Path | None = None, port: int = DEFAULT_IPFS_PORT) -> ServiceInfo:
    return read_service(_dir(home), "ipfs", api_multiaddr(port), port)
