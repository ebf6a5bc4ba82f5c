"""Canonical bytes and hashes of tensor collections (pure; never pickle or torch.save).

For each tensor in name order: the name, a dtype tag, the shape, and the little-endian,
contiguous bytes, each length-prefixed. The same tensors give the same bytes on every
machine, which is what state hashes ``S_t`` and operator hashes are computed over.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from collections.abc import Mapping

import numpy as np
import torch

__all__ = ["DTYPE_TAGS", "OPTIMIZERS", "canonical_bytes", "tensor_hash", "state_hash", "full_state", "zero_buffers"]

OPTIMIZERS = ("sgd", "adam")

DTYPE_TAGS = {
    torch.float32: b"f32",
    torch.float64: b"f64",
    torch.float16: b"f16",
    torch.bfloat16: b"bf16",
    torch.int64: b"i64",
    torch.int32: b"i32",
    torch.uint8: b"u8",
    torch.bool: b"bool",
}


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    t = tensor.detach().to("cpu").contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    array = t.numpy()
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and np.little_endian is False):
        array = array.byteswap().view(array.dtype.newbyteorder("<"))
    return array.tobytes()


def _chunk(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


def _header(name: str, t: torch.Tensor, size: int) -> bytes:
    try:
        tag = DTYPE_TAGS[t.dtype]
    except KeyError:
        raise ValueError(f"{name}: dtype {t.dtype} has no canonical tag") from None
    return _chunk(name.encode()) + _chunk(tag) + _chunk(struct.pack(f"<{t.dim()}Q", *t.shape)) + struct.pack("<Q", size)


def canonical_bytes(tensors: Mapping[str, torch.Tensor]) -> bytes:
    out = bytearray()
    for name in sorted(tensors):
        data = _tensor_bytes(tensors[name])
        out += _header(name, tensors[name], len(data)) + data
    return bytes(out)


def _hash_into(h: "hashlib._Hash", name: str, t: torch.Tensor) -> None:
    """Feed ``canonical_bytes({name: t})`` to ``h`` without building it (no copy of the data
    on little-endian machines)."""
    if sys.byteorder != "little":
        h.update(canonical_bytes({name: t}))
        return
    c = t.detach().to("cpu").contiguous()
    array = (c.view(torch.int16) if c.dtype == torch.bfloat16 else c).numpy()
    h.update(_header(name, t, array.nbytes))
    h.update(memoryview(array).cast("B"))


def tensor_hash(tensor: torch.Tensor, name: str = "") -> bytes:
    """sha256 of one tensor's canonical form."""
    h = hashlib.sha256()
    _hash_into(h, name, tensor)
    return h.digest()


def state_hash(tensors: Mapping[str, torch.Tensor]) -> bytes:
    """sha256 of a collection's canonical form: ``S_t`` when given params, optimizer state,
    step and RNG counters."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        _hash_into(h, name, tensors[name])
    return h.digest()


def full_state(params: Mapping[str, torch.Tensor], buffers: Mapping[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
    """The training state hashed as ``S_t``: params, optimizer buffers (SGD momentum, or Adam's
    stacked moments; named ``opt.momentum.*`` either way), the step and the RNG counter (one
    batch is drawn per step, so the counter equals the step)."""
    state = dict(params)
    state.update({f"opt.momentum.{k}": v for k, v in buffers.items()})
    state["__step__"] = torch.tensor([step], dtype=torch.int64)
    state["__rng__"] = torch.tensor([step], dtype=torch.int64)
    return state


def zero_buffers(params: Mapping[str, torch.Tensor], optimizer: str = "sgd") -> dict[str, torch.Tensor]:
    """The optimizer state of step 0: a zero momentum buffer per param for SGD, zero first and
    second moments (stacked, 2 x shape) for Adam."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; one of {', '.join(OPTIMIZERS)}")
    if optimizer == "adam":
        return {k: torch.zeros((2, *v.shape), dtype=v.dtype, device=v.device) for k, v in params.items()}
    return {k: torch.zeros_like(v) for k, v in params.items()}
