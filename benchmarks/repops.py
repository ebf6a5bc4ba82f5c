"""repops-step, repops-profile, referee-cost and repops-repro: the cost of a reproducible
training step and of deciding one of its operators.

repops-step: median time of one training step (forward, loss, backward, the model's optimizer
recipe with clipping where it has one, without state hashing) with RepOps against the same
step with stock torch, in the same run, per model (the steps interleaved); also RepOps with
its C kernels switched off (the torch implementation of the same kernels, which is what runs
on CUDA; skipped for the GPT, whose torch-only step takes minutes on this CPU).
repops-profile: where a RepOps step's time goes, per kernel (the GPT).
referee-cost: deciding one operator (evidence checks + recomputation) against one verifiable
step (state hash included), averaged over the operators of a step.
repops-repro: S_1..S_N with 1 vs 2 threads, whole vs micro-batched steps and a second process,
RepOps and stock.

    python -m benchmarks.repops [--models mlp cnn gpt] [--steps 50] [--reps 200] [--gpt-reps 6]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from benchmarks.timing import interleaved_medians, median_time
from node.training.claims import program_for, step_batch, train_claim
from node.training.data import Dataset, dataset_for, split_shards
from node.training.loop import TrainConfig, batch_indices, train
from node.training.models import get_model
from node.training.ops import get_backend
from node.training.trace import run_trace
from verifier.dispute.referee import decide
from verifier.repops import native
from verifier.repops.canonical import zero_buffers
from verifier.repops.ops import RepOps
from verifier.repops.tape import KERNELS

SEED = hashlib.sha256(b"bench").digest()


def _task(model: str) -> tuple[Dataset, dict[str, torch.Tensor], int, int]:
    data = dataset_for(model)
    features, classes = int(data.x[0].numel()), data.num_classes
    return split_shards(data, 3)[0][0], get_model(model).init(0, features, classes), features, classes


def step_fn(model: str, backend: str) -> Callable[[], None]:
    shard, params, _, _ = _task(model)
    spec, cfg = get_model(model), TrainConfig.for_model(model, backend=backend)
    names = sorted(params)
    buffers = zero_buffers(params, cfg.optimizer)
    ops = get_backend(backend)
    idx = batch_indices(b"bench", 1, len(shard), cfg.batch_size)
    x, y = shard.x[idx], shard.y[idx]
    scale = 1.0 / y.numel()

    def one_step() -> None:
        leaves = [params[k].detach().requires_grad_(True) for k in names]
        loss = ops.cross_entropy(spec.forward(dict(zip(names, leaves, strict=True)), x, ops), ops.reshape(y, (y.numel(),)), scale)
        grads = list(torch.autograd.grad(loss, leaves))
        if cfg.clip_norm:
            grads = ops.clip_grads(grads, cfg.clip_norm)
        current = [params[k].detach() for k in names]
        if cfg.optimizer == "adam":
            ops.adam_(current, grads, [buffers[k] for k in names], 1, cfg.lr, **cfg.adam_schedule())
        else:
            ops.sgd_momentum_(current, grads, [buffers[k] for k in names], cfg.lr, cfg.momentum)

    for _ in range(2):
        one_step()  # warm up
    return one_step


def without_native(fn: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        with native.disabled():
            fn()

    return run


def step_cost(model: str, reps: int) -> dict[str, Any]:
    fns = {"stock": step_fn(model, "stock"), "repops": step_fn(model, "repops")}
    if not get_model(model).tokens:
        fns["torch"] = without_native(step_fn(model, "repops"))
    t = interleaved_medians(fns, reps, block=min(20, max(1, reps // 3)))
    out = {"benchmark": "repops-step", "model": model, "threads": torch.get_num_threads(), "c_kernels": native.library() is not None, "reps": reps,
           "stock_ms": round(t["stock"] * 1e3, 3), "repops_ms": round(t["repops"] * 1e3, 3), "ratio": round(t["repops"] / t["stock"], 2)}  # fmt: skip
    if "torch" in t:
        out |= {"repops_torch_kernels_ms": round(t["torch"] * 1e3, 3), "ratio_torch_kernels": round(t["torch"] / t["stock"], 2)}
    return out


def profile(model: str, steps: int = 2) -> dict[str, Any]:
    """Seconds per step spent in each kernel (the rest: autograd and Python)."""
    spent: collections.Counter[str] = collections.Counter()
    original = dict(KERNELS)

    def timed(name: str, fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def run(*args: Any, **kwargs: Any) -> torch.Tensor:
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            spent[name] += time.perf_counter() - start
            return out

        return run

    shard, base, _, _ = _task(model)
    KERNELS.update({name: timed(name, fn) for name, fn in original.items()})
    try:
        start = time.perf_counter()
        train(base, shard, TrainConfig.for_model(model, steps=steps, backend="repops"), seed=SEED, ops=RepOps())
        total = (time.perf_counter() - start) / steps
    finally:
        KERNELS.update(original)
    kernels = {name: round(s / steps * 1e3, 1) for name, s in spent.most_common()}
    return {"benchmark": "repops-profile", "model": model, "step_ms": round(total * 1e3, 1), "kernels_ms": kernels,
            "other_ms": round(total * 1e3 - sum(kernels.values()), 1)}  # fmt: skip


def referee_cost(model: str, reps: int) -> dict[str, Any]:
    shard, base, features, classes = _task(model)
    k, t = 2, 1
    config = TrainConfig.for_model(model, steps=k, backend="repops")
    program = program_for(config, base, features, classes)
    honest = train_claim(base, shard, config, SEED)[0]
    chain = honest.chain(t)
    step = median_time(lambda: train(base, shard, config, seed=SEED, ops=RepOps()), max(3, reps // 20)) / k
    batch = step_batch(shard, config, SEED, t)
    per_op: list[tuple[str, float]] = []
    for j, op in enumerate(program):
        evidence = honest.evidence(t, j)
        per_op.append((op.name, median_time(lambda e=evidence, j=j: decide(program, t, j, honest.states[t], chain[j], e, lambda: batch), reps)))
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    for name, s in per_op:
        by_kind[name].append(s)
    mean = statistics.mean(s for _, s in per_op)
    return {"benchmark": "referee-cost", "model": model, "ops_per_step": len(program), "step_seconds": round(step, 4),
            "referee_seconds_mean": round(mean, 6), "ratio_mean": round(mean / step, 4), "ratio_max": round(max(s for _, s in per_op) / step, 4),
            "slowest_op": max(per_op, key=lambda p: p[1])[0], "per_kind_ms": {k: round(statistics.mean(v) * 1e3, 3) for k, v in sorted(by_kind.items())},
            "target": "< 0.05"}  # fmt: skip


def _other_process(model: str, steps: int, backend: str) -> list[str]:
    code = ("import json; from node.training.trace import run_trace; "
            f"print(json.dumps(run_trace(steps={steps}, model={model!r}, backend={backend!r}, threads=2)['state_hashes']))")  # fmt: skip
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def repro(model: str, steps: int, microbatch: int) -> list[dict[str, Any]]:
    rows = []
    for backend in ("repops", "stock"):
        base = run_trace(steps=steps, model=model, backend=backend, threads=2)["state_hashes"]
        one = run_trace(steps=steps, model=model, backend=backend, threads=1)["state_hashes"]
        micro = run_trace(steps=steps, model=model, backend=backend, threads=2, microbatch=microbatch)["state_hashes"]
        other = _other_process(model, steps, backend)
        torch.set_num_threads(2)
        same = lambda a: sum(x == y for x, y in zip(base[1:], a[1:], strict=True)) / steps  # noqa: E731
        rows.append({"benchmark": "repops-repro", "model": model, "backend": backend, "steps": steps, "identical_1_vs_2_threads": same(one),
                     f"identical_whole_vs_microbatch_{microbatch}": same(micro), "identical_two_processes": same(other)})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn", "gpt"])
    parser.add_argument("--steps", type=int, default=50, help="repops-repro steps (the GPT's: --gpt-steps)")
    parser.add_argument("--gpt-steps", type=int, default=4)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--gpt-reps", type=int, default=6)
    parser.add_argument("--skip", nargs="*", default=[], help="any of: step profile referee repro")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    for model in args.models:
        big = model == "gpt"
        reps = args.gpt_reps if big else args.reps
        if "step" not in args.skip:
            print(json.dumps(step_cost(model, reps)), flush=True)
        if "profile" not in args.skip and get_model(model).tokens:
            print(json.dumps(profile(model)), flush=True)
        if "referee" not in args.skip:
            print(json.dumps(referee_cost(model, max(3, reps // 2) if big else reps)), flush=True)
        if "repro" not in args.skip:
            for row in repro(model, args.gpt_steps if big else args.steps, 4 if get_model(model).tokens else 8):
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
