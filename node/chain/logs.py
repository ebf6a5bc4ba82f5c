"""Event logs read incrementally: each query scans only the blocks it has not seen.

Nodes poll the same events again and again (reveals, reputation edges). A full ``eth_getLogs``
from the deployment block costs time proportional to the chain's length (seconds on the
in-process chain after a few hundred blocks); :class:`LogCache` keeps what it has read per
(contract, event) and fetches only ``last seen + 1 .. latest`` each time. If the last block it
read has changed (a devnet snapshot was reverted, a reorg), it starts over.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from web3 import Web3

__all__ = ["LogCache", "logs_of"]


class LogCache:
    def __init__(self, w3: Web3, event: Any, start: int) -> None:
        self.w3, self.event, self.start = w3, event, start
        self.next_block = start
        self.last_hash: bytes | None = None
        self.logs: list[Any] = []
        self._lock = threading.Lock()

    def fetch(self, to_block: int | None = None) -> list[Any]:
        """Every log of the event up to ``to_block`` (default: the latest block), in chain order."""
        with self._lock:
            latest = int(self.w3.eth.block_number)
            if self.last_hash is not None and (latest < self.next_block - 1 or bytes(self.w3.eth.get_block(self.next_block - 1)["hash"]) != self.last_hash):
                self.next_block, self.logs = self.start, []  # the chain changed under us: read again
            if latest >= self.next_block:
                self.logs.extend(self.event().get_logs(from_block=self.next_block, to_block=latest))
                self.next_block = latest + 1
                self.last_hash = bytes(self.w3.eth.get_block(latest)["hash"])
            return [log for log in self.logs if to_block is None or log["blockNumber"] <= to_block]


_CACHES: weakref.WeakKeyDictionary[Web3, dict[tuple[str, str, int], LogCache]] = weakref.WeakKeyDictionary()


def logs_of(w3: Web3, contract: Any, event_name: str, start: int, to_block: int | str | None = None) -> list[Any]:
    """The event's logs from ``start`` on, through a cache per chain connection in this process."""
    caches = _CACHES.setdefault(w3, {})
    key = (str(contract.address), event_name, start)
    if key not in caches:
        caches[key] = LogCache(w3, getattr(contract.events, event_name), start)
    return caches[key].fetch(None if to_block in (None, "latest") else int(to_block))  # type: ignore[arg-type]
