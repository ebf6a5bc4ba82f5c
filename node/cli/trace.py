"""``meritnet trace``: state hashes (and one step's operator chain) of a reference run."""

from __future__ import annotations

from typing import Annotated

import typer

from node.cli.common import JsonOption, console, emit
from node.training.trace import run_trace


def trace(
    steps: Annotated[int, typer.Option(min=1, help="Training steps.")] = 10,
    model: Annotated[str, typer.Option(help="mlp, cnn, gpt or gpt-mini.")] = "mlp",
    seed: Annotated[int, typer.Option(help="Seed of the initial model, the shards and the batches.")] = 0,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "cpu",
    threads: Annotated[int | None, typer.Option(help="torch CPU threads.")] = None,
    microbatch: Annotated[int | None, typer.Option(help="Split each batch into micro-batches of this size.")] = None,
    backend: Annotated[str, typer.Option(help="repops (reproducible) or stock (plain torch, for comparison).")] = "repops",
    optimizer: Annotated[str | None, typer.Option(help="sgd or adam (default: the model's recipe; adam for the GPT).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default: the training config's).")] = None,
    step: Annotated[int | None, typer.Option(help="With --op-chain: the step whose operator chain to print.")] = None,
    op_chain: Annotated[bool, typer.Option("--op-chain", help="Print the prefix chain c_0..c_M of --step's operators.")] = False,
    json_: JsonOption = False,
) -> None:
    """Train a reference run and print S_0..S_N, the trace root and the operators per step.

    RepOps runs its C kernels on the CPU when a C compiler is present (MERITNET_REPOPS_NATIVE=0
    turns them off) and its torch kernels otherwise; both give the same hashes.
    """
    if op_chain and step is None:
        step = 1
    result = run_trace(steps=steps, model=model, seed=seed, device=device, threads=threads, microbatch=microbatch, backend=backend,
                       op_chain_step=step if op_chain else None, optimizer=optimizer, lr=lr)  # fmt: skip
    if json_:
        emit(result, True)
        return
    kernels = f" ({result['kernels']} kernels)" if result["kernels"] else ""
    console.print(f"{backend}{kernels} {model} on {device}, {result['threads']} threads: trace root {result['trace_root']}")
    console.print(f"ops per step: {result['ops_per_step']}; S_{steps} = {result['state_hashes'][-1]}")
    if op_chain:
        for i, (entry, c) in enumerate(zip(result["ops"], result["op_chain"][1:], strict=True), start=1):
            console.print(f"  c_{i:<3} {c}  {entry['name']}")
