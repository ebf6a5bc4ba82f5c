"""``meritnet query ...``: read balances, stakes, tasks, rounds and rewards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.chain import queries
from node.cli.common import ConfigOption, DeploymentsOption, JsonOption, RpcOption, emit, open_network, settings

app = typer.Typer(help="Read meritnet's on-chain state (table, or --json for scripts).", no_args_is_help=True)


@app.command()
def deployment(rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False) -> None:
    """Contract addresses of the recorded deployment."""
    net = open_network(settings(config, rpc=rpc, deployments=deployments))
    emit(queries.deployment_info(net), json_)


@app.command()
def account(
    address: Annotated[str, typer.Argument(help="0x address")],
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Token balance, roles, stake and pending unbonds of ADDRESS."""
    net = open_network(settings(config, rpc=rpc, deployments=deployments))
    emit(queries.account_info(net, address), json_)


@app.command()
def task(
    task_id: Annotated[int, typer.Argument(help="Task id (1, 2, ...)")],
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Config, owner, current round and budget of a task."""
    net = open_network(settings(config, rpc=rpc, deployments=deployments))
    emit(queries.task_info(net, task_id), json_)


@app.command("round")
def round_(
    task_id: Annotated[int, typer.Argument(help="Task id")],
    round_number: Annotated[int | None, typer.Argument(help="Round (default: the current one)")] = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Phase, deadline, commits/reveals, posted roots of a round."""
    net = open_network(settings(config, rpc=rpc, deployments=deployments))
    emit(queries.round_info(net, task_id, round_number), json_)


@app.command()
def rewards(
    address: Annotated[str, typer.Argument(help="0x address of the trainer")],
    task_id: Annotated[int, typer.Option("--task", help="Task id")],
    round_number: Annotated[int | None, typer.Option("--round", help="One round (default: all)")] = None,
    leaves: Annotated[Path | None, typer.Option("--leaves", help="The round's reward table (JSON) to compute the claimable amount and proof")] = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Per round: allocation, whether ADDRESS claimed, and its claimable amount with proof."""
    net = open_network(settings(config, rpc=rpc, deployments=deployments))
    table = queries.load_leaves(leaves) if leaves else None
    info = queries.rewards_info(net, address, task_id, [round_number] if round_number else None, table)
    emit(info if json_ else {f"round {r['round']}": r for r in info["rounds"]} | {"address": info["address"]}, json_)
