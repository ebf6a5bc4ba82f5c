"""Reproducible kernels of a transformer: batched matmul, causal softmax, LayerNorm, token and
position embedding, gradient clipping by global norm, and the learning-rate schedule.

They follow the rules of :mod:`verifier.repops.kernels` (fixed pairwise trees for every
reduction, separate products and sums, division as a product with a reciprocal rounded once,
``exp`` from basic float64 operations) and are built from its primitives, so the torch
implementation (any device) and the C one (CPU, :mod:`verifier.repops.native`) give the same
bits. Shapes: activations are 2-D ``(tokens, width)``; attention works on
``(batch * heads, seq, head_dim)``.

* ``causal_softmax``: ``x = scores * scale`` (one product), entries above the diagonal set to
  ``-inf``, ``p = exp(x - max) * (1 / tree_sum)`` with the reciprocal in float64 rounded once.
* ``layer_norm``: ``mean = tree_sum(x) * (1/d)``, ``xc = x - mean``,
  ``var = tree_sum(xc * xc) * (1/d)``, ``rstd = 1 / sqrt(var + eps)`` in float64 rounded once,
  ``y = (xc * rstd) * w + b``.
* ``embed_grad``: the token embedding's gradient is a scatter-add written as
  ``onehot(tokens)^T @ g``: for every vocabulary row, the fixed tree over token positions (zeros
  where the token differs), so micro-batches of a power-of-two batch give the same bits.
* ``global_norm``: one tree over the squares of every gradient element, params in name order.
* ``lr_at``: linear warm-up, then cosine decay to 10% of the peak, with ``cos`` evaluated by a
  fixed float64 series (never the platform's libm, whose last bit varies).
"""

from __future__ import annotations

import math

import torch

from verifier.repops import native
from verifier.repops.kernels import _check, _scalar, exp, matmul, tree_sum

__all__ = ["bmm", "causal_softmax", "causal_softmax_grad", "layer_norm", "layer_norm_grad", "layer_norm_grad_w", "embed", "embed_grad",
           "global_norm", "clip", "cosine", "lr_at"]  # fmt: skip

LN_EPS = 1e-5
CLIP_EPS = 1e-6
MIN_LR_RATIO = 0.1
_COS_TERMS = [(-1.0) ** n / math.factorial(2 * n) for n in range(18)]


def bmm(a: torch.Tensor, b: torch.Tensor, trans_a: bool = False, trans_b: bool = False) -> torch.Tensor:
    """Batched :func:`~verifier.repops.kernels.matmul` over dim 0 of 3-D float32 tensors."""
    a, b = (a.transpose(1, 2) if trans_a else a), (b.transpose(1, 2) if trans_b else b)
    lib = native.usable(a, b) if a.dtype == b.dtype == torch.float32 else None
    if lib is not None:
        batch, m, k = a.shape
        n = b.shape[2]
        out = torch.empty(batch, m, n, dtype=torch.float32)
        _check(lib.rp_bmm(a.data_ptr(), a.stride(0), a.stride(1), a.stride(2), b.data_ptr(), b.stride(0), b.stride(1), b.stride(2),
                          out.data_ptr(), batch, m, k, n))  # fmt: skip
        return out
    return tree_sum(a.unsqueeze(3) * b.unsqueeze(1), 2)


def _rows(x: torch.Tensor) -> object:
    return native.usable(x) if x.dtype == torch.float32 and x.dim() >= 1 and x.shape[-1] > 0 else None


def causal_softmax(scores: torch.Tensor, scale: float) -> torch.Tensor:
    """Softmax over the last dim of ``scores * scale`` with entries j > i masked (``(..., t, t)``)."""
    lib = _rows(scores)
    if lib is not None:
        s = scores.contiguous()
        out = torch.empty_like(s)
        t = s.shape[-1]
        _check(lib.rp_causal_softmax(s.data_ptr(), out.data_ptr(), s.numel() // (t * t), t, scale))
        return out
    t = scores.shape[-1]
    x = scores * _scalar(scale, scores.dtype, scores.device)
    mask = torch.ones(t, t, dtype=torch.bool, device=scores.device).triu(1)
    x = x.masked_fill(mask, -math.inf)
    e = exp(x - x.amax(dim=-1, keepdim=True))
    r = (1.0 / tree_sum(e, -1).to(torch.float64)).to(torch.float32)
    return e * r.unsqueeze(-1)


def causal_softmax_grad(dp: torch.Tensor, p: torch.Tensor, scale: float) -> torch.Tensor:
    """d scores = (p * (dp - tree_sum(dp * p))) * scale, row by row."""
    lib = _rows(p)
    if lib is not None and dp.dtype == torch.float32 and dp.shape == p.shape:
        dp, p = dp.contiguous(), p.contiguous()
        out = torch.empty_like(p)
        t = p.shape[-1]
        _check(lib.rp_causal_softmax_grad(dp.data_ptr(), p.data_ptr(), out.data_ptr(), p.numel() // t, t, scale))
        return out
    s = tree_sum(dp * p, -1)
    return (p * (dp - s.unsqueeze(-1))) * _scalar(scale, p.dtype, p.device)


def _ln_stats(x: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(xhat, rstd) of each row of x (2-D)."""
    inv = _scalar(1.0 / x.shape[1], x.dtype, x.device)
    mean = tree_sum(x, 1) * inv
    xc = x - mean.unsqueeze(1)
    var = tree_sum(xc * xc, 1) * inv
    rstd = (1.0 / torch.sqrt(var.to(torch.float64) + eps)).to(torch.float32)
    return xc * rstd.unsqueeze(1), rstd


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = LN_EPS) -> torch.Tensor:
    lib = _rows(x)
    if lib is not None and weight.dtype == bias.dtype == torch.float32 and native.usable(weight, bias):
        x, weight, bias = x.contiguous(), weight.contiguous(), bias.contiguous()
        out = torch.empty_like(x)
        _check(lib.rp_layer_norm(x.data_ptr(), weight.data_ptr(), bias.data_ptr(), out.data_ptr(), x.shape[0], x.shape[1], eps))
        return out
    xhat, _ = _ln_stats(x, eps)
    return xhat * weight + bias


def layer_norm_grad(g: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, eps: float = LN_EPS) -> torch.Tensor:
    """dx = ((dxhat - mean(dxhat)) - xhat * mean(dxhat * xhat)) * rstd with dxhat = g * w."""
    lib = _rows(x)
    if lib is not None and g.dtype == weight.dtype == torch.float32 and native.usable(g, weight):
        g, x, weight = g.contiguous(), x.contiguous(), weight.contiguous()
        out = torch.empty_like(x)
        _check(lib.rp_layer_norm_grad(g.data_ptr(), x.data_ptr(), weight.data_ptr(), out.data_ptr(), x.shape[0], x.shape[1], eps))
        return out
    xhat, rstd = _ln_stats(x, eps)
    inv = _scalar(1.0 / x.shape[1], x.dtype, x.device)
    dxhat = g * weight
    a = tree_sum(dxhat, 1) * inv
    c = tree_sum(dxhat * xhat, 1) * inv
    return ((dxhat - a.unsqueeze(1)) - xhat * c.unsqueeze(1)) * rstd.unsqueeze(1)


def layer_norm_grad_w(g: torch.Tensor, x: torch.Tensor, eps: float = LN_EPS) -> torch.Tensor:
    """d weight = tree over rows of g * xhat."""
    lib = _rows(x)
    if lib is not None and g.dtype == torch.float32 and native.usable(g):
        g, x = g.contiguous(), x.contiguous()
        prod = torch.empty_like(x)
        _check(lib.rp_layer_norm_xhat_prod(g.data_ptr(), x.data_ptr(), prod.data_ptr(), x.shape[0], x.shape[1], eps))
        return tree_sum(prod, 0)
    xhat, _ = _ln_stats(x, eps)
    return tree_sum(g * xhat, 0)


def embed(tokens: torch.Tensor, wte: torch.Tensor, wpe: torch.Tensor) -> torch.Tensor:
    """(batch, seq) int64 tokens -> (batch * seq, width): wte[token] + wpe[position] (one sum)."""
    batch, seq = tokens.shape
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= wte.shape[0]):
        raise IndexError(f"token out of range for a vocabulary of {wte.shape[0]}")
    if seq > wpe.shape[0]:
        raise IndexError(f"sequence of {seq} tokens is longer than the context of {wpe.shape[0]}")
    return wte.index_select(0, tokens.reshape(-1)) + wpe[:seq].repeat(batch, 1)


def embed_grad(g: torch.Tensor, tokens: torch.Tensor, vocab: int) -> torch.Tensor:
    """d wte: onehot(tokens)^T @ g, each row a fixed tree over token positions."""
    onehot = torch.zeros(tokens.numel(), vocab, dtype=g.dtype, device=g.device).scatter_(1, tokens.reshape(-1, 1), 1.0)
    return matmul(onehot, g, trans_a=True)


def global_norm(*grads: torch.Tensor) -> torch.Tensor:
    """sqrt of one tree over every squared element (in the given order), float64 sqrt rounded once."""
    squares = torch.cat([(g * g).reshape(-1) for g in grads])
    lib = native.usable(squares) if squares.dtype == torch.float32 else None
    if lib is not None:
        total = torch.empty((), dtype=torch.float32)
        _check(lib.rp_tree_vec(squares.data_ptr(), total.data_ptr(), squares.numel()))
    else:
        total = tree_sum(squares, 0)
    return torch.sqrt(total.to(torch.float64)).to(torch.float32).reshape(1)


def clip(grad: torch.Tensor, norm: torch.Tensor, max_norm: float) -> torch.Tensor:
    """grad * min(1, max_norm / (norm + 1e-6)), the factor in float64 rounded once to float32."""
    factor = min(1.0, max_norm / (float(norm.reshape(-1)[0]) + CLIP_EPS))
    return grad * _scalar(factor, grad.dtype, grad.device)


def cosine(x: float) -> float:
    """cos x for |x| <= pi from a fixed float64 series (Horner in x^2; separate products and sums)."""
    x2 = x * x
    acc = _COS_TERMS[-1]
    for term in reversed(_COS_TERMS[:-1]):
        acc = acc * x2
        acc = acc + term
    return acc


def lr_at(step: int, lr: float, warmup: int = 0, total: int = 0) -> float:
    """The learning rate of step ``step`` (from 1): linear warm-up over ``warmup`` steps, then
    cosine decay to ``MIN_LR_RATIO * lr`` at step ``total``; ``total`` 0 keeps it constant."""
    if warmup > 0 and step <= warmup:
        return lr * (step / warmup)
    if total <= warmup:
        return lr
    progress = min(1.0, (step - warmup) / (total - warmup))
    return lr * (MIN_LR_RATIO + (1.0 - MIN_LR_RATIO) * (0.5 * (1.0 + cosine(math.pi * progress))))
