"""Reputation on chain: rebuild the graph from ReputationEdge logs, post and check epochs."""

from __future__ import annotations

import json
import logging

from node.chain.deploy import Network
from node.chain.logs import logs_of
from node.chain.transactor import Sender, address_of
from node.errors import ConfigError
from node.storage import ContentStore
from verifier.reputation.epoch import EdgeRecord, EpochResult, compute_epoch, epoch_from_dump

__all__ = ["edge_records", "epoch_from_table", "open_epoch", "post_epoch", "publish_epoch_table", "recompute_epoch"]

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


def open_epoch(net: Network) -> int | None:
    """The started epoch still waiting for its root (not posted, post window not passed), if any."""
    latest = net.reputation.latest_epoch()
    if latest == 0:
        return None
    info = net.reputation.get_epoch(latest)
    now = int(net.w3.eth.get_block("latest")["timestamp"])
    return None if info.posted or info.expired(now) else latest


def post_epoch(net: Network, poster: Sender, ego: str, *, walks: int = 10_000, store: ContentStore | None = None) -> tuple[int, EpochResult]:
    """Post the next reputation epoch: finish the open one if someone started it (a failed
    earlier try, or anyone else), else start one; compute MeritRank with the epoch's on-chain
    seed and snapshot and post the root (and, given a store, the CID of the scores table
    published there as a tree dump). Checks ``poster`` holds POSTER_ROLE before anything."""
    who = address_of(poster)
    if not net.reputation.is_poster(who):
        raise ConfigError(
            f"{who} does not hold the reputation oracle's POSTER_ROLE",
            hint="`meritnet deploy` grants it to the deployer (or to `--poster ADDRESS`); post as that account with --account, or have the admin grant it",
        )
    epoch = open_epoch(net)
    if epoch is None:
        epoch, _ = net.reputation.start_epoch(poster)
    else:
        logger.info("finishing reputation epoch %s, started earlier and not posted yet", epoch)
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
        now = int(net.w3.eth.get_block("latest")["timestamp"])
        if info.expired(now):
            raise ConfigError(f"reputation epoch {epoch} expired without a root", hint=f"use a later epoch (latest: {latest})")
        raise ConfigError(f"reputation epoch {epoch} is started but not posted yet", hint="post it with `meritnet post-epoch --ego OWNER` (POSTER_ROLE)")
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
