"""``meritnet demo``: the main job, on the embedded default (in-process chain)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from node.chain.provider import DEFAULT_URI, connect
from node.cli.common import JsonOption, console, emit, kv_table
from node.walkthrough import TOKEN, run_walkthrough


def demo(
    trainers: Annotated[int, typer.Option(min=1, max=8, help="Number of trainers.")] = 3,
    rpc: Annotated[str, typer.Option("--rpc", help="Chain to run on (default: in process).")] = DEFAULT_URI,
    json_: JsonOption = False,
) -> None:
    """Deploy, stake, create a task, run one round (commit, reveal, score, finalize, claim),
    post a reputation epoch, and print the state."""
    w3 = connect(rpc)
    with console.status("starting", spinner="dots") as status:
        report = run_walkthrough(w3, trainers=trainers, progress=lambda msg: (status.update(msg), None if json_ else console.log(msg)))
    if json_:
        emit(report, True)
        return
    console.print(kv_table(report["deployment"]["contracts"], title="contracts"))
    task = report["task"]
    console.print(kv_table({k: task[k] for k in ("task_id", "owner", "current_round", "budget", "unallocated", "complete")}, title="task"))
    rnd = report["round"]
    console.print(kv_table({k: rnd[k] for k in ("phase", "commits", "reveals", "total_reward", "claimed_total", "scores_root")}, title="round 1"))
    table = Table(title="participants")
    for col in ("address", "role", "stake", "balance (MERIT)", "reward (MERIT)"):
        table.add_column(col)
    paid = {r["account"]: r["amount"] for r in report["rewards"]}
    reputation = report["reputation"]["scores"]
    table.add_column(f"reputation (epoch {report['reputation']['epoch']})")
    for acct in report["accounts"]:
        table.add_row(
            acct["address"], acct["role"], f"{acct['stake'] / TOKEN:g}", f"{acct['token_balance'] / TOKEN:.4f}",
            f"{paid.get(acct['address'], 0) / TOKEN:.4f}", f"{reputation.get(acct['address'], 0.0):.4f}",
        )  # fmt: skip
    console.print(table)
