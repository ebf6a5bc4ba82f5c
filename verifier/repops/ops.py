"""The ``repops`` operator backend: the training loop's operators from reproducible kernels.

Each operator is a ``torch.autograd.Function`` whose forward and backward call only
:mod:`verifier.repops.kernels`, so a whole training step (forward, loss, backward, optimizer
update) is a fixed sequence of kernel calls with bitwise-reproducible outputs. With a tape
attached (:meth:`RepOps.start_tape`), every kernel call is recorded in order, with the source
of each input (found by tensor identity: storage, offset, shape and strides).

``fault=(step, op)`` makes the backend compute operator ``op`` of step ``step`` wrongly (every
element ``v`` of its output becomes ``1.5 v + 1``; for the ``state`` operator, of the first
parameter) and carry on from the wrong value: a cheating trainer whose trace is genuinely that of a faulty run. Tests
and ``meritnet dispute simulate`` use it to plant faults.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from verifier.repops import kernels
from verifier.repops.canonical import full_state, state_hash, tensor_hash
from verifier.repops.tape import KERNELS, STATE_OP, Tape

__all__ = ["RepOps"]


class RepOps:
    name = "repops"

    def __init__(self, fault: tuple[int, int] | None = None) -> None:
        self.tape: Tape | None = None
        self.calls = 0
        self.fault = fault
        self.step = -1
        self.index = 0  # operator index within the current step
        self._sources: dict[tuple[Any, ...], str] = {}

    # -- recording ---------------------------------------------------------------------

    def start_tape(self, keep_inputs: bool = True) -> Tape:
        self.tape = Tape(keep_inputs=keep_inputs)
        return self.tape

    def stop_tape(self) -> Tape | None:
        tape, self.tape = self.tape, None
        return tape

    def k(self, name: str, *inputs: torch.Tensor, **attrs: Any) -> torch.Tensor:
        """Run kernel ``name`` and record the call."""
        out = KERNELS[name](*inputs, **attrs)
        if self.fault is not None and self.fault == (self.step, self.index):
            out = _corrupt(out)
        if self.tape is not None:
            self.tape.record(name, inputs, attrs, tensor_hash(out), [self._source(t) for t in inputs])
            self._sources[_key(out)] = f"op:{self.index}"
        self.calls += 1
        self.index += 1
        return out

    def _source(self, t: torch.Tensor) -> str:
        return self._sources.get(_key(t), "?")

    def _alias(self, dst: torch.Tensor, src: torch.Tensor) -> None:
        """``dst`` now holds ``src``'s value (after an in-place copy)."""
        if self.tape is not None and _key(src) in self._sources:
            self._sources[_key(dst)] = self._sources[_key(src)]

    def begin_step(self, step: int, inputs: dict[str, torch.Tensor]) -> None:
        self.step, self.index = step, 0
        self._sources = {_key(t): f"ext:{name}" for name, t in inputs.items()} if self.tape is not None else {}

    def seal(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], step: int) -> bytes:
        """Hash the state after a step, recorded as the step's last operator (``state``)."""
        names = sorted(params)
        if self.fault == (self.step, self.index):
            with torch.no_grad():
                params[names[0]].copy_(_corrupt(params[names[0]]))
        inputs = [params[k] for k in names] + [buffers[k] for k in names]
        digest = state_hash(full_state(params, buffers, step))
        if self.tape is not None:
            self.tape.record(STATE_OP, inputs, {"names": names, "step": step}, digest, [self._source(t) for t in inputs])
        self.calls += 1
        self.index += 1
        return digest

    # -- OpBackend ---------------------------------------------------------------------

    def linear(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return _Linear.apply(self, x, weight, bias)

    def relu(self, x: torch.Tensor) -> torch.Tensor:
        return _Relu.apply(self, x)

    def conv2d(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: int) -> torch.Tensor:
        return _Conv2d.apply(self, x, weight, bias, padding)

    def cross_entropy(self, logits: torch.Tensor, target: torch.Tensor, scale: float | None = None) -> torch.Tensor:
        return _CrossEntropy.apply(self, logits, target, 1.0 / logits.shape[0] if scale is None else scale)

    def sgd_momentum_(self, params: list[torch.Tensor], grads: list[torch.Tensor], buffers: list[torch.Tensor], lr: float, momentum: float) -> None:
        with torch.no_grad():
            if self.tape is None and (self.fault is None or self.fault[0] != self.step):  # nothing to record: in place
                for p, g, b in zip(params, grads, buffers, strict=True):
                    kernels.sgd_buffer(b, g, momentum, out=b)
                    kernels.sgd_param(p, b, lr, out=p)
                self.calls += 2 * len(params)
                self.index += 2 * len(params)
                return
            for p, g, b in zip(params, grads, buffers, strict=True):
                new_b = self.k("sgd_buffer", b, g, momentum=momentum)
                b.copy_(new_b)
                self._alias(b, new_b)
                new_p = self.k("sgd_param", p, b, lr=lr)
                p.copy_(new_p)
                self._alias(p, new_p)

    def gelu(self, x: torch.Tensor) -> torch.Tensor:
        return _Gelu.apply(self, x)

    def adam_(self, params: list[torch.Tensor], grads: list[torch.Tensor], moments: list[torch.Tensor], step: int, lr: float,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, *, weight_decay: float = 0.0, warmup: int = 0,
              total: int = 0) -> None:  # fmt: skip
        """In place: ``moments[i]`` (2 x shape: m and v) and ``params[i]`` after Adam step ``step``
        (from 1); AdamW with ``weight_decay``, the warm-up + cosine schedule with ``warmup`` / ``total``."""
        extra = {k: v for k, v in (("weight_decay", weight_decay), ("warmup", warmup), ("total", total)) if v}
        with torch.no_grad():
            for p, g, mv in zip(params, grads, moments, strict=True):
                new_mv = self.k("adam_moments", mv, g, beta1=beta1, beta2=beta2)
                mv.copy_(new_mv)
                self._alias(mv, new_mv)
                new_p = self.k("adam_param", p, mv, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, **extra)
                p.copy_(new_p)
                self._alias(p, new_p)

    def combine(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """Sum per-micro-batch gradients with the same tree a whole batch uses."""
        return parts[0] if len(parts) == 1 else self.k("tree_sum", self.k("stack", *parts), dim=0)

    # -- views and the transformer's operators -------------------------------------------

    def reshape(self, x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        """``x`` in another shape, as a tape operator (``x`` itself when the shape is unchanged)."""
        shape = _concrete(shape, x.numel())
        if tuple(x.shape) == shape:
            return x
        return _Reshape.apply(self, x, shape) if x.requires_grad else self.k("reshape", x, shape=shape)

    def fork(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Two uses of ``x`` (a residual branch): their gradients are summed by a tape ``add``,
        not by autograd's accumulation."""
        return _Fork.apply(self, x)

    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return _Add.apply(self, a, b)

    def layer_norm(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return _LayerNorm.apply(self, x, weight, bias)

    def embed(self, tokens: torch.Tensor, wte: torch.Tensor, wpe: torch.Tensor) -> torch.Tensor:
        return _Embed.apply(self, tokens, wte, wpe)

    def attention(self, qkv: torch.Tensor, heads: int, seq: int) -> torch.Tensor:
        """Causal self-attention of ``(batch * seq, 3 * width)`` projections -> ``(batch * seq, width)``."""
        return _Attention.apply(self, qkv, heads, seq)

    def clip_grads(self, grads: list[torch.Tensor], max_norm: float) -> list[torch.Tensor]:
        """Every gradient scaled by ``min(1, max_norm / global norm)``; the norm is one tree."""
        with torch.no_grad():
            norm = self.k("global_norm", *grads)
            return [self.k("clip", g, norm, max_norm=max_norm) for g in grads]


def _concrete(shape: tuple[int, ...], numel: int) -> tuple[int, ...]:
    """``shape`` with a ``-1`` worked out (the tape records concrete shapes)."""
    if -1 not in shape:
        return tuple(shape)
    known = 1
    for d in shape:
        known *= d if d != -1 else 1
    return tuple(numel // known if d == -1 else d for d in shape)


def _key(t: torch.Tensor) -> tuple[Any, ...]:
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)


def _corrupt(t: torch.Tensor) -> torch.Tensor:
    """A wrong result: ``1.5 v + 1`` for every element ``v`` of ``t``."""
    return (t.detach() * 1.5 + 1).to(t.dtype).contiguous()


class _Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, ops: RepOps, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.ops = ops
        ctx.save_for_backward(x, w)
        return ops.k("add_bias", ops.k("matmul", x, w, trans_b=True), b)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        ops: RepOps = ctx.ops
        x, w = ctx.saved_tensors
        grad_x = ops.k("matmul", g, w) if ctx.needs_input_grad[1] else None
        grad_w = ops.k("matmul", g, x, trans_a=True)
        grad_b = ops.k("tree_sum", g, dim=0)
        return None, grad_x, grad_w, grad_b


class _Relu(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, ops: RepOps, x: torch.Tensor) -> torch.Tensor:
        ctx.ops = ops
        ctx.save_for_backward(x)
        return ops.k("relu", x)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        (x,) = ctx.saved_tensors
        return None, ctx.ops.k("relu_grad", g, x)


class _Gelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, ops: RepOps, x: torch.Tensor) -> torch.Tensor:
        ctx.ops = ops
        ctx.save_for_backward(x)
        return ops.k("gelu", x)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        (x,) = ctx.saved_tensors
        return None, ctx.ops.k("gelu_grad", g, x)


class _CrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, ops: RepOps, logits: torch.Tensor, target: torch.Tensor, factor: float) -> torch.Tensor:
        ctx.ops, ctx.factor = ops, factor
        ctx.save_for_backward(logits, target)
        return ops.k("cross_entropy_sum", logits, target, factor=factor)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        logits, target = ctx.saved_tensors
        # The loss is the last node: its upstream gradient is exactly 1.
        return None, ctx.ops.k("cross_entropy_grad", logits, target, factor=ctx.factor), None, None


class _Conv2d(torch.autograd.Function):
    """Convolution (stride 1, square kernel) as im2col + matmul."""

    @staticmethod
    def forward(ctx: Any, ops: RepOps, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, padding: int) -> torch.Tensor:
        ctx.ops, ctx.padding, ctx.shape = ops, padding, tuple(x.shape)
        out_c, _, kernel, _ = w.shape
        cols = ops.k("im2col", x, kernel=kernel, padding=padding)
        w2 = ops.k("reshape", w, shape=(out_c, -1))
        ctx.save_for_backward(cols, w2)
        ctx.kernel = kernel
        y = ops.k("add_bias", ops.k("matmul", cols, w2, trans_b=True), b)  # (b*h*w, out_c)
        batch, _, h, width = x.shape
        return ops.k("permute", ops.k("reshape", y, shape=(batch, h, width, out_c)), dims=(0, 3, 1, 2))

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        ops: RepOps = ctx.ops
        cols, w2 = ctx.saved_tensors
        out_c = w2.shape[0]
        g2 = ops.k("reshape", ops.k("permute", g, dims=(0, 2, 3, 1)), shape=(g.numel() // out_c, out_c))
        grad_w = ops.k("reshape", ops.k("matmul", g2, cols, trans_a=True), shape=(out_c, -1, ctx.kernel, ctx.kernel))
        grad_b = ops.k("tree_sum", g2, dim=0)
        grad_x = None
        if ctx.needs_input_grad[1]:
            grad_x = ops.k("col2im", ops.k("matmul", g2, w2), shape=ctx.shape, kernel=ctx.kernel, padding=ctx.padding)
        return None, grad_x, grad_w, grad_b, None



class _Reshape(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, ops: RepOps, x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        ctx.ops, ctx.shape = ops, tuple(x.shape)
        return ops.k("reshape", x, shape=shape)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        return None, ctx.ops.k("reshape", g, shape=ctx.shape), None


class _Fork(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, ops: RepOps, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ctx.ops = ops
        return x.view_as(x), x.view_as(x)

    @staticmethod
    def backward(ctx: Any, ga: torch.Tensor, gb: torch.Tensor) -> tuple[Any, ...]:
        return None, ctx.ops.k("add", ga, gb)


class _Add(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, ops: RepOps, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ops.k("add", a, b)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        return None, g, g


class _LayerNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, ops: RepOps, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.ops = ops
        ctx.save_for_backward(x, w)
        return ops.k("layer_norm", x, w, b)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        ops: RepOps = ctx.ops
        x, w = ctx.saved_tensors
        grad_x = ops.k("layer_norm_grad", g, x, w) if ctx.needs_input_grad[1] else None
        return None, grad_x, ops.k("layer_norm_grad_w", g, x), ops.k("tree_sum", g, dim=0)


class _Embed(torch.autograd.Function):
    """Token + position embedding of (batch, seq) tokens -> (batch * seq, width)."""

    @staticmethod
    def forward(ctx: Any, ops: RepOps, tokens: torch.Tensor, wte: torch.Tensor, wpe: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1] != wpe.shape[0]:
            raise ValueError(f"sequences of {tokens.shape[1]} tokens for a context of {wpe.shape[0]}: the model needs full-length sequences")
        ctx.ops, ctx.vocab = ops, wte.shape[0]
        ctx.save_for_backward(tokens)
        return ops.k("embed", tokens, wte, wpe)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        ops: RepOps = ctx.ops
        (tokens,) = ctx.saved_tensors
        batch, seq = tokens.shape
        grad_wte = ops.k("embed_grad", g, tokens, vocab=ctx.vocab)
        grad_wpe = ops.k("tree_sum", ops.k("reshape", g, shape=(batch, seq, g.shape[1])), dim=0)
        return None, None, grad_wte, grad_wpe


class _Attention(torch.autograd.Function):
    """Causal multi-head self-attention from the fused q, k, v projections; every view (the
    head split and merge) is a tape operator."""

    @staticmethod
    def forward(ctx: Any, ops: RepOps, qkv: torch.Tensor, heads: int, seq: int) -> torch.Tensor:
        n, width3 = qkv.shape
        width = width3 // 3
        batch, hd = n // seq, width // heads
        ctx.ops, ctx.dims, ctx.scale = ops, (batch, seq, heads, hd), 1.0 / math.sqrt(hd)
        split = ops.k("permute", ops.k("reshape", qkv, shape=(batch, seq, 3, heads, hd)), dims=(2, 0, 3, 1, 4))
        q, k, v = (ops.k("reshape", ops.k("narrow", split, dim=0, start=i, length=1), shape=(batch * heads, seq, hd)) for i in range(3))
        p = ops.k("causal_softmax", ops.k("bmm", q, k, trans_b=True), scale=ctx.scale)
        y = ops.k("bmm", p, v)
        ctx.save_for_backward(q, k, v, p)
        merged = ops.k("permute", ops.k("reshape", y, shape=(batch, heads, seq, hd)), dims=(0, 2, 1, 3))
        return ops.k("reshape", merged, shape=(n, width))

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        ops: RepOps = ctx.ops
        q, k, v, p = ctx.saved_tensors
        batch, seq, heads, hd = ctx.dims
        gy = ops.k("reshape", ops.k("permute", ops.k("reshape", g, shape=(batch, seq, heads, hd)), dims=(0, 2, 1, 3)), shape=(batch * heads, seq, hd))
        dp = ops.k("bmm", gy, v, trans_b=True)
        dv = ops.k("bmm", p, gy, trans_a=True)
        ds = ops.k("causal_softmax_grad", dp, p, scale=ctx.scale)
        dq = ops.k("bmm", ds, k)
        dk = ops.k("bmm", ds, q, trans_a=True)
        parts = [ops.k("reshape", t, shape=(1, batch, heads, seq, hd)) for t in (dq, dk, dv)]
        stacked = ops.k("permute", ops.k("cat", *parts, dim=0), dims=(1, 3, 0, 2, 4))
        return None, ops.k("reshape", stacked, shape=(batch * seq, 3 * heads * hd)), None, None
