"""``meritnet devnet start|stop|status``: a local anvil chain with persisted state."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from node.chain import devnet as anvil
from node.cli.common import JsonOption, console, emit

app = typer.Typer(help="Run a local anvil devnet (state kept in ./.meritnet/devnet, env MERITNET_HOME).", no_args_is_help=True)

PortOption = Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")]


@app.command()
def start(port: PortOption = anvil.DEFAULT_PORT, accounts: int = typer.Option(10, help="Unlocked dev accounts."), json_: JsonOption = False) -> None:
    """Start anvil in the background (no-op when it already runs)."""
    status_ = anvil.start(port=port, accounts=accounts)
    if not json_:
        console.print(f"anvil running at {status_.url} (pid {status_.pid}, chain id {status_.chain_id})")
        return
    emit(asdict(status_), True)


@app.command()
def stop(json_: JsonOption = False) -> None:
    """Stop anvil; its chain state is saved and restored on the next start."""
    stopped = anvil.stop()
    if json_:
        emit({"stopped": stopped}, True)
    else:
        console.print("anvil stopped" if stopped else "anvil was not running")


@app.command()
def status(port: PortOption = anvil.DEFAULT_PORT, json_: JsonOption = False) -> None:
    """Whether anvil runs, its URL, chain id and block number."""
    status_ = anvil.status(port=port)
    emit(asdict(status_), json_)
    if not status_.running:
        raise typer.Exit(3)
