"""View operators as kernels: reshape, permute, narrow (slicing), cat, stack and add.

They move or copy values without rounding, but they still feed later operators, so they go
through the tape like every other kernel: a referee recomputes their output hash from the
agreed inputs, and a fault planted in one is located like a fault in a matmul. ``permute``
returns a contiguous copy; ``reshape`` and ``narrow`` may return views (the hash is over the
canonical contiguous bytes either way). ``add`` is the residual connection's sum and the
backward of a fork (one rounding per element).
"""

from __future__ import annotations

import torch

__all__ = ["reshape", "permute", "narrow", "cat", "stack", "add"]


def reshape(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    return x.reshape(shape)


def permute(x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    return x.permute(*dims).contiguous()


def narrow(x: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    return x.narrow(dim, start, length)


def cat(*xs: torch.Tensor, dim: int = 0) -> torch.Tensor:
    return torch.cat(xs, dim)


def stack(*xs: torch.Tensor) -> torch.Tensor:
    return torch.stack(xs)


def add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a + b
