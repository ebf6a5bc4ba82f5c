"""``meritnet reputation`` and ``meritnet post-epoch``: MeritRank scores from the chain."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from web3 import Web3

from node.chain.reputation import edge_records, post_epoch, recompute_epoch
from node.cli.common import AccountOption, ConfigOption, DeploymentsOption, JsonOption, RpcOption, emit, open_network, sender_for, settings
from node.errors import ConfigError
from verifier.reputation.epoch import compute_epoch

WalksOption = Annotated[int, typer.Option("--walks", help="Random walks per ego (the protocol's default is 10,000).")]


def _address(value: str) -> str:
    if not Web3.is_address(value):
        raise ConfigError(f"{value!r} is not an Ethereum address", hint="expected 0x followed by 40 hex digits")
    return Web3.to_checksum_address(value)


def reputation(
    address: Annotated[str | None, typer.Argument(help="Show this address only (default: everyone with a score).")] = None,
    ego: Annotated[str | None, typer.Option("--ego", help="Compute from this ego over the current chain state.")] = None,
    epoch: Annotated[int | None, typer.Option("--epoch", help="Use a posted epoch: recompute it, check its root, prove scores on chain.")] = None,
    walks: WalksOption = 10_000,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """MeritRank reputation: from a posted epoch (checked against its root) or computed now from chain events."""
    if (ego is None) == (epoch is None):
        raise ConfigError("give exactly one of --ego (compute now) or --epoch (a posted epoch)")
    net = open_network(settings(config, rpc=rpc, deployments=deployments))
    if epoch is not None:
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
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Post a reputation epoch: finish the open one (started earlier and not posted) or start one,
    compute MeritRank with its on-chain seed, and post the root (needs POSTER_ROLE: the deployer's)."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    number, result = post_epoch(net, sender_for(s, net.w3, account), _address(ego), walks=walks)
    emit({"epoch": number, "ego": result.ego, "root": "0x" + result.root.hex(), "scores": len(result.fixed)}, json_)
