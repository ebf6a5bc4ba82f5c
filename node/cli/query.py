"""``meritnet query ...``: read balances, stakes, tasks, rounds and rewards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from node.chain import queries
from node.chain.faucet import format_merit
from node.cli.common import (
    ConfigOption,
    DeploymentsOption,
    JsonOption,
    RpcOption,
    emit,
    open_chain,
    open_network,
    settings,
)
from node.errors import ContentNotFound, DeploymentError
from node.paths import state_dir
from node.roles.common import scores_table
from node.storage import EmbeddedStore, open_store

app = typer.Typer(help="Read meritnet's on-chain state (table, or --json for scripts).", no_args_is_help=True)


@app.command()
def deployment(rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False) -> None:
    """Contract addresses of the recorded deployment."""
    net = open_network(settings(config, rpc=rpc, deployments=deployments))
    emit(queries.deployment_info(net), json_)


@app.command()
def accounts(
    addresses: Annotated[bool, typer.Option("--addresses", help="Print only the addresses, one a line (for shell scripts).")] = False,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """The node's unlocked accounts (what --account takes on a devnet) and their MERIT."""
    s = settings(config, rpc=rpc, deployments=deployments)
    w3 = open_chain(s)
    unlocked = [str(a) for a in w3.eth.accounts]
    if addresses:
        print("\n".join(unlocked))
        return
    try:
        token = open_network(s).token
    except DeploymentError:
        token = None  # not deployed yet: addresses only
    rows = [{"address": a, "balance": token.balance_of(a) if token else None} for a in unlocked]
    if json_:
        emit(rows, True)
        return
    table = Table(title=f"unlocked accounts of {s.rpc}")
    table.add_column("address", overflow="fold")
    table.add_column("MERIT", justify="right", overflow="fold")
    for row in rows:
        table.add_row(row["address"], "-" if row["balance"] is None else format_merit(int(row["balance"])).removesuffix(" MERIT"))
    emit(rows, False, table)


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
    leaves: Annotated[Path | None, typer.Option("--leaves", help="A reward table (JSON: a StandardMerkleTree dump, a scores table or a list of leaves) to use instead of the one in the content store")] = None,
    store: Annotated[str | None, typer.Option("--store", help="Content store holding the published scores tables (default: the configured one).")] = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Per round: allocation, whether ADDRESS claimed, and its claimable amount with proof.

    The round's scores table comes from the content store (its CID is on chain) unless --leaves is given."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    current = int(queries.task_info(net, task_id)["current_round"])  # also rejects unknown tasks
    rounds = [round_number] if round_number else list(range(1, current + 1))
    entries: list[dict[str, object]] = []
    content = None if leaves else open_store(store or s.store, default_dir=state_dir() / "store")
    local = isinstance(content, EmbeddedStore)  # a miss there is final: no point retrying
    for r in rounds:
        try:
            table = queries.load_leaves(leaves) if leaves else scores_table(net, content, task_id, r, attempts=1 if local else 6)  # type: ignore[arg-type]
        except ContentNotFound as exc:
            where = "the embedded store" if local else "the content store"
            raise ContentNotFound(
                f"round {r}'s scores table is not in {where}: {exc}",
                hint="pass the store the aggregator published to (--store /ip4/127.0.0.1/tcp/5001 or MERITNET_STORE), or the table itself with --leaves",
            ) from None
        entries.extend(queries.rewards_info(net, address, task_id, [r], table)["rounds"])
    info = {"address": address, "task": task_id, "rounds": entries}
    emit(info if json_ else {f"round {r['round']}": r for r in info["rounds"]} | {"address": info["address"]}, json_)
