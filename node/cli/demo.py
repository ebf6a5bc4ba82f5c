"""``meritnet demo``: the main job, a whole training network on the embedded default."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from node.cli.common import JsonOption, console, emit
from node.demo import TOKEN, DemoConfig, run_demo
from node.scenario import ScenarioConfig, run_scenario, write_plots


def demo(
    scenario: Annotated[str, typer.Option(help="adversarial (cheaters, Sybils, a false accuser, disputes), sybil, or honest.")] = "adversarial",
    processes: Annotated[bool, typer.Option("--processes", help="Instead: the honest network with every role in its own process.")] = False,
    trainers: Annotated[int, typer.Option(min=1, max=16, help="With --processes: number of trainer processes.")] = 3,
    rounds: Annotated[int, typer.Option(min=1, help="Training rounds.")] = 2,
    steps: Annotated[int, typer.Option(min=1, help="Training steps per round.")] = 12,
    model: Annotated[str, typer.Option(help="mlp (default), cnn, gpt (byte language model on Python's stdlib text; try --steps 4) or gpt-mini.")] = "mlp",
    backend: Annotated[str, typer.Option(help="Operator backend: stock, or repops (bitwise reproducible).")] = "stock",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "cpu",
    rpc: Annotated[str | None, typer.Option("--rpc", help="Run on this chain (anvil, hardhat) instead of the in-process one.")] = None,
    ipfs: Annotated[str | None, typer.Option("--ipfs", help="Run on this IPFS node's API (e.g. /ip4/127.0.0.1/tcp/5001) instead of the embedded store.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the store, journals, logs and deployment (default: a temporary folder).")] = None,
    json_: JsonOption = False,
) -> None:
    """Run a training network on the digits classifier and report who earned, lost and was
    trusted. The default scenario pits honest trainers against lazy, copying, label-flipping
    and Sybil trainers and a false accuser, with verifiers, disputes and a referee committee;
    it prints events as they happen, then a table per identity, and writes report.json and
    PNG plots into --out."""
    folder = out or Path(tempfile.mkdtemp(prefix="meritnet-demo-"))
    if not processes:
        _scenario(ScenarioConfig(scenario=scenario, model=model, rounds=rounds, steps=steps, rpc=rpc, store=ipfs), folder, json_)
        return
    cfg = DemoConfig(trainers=trainers, rounds=rounds, steps=steps, model=model, backend=backend, device=device, rpc=rpc, store=ipfs)

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
        rounds.add_column(col, overflow="fold")
    for r in report["rounds"]:
        rounds.add_row(str(r["round"]), str(r["reveals"]), f"{r['accuracy_before']:.3f}" if r["accuracy_before"] is not None else "-",
                       f"{r['accuracy']:.3f}" if r["accuracy"] is not None else "-", f"{r['loss']:.3f}" if r["loss"] is not None else "-",
                       f"{r['claimed'] / TOKEN:.2f}")  # fmt: skip
    console.print(rounds)
    people = Table(title=f"rewards (paid {report['paid'] / TOKEN:.2f} of a {report['budget'] / TOKEN:.0f} MERIT budget) and reputation (epoch {report['reputation']['epoch']})")
    for col in ("address", "role", "stake", "earned (MERIT)", "balance (MERIT)", "reputation"):
        people.add_column(col, overflow="fold")
    for p in report["participants"]:
        people.add_row(p["address"], p["role"], f"{p['stake'] / TOKEN:g}", f"{p['earned'] / TOKEN:.2f}", f"{p['token_balance'] / TOKEN:.2f}", f"{p['reputation']:.4f}")
    console.print(people)
    console.print(f"store, journals and logs: {folder}")


_SHOWN = {"dispute-opened", "dispute-respond", "voted", "verdict", "disqualified", "dispute-resolved", "posted", "reputation-posted",
          "claimed", "slashed-no-reveal", "scores-reproduced", "scores-mismatch", "task-created", "deploying"}  # fmt: skip


def _scenario(cfg: ScenarioConfig, folder: Path, as_json: bool) -> None:
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, disable=as_json)
    bar = progress.add_task("rounds scored", total=cfg.rounds)
    log = progress.console.log

    def show(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if as_json or kind not in _SHOWN:
            return
        if kind == "posted":
            progress.advance(bar)
        who = f"{event.get('role', '')} {str(event.get('address', ''))[:10]}".strip()
        details = " ".join(f"{k}={v / TOKEN:.2f}" if k in ("amount", "total_reward") else f"{k}={v}" for k, v in event.items()
                           if k not in ("role", "address", "task", "event", "output_hash", "root"))  # fmt: skip
        log(f"{who}: {kind} {details}")

    with progress:
        report = run_scenario(cfg, folder, on_event=show)
    report["out"] = str(folder)
    report["plots"] = [str(p) for p in write_plots(report, folder / "plots")]
    (folder / "report.json").write_text(json.dumps(report, indent=2))
    if as_json:
        emit(report, True)
        return
    rounds = Table(title=f"{cfg.scenario} scenario, task {report['task']}: global model per round")
    for col in ("round", "accuracy before", "accuracy after", "validation loss", "paid (MERIT)"):
        rounds.add_column(col, overflow="fold")
    for r in report["rounds"]:
        rounds.add_row(str(r["round"]), f"{r['accuracy_before']:.3f}" if r["accuracy_before"] is not None else "-",
                       f"{r['accuracy']:.3f}" if r["accuracy"] is not None else "-", f"{r['loss']:.3f}" if r.get("loss") is not None else "-",
                       f"{r['paid'] / TOKEN:.2f}")  # fmt: skip
    console.print(rounds)
    people = Table(title="identities (MERIT; stake before -> after)")
    for col in ("name", "behaviour", "stake", "slashed", "rewards", "reputation", "disputes won/lost"):
        people.add_column(col, overflow="fold")
    for p in report["identities"]:
        people.add_row(p["name"], p["behaviour"], f"{p['stake_before'] / TOKEN:g} -> {p['stake_after'] / TOKEN:g}", f"{p['slashed'] / TOKEN:g}",
                       f"{p['rewards'] / TOKEN:.2f}", f"{p['reputation']:.4f}", f"{p['disputes_won']}/{p['disputes_lost']}")  # fmt: skip
    console.print(people)
    console.print(f"report.json and plots: {folder}")
