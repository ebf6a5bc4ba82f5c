"""Background processes of our own (anvil, a js-ipfs daemon): start, wait until ready, stop.

Each service keeps ``<home>/<name>.json`` (pid, url, port) and ``<home>/<name>.log`` in its
state folder. Processes start in their own session so that stopping one ends its children.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from node.errors import DevnetError

__all__ = ["ServiceInfo", "alive", "free_port", "port_free", "read_service", "start_service", "stop_service"]


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    pid: int | None
    url: str
    port: int
    running: bool


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child still answers kill(0)
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def read_service(directory: Path, name: str, default_url: str, default_port: int) -> ServiceInfo:
    meta_file = directory / f"{name}.json"
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, json.JSONDecodeError):
        meta = {}
    pid = int(meta["pid"]) if "pid" in meta else None
    running = pid is not None and alive(pid)
    return ServiceInfo(name, pid if running else None, str(meta.get("url", default_url)), int(meta.get("port", default_port)), running)


def start_service(
    directory: Path,
    name: str,
    cmd: Sequence[str],
    *,
    port: int,
    url: str,
    ready: Callable[[], bool],
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> ServiceInfo:
    """Start ``cmd`` in the background unless it already runs; return once ``ready()``."""
    current = read_service(directory, name, url, port)
    if current.running:
        return current
    if not port_free(port):
        raise DevnetError(f"port {port} is already in use by another process", hint="stop it, or pass --port/--ipfs-port to use another port")
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(cmd), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
    (directory / f"{name}.json").write_text(json.dumps({"pid": proc.pid, "url": url, "port": port}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-600:]
            (directory / f"{name}.json").unlink(missing_ok=True)
            raise DevnetError(f"{name} exited with code {proc.returncode}: {tail.strip()}")
        try:
            if ready():
                return read_service(directory, name, url, port)
        except Exception:  # not up yet
            pass
        time.sleep(0.1)
    stop_service(directory, name)
    raise DevnetError(f"{name} did not become ready within {timeout:.0f} s", hint=f"see {log_path}")


def _forget_pid(meta_file: Path) -> None:
    """Keep the stopped service's url and port (what `status` reports), drop its pid."""
    try:
        meta = json.loads(meta_file.read_text())
        meta_file.write_text(json.dumps({k: v for k, v in meta.items() if k != "pid"}))
    except (OSError, json.JSONDecodeError):
        meta_file.unlink(missing_ok=True)


def stop_service(directory: Path, name: str, *, timeout: float = 10.0) -> bool:
    """Stop the service (SIGTERM to its process group, SIGKILL after ``timeout``)."""
    meta_file = directory / f"{name}.json"
    try:
        pid = int(json.loads(meta_file.read_text())["pid"])
    except (OSError, json.JSONDecodeError, KeyError):
        return False
    _forget_pid(meta_file)
    if not alive(pid):
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
            if finished == pid:
                return True
        except ChildProcessError:
            if not alive(pid):
                return True
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True
