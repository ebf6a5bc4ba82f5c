"""Say once what a node waits for.

A node polls the chain; while nothing changes it has nothing to say, which looked like a hang
(a round sitting in Commit on a devnet that mines no block). :class:`Waits` reports each wait
once, when it begins: the event ``waiting`` with a message such as "waiting for chain time to
pass the Commit deadline (chain at T, deadline D)", and the same line in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["Waits", "deadline_wait"]

logger = logging.getLogger(__name__)


class Waits:
    """Emits ``waiting`` once per distinct wait (``key``); a new key is a new wait."""

    def __init__(self, emit: Callable[..., Any] | None = None) -> None:
        self._emit = emit or (lambda *_a, **_k: None)
        self._key: Hashable | None = None
        self.messages: list[str] = []

    def waiting(self, key: Hashable, message: str) -> None:
        if key == self._key:
            return
        self._key = key
        self.messages.append(message)
        logger.info("%s", message)
        self._emit("waiting", message=message)

    def done(self) -> None:
        """The wait is over: the next wait is reported even if it has the same key."""
        self._key = None


def deadline_wait(phase: str, chain_time: int, deadline: int, *, stalled: bool = False) -> str:
    """The message for a node waiting on a phase deadline (``stalled``: the wall clock passed it, chain time did not)."""
    text = f"waiting for chain time to pass the {phase} deadline (chain at {chain_time}, deadline {deadline})"
    if stalled:
        text += "; the node mines no new block: start anvil with a block time (`meritnet devnet start --block-time 1`) or pass --mine-empty-blocks"
    return text
