"""A reference training run whose state hashes anyone can reproduce (``meritnet trace``).

The model's built-in data (digits; the stdlib text for the GPT), shard 0 of 3, the model
initialised from ``seed``, ``steps`` steps of its recipe (SGD by default; AdamW with clipping
and a cosine schedule for the GPT); returns the
state hashes ``S_0..S_N``, the trace root and, for ``repops``, the number of operator calls
per step and (for one chosen step) the operator tape's prefix chain.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

from node.errors import ConfigError
from node.training.data import dataset_for, split_shards
from node.training.loop import TrainConfig, resolve_device, train
from node.training.models import get_model
from node.training.ops import get_backend

__all__ = ["run_trace"]


def run_trace(*, steps: int, model: str = "mlp", seed: int = 0, device: str = "cpu", threads: int | None = None,
              microbatch: int | None = None, backend: str = "repops", op_chain_step: int | None = None,
              optimizer: str | None = None, lr: float | None = None) -> dict[str, Any]:  # fmt: skip
    if threads is not None:
        if threads < 1:
            raise ConfigError("--threads must be at least 1")
        torch.set_num_threads(threads)
    if op_chain_step is not None and not 1 <= op_chain_step <= steps:
        raise ConfigError(f"--step must be between 1 and {steps}")
    if op_chain_step is not None and backend != "repops":
        raise ConfigError("--op-chain needs --backend repops (stock torch has no operator tape)")
    config = TrainConfig.for_model(model, steps=steps, backend=backend, optimizer=optimizer, lr=lr)
    if microbatch is not None and not 1 <= microbatch <= config.batch_size:
        raise ConfigError(f"--microbatch must be between 1 and the batch size {config.batch_size}")
    data = dataset_for(model)
    shards, _ = split_shards(data, 3, seed=seed)
    base = get_model(model).init(seed, int(data.x[0].numel()), data.num_classes)
    ops = get_backend(backend)
    tape_holder: dict[str, Any] = {}
    calls_at: dict[str, int] = {}

    def on_step(step: int, when: str) -> None:
        calls = getattr(ops, "calls", None)
        if step == 1 and calls is not None:
            calls_at[when] = calls
        if step == op_chain_step:
            if when == "start":
                tape_holder["tape"] = ops.start_tape()  # type: ignore[attr-defined]
            else:
                ops.stop_tape()  # type: ignore[attr-defined]

    result = train(base, shards[0], config, seed=hashlib.sha256(f"trace-{seed}".encode()).digest(), device=resolve_device(device),
                   ops=ops, microbatch=microbatch, on_step=on_step)  # fmt: skip
    out: dict[str, Any] = {
        "backend": backend, "model": model, "optimizer": config.optimizer, "steps": steps, "device": device, "threads": torch.get_num_threads(), "microbatch": microbatch,
        "state_hashes": [h.hex() for h in result.state_hashes], "trace_root": result.trace_root.hex(),
        "ops_per_step": calls_at["end"] - calls_at["start"] if "end" in calls_at else None,
        "kernels": _kernels(backend, device),
    }  # fmt: skip
    if get_model(model).tokens:
        from node.training.text import corpus_digest

        out["corpus_sha256"] = corpus_digest()
    if op_chain_step is not None:
        tape = tape_holder["tape"]
        start = result.state_hashes[op_chain_step - 1]
        out["step"] = op_chain_step
        out["op_chain"] = [c.hex() for c in tape.chain(start)]
        out["ops"] = [{"name": e.name, "output_hash": e.output_hash.hex()} for e in tape.entries]
    return out


def _kernels(backend: str, device: str) -> str | None:
    """Which RepOps implementation ran: ``c`` (the CPU library) or ``torch`` (either gives the same bits)."""
    if backend != "repops":
        return None
    from verifier.repops import native

    return "c" if resolve_device(device).type == "cpu" and native.library() is not None else "torch"
