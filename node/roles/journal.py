"""A trainer's local journal: what it trained, committed, revealed and claimed, per round.

Written atomically after every step (a temporary file, fsync, rename over the journal, fsync
of the folder), so a trainer killed at any point and restarted finds its work (the delta CID
and the salt of its commitment) and neither trains nor submits twice. Each file carries a
SHA-256 checksum of its rounds: a torn or corrupted file is refused at load with a
:class:`~node.errors.JournalCorrupt` naming the file and the fix, and is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from node.errors import JournalCorrupt

__all__ = ["Journal", "read_journal"]

VERSION = 1


def _checksum(rounds: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(rounds, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _corrupt(path: Path, why: str) -> JournalCorrupt:
    return JournalCorrupt(
        f"the journal {path} is corrupt ({why}); it was left as it is",
        hint=f"restore it from a backup, or move it aside (mv {path} {path}.bad) to start afresh: "
        "a round committed but not yet revealed then cannot be revealed",
    )


def read_journal(path: Path) -> dict[str, dict[str, Any]]:
    """The rounds of the journal at ``path`` ({} when there is none); raises JournalCorrupt."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    if not raw.strip():
        raise _corrupt(path, "empty file: a write was cut short")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, f"not valid JSON, probably a torn write: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rounds"), dict):
        raise _corrupt(path, "no 'rounds' object")
    rounds: dict[str, Any] = data["rounds"]
    if any(not k.isdigit() or not isinstance(v, dict) for k, v in rounds.items()):
        raise _corrupt(path, "a round entry is not a round number mapped to an object")
    if "checksum" in data and data["checksum"] != _checksum(rounds):  # journals before version 1 carry none
        raise _corrupt(path, "checksum mismatch: the content changed after it was written")
    return rounds


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` so that a crash leaves either the old or the new file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._rounds = read_journal(path)

    def round(self, round_: int) -> dict[str, Any]:
        return dict(self._rounds.get(str(round_), {}))

    def rounds(self) -> dict[int, dict[str, Any]]:
        return {int(k): dict(v) for k, v in self._rounds.items()}

    def update(self, round_: int, **fields: Any) -> dict[str, Any]:
        with self._lock:
            entry = self._rounds.setdefault(str(round_), {})
            entry.update(fields)
            body = {"version": VERSION, "checksum": _checksum(self._rounds), "rounds": self._rounds}
            write_atomic(self.path, json.dumps(body, indent=1, sort_keys=True).encode())
            return dict(entry)
