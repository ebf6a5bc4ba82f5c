"""Decode reverts into one error type, whatever the backend reports.

eth-tester raises ``TransactionFailed("execution reverted: b'...'")`` with the raw bytes in
its message; anvil gives web3 a ``ContractCustomError`` whose ``data`` holds the hex; Hardhat
gives a ``ContractLogicError``. :class:`RevertDecoder` finds the revert data in any of them
and decodes it against every error in the compiled ABIs, ``Error(string)`` and
``Panic(uint256)``, into :class:`node.errors.ContractRevert`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from node.errors import ContractRevert

__all__ = ["RevertDecoder", "revert_data"]

_BUILTIN = [
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
]
_HEX = re.compile(r"0x[0-9a-fA-F]{8,}")
_PY_BYTES = re.compile(r"""b(['"]).*\1""", re.DOTALL)


def _canonical_type(param: dict[str, Any]) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in param["components"]) + ")" + kind[len("tuple") :]
    return kind


class RevertDecoder:
    """Maps 4-byte selectors of every known error to its name and parameter types."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for abi in [*abis, _BUILTIN]:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [_canonical_type(p) for p in item["inputs"]]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                names = [p["name"] or f"arg{i}" for i, p in enumerate(item["inputs"])]
                self._errors[selector] = (item["name"], names, types)

    def decode(self, data: bytes, *, function: str = "") -> ContractRevert:
        """Decode raw revert data."""
        entry = self._errors.get(data[:4]) if len(data) >= 4 else None
        if entry is None:
            return ContractRevert("unknown", {"data": data}, data=data, function=function)
        name, names, types = entry
        try:
            values = abi_decode(types, data[4:])
        except Exception:  # malformed payload for a known selector
            return ContractRevert(name, {"data": data[4:]}, data=data, function=function)
        values = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, values, strict=True)]
        return ContractRevert(name, dict(zip(names, values, strict=True)), data=data, function=function)

    def from_exception(self, exc: BaseException, *, function: str = "") -> ContractRevert | None:
        """The decoded revert inside ``exc``, or None when ``exc`` is not a revert."""
        data = revert_data(exc)
        if data is None:
            return None
        return self.decode(data, function=function)


def revert_data(exc: BaseException) -> bytes | None:
    """Raw revert bytes carried by an exception from eth-tester, anvil or Hardhat.

    Raw bytes anywhere in the exception chain win over text: eth-tester re-raises a revert
    whose payload happens to contain a string as ``"execution reverted: <that string>"``.
    """
    chain: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and node not in chain:
        chain.append(node)
        node = node.__cause__ or node.__context__
    for link in chain:
        for arg in getattr(link, "args", ()):
            if isinstance(arg, (bytes, bytearray)) and arg:
                return bytes(arg)
    return _revert_data_of(exc)


def _revert_data_of(exc: BaseException) -> bytes | None:
    raw = getattr(exc, "data", None)
    if isinstance(raw, (bytes, bytearray)) and raw:
        return bytes(raw)
    if isinstance(raw, str) and raw.startswith("0x"):
        return bytes.fromhex(raw[2:])
    if isinstance(raw, dict):
        inner = raw.get("data")
        if isinstance(inner, str) and inner.startswith("0x"):
            return bytes.fromhex(inner[2:])
    message = " ".join(str(a) for a in getattr(exc, "args", ()))
    if "revert" not in message.lower() and type(exc).__name__ not in ("TransactionFailed", "ContractLogicError"):
        return None
    literal = _PY_BYTES.search(message)
    if literal:
        try:
            value = ast.literal_eval(literal.group(0))
            if isinstance(value, bytes):
                return value
        except (ValueError, SyntaxError):
            pass
    hexed = _HEX.search(message)
    if hexed:
        return bytes.fromhex(hexed.group(0)[2:])
    text = message.split("execution reverted:", 1)[-1].strip() if "execution reverted" in message else ""
    if text:
        from eth_abi import encode

        return keccak(text="Error(string)")[:4] + encode(["string"], [text])
    return b""
