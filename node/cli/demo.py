"""``meritnet demo``: the main job, a whole training network on the embedded default."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from node.cli.common import JsonOption, console, emit
from node.demo import TOKEN, DemoConfig, run_demo


def demo(
    trainers: Annotated[int, typer.Option(min=1, max=16, help="Number of trainer processes.")] = 3,
    rounds: Annotated[int, typer.Option(min=1, help="Training rounds.")] = 3,
    steps: Annotated[int, typer.Option(min=1, help="Training steps per round.")] = 20,
    model: Annotated[str, typer.Option(help="mlp (default) or cnn.")] = "mlp",
    backend: Annotated[str, typer.Option(help="Operator backend: stock, or repops (bitwise reproducible).")] = "stock",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "cpu",
    rpc: Annotated[str | None, typer.Option("--rpc", help="Run on this chain (anvil, hardhat) instead of the in-process one.")] = None,
    ipfs: Annotated[str | None, typer.Option("--ipfs", help="Run on this IPFS node's API (e.g. /ip4/127.0.0.1/tcp/5001) instead of the embedded store.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the store, journals, logs and deployment (default: a temporary folder).")] = None,
    json_: JsonOption = False,
) -> None:
    """Run a training network: an aggregator and TRAINERS trainer processes train the digits
    classifier for ROUNDS rounds, with stakes, commit-reveal, scores, rewards paid on chain,
    and a reputation epoch at the end."""
    cfg = DemoConfig(trainers=trainers, rounds=rounds, steps=steps, model=model, backend=backend, device=device, rpc=rpc, store=ipfs)
    folder = out or Path(tempfile.mkdtemp(prefix="meritnet-demo-"))

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, disable=json_)
    rounds_bar = progress.add_task("rounds scored", total=rounds)
    log = progress.console.log

    def show(event: dict[str, Any]) -> None:
        if json_:
            return
        kind = event.get("event")
        if kind == "posted":
            progress.advance(rounds_bar)
        who = f"{event.get('role', '')} {str(event.get('address', ''))[:10]}".strip()
        if kind == "posted":
            log(f"round {event['round']}: aggregator posted scores — validation accuracy {event['accuracy_before']:.3f} -> {event['accuracy']:.3f}, "
                        f"{event['rewarded']}/{event['trainers']} trainers rewarded")  # fmt: skip
        elif kind in ("committed", "revealed", "claimed", "registered", "error", "retry", "slashed-no-reveal"):
            extra = f" {event['amount'] / TOKEN:.2f} MERIT" if kind == "claimed" else ""
            extra += f" {event['message']}" if "message" in event else ""
            log(f"{who}: {kind}{' round ' + str(event['round']) if 'round' in event else ''}{extra}")
        elif kind in ("deploying", "task-created", "reputation-posted"):
            log(f"{kind} " + " ".join(f"{k}={v}" for k, v in event.items() if k != "event"))

    with progress:
        report = run_demo(cfg, folder, on_event=show)
    report["out"] = str(folder)
    if json_:
        emit(report, True)
        return
    rounds = Table(title=f"task {report['task']}: global model per round")
    for col in ("round", "reveals", "accuracy before", "accuracy after", "validation loss", "reward paid (MERIT)"):
        rounds.add_column(col)
    for r in report["rounds"]:
        rounds.add_row(str(r["round"]), str(r["reveals"]), f"{r['accuracy_before']:.3f}" if r["accuracy_before"] is not None else "-",
                       f"{r['accuracy']:.3f}" if r["accuracy"] is not None else "-", f"{r['loss']:.3f}" if r["loss"] is not None else "-",
                       f"{r['claimed'] / TOKEN:.2f}")  # fmt: skip
    console.print(rounds)
    people = Table(title=f"rewards (paid {report['paid'] / TOKEN:.2f} of a {report['budget'] / TOKEN:.0f} MERIT budget) and reputation (epoch {report['reputation']['epoch']})")
    for col in ("address", "role", "stake", "earned (MERIT)", "balance (MERIT)", "reputation"):
        people.add_column(col)
    for p in report["participants"]:
        people.add_row(p["address"], p["role"], f"{p['stake'] / TOKEN:g}", f"{p['earned'] / TOKEN:.2f}", f"{p['token_balance'] / TOKEN:.2f}", f"{p['reputation']:.4f}")
    console.print(people)
    console.print(f"store, journals and logs: {folder}")
