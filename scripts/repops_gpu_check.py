#!/usr/bin/env python3
"""Print RepOps state hashes of the same run on CPU and on CUDA, and whether they agree.

    python scripts/repops_gpu_check.py [--steps 100] [--model mlp]

On a machine without CUDA it prints the CPU hashes and says so. The CPU run uses the C kernels
where they build, the CUDA run the torch kernels: two implementations on two devices.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from node.training.trace import run_trace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--model", default="mlp")
    args = parser.parse_args()
    cpu = run_trace(steps=args.steps, model=args.model, device="cpu")
    report = {"model": args.model, "steps": args.steps, "cpu_kernels": cpu["kernels"], "cpu_trace_root": cpu["trace_root"],
              "cuda_available": torch.cuda.is_available()}  # fmt: skip
    if torch.cuda.is_available():
        gpu = run_trace(steps=args.steps, model=args.model, device="cuda")
        same = [a == b for a, b in zip(cpu["state_hashes"], gpu["state_hashes"], strict=True)]
        report |= {"cuda_device": torch.cuda.get_device_name(0), "cuda_trace_root": gpu["trace_root"], "identical_steps": sum(same),
                   "first_difference": same.index(False) if False in same else None, "identical": all(same)}  # fmt: skip
    print(json.dumps(report, indent=2))
    return 0 if report.get("identical", True) else 1


if __name__ == "__main__":
    sys.exit(main())
