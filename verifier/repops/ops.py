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
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:  # fmt: skip
        """In place: ``moments[i]`` (2 x shape: m and v) and ``params[i]`` after Adam step ``step`` (from 1)."""
        with torch.no_grad():
            for p, g, mv in zip(params, grads, moments, strict=True):
                new_mv = self.k("adam_moments", mv, g, beta1=beta1, beta2=beta2)
                mv.copy_(new_mv)
                self._alias(mv, new_mv)
                new_p = self.k("adam_param", p, mv, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
                p.copy_(new_p)
                self._alias(p, new_p)

    def combine(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """Sum per-micro-batch gradients with the same tree a whole batch uses."""
        return parts[0] if len(parts) == 1 else self.k("tree_sum", torch.stack(parts), dim=0)


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
        return y.reshape(batch, h, width, out_c).permute(0, 3, 1, 2).contiguous()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        ops: RepOps = ctx.ops
        cols, w2 = ctx.saved_tensors
        out_c = w2.shape[0]
        g2 = g.permute(0, 2, 3, 1).reshape(-1, out_c).contiguous()
        grad_w = ops.k("reshape", ops.k("matmul", g2, cols, trans_a=True), shape=(out_c, -1, ctx.kernel, ctx.kernel))
        grad_b = ops.k("tree_sum", g2, dim=0)
        grad_x = None
        if ctx.needs_input_grad[1]:
            grad_x = ops.k("col2im", ops.k("matmul", g2, w2), shape=ctx.shape, kernel=ctx.kernel, padding=ctx.padding)
        return None, grad_x, grad_w, grad_b, None

