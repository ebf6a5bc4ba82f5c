"""Tensors as bytes: canonical safetensors for model weights, deltas and data shards.

Encoding sorts tensors by name and writes little-endian, contiguous data with no metadata,
so the same tensors always give the same bytes (and the same CID). Decoding checks every
tensor against an expected spec (names, shapes, dtypes), rejects NaN/Inf and oversized input,
and raises :class:`InvalidTensors` (a ValueError) with the reason: a malformed submission
never crashes a node. :func:`encode_delta` / :func:`decode_delta` carry a delta under a task's
compression recipe (``verifier.repops.compress``): the compressed tensors in the same
canonical safetensors form, decoded back to the dense delta they stand for.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from node.errors import InvalidTensors
from node.training.limits import check_header
from verifier.repops.compress import Compression, CompressionError, compress, compressed_spec, decompress, parse_compression

__all__ = ["TensorSpec", "encode_tensors", "decode_tensors", "spec_of", "encode_delta", "decode_delta"]

TensorSpec = dict[str, tuple[tuple[int, ...], torch.dtype]]


def spec_of(tensors: Mapping[str, torch.Tensor]) -> TensorSpec:
    return {name: (tuple(t.shape), t.dtype) for name, t in tensors.items()}


def encode_tensors(tensors: Mapping[str, torch.Tensor]) -> bytes:
    ordered = {name: tensors[name].detach().to("cpu").contiguous() for name in sorted(tensors)}
    return bytes(st_save(ordered))


def decode_tensors(data: bytes, spec: TensorSpec | None = None, *, max_bytes: int | None = None, finite: bool = True) -> dict[str, torch.Tensor]:
    if max_bytes is not None and len(data) > max_bytes:
        raise InvalidTensors(f"{len(data)} bytes exceeds the limit of {max_bytes} bytes")
    check_header(data, spec=spec)  # sizes, names, shapes and dtypes checked before anything is allocated
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise InvalidTensors(f"not a safetensors file: {exc}") from None
    if spec is not None:
        missing, extra = sorted(set(spec) - set(tensors)), sorted(set(tensors) - set(spec))
        if missing or extra:
            raise InvalidTensors(f"tensor names differ from the model (missing {missing}, unexpected {extra})")
        for name, (shape, dtype) in spec.items():
            t = tensors[name]
            if tuple(t.shape) != shape:
                raise InvalidTensors(f"{name}: shape {tuple(t.shape)} differs from the model's {shape}")
            if t.dtype != dtype:
                raise InvalidTensors(f"{name}: dtype {t.dtype} differs from the model's {dtype}")
    if finite:
        for name, t in tensors.items():
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise InvalidTensors(f"{name}: contains NaN or Inf")
    return tensors


def encode_delta(delta: Mapping[str, torch.Tensor], compression: Compression | str | None = None) -> bytes:
    """The bytes a trainer publishes for ``delta``: the compressed tensors under the recipe
    (plain :func:`encode_tensors` without one)."""
    c = compression if isinstance(compression, Compression) else parse_compression(compression)
    return encode_tensors(compress(delta, c) if c.enabled else delta)


def decode_delta(data: bytes, spec: TensorSpec, compression: Compression | str | None = None, *, max_bytes: int | None = None) -> dict[str, torch.Tensor]:
    """The dense delta published ``data`` stands for, checked against the model ``spec`` and the recipe."""
    c = compression if isinstance(compression, Compression) else parse_compression(compression)
    if not c.enabled:
        return decode_tensors(data, spec, max_bytes=max_bytes)
    tensors = decode_tensors(data, compressed_spec(spec, c), max_bytes=max_bytes)
    try:
        return decompress(tensors, spec, c)
    except CompressionError as exc:
        raise InvalidTensors(str(exc)) from None
