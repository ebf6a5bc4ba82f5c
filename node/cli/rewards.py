"""``meritnet rewards``: each trainer's score breakdown per round, from the published scores tables."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from node.cli.common import ConfigOption, DeploymentsOption, JsonOption, RpcOption, emit, open_network, settings
from node.errors import ConfigError
from node.paths import state_dir
from node.roles.common import scores_table_json
from node.storage import open_store
from node.units import format_merit

COLUMNS = ("round", "account", "score", "kept", "reason", "copy_suspect", "similarity", "ema", "reputation", "amount")


def rewards(
    address: Annotated[str | None, typer.Argument(help="Only this trainer (0x address); default: everyone.")] = None,
    task_id: Annotated[int, typer.Option("--task", help="Task id.")] = 1,
    round_number: Annotated[int | None, typer.Option("--round", help="One round (default: every scored round).")] = None,
    store: Annotated[str | None, typer.Option("--store", help="Content store holding the scores tables (default: the configured one).")] = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Score breakdown per trainer and round: loss improvement, robust-filter verdict, copy check,
    similarity weight, EMA, reputation and reward."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    if not 1 <= task_id <= net.tasks.task_count():
        raise ConfigError(f"no task {task_id}", hint=f"tasks so far: 1..{net.tasks.task_count()}")
    content = open_store(store or s.store, default_dir=state_dir() / "store")
    current = net.tasks.get_task(task_id).current_round
    rows: list[dict[str, Any]] = []
    for r in [round_number] if round_number else range(1, current + 1):
        table = scores_table_json(net, content, task_id, r)
        for entry in (table or {}).get("entries", []):
            if address is None or entry["account"].lower() == address.lower():
                rows.append({"round": r, **{k: entry.get(k) for k in COLUMNS if k != "round"}})
    out = Table(title=f"task {task_id} rewards")
    for col in COLUMNS:
        out.add_column("MERIT" if col == "amount" else col, overflow="fold", justify="right" if col in ("score", "amount") else "left")
    for row in rows:
        out.add_row(*(_cell(c, row[c]) for c in COLUMNS))
    emit(rows, json_, out)


def _cell(column: str, value: Any) -> str:
    if column == "amount" and isinstance(value, int):
        return format_merit(value).removesuffix(" MERIT")
    return f"{value:.4f}" if isinstance(value, float) else str(value)
