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
* Subnormal float32 results of ``exp`` are flushed to zero; inputs are float32. Other
  subnormal results are kept (IEEE gradual underflow, as stock torch does on CPU and CUDA); a
  process that turns on flush-to-zero (``torch.set_flush_denormal(True)``) would change them.

Two implementations follow this specification and give the same bits: the torch functions
below (any device) and the C kernels in :mod:`verifier.repops.native` (CPU, used when built).
"""

from __future__ import annotations

import functools
import math

import torch

from verifier.repops import native

__all__ = ["tree_sum", "matmul", "add_bias", "relu", "relu_grad", "exp", "log", "log_softmax", "cross_entropy_sum", "cross_entropy_grad",
           "im2col", "col2im", "sgd_buffer", "sgd_param", "scale", "gelu", "gelu_grad", "adam_moments", "adam_param"]  # fmt: skip

# Constants, shared with the C kernels (verifier/repops/native).
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
LOG2E = 1.0 / math.log(2.0)
EXP_TERMS = [1.0 / math.factorial(n) for n in range(14)]
EXP_TERMS_COUNT = len(EXP_TERMS)
LOG_TERMS = [1.0 / 31.0] + [1.0 / n for n in range(29, 0, -2)]
FLT_MIN = 1.1754943508222875e-38


def tree_sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Sum over ``dim`` by a fixed pairwise tree of elementwise additions."""
    x = x.movedim(dim, 0)
    lib = native.usable(x) if x.dtype == torch.float32 and x.dim() >= 1 and x.shape[0] > 0 else None
    if lib is not None:
        rows = x.reshape(x.shape[0], -1) if x.dim() != 2 else x
        out = torch.empty(x.shape[1:], dtype=torch.float32)
        _check(lib.rp_tree_rows(rows.data_ptr(), rows.stride(0), rows.stride(1), out.data_ptr(), rows.shape[0], rows.shape[1]))
        return out
    while x.shape[0] > 1:
        if x.shape[0] % 2:
            x = torch.cat([x, torch.zeros_like(x[:1])])
        x = x[0::2] + x[1::2]
    return x[0] if x.shape[0] == 1 else torch.zeros_like(x.sum(0))


def matmul(a: torch.Tensor, b: torch.Tensor, trans_a: bool = False, trans_b: bool = False) -> torch.Tensor:
    """``op(a) @ op(b)`` for 2-D float32 tensors (``op`` transposes where asked), reduced over the
    shared index by :func:`tree_sum`."""
    a, b = (a.t() if trans_a else a), (b.t() if trans_b else b)
    lib = native.usable(a, b) if a.dtype == b.dtype == torch.float32 else None
    if lib is not None:
        (m, k), n = a.shape, b.shape[1]
        out = torch.empty(m, n, dtype=torch.float32)
        native.set_threads(lib)
        _check(lib.rp_matmul(a.data_ptr(), a.stride(0), a.stride(1), b.data_ptr(), b.stride(0), b.stride(1), out.data_ptr(), m, k, n))
        return out
    products = a.unsqueeze(2) * b.unsqueeze(0)  # (m, k, n): one rounding per product
    return tree_sum(products, 1)


def _c_unary(name: str, x: torch.Tensor) -> torch.Tensor | None:
    """``out[i] = f(x[i])`` by the C kernel ``name`` for a float32 CPU tensor; None where it cannot run."""
    lib = native.usable(x) if x.dtype == torch.float32 else None
    if lib is None:
        return None
    x = x.contiguous()
    out = torch.empty_like(x)
    getattr(lib, name)(x.data_ptr(), out.data_ptr(), x.numel())
    return out


def _check(rc: int) -> None:
    if rc == -1:
        raise MemoryError("RepOps C kernel: out of memory")
    if rc == -2:
        raise IndexError("target out of range for the number of classes")


def add_bias(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return x + bias


def relu(x: torch.Tensor) -> torch.Tensor:
    out = _c_unary("rp_relu", x)
    if out is not None:
        return out
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_grad(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    lib = _native_same(grad, x)
    if lib is not None:
        out = torch.empty_like(grad)
        lib.rp_relu_grad(grad.data_ptr(), x.data_ptr(), out.data_ptr(), x.numel())
        return out
    return torch.where(x > 0, grad, torch.zeros_like(grad))


def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    return x * _scalar(factor, x.dtype, x.device)


@functools.lru_cache(maxsize=256)
def _scalar(factor: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor(factor, dtype=dtype, device=device)


def _exp64(x64: torch.Tensor) -> torch.Tensor:
    """exp of float64 values in [-104, 88] from basic float64 operations (not rounded to float32)."""
    x64 = x64.clamp(-104.0, 88.0)
    k = torch.round(x64 * LOG2E)
    r = (x64 - k * LN2_HI) - k * LN2_LO  # |r| <= ln2 / 2
    poly = torch.full_like(r, EXP_TERMS[-1])
    for coeff in reversed(EXP_TERMS[:-1]):  # Horner, separate multiply and add
        poly = poly * r
        poly = poly + coeff
    return torch.ldexp(poly, k.to(torch.int64))


def exp(x: torch.Tensor) -> torch.Tensor:
    """float32 exp from basic float64 operations; subnormal results flushed to zero."""
    out = _c_unary("rp_exp", x)
    if out is not None:
        return out
    out = _exp64(x.to(torch.float64)).to(torch.float32)
    return torch.where(out < FLT_MIN, torch.zeros_like(out), out)


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
    out = _c_unary("rp_gelu", x)
    if out is not None:
        return out
    x64, t = _gelu_parts(x)
    return ((x64 * 0.5) * (1.0 + t)).to(torch.float32)


def gelu_grad(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """grad * d gelu / dx = grad * (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2))."""
    lib = _native_same(grad, x)
    if lib is not None:
        out = torch.empty_like(grad)
        lib.rp_gelu_grad(grad.data_ptr(), x.data_ptr(), out.data_ptr(), x.numel())
        return out
    x64, t = _gelu_parts(x)
    d = 0.5 * (1.0 + t) + ((x64 * 0.5) * (1.0 - t * t)) * (_GELU_C * (1.0 + (x64 * x64) * (3 * _GELU_K)))
    return (grad.to(torch.float64) * d).to(torch.float32)


def adam_moments(moments: torch.Tensor, grad: torch.Tensor, beta1: float, beta2: float) -> torch.Tensor:
    """The updated moments (stacked m, v): m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2 (separate products and sums)."""
    lib = _native_same(moments[0], moments[1], grad) if moments.is_contiguous() else None
    if lib is not None:
        out = torch.empty_like(moments)
        lib.rp_adam_moments(moments.data_ptr(), grad.data_ptr(), out.data_ptr(), grad.numel(), beta1, 1.0 - beta1, beta2, 1.0 - beta2)
        return out
    m, v = moments[0], moments[1]
    return torch.stack([scale(m, beta1) + scale(grad, 1.0 - beta1), scale(v, beta2) + scale(grad * grad, 1.0 - beta2)])


def adam_param(param: torch.Tensor, moments: torch.Tensor, step: int, lr: float, beta1: float, beta2: float, eps: float,
               weight_decay: float = 0.0, warmup: int = 0, total: int = 0) -> torch.Tensor:  # fmt: skip
    """p - lr_t * m_hat / (sqrt(v_hat) + eps); the bias corrections are Python float64 constants,
    sqrt is IEEE correctly rounded (CPU and CUDA alike) and the division is float64. AdamW:
    with ``weight_decay`` the param is first scaled by ``1 - lr_t * weight_decay`` (decoupled
    decay); ``lr_t`` follows the warm-up + cosine schedule of
    :func:`verifier.repops.transformer.lr_at` when ``warmup`` or ``total`` is set."""
    if warmup or total:
        from verifier.repops.transformer import lr_at

        lr = lr_at(step, lr, warmup, total)
    decay = 1.0 - lr * weight_decay if weight_decay else 1.0
    lib = _native_same(param, moments[0], moments[1]) if moments.is_contiguous() else None
    if lib is not None:
        out = torch.empty_like(param)
        lib.rp_adam_param(param.data_ptr(), moments.data_ptr(), out.data_ptr(), param.numel(), 1.0 / (1.0 - beta1**step),
                          1.0 / (1.0 - beta2**step), eps, lr, decay)  # fmt: skip
        return out
    m_hat = moments[0].to(torch.float64) * (1.0 / (1.0 - beta1**step))
    v_hat = moments[1].to(torch.float64) * (1.0 / (1.0 - beta2**step))
    update = (m_hat * (1.0 / (torch.sqrt(v_hat) + eps))) * lr
    return (param.to(torch.float64) * decay - update).to(torch.float32)


def log(x: torch.Tensor) -> torch.Tensor:
    """float32 natural log of positive normal float32 values, from basic float64 operations."""
    out = _c_unary("rp_log", x)
    if out is not None:
        return out
    mantissa, exponent = torch.frexp(x.to(torch.float64))  # x = m * 2^e, m in [0.5, 1)
    f = (mantissa - 1.0) * (1.0 / (mantissa + 1.0))  # reciprocal then product; |f| <= 1/3
    f2 = f * f
    series = torch.full_like(f, LOG_TERMS[0])
    for term in LOG_TERMS[1:]:
        series = series * f2
        series = series + term
    log_m = (f * series) * 2.0
    e = exponent.to(torch.float64)
    return ((e * LN2_HI + log_m) + e * LN2_LO).to(torch.float32)


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """Row-wise log-softmax of (batch, classes) logits."""
    lib = _native_rows(logits)
    if lib is not None:
        logits = logits.contiguous()
        out = torch.empty_like(logits)
        _check(lib.rp_log_softmax(logits.data_ptr(), out.data_ptr(), *logits.shape))
        return out
    shifted = logits - logits.amax(dim=1, keepdim=True)  # max is exact and order-free
    return shifted - log(tree_sum(exp(shifted), 1)).unsqueeze(1)


def cross_entropy_sum(logits: torch.Tensor, target: torch.Tensor, factor: float) -> torch.Tensor:
    """``factor * sum_i -log_softmax(logits)[i, target_i]`` (factor 1/B gives the batch mean)."""
    lib = _native_rows(logits, target)
    if lib is not None:
        logits, target = logits.contiguous(), target.contiguous()
        out = torch.empty((), dtype=torch.float32)
        _check(lib.rp_cross_entropy_sum(logits.data_ptr(), target.data_ptr(), out.data_ptr(), *logits.shape, factor))
        return out
    picked = log_softmax(logits).gather(1, target.unsqueeze(1)).squeeze(1)
    return scale(tree_sum(-picked, 0), factor)


def cross_entropy_grad(logits: torch.Tensor, target: torch.Tensor, factor: float) -> torch.Tensor:
    """d cross_entropy_sum / d logits = factor * (softmax - onehot), row by row."""
    lib = _native_rows(logits, target)
    if lib is not None:
        logits, target = logits.contiguous(), target.contiguous()
        out = torch.empty_like(logits)
        _check(lib.rp_cross_entropy_grad(logits.data_ptr(), target.data_ptr(), out.data_ptr(), *logits.shape, factor))
        return out
    probs = exp(log_softmax(logits))
    onehot = torch.zeros_like(probs).scatter_(1, target.unsqueeze(1), 1.0)
    return scale(probs - onehot, factor)


def _native_rows(logits: torch.Tensor, *others: torch.Tensor) -> object:
    """The C library for (batch, classes) float32 logits with at least one class, else None."""
    if logits.dim() != 2 or logits.shape[1] == 0 or logits.dtype != torch.float32 or any(t.dtype != torch.int64 for t in others):
        return None
    return native.usable(logits, *others)



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


def sgd_buffer(buffer: torch.Tensor, grad: torch.Tensor, momentum: float, out: torch.Tensor | None = None) -> torch.Tensor:
    """``momentum * buffer + grad`` (the factor rounded to float32; a product, then a sum), into ``out`` if given."""
    lib = _native_same(buffer, grad, *([] if out is None else [out]))
    if lib is not None:
        out = torch.empty_like(buffer) if out is None else out
        lib.rp_scale_add(buffer.data_ptr(), momentum, grad.data_ptr(), out.data_ptr(), out.numel())
        return out
    return _into(scale(buffer, momentum) + grad, out)


def sgd_param(param: torch.Tensor, buffer: torch.Tensor, lr: float, out: torch.Tensor | None = None) -> torch.Tensor:
    """``param - lr * buffer`` (the factor rounded to float32; a product, then a difference), into ``out`` if given."""
    lib = _native_same(param, buffer, *([] if out is None else [out]))
    if lib is not None:
        out = torch.empty_like(param) if out is None else out
        lib.rp_sub_scaled(param.data_ptr(), buffer.data_ptr(), lr, out.data_ptr(), out.numel())
        return out
    return _into(param - scale(buffer, lr), out)


def _into(value: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    return value if out is None else out.copy_(value)


def _native_same(*tensors: torch.Tensor) -> object:
    """The C library for contiguous float32 CPU tensors of one shape, else None."""
    first = tensors[0]
    if any(t.dtype != torch.float32 or t.shape != first.shape or not t.is_contiguous() for t in tensors):
        return None
    return native.usable(*tensors)
