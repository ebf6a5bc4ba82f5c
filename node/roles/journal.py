"""A trainer's local journal: what it trained, committed, revealed and claimed, per round.

Written atomically after every step, so a trainer killed at any point and restarted finds its
work (the delta CID and the salt of its commitment) and neither trains nor submits twice.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["Journal"]


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"rounds": {}}

    def round(self, round_: int) -> dict[str, Any]:
        return dict(self._data["rounds"].get(str(round_), {}))

    def update(self, round_: int, **fields: Any) -> dict[str, Any]:
        with self._lock:
            entry = self._data["rounds"].setdefault(str(round_), {})
            entry.update(fields)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._data, indent=1, sort_keys=True))
            tmp.replace(self.path)
            return dict(entry)
