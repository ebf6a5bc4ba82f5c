"""``meritnet dispute list|show|simulate``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from node.chain.deploy import Network
from node.cli.common import (
    ConfigOption,
    DeploymentsOption,
    JsonOption,
    RpcOption,
    console,
    emit,
    kv_table,
    open_network,
    settings,
)
from node.errors import ConfigError

app = typer.Typer(help="Disputes over training submissions: inspect them on a devnet, or simulate one.", no_args_is_help=True)


def _moves(net: Network, dispute_id: int) -> list[dict[str, Any]]:
    contract = net.disputes.contract
    logs = contract.events.Moved().get_logs(from_block=0, argument_filters={"disputeId": dispute_id})
    return [{"phase": "steps" if e["args"]["stage"] == 2 else "ops", "index": e["args"]["index"], "agreed": e["args"]["agreed"],
             "lo": e["args"]["lo"], "hi": e["args"]["hi"]} for e in logs]  # fmt: skip


@app.command("list")
def list_(rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False) -> None:
    """Every dispute: task, round, parties, stage and outcome."""
    net = open_network(settings(config, rpc=rpc, deployments=deployments))
    rows = []
    for i in range(1, net.disputes.count() + 1):
        d = net.disputes.get(i).to_json()
        rows.append({k: d[k] for k in ("dispute_id", "task_id", "round", "defender", "challenger", "stage", "winner", "moves", "located")})
    table = Table(title="disputes")
    for col in ("id", "task", "round", "defender", "challenger", "stage", "winner", "moves"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*(str(r[k]) for k in ("dispute_id", "task_id", "round")), r["defender"][:10], r["challenger"][:10], r["stage"], r["winner"], str(r["moves"]))
    emit(rows, json_, table)


@app.command()
def show(
    dispute_id: Annotated[int, typer.Argument(help="Dispute id (1, 2, ...)")],
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """One dispute: state, bisection moves, the located step and operator, the outcome."""
    net = open_network(settings(config, rpc=rpc, deployments=deployments))
    if not 1 <= dispute_id <= net.disputes.count():
        raise ConfigError(f"no dispute {dispute_id}", hint=f"there are {net.disputes.count()}; see `meritnet dispute list`")
    data = net.disputes.get(dispute_id).to_json()
    data["move_log"] = _moves(net, dispute_id)
    emit(data, json_, kv_table(data, title=f"dispute {dispute_id}"))


@app.command()
def simulate(
    steps: Annotated[int, typer.Option(min=1, help="K: training steps of the disputed run.")] = 8,
    fault_step: Annotated[int | None, typer.Option(help="T: the step (0..K-1) where the liar computes wrongly; default K/2.")] = None,
    fault_op: Annotated[int | None, typer.Option(help="J: the operator (0..M-1) of that step; default M/2.")] = None,
    liar: Annotated[str, typer.Option(help="defender, challenger or none.")] = "defender",
    silent: Annotated[str | None, typer.Option(help="defender or challenger: stops answering (loses at its deadline).")] = None,
    adaptive: Annotated[bool, typer.Option("--adaptive", help="The liar answers from another trace wherever it can.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the model, shards and batches.")] = 0,
    model: Annotated[str, typer.Option(help="mlp, cnn, gpt or gpt-mini (the GPT on its stdlib text, with its AdamW recipe).")] = "mlp",
    json_: JsonOption = False,
) -> None:
    """Run one complete dispute on the in-process chain with real training traces and a
    planted fault; print winner, moves, the located step/operator, gas and referee time."""
    from node.dispute_sim import SimulationSpec
    from node.dispute_sim import simulate as run

    if liar not in ("defender", "challenger", "none"):
        raise ConfigError(f"--liar must be defender, challenger or none, not {liar!r}")
    if silent not in (None, "defender", "challenger"):
        raise ConfigError(f"--silent must be defender or challenger, not {silent!r}")
    with console.status("training both runs and playing the dispute on chain ..."):
        result = run(SimulationSpec(steps=steps, fault_step=fault_step, fault_op=fault_op, liar=liar, silent=silent, adaptive=adaptive, seed=seed, model=model))  # type: ignore[arg-type]
    emit(result, json_, kv_table(result, title="dispute simulation"))
