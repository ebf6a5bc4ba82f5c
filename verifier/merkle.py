"""Merkle trees: reward and reputation tables (OpenZeppelin-compatible, sorted-pair
keccak256) and training traces (positional sha256, :class:`TraceTree`).

Pure functions, no I/O. Reward leaves are
``keccak256(bytes.concat(keccak256(abi.encode(account, score, amount))))`` as in
IRewardVault; the tree sorts the leaf hashes, hashes each pair in sorted order, and carries an
odd node up unchanged, so any proof checks with ``MerkleProof.verify``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

__all__ = ["RewardLeaf", "SortedMerkleTree", "TraceTree", "reward_leaf_hash", "verify_sorted_proof", "verify_trace_proof"]


@dataclass(frozen=True)
class RewardLeaf:
    """One (trainer, score, reward) entry of a round's scores table."""

    account: str
    score: int  # int256, units of 1e-18
    amount: int  # token units

    def hash(self) -> bytes:
        return reward_leaf_hash(self.account, self.score, self.amount)


def reward_leaf_hash(account: str, score: int, amount: int) -> bytes:
    """The leaf hash IRewardVault checks for a claim."""
    inner = keccak(encode(["address", "int256", "uint256"], [to_checksum_address(account), score, amount]))
    return keccak(inner)


def _hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


class SortedMerkleTree:
    """A tree over 32-byte leaf hashes with OpenZeppelin-compatible proofs."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        if any(len(leaf) != 32 for leaf in leaves):
            raise ValueError("leaves must be 32-byte hashes")
        if len(set(leaves)) != len(leaves):
            raise ValueError("duplicate leaves")
        layer = sorted(leaves)
        self._layers: list[list[bytes]] = [layer]
        while len(layer) > 1:
            layer = [
                _hash_pair(layer[i], layer[i + 1]) if i + 1 < len(layer) else layer[i] for i in range(0, len(layer), 2)
            ]
            self._layers.append(layer)
        self._index = {leaf: i for i, leaf in enumerate(self._layers[0])}

    @property
    def root(self) -> bytes:
        return self._layers[-1][0]

    def proof(self, leaf: bytes) -> list[bytes]:
        """Sibling hashes from ``leaf`` to the root."""
        try:
            index = self._index[leaf]
        except KeyError:
            raise KeyError("leaf is not in the tree") from None
        proof = []
        for layer in self._layers[:-1]:
            sibling = index ^ 1
            if sibling < len(layer):
                proof.append(layer[sibling])
            index //= 2
        return proof


def verify_sorted_proof(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """What ``MerkleProof.verify`` computes."""
    node = leaf
    for sibling in proof:
        node = _hash_pair(node, sibling)
    return node == root


class TraceTree:
    """A positional sha256 Merkle tree over state hashes ``[S_0 .. S_K]``.

    The leaves are the 32-byte hashes themselves, padded with zero hashes to a power of two;
    a node is ``sha256(left || right)``. Position matters (a dispute asks for ``S_m`` at index
    ``m``), so pairs are not sorted.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a trace needs at least one state hash")
        if any(len(leaf) != 32 for leaf in leaves):
            raise ValueError("state hashes must be 32 bytes")
        size = 1
        while size < len(leaves):
            size *= 2
        layer = list(leaves) + [b"\x00" * 32] * (size - len(leaves))
        self.count = len(leaves)
        self._layers = [layer]
        while len(layer) > 1:
            layer = [hashlib.sha256(layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
            self._layers.append(layer)

    @property
    def root(self) -> bytes:
        return self._layers[-1][0]

    def proof(self, index: int) -> list[bytes]:
        if not 0 <= index < self.count:
            raise IndexError(f"no state hash at index {index} (trace of {self.count})")
        proof = []
        for layer in self._layers[:-1]:
            proof.append(layer[index ^ 1])
            index //= 2
        return proof


def verify_trace_proof(leaf: bytes, index: int, proof: Sequence[bytes], root: bytes) -> bool:
    node = leaf
    for sibling in proof:
        node = hashlib.sha256(sibling + node if index & 1 else node + sibling).digest()
        index //= 2
    return node == root
