"""``meritnet reputation`` and ``meritnet post-epoch``: MeritRank scores from the chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from web3 import Web3

from node.chain.reputation import edge_records, epoch_from_table, post_epoch, recompute_epoch
from node.cli.common import (
    AccountOption,
    ConfigOption,
    DeploymentsOption,
    JsonOption,
    RpcOption,
    emit,
    open_network,
    sender_for,
    settings,
)
from node.errors import ConfigError
from node.paths import state_dir
from node.storage import as_cid, open_store
from verifier.reputation.epoch import compute_epoch

WalksOption = Annotated[int, typer.Option("--walks", help="Random walks per ego (the protocol's default is 10,000).")]
StoreOption = Annotated[str | None, typer.Option("--store", help="Content store for the epochs' scores tables (default: the configured one).")]


def _read_table(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the reputation table {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path} is not JSON: {exc}", hint="expected a StandardMerkleTree dump") from exc


def _address(value: str) -> str:
    if not Web3.is_address(value):
        raise ConfigError(f"{value!r} is not an Ethereum address", hint="expected 0x followed by 40 hex digits")
    return Web3.to_checksum_address(value)


def reputation(
    address: Annotated[str | None, typer.Argument(help="Show this address only (default: everyone with a score).")] = None,
    ego: Annotated[str | None, typer.Option("--ego", help="Compute from this ego over the current chain state.")] = None,
    epoch: Annotated[int | None, typer.Option("--epoch", help="Use a posted epoch: recompute it, check its root, prove scores on chain.")] = None,
    table_file: Annotated[Path | None, typer.Option("--table", help="With --epoch: read the epoch's scores from this table (a StandardMerkleTree dump) instead of recomputing.")] = None,
    published: Annotated[bool, typer.Option("--published", help="With --epoch: read the scores table the poster published (its CID is on chain) instead of recomputing.")] = False,
    walks: WalksOption = 10_000,
    store: StoreOption = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """MeritRank reputation: from a posted epoch (recomputed, or read from its published table; checked against its root) or computed now from chain events."""
    if (ego is None) == (epoch is None):
        raise ConfigError("give exactly one of --ego (compute now) or --epoch (a posted epoch)")
    if (table_file is not None or published) and epoch is None:
        raise ConfigError("--table and --published need --epoch")
    if table_file is not None and published:
        raise ConfigError("give at most one of --table and --published")
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    if epoch is not None and table_file is not None:
        result = epoch_from_table(net, epoch, _read_table(table_file))
        source = f"epoch {epoch} (table {table_file.name}, root verified)"
    elif epoch is not None and published:
        cid = net.reputation.get_epoch(epoch).scores_cid if 1 <= epoch <= net.reputation.latest_epoch() else b""
        if not cid:
            raise ConfigError(f"reputation epoch {epoch} has no published scores table", hint="read it with --epoch alone (recomputed from chain)")
        content = open_store(store or s.store, default_dir=state_dir() / "store")
        result = epoch_from_table(net, epoch, json.loads(content.get(as_cid(cid))))
        source = f"epoch {epoch} (published table {as_cid(cid)}, root verified)"
    elif epoch is not None:
        result = recompute_epoch(net, epoch, walks=walks)
        source = f"epoch {epoch} (root verified)"
    else:
        block = net.w3.eth.block_number
        result = compute_epoch(edge_records(net, block), ego=_address(ego or ""), seed=b"\x00" * 32, snapshot_block=block, walks=walks)
        source = f"computed now at block {block} (seed 0, not posted)"
    rows = sorted(result.scores.items(), key=lambda kv: -kv[1])
    if address is not None:
        who = _address(address)
        rows = [(a, s) for a, s in rows if a == who] or [(who, 0.0)]
    entries = []
    for account, score in rows:
        entry: dict[str, object] = {"address": account, "score": score, "fixed": result.fixed.get(account, 0)}
        if epoch is not None and account in result.fixed:
            proof = result.proof(account)
            entry["proof"] = ["0x" + p.hex() for p in proof]
            entry["verified_on_chain"] = net.reputation.verify_score(epoch, account, result.fixed[account], proof)
        entries.append(entry)
    data = {"ego": result.ego, "source": source, "root": "0x" + result.root.hex(), "scores": entries}
    table = Table(title=f"reputation from {result.ego} — {source}")
    table.add_column("address", overflow="fold")
    table.add_column("score", justify="right")
    if epoch is not None:
        table.add_column("proof on chain")
    for e in entries:
        table.add_row(str(e["address"]), f"{e['score']:.4f}", *([str(e.get("verified_on_chain", "-"))] if epoch is not None else []))
    emit(data, json_, table)


def post_epoch_command(
    ego: Annotated[str, typer.Option("--ego", help="The ego of the epoch (a task owner).")],
    walks: WalksOption = 10_000,
    account: AccountOption = None,
    store: StoreOption = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Post a reputation epoch: finish the open one (started earlier and not posted) or start one,
    compute MeritRank with its on-chain seed, publish the scores table (a StandardMerkleTree dump)
    in the content store and post the root and its CID (needs POSTER_ROLE: the deployer's)."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    sender = sender_for(s, net.w3, account)
    content = open_store(store or s.store, default_dir=state_dir() / "store")
    number, result = post_epoch(net, sender, _address(ego), walks=walks, store=content)
    table_cid = net.reputation.get_epoch(number).scores_cid
    emit({"epoch": number, "ego": result.ego, "root": "0x" + result.root.hex(), "scores": len(result.fixed), "table": str(as_cid(table_cid))}, json_)
