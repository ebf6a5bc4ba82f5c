"""Reputation epochs as data: the graph from edge records, fixed-point scores, the leaves.

Pure functions, so that a poster and any checker compute the same root from the same inputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from verifier.merkle import REPUTATION_ENCODING, StandardMerkleTree, is_tree_dump
from verifier.reputation.meritrank import MeritRank

__all__ = ["EdgeRecord", "EpochResult", "aggregate_edges", "compute_epoch", "epoch_from_dump", "score_leaf_hash", "to_fixed", "WEIGHT_UNIT"]

WEIGHT_UNIT = 10**18  # on-chain weights and scores are fixed point with 18 decimals


@dataclass(frozen=True)
class EdgeRecord:
    """One ReputationEdge event."""

    src: str
    dst: str
    weight: int  # units of 1e-18
    block: int


@dataclass(frozen=True)
class EpochResult:
    ego: str
    scores: dict[str, float]
    fixed: dict[str, int]
    tree: StandardMerkleTree  # rows (account, fixed score), as @openzeppelin/merkle-tree builds them

    @property
    def root(self) -> bytes:
        return self.tree.root

    def proof(self, account: str) -> list[bytes]:
        account = to_checksum_address(account)
        return self.tree.proof((account, self.fixed[account]))


def to_fixed(score: float) -> int:
    """A float score as the int256 the oracle stores (round half to even, deterministic)."""
    return round(score * WEIGHT_UNIT)


def score_leaf_hash(account: str, score: int) -> bytes:
    return keccak(keccak(encode(["address", "int256"], [to_checksum_address(account), score])))


def aggregate_edges(records: Iterable[EdgeRecord], up_to_block: int | None = None) -> list[tuple[str, str, float]]:
    """Sum the weights of each (src, dst) pair among records up to ``up_to_block``."""
    totals: dict[tuple[str, str], int] = {}
    for r in records:
        if up_to_block is not None and r.block > up_to_block:
            continue
        key = (to_checksum_address(r.src), to_checksum_address(r.dst))
        totals[key] = totals.get(key, 0) + r.weight
    return [(s, d, w / WEIGHT_UNIT) for (s, d), w in sorted(totals.items()) if w != 0]


def compute_epoch(records: Iterable[EdgeRecord], *, ego: str, seed: bytes, snapshot_block: int, walks: int = 10_000,
                  alpha: float = 0.15, beta: float = 0.0) -> EpochResult:  # fmt: skip
    """MeritRank from ``ego`` over the edges up to ``snapshot_block``, seeded by ``seed``."""
    ego = to_checksum_address(ego)
    edges = aggregate_edges(records, snapshot_block)
    mr = MeritRank(edges, alpha=alpha, walks=walks, beta=beta, seed=int.from_bytes(seed, "big"))
    scores = mr.scores(ego) if ego in mr.nodes else {ego: 1.0}
    fixed = {str(a): to_fixed(s) for a, s in scores.items()}
    tree = StandardMerkleTree.of(sorted(fixed.items()), REPUTATION_ENCODING)
    return EpochResult(ego, {str(a): s for a, s in scores.items()}, fixed, tree)


def epoch_from_dump(data: object, ego: str) -> EpochResult:
    """An epoch's scores from its published table, a ``StandardMerkleTree.dump()`` with
    leafEncoding ``["address", "int256"]`` (checked in full; raises ValueError)."""
    if not is_tree_dump(data):
        raise ValueError('expected a StandardMerkleTree dump (format "standard-v1")')
    tree = StandardMerkleTree.load(data)  # type: ignore[arg-type]
    if tree.leaf_encoding != REPUTATION_ENCODING:
        raise ValueError(f"the tree's leafEncoding is {list(tree.leaf_encoding)}, not a reputation table's {list(REPUTATION_ENCODING)}")
    fixed = {str(a): int(v) for a, v in tree.rows}
    return EpochResult(to_checksum_address(ego), {a: v / WEIGHT_UNIT for a, v in fixed.items()}, fixed, tree)
