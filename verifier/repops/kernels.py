"""Reproducible kernels: every result is bitwise identical on any thread count, device or
micro-batch grouping (pure functions over tensors).

Rules, one for CPU and GPU alike:

* Reductions run in a fixed pairwise tree over the reduced index (adjacent pairs, padding with
  zeros to a power of two), built from elementwise additions only; an element's result never
  depends on how the work is split among threads or devices. Reducing a batch in aligned
  power-of-two micro-batches and then reducing the partial results gives the same tree.
* Products and sums are separate elementwise operations, so no fused multiply-add can occur.
* ``exp`` and ``log`` are built from IEEE basic operations in float64 (argument reduction,
  a fixed polynomial, exact scaling by powers of two) and rounded once to float32.
* Division is a multiplication by a reciprocal computed once in float64.
* Subnormal float32 results of ``exp`` are flushed to zero; inputs are float32.
"""

from __future__ import annotations

import math

import torch

__all__ = ["tree_sum", "matmul", "add_bias", "relu", "relu_grad", "exp", "log", "log_softmax", "cross_entropy_sum", "cross_entropy_grad",
           "im2col", "col2im", "sgd_buffer", "sgd_param", "scale", "gelu", "gelu_grad", "adam_moments", "adam_param"]  # fmt: skip

_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.0 / math.log(2.0)
_EXP_TERMS = [1.0 / math.factorial(n) for n in range(14)]
_FLT_MIN = 1.1754943508222875e-38


def tree_sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Sum over ``dim`` by a fixed pairwise tree of elementwise additions."""
    x = x.movedim(dim, 0)
    while x.shape[0] > 1:
        if x.shape[0] % 2:
            x = torch.cat([x, torch.zeros_like(x[:1])])
        x = x[0::2] + x[1::2]
    return x[0] if x.shape[0] == 1 else torch.zeros_like(x.sum(0))


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` for 2-D float32 tensors, reduced over the shared index by :func:`tree_sum`."""
    products = a.unsqueeze(2) * b.unsqueeze(0)  # (m, k, n): one rounding per product
    return tree_sum(products, 1)


def add_bias(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return x + bias


def relu(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_grad(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0, grad, torch.zeros_like(grad))


def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    return x * torch.tensor(factor, dtype=x.dtype, device=x.device)


def _exp64(x64: torch.Tensor) -> torch.Tensor:
    """exp of float64 values in [-104, 88] from basic float64 operations (not rounded to float32)."""
    x64 = x64.clamp(-104.0, 88.0)
    k = torch.round(x64 * _LOG2E)
    r = (x64 - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln2 / 2
    poly = torch.full_like(r, _EXP_TERMS[-1])
    for coeff in reversed(_EXP_TERMS[:-1]):  # Horner, separate multiply and add
        poly = poly * r
        poly = poly + coeff
    return torch.ldexp(poly, k.to(torch.int64))


def exp(x: torch.Tensor) -> torch.Tensor:
    """float32 exp from basic float64 operations; subnormal results flushed to zero."""
    out = _exp64(x.to(torch.float64)).to(torch.float32)
    return torch.where(out < _FLT_MIN, torch.zeros_like(out), out)


_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


def _gelu_parts(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x in float64, tanh(sqrt(2/pi) (x + 0.044715 x^3))) from basic float64 operations."""
    x64 = x.to(torch.float64)
    inner = (x64 + (x64 * x64 * x64) * _GELU_K) * _GELU_C
    e = _exp64((inner * 2.0).clamp(-80.0, 80.0))
    return x64, 1.0 - 2.0 * (1.0 / (e + 1.0))  # tanh z = 1 - 2 / (e^2z + 1); IEEE division is exact-rounded everywhere


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))), rounded once to float32."""
    x64, t = _gelu_parts(x)
    return ((x64 * 0.5) * (1.0 + t)).to(torch.float32)


def gelu_grad(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """grad * d gelu / dx = grad * (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2))."""
    x64, t = _gelu_parts(x)
    d = 0.5 * (1.0 + t) + ((x64 * 0.5) * (1.0 - t * t)) * (_GELU_C * (1.0 + (x64 * x64) * (3 * _GELU_K)))
    return (grad.to(torch.float64) * d).to(torch.float32)


def adam_moments(m: torch.Tensor, v: torch.Tensor, grad: torch.Tensor, beta1: float, beta2: float) -> torch.Tensor:
    """The updated moments, stacked: m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2 (separate products and sums)."""
    return torch.stack([scale(m, beta1) + scale(grad, 1.0 - beta1), scale(v, beta2) + scale(grad * grad, 1.0 - beta2)])


def adam_param(param: torch.Tensor, moments: torch.Tensor, step: int, lr: float, beta1: float, beta2: float, eps: float) -> torch.Tensor:
    """p - lr * m_hat / (sqrt(v_hat) + eps); the bias corrections are Python float64 constants,
    sqrt is IEEE correctly rounded (CPU and CUDA alike) and the division is float64."""
    m_hat = moments[0].to(torch.float64) * (1.0 / (1.0 - beta1**step))
    v_hat = moments[1].to(torch.float64) * (1.0 / (1.0 - beta2**step))
    update = (m_hat * (1.0 / (torch.sqrt(v_hat) + eps))) * lr
    return (param.to(torch.float64) - update).to(torch.float32)


def log(x: torch.Tensor) -> torch.Tensor:
    """float32 natural log of positive normal float32 values, from basic float64 operations."""
    mantissa, exponent = torch.frexp(x.to(torch.float64))  # x = m * 2^e, m in [0.5, 1)
    f = (mantissa - 1.0) * (1.0 / (mantissa + 1.0))  # reciprocal then product; |f| <= 1/3
    f2 = f * f
    series = torch.full_like(f, 1.0 / 31.0)
    for n in range(29, 0, -2):
        series = series * f2
        series = series + 1.0 / n
    log_m = (f * series) * 2.0
    e = exponent.to(torch.float64)
    return ((e * _LN2_HI + log_m) + e * _LN2_LO).to(torch.float32)


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """Row-wise log-softmax of (batch, classes) logits."""
    shifted = logits - logits.amax(dim=1, keepdim=True)  # max is exact and order-free
    return shifted - log(tree_sum(exp(shifted), 1)).unsqueeze(1)


def cross_entropy_sum(logits: torch.Tensor, target: torch.Tensor, factor: float) -> torch.Tensor:
    """``factor * sum_i -log_softmax(logits)[i, target_i]`` (factor 1/B gives the batch mean)."""
    picked = log_softmax(logits).gather(1, target.unsqueeze(1)).squeeze(1)
    return scale(tree_sum(-picked, 0), factor)


def cross_entropy_grad(logits: torch.Tensor, target: torch.Tensor, factor: float) -> torch.Tensor:
    """d cross_entropy_sum / d logits = factor * (softmax - onehot), row by row."""
    probs = exp(log_softmax(logits))
    onehot = torch.zeros_like(probs).scatter_(1, target.unsqueeze(1), 1.0)
    return scale(probs - onehot, factor)


def im2col(x: torch.Tensor, kernel: int, padding: int) -> torch.Tensor:
    """(b, c, h, w) -> (b * h' * w', c * kernel * kernel) patches; a pure gather."""
    cols = torch.nn.functional.unfold(x, kernel, padding=padding)  # (b, c*k*k, L): copies only
    return cols.transpose(1, 2).reshape(-1, cols.shape[1])


def col2im(cols: torch.Tensor, shape: tuple[int, int, int, int], kernel: int, padding: int) -> torch.Tensor:
    """The adjoint of :func:`im2col`: overlapping patches added in a fixed (kh, kw) order."""
    b, c, h, w = shape
    out_h, out_w = h + 2 * padding - kernel + 1, w + 2 * padding - kernel + 1
    patches = cols.reshape(b, out_h, out_w, c, kernel, kernel)
    padded = torch.zeros(b, c, h + 2 * padding, w + 2 * padding, dtype=cols.dtype, device=cols.device)
    for kh in range(kernel):
        for kw in range(kernel):
            piece = patches[:, :, :, :, kh, kw].permute(0, 3, 1, 2)
            padded[:, :, kh : kh + out_h, kw : kw + out_w] = padded[:, :, kh : kh + out_h, kw : kw + out_w] + piece
    return padded[:, :, padding : padding + h, padding : padding + w].contiguous()


def sgd_buffer(buffer: torch.Tensor, grad: torch.Tensor, momentum: float) -> torch.Tensor:
    return scale(buffer, momentum) + grad


def sgd_param(param: torch.Tensor, buffer: torch.Tensor, lr: float) -> torch.Tensor:
    return param - scale(buffer, lr)
