"""Reputation on chain: rebuild the graph from ReputationEdge logs, post and check epochs."""

from __future__ import annotations

import json
import logging

from node.chain.deploy import Network
from node.chain.logs import logs_of
from node.chain.transactor import Sender
from node.errors import ConfigError
from node.storage import ContentStore
from verifier.reputation.epoch import EdgeRecord, EpochResult, compute_epoch, epoch_from_dump

__all__ = ["edge_records", "epoch_from_table", "post_epoch", "publish_epoch_table", "recompute_epoch"]

logger = logging.getLogger(__name__)


def edge_records(net: Network, to_block: int | str = "latest") -> list[EdgeRecord]:
    """Every ReputationEdge emitted by the deployment's contracts, in chain order."""
    start = min(rec.block for rec in net.deployment.contracts.values())
    records = []
    for client in (net.tasks, net.vault):
        for log in logs_of(net.w3, client.contract, "ReputationEdge", start, to_block):
            a = log["args"]
            records.append((log["blockNumber"], log["logIndex"], EdgeRecord(a["from"], a["to"], int(a["weight"]), int(log["blockNumber"]))))
    return [r for _, _, r in sorted(records, key=lambda t: (t[0], t[1]))]


def publish_epoch_table(store: ContentStore, result: EpochResult) -> bytes:
    """Store (and pin) the epoch's scores as a ``StandardMerkleTree.dump()``; its CID's bytes."""
    cid = store.put(json.dumps(result.tree.dump()).encode())
    store.pin(cid)
    return bytes(cid)


def post_epoch(net: Network, poster: Sender, ego: str, *, walks: int = 10_000, store: ContentStore | None = None) -> tuple[int, EpochResult]:
    """Start an epoch, compute MeritRank with its on-chain seed and snapshot, post the root
    (and, given a store, the CID of the scores table published there as a tree dump)."""
    epoch, _ = net.reputation.start_epoch(poster)
    info = net.reputation.get_epoch(epoch)
    result = compute_epoch(edge_records(net, info.snapshot_block), ego=ego, seed=info.seed, snapshot_block=info.snapshot_block, walks=walks)
    table_cid = publish_epoch_table(store, result) if store is not None else b""
    net.reputation.post_epoch(poster, epoch, result.ego, result.root, table_cid)
    logger.info("posted reputation epoch %s (%d scores)", epoch, len(result.fixed))
    return epoch, result


def recompute_epoch(net: Network, epoch: int, *, walks: int = 10_000) -> EpochResult:
    """Recompute a posted epoch from chain data alone and check it against the posted root."""
    latest = net.reputation.latest_epoch()
    if not 1 <= epoch <= latest:
        raise ConfigError(f"reputation epoch {epoch} does not exist", hint=f"epochs so far: 1..{latest}" if latest else "no epoch started yet")
    info = net.reputation.get_epoch(epoch)
    if not info.posted:
        raise ConfigError(f"reputation epoch {epoch} is started but not posted yet")
    result = compute_epoch(edge_records(net, info.snapshot_block), ego=info.ego, seed=info.seed, snapshot_block=info.snapshot_block, walks=walks)
    if result.root != info.root:
        raise ConfigError(
            f"epoch {epoch}: the posted root 0x{info.root.hex()} does not match the recomputation 0x{result.root.hex()}",
            hint="the poster used other edges, seed or parameters (walks) than the protocol's",
        )
    return result


def epoch_from_table(net: Network, epoch: int, data: object) -> EpochResult:
    """A posted epoch's scores from its published table (a tree dump), checked against the
    posted root instead of recomputed."""
    latest = net.reputation.latest_epoch()
    if not 1 <= epoch <= latest:
        raise ConfigError(f"reputation epoch {epoch} does not exist", hint=f"epochs so far: 1..{latest}" if latest else "no epoch started yet")
    info = net.reputation.get_epoch(epoch)
    if not info.posted:
        raise ConfigError(f"reputation epoch {epoch} is started but not posted yet")
    try:
        result = epoch_from_dump(data, info.ego)
    except ValueError as exc:
        raise ConfigError(f"not a reputation table: {exc}", hint='expected a StandardMerkleTree dump with leafEncoding ["address", "int256"]') from exc
    if result.root != info.root:
        raise ConfigError(f"epoch {epoch}: the table's root 0x{result.root.hex()} is not the posted root 0x{info.root.hex()}",
                          hint="the table belongs to another epoch, or was altered")  # fmt: skip
    return result
