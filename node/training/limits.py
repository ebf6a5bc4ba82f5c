"""Checks on a safetensors header before anything is allocated (pure, no torch loading).

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON mapping each
tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (plus an optional
``__metadata__``), then the data. A hostile peer controls all of it: :func:`check_header`
reads only the header, checks that its length and every declared tensor size are consistent
with the bytes actually present and within a limit (for a delta: what the task's model
needs), and raises :class:`~node.errors.InvalidTensors` otherwise, so a header claiming
terabytes is refused before the decoder sees it.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import torch

from node.errors import InvalidTensors

__all__ = ["DTYPE_SIZES", "MAX_HEADER_BYTES", "check_header", "expected_bytes"]

MAX_HEADER_BYTES = 16 * 1024 * 1024

DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}  # fmt: skip


def _malformed(reason: str) -> InvalidTensors:
    return InvalidTensors(f"not a safetensors file: {reason}")


TensorSpec = dict[str, tuple[tuple[int, ...], torch.dtype]]


def expected_bytes(spec: TensorSpec) -> int:
    """The data size of tensors of these shapes and dtypes (what a delta of the model holds)."""
    return sum(math.prod(shape) * torch.empty((), dtype=dtype).element_size() for shape, dtype in spec.values())


_TORCH_NAMES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
                torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}  # fmt: skip
_TORCH_NAMES.update({getattr(torch, t): n for t, n in (("uint16", "U16"), ("uint32", "U32"), ("uint64", "U64"),
                     ("float8_e4m3fn", "F8_E4M3"), ("float8_e5m2", "F8_E5M2")) if hasattr(torch, t)})  # fmt: skip


def check_header(data: bytes, *, spec: TensorSpec | None = None, max_data_bytes: int | None = None) -> dict[str, Any]:
    """The parsed header of ``data``, after checking that it is well formed, that it describes
    exactly the bytes that follow, that it declares the tensors of ``spec`` (names, shapes,
    dtypes: a delta of the task's model) and that its tensors total at most ``max_data_bytes``."""
    if len(data) < 8:
        raise _malformed(f"{len(data)} bytes is too short for a safetensors header")
    (size,) = struct.unpack("<Q", data[:8])
    if size > min(len(data) - 8, MAX_HEADER_BYTES):
        raise _malformed(f"the header claims {size} bytes, the file holds {len(data) - 8} after the length (limit {MAX_HEADER_BYTES})")
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _malformed(f"the safetensors header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise _malformed("the safetensors header is not a JSON object")
    available = len(data) - 8 - size
    total = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or set(entry) - {"dtype", "shape", "data_offsets"}:
            raise _malformed(f"{name}: malformed header entry")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in DTYPE_SIZES:
            raise _malformed(f"{name}: unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise _malformed(f"{name}: shape {shape!r} is not a list of non-negative integers")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            raise _malformed(f"{name}: data_offsets {offsets!r} is not a pair of integers")
        claimed = math.prod(shape) * DTYPE_SIZES[dtype]
        begin, end = offsets
        if not 0 <= begin <= end or end - begin != claimed:
            raise _malformed(f"{name}: shape {shape} of {dtype} needs {claimed} bytes, data_offsets {offsets} say otherwise")
        if end > available:
            raise _malformed(f"{name}: claims bytes up to {end}, the file holds {available}")
        total += claimed
        if max_data_bytes is not None and total > max_data_bytes:
            raise InvalidTensors(f"the tensors claim more than {max_data_bytes} bytes, the limit for this model")
    if spec is not None:
        _match(header, spec)
    return header


def _match(header: dict[str, Any], spec: TensorSpec) -> None:
    names = set(header) - {"__metadata__"}
    missing, extra = sorted(set(spec) - names), sorted(names - set(spec))
    if missing or extra:
        raise InvalidTensors(f"tensor names differ from the model (missing {missing}, unexpected {extra})")
    for name, (shape, dtype) in spec.items():
        entry = header[name]
        if tuple(entry["shape"]) != shape:
            raise InvalidTensors(f"{name}: shape {tuple(entry['shape'])} differs from the model's {shape}")
        if entry["dtype"] != _TORCH_NAMES.get(dtype, str(dtype)):
            raise InvalidTensors(f"{name}: dtype {entry['dtype']} differs from the model's {dtype}")
