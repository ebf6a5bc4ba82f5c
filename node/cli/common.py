"""What every command shares: options, settings, output as a table or JSON."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from web3 import Web3
from web3.exceptions import Web3Exception

from node.chain.deploy import Network, load_deployment
from node.chain.provider import connect, is_in_process
from node.chain.transactor import Sender
from node.config import Settings, load_settings
from node.errors import ConfigError, DeploymentError
from node.units import AMOUNT_FIELDS, format_merit

__all__ = [
    "AccountOption",
    "ConfigOption",
    "DeploymentsOption",
    "JsonOption",
    "RpcOption",
    "console",
    "default_sender",
    "emit",
    "err_console",
    "open_chain",
    "open_network",
    "sender_for",
    "settings",
]  # fmt: skip

console = Console()
err_console = Console(stderr=True)

RpcOption = Annotated[str | None, typer.Option("--rpc", help="JSON-RPC URI: eth-tester:// (in process) or http://host:port. Env: MERITNET_RPC.")]
DeploymentsOption = Annotated[Path | None, typer.Option("--deployments", help="Folder of deployment records <chain-id>.json. Env: MERITNET_DEPLOYMENTS.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML config file (default ./meritnet.toml). Env: MERITNET_CONFIG.")]
AccountOption = Annotated[str | None, typer.Option("--account", help="Act as this unlocked account of the node (devnets); else the configured key.")]


def settings(config: Path | None = None, **overrides: Any) -> Settings:
    return load_settings(config).with_overrides(**{k: (str(v) if isinstance(v, Path) else v) for k, v in overrides.items()})


def open_chain(s: Settings) -> Web3:
    return connect(s.rpc)


def open_network(s: Settings) -> Network:
    w3 = open_chain(s)
    if is_in_process(w3):
        raise DeploymentError(
            "the in-process chain (eth-tester://) starts empty in every command",
            hint="use `meritnet demo`, or run a devnet (`meritnet devnet start`) and pass --rpc http://127.0.0.1:8545",
        )
    return load_deployment(w3, s.deployments_dir)


def default_sender(w3: Web3, s: Settings) -> Sender:
    """The configured key, else the node's first unlocked account."""
    account = s.account()
    if account is not None:
        return account
    accounts = w3.eth.accounts
    if not accounts:
        raise ConfigError("the node holds no unlocked account", hint="set MERITNET_PRIVATE_KEY or private_key_file")
    return str(accounts[0])


def sender_for(s: Settings, w3: Web3, account: str | None) -> Sender:
    """``--account`` (an account the node must hold unlocked), else :func:`default_sender`."""
    if account is None:
        return default_sender(w3, s)
    if not w3.is_address(account):
        raise ConfigError(f"--account {account!r} is not an Ethereum address", hint="expected 0x followed by 40 hex digits")
    address = str(w3.to_checksum_address(account))
    if is_in_process(w3):
        return address
    try:
        unlocked = {str(a).lower() for a in w3.eth.accounts}
    except (Web3Exception, OSError, ValueError):  # a node without eth_accounts holds no keys for us
        unlocked = set()
    if address.lower() not in unlocked:
        raise ConfigError(
            f"the node at {s.rpc} cannot sign for {address}: it is not one of its unlocked accounts",
            hint="pick an address from `meritnet query accounts`, or drop --account and set MERITNET_PRIVATE_KEY / private_key_file",
        )
    return address


def emit(data: Any, as_json: bool, table: Table | None = None) -> None:
    """Print ``data`` as JSON, or ``table`` (or a key/value table of ``data``)."""
    if as_json:
        print(json.dumps(data, indent=None if os.environ.get("MERITNET_COMPACT_JSON") else 2))
        return
    if table is None:
        table = kv_table(data)
    console.print(table)


def kv_table(data: dict[str, Any] | list[Any], title: str | None = None) -> Table:
    """A two-column table (field, value); amounts in MERIT; long values wrap instead of being cut."""
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold", overflow="fold")
    table.add_column("value", overflow="fold")
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        table.add_row(str(key), _show(value, str(key)))
    return table


def _show(value: Any, key: str = "") -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v, str(k))}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_show(v, key) for v in value) if value else "-"
    if type(value) is int and key in AMOUNT_FIELDS:
        return format_merit(value)
    return str(value)


LOG_FORMATS = ("text", "json")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per log line: time (UTC, ISO 8601), level, logger, message[, exception]."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out)


def setup_logging(debug: bool, log_format: str = "text") -> None:
    """Logs to stderr at MERITNET_LOGLEVEL (default WARNING; DEBUG with --debug), as text or JSON lines."""
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"--log-format {log_format!r} is not one of {', '.join(LOG_FORMATS)}", hint="use --log-format text or --log-format json")
    level = "DEBUG" if debug else os.environ.get("MERITNET_LOGLEVEL", "WARNING").upper()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter() if log_format == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
