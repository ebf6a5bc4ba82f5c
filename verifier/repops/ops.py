"""The ``repops`` operator backend: the training loop's operators from reproducible kernels.

Each operator is a ``torch.autograd.Function`` whose forward and backward call only
:mod:`verifier.repops.kernels`, so a whole training step (forward, loss, backward, optimizer
update) is a fixed sequence of kernel calls with bitwise-reproducible outputs. With a tape
attached (:meth:`RepOps.start_tape`), every kernel call is recorded in order.
"""

from __future__ import annotations

from typing import Any

import torch

from verifier.repops.tape import KERNELS, Tape

__all__ = ["RepOps"]


class RepOps:
    name = "repops"

    def __init__(self) -> None:
        self.tape: Tape | None = None
        self.calls = 0

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
        self.calls += 1
        if self.tape is not None:
            self.tape.record(name, inputs, attrs, out)
        return out

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
            for p, g, b in zip(params, grads, buffers, strict=True):
                b.copy_(self.k("sgd_buffer", b, g, momentum=momentum))
                p.copy_(self.k("sgd_param", p, b, lr=lr))

    def combine(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """Sum per-micro-batch gradients with the same tree a whole batch uses."""
        return parts[0] if len(parts) == 1 else self.k("tree_sum", torch.stack(parts), dim=0)


class _Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, ops: RepOps, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.ops = ops
        wt = ops.k("transpose", w)
        ctx.save_for_backward(x, w)
        return ops.k("add_bias", ops.k("matmul", x, wt), b)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        ops: RepOps = ctx.ops
        x, w = ctx.saved_tensors
        grad_x = ops.k("matmul", g, w) if ctx.needs_input_grad[1] else None
        grad_w = ops.k("matmul", ops.k("transpose", g), x)
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
        y = ops.k("add_bias", ops.k("matmul", cols, ops.k("transpose", w2)), b)  # (b*h*w, out_c)
        batch, _, h, width = x.shape
        return y.reshape(batch, h, width, out_c).permute(0, 3, 1, 2).contiguous()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        ops: RepOps = ctx.ops
        cols, w2 = ctx.saved_tensors
        out_c = w2.shape[0]
        g2 = g.permute(0, 2, 3, 1).reshape(-1, out_c).contiguous()
        grad_w = ops.k("reshape", ops.k("matmul", ops.k("transpose", g2), cols), shape=(out_c, -1, ctx.kernel, ctx.kernel))
        grad_b = ops.k("tree_sum", g2, dim=0)
        grad_x = None
        if ctx.needs_input_grad[1]:
            grad_x = ops.k("col2im", ops.k("matmul", g2, w2), shape=ctx.shape, kernel=ctx.kernel, padding=ctx.padding)
        return None, grad_x, grad_w, grad_b, None

