"""Serve an in-process eth-tester chain over HTTP JSON-RPC.

The embedded default chain lives inside one process; role processes (trainers, the
aggregator) reach it like any node, through an ``http://127.0.0.1:PORT`` URL served here.
Requests go through web3's ``EthereumTesterProvider`` and its own middleware (which takes
standard JSON-RPC parameters); results come back with Python integers and bytes, and are
turned into standard JSON-RPC form (camelCase keys, hex quantities and data). Reverts become
JSON-RPC errors carrying the revert data, as anvil reports them. The devnet methods
``evm_snapshot``, ``evm_revert``, ``evm_increaseTime`` and ``evm_mine`` are served too.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from web3 import Web3
from web3.middleware import combine_middleware

from node.chain.provider import advance_time, mine
from node.chain.reverts import revert_data

__all__ = ["RpcBridge", "to_rpc"]

logger = logging.getLogger(__name__)

# Results whose integers are data, not quantities (they stay as they are when not ints).
_BYTES_FIELDS = {"logsBloom": 256, "nonce": 8}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_rpc(value: Any, key: str = "") -> Any:
    """eth-tester's Python result form -> standard JSON-RPC form."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if key in _BYTES_FIELDS:
            return "0x" + value.to_bytes(_BYTES_FIELDS[key], "big").hex()
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {_camel(k): to_rpc(v, _camel(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_rpc(v, key) for v in value]
    return value


class RpcBridge:
    """A threaded JSON-RPC server in front of an in-process chain; one request at a time."""

    def __init__(self, w3: Web3, host: str = "127.0.0.1", port: int = 0) -> None:
        self.w3 = w3
        self._lock = threading.Lock()
        provider = w3.provider
        # The provider's own middleware turns JSON-RPC parameters into eth-tester's form and
        # renames result keys; web3's onion (Python-side formatting) is left out on purpose.
        self._request = combine_middleware(
            middleware=tuple(provider._middleware),  # type: ignore[attr-defined]
            w3=w3,
            provider_request_fn=provider.make_request,
        )
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                try:
                    request = json.loads(self.rfile.read(length))
                except json.JSONDecodeError:
                    self._reply({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
                    return
                if isinstance(request, list):
                    self._reply([bridge.handle(r) for r in request])
                else:
                    self._reply(bridge.handle(request))

            def _reply(self, body: Any) -> None:
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server API
                logger.debug("rpc: " + format, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="rpc-bridge", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RpcBridge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RpcBridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        rid, method, params = request.get("id"), request.get("method", ""), request.get("params", [])
        with self._lock:
            try:
                result = self._dispatch(method, params)
            except Exception as exc:  # every failure becomes a JSON-RPC error for the client
                return {"jsonrpc": "2.0", "id": rid, "error": self._error(exc)}
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def _dispatch(self, method: str, params: list[Any]) -> Any:
        tester = self.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        if method == "evm_snapshot":
            return hex(tester.take_snapshot())
        if method == "evm_revert":
            tester.revert_to_snapshot(int(params[0], 16) if isinstance(params[0], str) else params[0])
            return True
        if method == "evm_increaseTime":
            seconds = int(params[0], 16) if isinstance(params[0], str) else int(params[0])
            advance_time(self.w3, seconds)
            return hex(seconds)
        if method == "evm_mine":
            mine(self.w3)
            return "0x0"
        reply = self._request(method, params)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        result = reply.get("result")
        if method in ("eth_call", "eth_getCode", "eth_getStorageAt"):
            return "0x" + bytes(result).hex() if isinstance(result, (bytes, bytearray)) else result
        if method in ("eth_sendTransaction", "eth_sendRawTransaction") and isinstance(result, (bytes, bytearray)):
            return "0x" + bytes(result).hex()
        return to_rpc(result)

    @staticmethod
    def _error(exc: Exception) -> dict[str, Any]:
        data = revert_data(exc)
        if data is not None:
            return {"code": 3, "message": "execution reverted", "data": "0x" + data.hex()}
        return {"code": -32000, "message": str(exc) or type(exc).__name__}
