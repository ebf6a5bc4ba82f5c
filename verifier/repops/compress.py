"""Delta compression (FedZip-style): top-k sparsification and 8-bit quantisation, bit-exact.

A task may fix a compression recipe, written ``topk:F`` (keep the ``ceil(F * n)`` entries of
largest magnitude of each tensor of ``n`` entries), ``int8`` (quantise each tensor's kept
values to 8 bits with one scale per tensor) or both, comma-separated (``topk:0.1,int8``).
The compressed delta is what a trainer publishes, what the contract's ``deltaCid`` names and
what the aggregator averages; compressing is the last step of the round's final operator
(``FINAL_DELTA``: ``compress(params(S_K) - base)``), so the referee recomputes it like any
other operator. Every rule is fixed, so any machine gets the same bits:

- **selection**: entries ordered by ``|value|`` descending, ties by flat index ascending (a
  stable sort); the first ``k`` are kept. ``k = ceil(F * n)`` with ``F`` read as an exact
  decimal fraction, at least 1.
- **quantisation**: ``scale = max|kept| / 127`` (float32; 0 when all kept values are 0),
  ``q = clamp(round_half_to_even(value / scale), -127, 127)`` as int8; the value a decoder
  uses is ``float32(q) * scale``. Each of these is one IEEE float32 operation, correctly
  rounded on every device.

A compressed tensor is three tensors (so the canonical safetensors codec carries it exactly):
``NAME.mask`` (the kept positions as bits, packed 8 per byte, most significant first; only
with top-k), ``NAME.values`` (the kept values in index order: int8 with ``int8``, else
float32) and ``NAME.scale`` (a float32 scalar; only with ``int8``). Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import torch

from verifier.errors import MeritnetError

__all__ = ["Compression", "CompressionError", "parse_compression", "compress", "decompress", "compressed_spec", "kept_count"]

QMAX = 127


class CompressionError(MeritnetError, ValueError):
    """A compression recipe that cannot be parsed, or compressed tensors that do not fit it."""


@dataclass(frozen=True)
class Compression:
    """A parsed recipe; ``topk`` None keeps every entry, ``int8`` False keeps float32 values."""

    topk: Fraction | None = None
    int8: bool = False

    @property
    def enabled(self) -> bool:
        return self.topk is not None or self.int8

    def __str__(self) -> str:
        parts = ([f"topk:{_decimal(self.topk)}"] if self.topk is not None else []) + (["int8"] if self.int8 else [])
        return ",".join(parts)


def _decimal(f: Fraction) -> str:
    text = f"{float(f):.12g}"
    return text if Fraction(text) == f else str(f)


def parse_compression(text: str | None) -> Compression:
    """``""`` / ``"none"`` (no compression), ``"topk:0.1"``, ``"int8"`` or ``"topk:0.1,int8"``."""
    if text is None or text.strip().lower() in ("", "none"):
        return Compression()
    topk: Fraction | None = None
    int8 = False
    for part in (p.strip().lower() for p in text.split(",")):
        if part == "int8" and not int8:
            int8 = True
        elif part.startswith("topk:") and topk is None:
            try:
                topk = Fraction(part.removeprefix("topk:"))
            except (ValueError, ZeroDivisionError):
                raise CompressionError(f"not a fraction in {part!r}: write e.g. topk:0.1") from None
            if not 0 < topk <= 1:
                raise CompressionError(f"the top-k fraction must be in (0, 1], got {part!r}")
        else:
            raise CompressionError(f"unknown or repeated compression part {part!r}: write topk:F, int8 or topk:F,int8 (or none)")
    return Compression(topk, int8)


def kept_count(numel: int, c: Compression) -> int:
    """How many entries of a tensor of ``numel`` entries the recipe keeps."""
    if c.topk is None or numel == 0:
        return numel
    return max(1, min(numel, math.ceil(c.topk * numel)))


def compressed_spec(spec: Mapping[str, tuple[tuple[int, ...], torch.dtype]], c: Compression) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """The names, shapes and dtypes of the compressed tensors of a float32 model ``spec``."""
    out: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}
    for name, (shape, _) in spec.items():
        numel = math.prod(shape)
        if c.topk is not None:
            out[f"{name}.mask"] = ((numel + 7) // 8,), torch.uint8
        out[f"{name}.values"] = (kept_count(numel, c),), torch.int8 if c.int8 else torch.float32
        if c.int8:
            out[f"{name}.scale"] = (), torch.float32
    return out


def _select(flat: torch.Tensor, k: int) -> torch.Tensor:
    """The kept positions as a bool mask: the k largest |value|, ties to the lower index."""
    order = torch.sort(flat.abs(), descending=True, stable=True).indices
    mask = torch.zeros(flat.numel(), dtype=torch.bool)
    mask[order[:k]] = True
    return mask


def _pack(mask: torch.Tensor) -> torch.Tensor:
    padded = torch.zeros((mask.numel() + 7) // 8 * 8, dtype=torch.uint8)
    padded[: mask.numel()] = mask.to(torch.uint8)
    weights = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8)
    return (padded.reshape(-1, 8) * weights).sum(1, dtype=torch.int32).to(torch.uint8)


def _unpack(packed: torch.Tensor, numel: int) -> torch.Tensor:
    shifts = torch.tensor([7, 6, 5, 4, 3, 2, 1, 0], dtype=torch.uint8)
    bits = (packed.reshape(-1, 1) >> shifts) & 1
    return bits.reshape(-1)[:numel].to(torch.bool)


def _quantise(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    amax = values.abs().max() if values.numel() else torch.tensor(0.0)
    scale = (amax / QMAX).to(torch.float32)
    if float(scale) == 0.0:
        return torch.zeros_like(values, dtype=torch.int8), scale
    q = torch.round(values / scale).clamp_(-QMAX, QMAX).to(torch.int8)
    return q, scale


def compress(delta: Mapping[str, torch.Tensor], c: Compression) -> dict[str, torch.Tensor]:
    """The compressed tensors of a float32 ``delta`` (see the module docstring)."""
    out: dict[str, torch.Tensor] = {}
    for name in sorted(delta):
        t = delta[name]
        if t.dtype != torch.float32:
            raise CompressionError(f"{name}: compression takes float32 tensors, got {t.dtype}")
        flat = t.detach().to("cpu").contiguous().reshape(-1)
        values = flat
        if c.topk is not None:
            mask = _select(flat, kept_count(flat.numel(), c))
            out[f"{name}.mask"] = _pack(mask)
            values = flat[mask]
        if c.int8:
            out[f"{name}.values"], out[f"{name}.scale"] = _quantise(values)
        else:
            out[f"{name}.values"] = values.clone()
    return out


def decompress(tensors: Mapping[str, torch.Tensor], spec: Mapping[str, tuple[tuple[int, ...], torch.dtype]], c: Compression) -> dict[str, torch.Tensor]:
    """The dense float32 delta compressed ``tensors`` stand for (zeros where top-k dropped)."""
    expected = compressed_spec(spec, c)
    if set(tensors) != set(expected):
        raise CompressionError(f"compressed tensors {sorted(tensors)} do not fit the recipe {str(c) or 'none'!r} (expected {sorted(expected)})")
    for key, (shape, dtype) in expected.items():
        if tuple(tensors[key].shape) != shape or tensors[key].dtype != dtype:
            raise CompressionError(f"{key}: shape {tuple(tensors[key].shape)} / {tensors[key].dtype}, expected {shape} / {dtype}")
    dense: dict[str, torch.Tensor] = {}
    for name, (shape, _) in spec.items():
        numel = math.prod(shape)
        values = tensors[f"{name}.values"]
        if c.int8:
            values = values.to(torch.float32) * tensors[f"{name}.scale"]
        if c.topk is None:
            dense[name] = values.reshape(shape).clone()
            continue
        mask = _unpack(tensors[f"{name}.mask"], numel)
        if int(mask.sum()) != values.numel():
            raise CompressionError(f"{name}: the mask keeps {int(mask.sum())} entries but {values.numel()} values are given")
        flat = torch.zeros(numel, dtype=torch.float32)
        flat[mask] = values
        dense[name] = flat.reshape(shape)
    return dense
