"""A fault-injecting JSON-RPC proxy: put it between nodes and a chain to see them cope.

Each request draws, from a seeded generator, one of: forward it untouched; ``drop`` (close
the connection before forwarding: the call never happened); ``5xx`` (answer HTTP 503 before
forwarding); ``reset`` (forward, then close the connection without answering: the call
happened, a transaction went through, the client saw a failure); ``late`` (forward, then
answer after ``delay`` seconds: past a client timeout it is a sent-but-unconfirmed call).
``force`` injects given faults into the first requests of given methods (say, the first two
``eth_sendTransaction`` answered ``reset``), whatever the draw. ``faults`` counts what was
injected, per kind and method, so a test can check it did inject.

    with FaultyRpcProxy(upstream_url, rate=0.1, seed=7) as proxy:
        w3 = connect(proxy.url)
"""

from __future__ import annotations

import json
import random
import threading
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["KINDS", "FaultyRpcProxy"]

KINDS = ("drop", "5xx", "reset", "late")


class FaultyRpcProxy:
    def __init__(self, upstream: str, *, rate: float, seed: int, kinds: tuple[str, ...] = ("drop", "5xx", "reset"), delay: float = 0.0,
                 spare: tuple[str, ...] = (), force: dict[str, list[str]] | None = None) -> None:  # fmt: skip
        """``rate``: the share of requests that get a fault; ``kinds``: which ones; ``spare``:
        JSON-RPC methods never faulted (say, a test clock's own calls)."""
        forced = [k for ks in (force or {}).values() for k in ks]
        if unknown := set(kinds) - set(KINDS) | set(forced) - set(KINDS):
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {KINDS}")
        self.upstream, self.rate, self.kinds, self.delay, self.spare = upstream, rate, kinds, delay, spare
        self.force = {method: list(ks) for method, ks in (force or {}).items()}
        self.faults: Counter[str] = Counter()
        self.by_method: Counter[tuple[str, str]] = Counter()
        self.requests = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fault = proxy._draw(body)
                if fault == "drop":
                    self.close_connection = True
                    return
                if fault == "5xx":
                    self._send(503, b"fault injected")
                    return
                status, payload = proxy._forward(body)
                if fault == "reset":
                    self.close_connection = True
                    return
                if fault == "late":
                    threading.Event().wait(proxy.delay)
                self._send(status, payload)

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server API
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faulty-rpc", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _draw(self, body: bytes) -> str | None:
        try:
            request = json.loads(body)
            method = str((request[0] if isinstance(request, list) else request).get("method", ""))
        except (ValueError, AttributeError, IndexError):
            method = ""
        with self._lock:
            self.requests += 1
            if self.force.get(method):
                kind = self.force[method].pop(0)
            elif method in self.spare or self._random.random() >= self.rate:
                return None
            else:
                kind = self._random.choice(self.kinds)
            self.faults[kind] += 1
            self.by_method[(method, kind)] += 1
            return kind

    def _forward(self, body: bytes) -> tuple[int, bytes]:
        request = urllib.request.Request(self.upstream, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            return int(reply.status), bytes(reply.read())

    def __enter__(self) -> FaultyRpcProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
