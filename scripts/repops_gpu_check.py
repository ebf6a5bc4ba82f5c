#!/usr/bin/env python3
"""Compare a RepOps run on the CPU (C kernels) with the same run on CUDA (torch kernels),
operator by operator, for the MLP, the CNN and the GPT; exit 1 at the first difference.

    python scripts/repops_gpu_check.py [--models mlp cnn gpt] [--steps 10] [--gpt-steps 3] [--torch-on-cpu]

Every step's operator tape is recorded on both devices (output hashes only) and compared entry
by entry; the first differing operator is printed with its step, index and kernel name, and the
state hashes S_0..S_N are compared too. On a machine without CUDA it prints the CPU side and
says so (exit 0). ``--torch-on-cpu`` compares against the torch kernels on the CPU instead of
CUDA (the code path CUDA runs, without a GPU). Prints one JSON object per model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import Any

import torch

from node.training.data import dataset_for, split_shards
from node.training.loop import TrainConfig, train
from node.training.models import get_model
from verifier.repops import native
from verifier.repops.ops import RepOps

SEED = hashlib.sha256(b"gpu-check").digest()


def run(model: str, steps: int, device: str) -> tuple[list[bytes], list[list[tuple[str, bytes]]]]:
    """State hashes and, per step, (kernel, output hash) of every operator."""
    data = dataset_for(model)
    shard = split_shards(data, 3)[0][0]
    base = get_model(model).init(0, int(data.x[0].numel()), data.num_classes)
    ops = RepOps()
    tapes: list[list[tuple[str, bytes]]] = []

    def on_step(_step: int, when: str) -> None:
        if when == "start":
            ops.start_tape(keep_inputs=False)
        else:
            tape = ops.stop_tape()
            assert tape is not None
            tapes.append([(e.name, e.output_hash) for e in tape.entries])

    result = train(base, shard, TrainConfig.for_model(model, steps=steps, backend="repops"), seed=SEED, device=device, ops=ops, on_step=on_step)
    return result.state_hashes, tapes


def compare(model: str, steps: int, torch_on_cpu: bool = False) -> dict[str, Any]:
    cpu_states, cpu_tapes = run(model, steps, "cpu")
    report: dict[str, Any] = {"model": model, "steps": steps, "cpu_kernels": "c" if native.library() is not None else "torch",
                              "ops_per_step": len(cpu_tapes[0]), "cpu_final_state": cpu_states[-1].hex(), "cuda_available": torch.cuda.is_available()}  # fmt: skip
    if torch_on_cpu:
        with native.disabled():
            gpu_states, gpu_tapes = run(model, steps, "cpu")
        report["against"] = "torch kernels on the CPU"
    elif not torch.cuda.is_available():
        return report
    else:
        gpu_states, gpu_tapes = run(model, steps, "cuda")
        report["against"] = "torch kernels on CUDA"
    report |= {"cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "other_final_state": gpu_states[-1].hex(),
               "identical_states": sum(a == b for a, b in zip(cpu_states, gpu_states, strict=True)), "first_difference": None}  # fmt: skip
    for step, (a, b) in enumerate(zip(cpu_tapes, gpu_tapes, strict=True)):
        for j, ((name, ha), (_, hb)) in enumerate(zip(a, b, strict=True)):
            if ha != hb:
                report["first_difference"] = {"step": step, "op": j, "kernel": name}
                return report
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn", "gpt"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--gpt-steps", type=int, default=3)
    parser.add_argument("--torch-on-cpu", action="store_true", help="compare with the torch kernels on the CPU instead of CUDA")
    args = parser.parse_args()
    for model in args.models:
        report = compare(model, args.gpt_steps if get_model(model).tokens else args.steps, args.torch_on_cpu)
        print(json.dumps(report), flush=True)
        if report.get("first_difference") is not None or report.get("identical_states", report["steps"] + 1) != report["steps"] + 1:
            where = report.get("first_difference")
            print(f"{model}: the two runs differ" + (f" first at step {where['step']} operator {where['op']} ({where['kernel']})" if where else ""), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
