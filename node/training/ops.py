"""Operator backends: the training loop computes every operator through one of these.

A backend provides the operators the models and the optimizer use. ``stock`` calls torch
directly (fast, but results may differ across thread counts, batch groupings and devices);
the ``repops`` backend (``verifier.repops``, imported when chosen) gives bitwise-reproducible results on any hardware,
for tasks whose submissions must be verifiable by re-execution. Models never call torch
operators themselves, so swapping the backend swaps every operator of a training step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F

from node.errors import ConfigError
from verifier.repops.canonical import full_state, state_hash

__all__ = ["OpBackend", "StockOps", "get_backend", "register_backend"]


class OpBackend(Protocol):
    name: str

    def linear(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor: ...

    def relu(self, x: torch.Tensor) -> torch.Tensor: ...

    def conv2d(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: int) -> torch.Tensor: ...

    def cross_entropy(self, logits: torch.Tensor, target: torch.Tensor, scale: float | None = None) -> torch.Tensor:
        """``scale * sum`` of the per-sample losses; the mean when ``scale`` is None."""
        ...

    def combine(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """Sum the gradients of micro-batches of one batch."""
        ...

    def sgd_momentum_(self, params: list[torch.Tensor], grads: list[torch.Tensor], buffers: list[torch.Tensor], lr: float, momentum: float) -> None:
        """In place: ``buf = momentum * buf + grad; param -= lr * buf``."""
        ...

    def adam_(self, params: list[torch.Tensor], grads: list[torch.Tensor], moments: list[torch.Tensor], step: int, lr: float,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, *, weight_decay: float = 0.0, warmup: int = 0,
              total: int = 0) -> None:  # fmt: skip
        """In place: Adam step ``step`` (from 1); ``moments[i]`` stacks m and v (2 x shape); AdamW
        (decoupled) with ``weight_decay``; warm-up + cosine learning rate with ``warmup`` / ``total``."""
        ...

    def reshape(self, x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor: ...

    def fork(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Two uses of ``x`` (a residual branch)."""
        ...

    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor: ...

    def gelu(self, x: torch.Tensor) -> torch.Tensor: ...

    def layer_norm(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor: ...

    def embed(self, tokens: torch.Tensor, wte: torch.Tensor, wpe: torch.Tensor) -> torch.Tensor:
        """(batch, seq) tokens -> (batch * seq, width): token plus position embedding."""
        ...

    def attention(self, qkv: torch.Tensor, heads: int, seq: int) -> torch.Tensor:
        """Causal self-attention of (batch * seq, 3 * width) projections -> (batch * seq, width)."""
        ...

    def clip_grads(self, grads: list[torch.Tensor], max_norm: float) -> list[torch.Tensor]:
        """Gradients scaled by min(1, max_norm / their global norm)."""
        ...

    def begin_step(self, step: int, inputs: dict[str, torch.Tensor]) -> None:
        """Step ``step`` (``S_step -> S_step+1``) starts; ``inputs`` are its external tensors
        (params, momentum buffers, the batch), named."""
        ...

    def seal(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], step: int) -> bytes:
        """The state hash ``S_step`` after a step (RepOps records it as the step's last operator)."""
        ...


class StockOps:
    """Plain torch operators."""

    name = "stock"

    def linear(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return F.linear(x, weight, bias)

    def relu(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x)

    def conv2d(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: int) -> torch.Tensor:
        return F.conv2d(x, weight, bias, padding=padding)

    def cross_entropy(self, logits: torch.Tensor, target: torch.Tensor, scale: float | None = None) -> torch.Tensor:
        if scale is None:
            return F.cross_entropy(logits, target)
        return F.cross_entropy(logits, target, reduction="sum") * scale

    def combine(self, parts: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(parts).sum(0)

    def sgd_momentum_(self, params: list[torch.Tensor], grads: list[torch.Tensor], buffers: list[torch.Tensor], lr: float, momentum: float) -> None:
        with torch.no_grad():
            for p, g, b in zip(params, grads, buffers, strict=True):
                b.mul_(momentum).add_(g)
                p.sub_(lr * b)

    def adam_(self, params: list[torch.Tensor], grads: list[torch.Tensor], moments: list[torch.Tensor], step: int, lr: float,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, *, weight_decay: float = 0.0, warmup: int = 0,
              total: int = 0) -> None:  # fmt: skip
        from verifier.repops.transformer import lr_at

        lr = lr_at(step, lr, warmup, total)
        with torch.no_grad():
            for p, g, mv in zip(params, grads, moments, strict=True):
                if weight_decay:
                    p.mul_(1 - lr * weight_decay)
                mv[0].mul_(beta1).add_(g, alpha=1 - beta1)
                mv[1].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (mv[1] / (1 - beta2**step)).sqrt_().add_(eps)
                p.addcdiv_(mv[0], denom, value=-lr / (1 - beta1**step))

    def reshape(self, x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        return x.reshape(shape)

    def fork(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, x

    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b

    def gelu(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x, approximate="tanh")

    def layer_norm(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), weight, bias, eps=1e-5)

    def embed(self, tokens: torch.Tensor, wte: torch.Tensor, wpe: torch.Tensor) -> torch.Tensor:
        return (F.embedding(tokens, wte) + wpe[: tokens.shape[1]]).reshape(-1, wte.shape[1])

    def attention(self, qkv: torch.Tensor, heads: int, seq: int) -> torch.Tensor:
        n, width3 = qkv.shape
        width = width3 // 3
        q, k, v = qkv.reshape(n // seq, seq, 3, heads, width // heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return y.transpose(1, 2).reshape(n, width)

    def clip_grads(self, grads: list[torch.Tensor], max_norm: float) -> list[torch.Tensor]:
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        factor = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        return [g * factor for g in grads]

    def begin_step(self, step: int, inputs: dict[str, torch.Tensor]) -> None:
        pass

    def seal(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], step: int) -> bytes:
        return state_hash(full_state(params, buffers, step))


_BACKENDS: dict[str, Callable[[], OpBackend]] = {"stock": StockOps}


def register_backend(name: str, factory: Callable[[], OpBackend]) -> None:
    _BACKENDS[name] = factory


def _repops() -> OpBackend:
    from verifier.repops.ops import RepOps

    return RepOps()


_BACKENDS["repops"] = _repops


def get_backend(name: str) -> OpBackend:
    try:
        return _BACKENDS[name]()
    except KeyError:
        raise ConfigError(f"unknown operator backend {name!r}", hint=f"known: {', '.join(sorted(_BACKENDS))}") from None
