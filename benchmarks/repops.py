"""repops-step and repops-repro: the cost of a reproducible training step and its proof.

repops-step: median time of one training step (forward, loss, backward, SGD update, without
state hashing) with RepOps against the same step with stock torch, in the same run, per model
(the steps interleaved); also RepOps with its C kernels switched off (the torch implementation
of the same kernels, which is what runs on CUDA).
repops-repro: S_1..S_N with 1 vs 2 threads and whole vs micro-batched steps, RepOps and stock.

    python -m benchmarks.repops [--steps 100] [--reps 200]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import torch

from benchmarks.timing import interleaved_medians
from node.training.data import load_digits, split_shards
from node.training.loop import batch_indices
from node.training.models import get_model
from node.training.ops import get_backend
from node.training.trace import run_trace
from verifier.repops import native


def step_fn(model: str, backend: str) -> Callable[[], None]:
    shard = split_shards(load_digits(), 3)[0][0]
    params = get_model(model).init(0)
    names = sorted(params)
    buffers = {k: torch.zeros_like(v) for k, v in params.items()}
    ops = get_backend(backend)
    idx = batch_indices(b"bench", 1, len(shard), 32)
    x, y = shard.x[idx], shard.y[idx]

    def one_step() -> None:
        leaves = [params[k].detach().requires_grad_(True) for k in names]
        loss = ops.cross_entropy(get_model(model).forward(dict(zip(names, leaves, strict=True)), x, ops), y)
        grads = torch.autograd.grad(loss, leaves)
        ops.sgd_momentum_([params[k].detach() for k in names], list(grads), [buffers[k] for k in names], 0.01, 0.9)

    for _ in range(3):
        one_step()  # warm up
    return one_step


def without_native(fn: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        with native.disabled():
            fn()

    return run


def run(steps: int, reps: int) -> list[dict[str, Any]]:
    results = []
    for model in ("mlp", "cnn"):
        t = interleaved_medians({"stock": step_fn(model, "stock"), "repops": step_fn(model, "repops"),
                                 "torch": without_native(step_fn(model, "repops"))}, reps)  # fmt: skip
        results.append({"benchmark": "repops-step", "model": model, "threads": torch.get_num_threads(), "c_kernels": native.library() is not None,
                        "stock_ms": round(t["stock"] * 1e3, 3), "repops_ms": round(t["repops"] * 1e3, 3), "ratio": round(t["repops"] / t["stock"], 2),
                        "repops_torch_kernels_ms": round(t["torch"] * 1e3, 3), "ratio_torch_kernels": round(t["torch"] / t["stock"], 2)})  # fmt: skip
    for backend in ("repops", "stock"):
        base = run_trace(steps=steps, backend=backend, threads=2)["state_hashes"]
        one = run_trace(steps=steps, backend=backend, threads=1)["state_hashes"]
        micro = run_trace(steps=steps, backend=backend, threads=2, microbatch=8)["state_hashes"]
        torch.set_num_threads(2)
        results.append({"benchmark": "repops-repro", "backend": backend, "steps": steps,
                        "identical_1_vs_2_threads": sum(a == b for a, b in zip(base[1:], one[1:], strict=True)) / steps,
                        "identical_whole_vs_microbatch_8": sum(a == b for a, b in zip(base[1:], micro[1:], strict=True)) / steps})  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args(argv)
    for result in run(args.steps, args.reps):
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
