"""``meritnet devnet start|stop|status``: a local anvil chain (and optionally a js-ipfs node)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from node.chain import devnet as anvil
from node.cli.common import JsonOption, console, emit
from node.storage import ipfs_daemon

app = typer.Typer(help="Run a local anvil devnet and js-ipfs node (state in ./.meritnet/devnet, env MERITNET_HOME).", no_args_is_help=True)

PortOption = Annotated[int, typer.Option("--port", help="anvil's port on 127.0.0.1.")]
IpfsPortOption = Annotated[int, typer.Option("--ipfs-port", help="The IPFS RPC API port on 127.0.0.1.")]


def _status(port: int = anvil.DEFAULT_PORT, ipfs_port: int = ipfs_daemon.DEFAULT_IPFS_PORT) -> dict[str, Any]:
    return {"anvil": asdict(anvil.status(port=port)), "ipfs": asdict(ipfs_daemon.ipfs_status(port=ipfs_port))}


@app.command()
def start(
    port: PortOption = anvil.DEFAULT_PORT,
    accounts: Annotated[int, typer.Option(help="Unlocked dev accounts (the adversarial demo uses 16).")] = 20,
    ipfs: Annotated[bool, typer.Option("--ipfs/--no-ipfs", help="Also start a js-ipfs daemon (offline, loopback only).")] = False,
    ipfs_port: IpfsPortOption = ipfs_daemon.DEFAULT_IPFS_PORT,
    block_time: Annotated[float, typer.Option("--block-time", help="Seconds between blocks, so chain time moves as on a real chain (0: mine only on transactions).")] = 1.0,
    json_: JsonOption = False,
) -> None:
    """Start anvil (and with --ipfs a js-ipfs node) in the background; no-op for what already runs."""
    chain = anvil.start(port=port, accounts=accounts, block_time=block_time or None)
    node = ipfs_daemon.start_ipfs(port=ipfs_port) if ipfs else None
    if json_:
        emit(_status(port, ipfs_port), True)
        return
    console.print(f"anvil running at {chain.url} (pid {chain.pid}, chain id {chain.chain_id}, {f'a block every {block_time:g} s' if block_time else 'mining on demand'})")
    if node is not None:
        console.print(f"js-ipfs running, API {node.url} (pid {node.pid})")


@app.command()
def stop(json_: JsonOption = False) -> None:
    """Stop anvil and js-ipfs; the chain state is saved and restored on the next start."""
    stopped = {"anvil": anvil.stop(), "ipfs": ipfs_daemon.stop_ipfs()}
    if json_:
        emit({"stopped": stopped["anvil"], **{f"{k}_stopped": v for k, v in stopped.items()}}, True)
        return
    for name, was in stopped.items():
        console.print(f"{name} stopped" if was else f"{name} was not running")


@app.command()
def status(port: PortOption = anvil.DEFAULT_PORT, ipfs_port: IpfsPortOption = ipfs_daemon.DEFAULT_IPFS_PORT, json_: JsonOption = False) -> None:
    """Whether anvil runs (URL, chain id, block) and whether js-ipfs runs; exit 3 when anvil is down.

    Reports the ports of the last `devnet start` (running or stopped); --port/--ipfs-port only
    matter before any start."""
    data = _status(port, ipfs_port)
    emit(data["anvil"] | {"ipfs": data["ipfs"]}, json_)
    if not data["anvil"]["running"]:
        raise typer.Exit(3)
