"""``meritnet status``: what a trainer node is doing and waiting for (journal + chain)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.chain.transactor import address_of
from node.cli.common import AccountOption, ConfigOption, DeploymentsOption, JsonOption, RpcOption, emit, open_network, sender_for, settings
from node.errors import ConfigError
from node.paths import state_dir
from node.status import journal_path, node_status
from node.storage import open_store


def status(
    task: Annotated[int, typer.Option("--task", help="Task id.")] = 1,
    journal: Annotated[Path | None, typer.Option(help="The node's journal folder (its --journal). Default ./.meritnet/trainer.")] = None,
    address: Annotated[str | None, typer.Option("--address", help="The node's address (default: --account or the configured key).")] = None,
    store: Annotated[str | None, typer.Option("--store", help="Content store holding the scores tables (for unclaimed amounts).")] = None,
    account: AccountOption = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """A node's identity, stake (locked and free), task and round, phase and deadline, next
    action, pending transactions, open disputes and unclaimed rewards. Reads the journal, never
    writes it."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    if not 1 <= task <= net.tasks.task_count():
        raise ConfigError(f"no task {task} on chain {net.deployment.chain_id}", hint=f"tasks so far: 1..{net.tasks.task_count()}")
    if address is not None:
        if not net.w3.is_address(address):
            raise ConfigError(f"--address {address!r} is not an Ethereum address", hint="expected 0x followed by 40 hex digits")
        who = str(net.w3.to_checksum_address(address))
    else:
        who = address_of(sender_for(s, net.w3, account))
    folder = journal or state_dir() / "trainer"
    content = open_store(store or s.store, default_dir=state_dir() / "store")
    emit(node_status(net, content, task, who, journal_path(folder, task, who)), json_)
