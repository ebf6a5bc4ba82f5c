"""The operator tape: the fixed sequence of kernel calls of one training step.

Each entry records the kernel's name, its attributes, the hashes of its inputs and of its
output, and where each input came from: ``op:k`` (the output of operator k of the same step)
or ``ext:NAME`` (a tensor of the step's starting state, ``param.*`` / ``buffer.*``, or of its
batch, ``batch.G.x`` / ``batch.G.y``). The sources depend only on the program, not on the
values, so a referee can check a disputed operator's inputs against agreed hashes. The last
operator of every step is ``state``: its inputs are the updated params and buffers and its
"output hash" is the state hash ``S_t+1`` itself, which ties the chain to the trace. The prefix chain ``c_0 = S_t``, ``c_j = sha256(c_{j-1} || h_j)`` commits to the whole
sequence; bisecting on it finds the first operator whose output two parties disagree on
(PROTOCOL.md). Any entry can be exported (its inputs as canonical bytes) and re-run alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from verifier.repops import kernels, transformer, views
from verifier.repops.canonical import canonical_bytes, full_state, state_hash, tensor_hash

__all__ = ["KERNELS", "STATE_OP", "TapeEntry", "Tape", "prefix_chain", "replay", "replay_hash", "export_inputs", "import_inputs"]

KERNELS: dict[str, Callable[..., torch.Tensor]] = {
    "matmul": kernels.matmul,
    "add_bias": kernels.add_bias,
    "relu": kernels.relu,
    "relu_grad": kernels.relu_grad,
    "tree_sum": kernels.tree_sum,
    "cross_entropy_sum": kernels.cross_entropy_sum,
    "cross_entropy_grad": kernels.cross_entropy_grad,
    "im2col": kernels.im2col,
    "col2im": kernels.col2im,
    "sgd_buffer": kernels.sgd_buffer,
    "sgd_param": kernels.sgd_param,
    "gelu": kernels.gelu,
    "gelu_grad": kernels.gelu_grad,
    "adam_moments": kernels.adam_moments,
    "adam_param": kernels.adam_param,
    "reshape": views.reshape,
    "permute": views.permute,
    "narrow": views.narrow,
    "cat": views.cat,
    "stack": views.stack,
    "add": views.add,
    "bmm": transformer.bmm,
    "causal_softmax": transformer.causal_softmax,
    "causal_softmax_grad": transformer.causal_softmax_grad,
    "layer_norm": transformer.layer_norm,
    "layer_norm_grad": transformer.layer_norm_grad,
    "layer_norm_grad_w": transformer.layer_norm_grad_w,
    "embed": transformer.embed,
    "embed_grad": transformer.embed_grad,
    "global_norm": transformer.global_norm,
    "clip": transformer.clip,
}
STATE_OP = "state"


@dataclass
class TapeEntry:
    name: str
    attrs: dict[str, Any]
    input_hashes: list[bytes]
    output_hash: bytes
    inputs: list[torch.Tensor] = field(repr=False, default_factory=list)
    sources: list[str] = field(default_factory=list)


@dataclass
class Tape:
    """Entries of one step; ``keep_inputs`` keeps the input tensors for export and replay."""

    keep_inputs: bool = True
    entries: list[TapeEntry] = field(default_factory=list)

    def record(self, name: str, inputs: Sequence[torch.Tensor], attrs: dict[str, Any], output_hash: bytes, sources: Sequence[str] = ()) -> None:
        kept = [t.detach().cpu().clone() for t in inputs] if self.keep_inputs else []
        self.entries.append(TapeEntry(name, dict(attrs), [tensor_hash(t) for t in inputs], output_hash, kept, list(sources)))

    def chain(self, start: bytes) -> list[bytes]:
        return prefix_chain(start, [e.output_hash for e in self.entries])


def prefix_chain(start: bytes, output_hashes: Sequence[bytes]) -> list[bytes]:
    """``[c_0 = start, c_1, ..., c_M]`` with ``c_j = sha256(c_{j-1} || h_j)``."""
    chain = [start]
    for h in output_hashes:
        chain.append(hashlib.sha256(chain[-1] + h).digest())
    return chain


def replay(name: str, inputs: Sequence[torch.Tensor], attrs: dict[str, Any]) -> torch.Tensor:
    """Run one kernel alone, as a referee does."""
    try:
        fn = KERNELS[name]
    except KeyError:
        raise ValueError(f"unknown kernel {name!r}") from None
    return fn(*inputs, **attrs)


def replay_hash(name: str, inputs: Sequence[torch.Tensor], attrs: dict[str, Any]) -> bytes:
    """The output hash of one operator run alone (for ``state``: the state hash)."""
    if name == STATE_OP:
        names = attrs["names"]
        half = len(names)
        if len(inputs) != 2 * half:
            raise ValueError(f"state takes {2 * half} inputs, got {len(inputs)}")
        params = dict(zip(names, inputs[:half], strict=True))
        buffers = dict(zip(names, inputs[half:], strict=True))
        return state_hash(full_state(params, buffers, attrs["step"]))
    return tensor_hash(replay(name, inputs, attrs))


def export_inputs(entry: TapeEntry) -> bytes:
    """The entry's inputs as canonical bytes (named in0, in1, ...)."""
    return canonical_bytes({f"in{i}": t for i, t in enumerate(entry.inputs)})


def import_inputs(entry: TapeEntry, tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Check supplied inputs against the entry's recorded hashes; return them if they match."""
    if len(tensors) != len(entry.input_hashes):
        raise ValueError(f"{entry.name} takes {len(entry.input_hashes)} inputs, got {len(tensors)}")
    for i, (t, h) in enumerate(zip(tensors, entry.input_hashes, strict=True)):
        if tensor_hash(t) != h:
            raise ValueError(f"input {i} of {entry.name} does not match its agreed hash")
    return list(tensors)
