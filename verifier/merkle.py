"""Merkle trees that match OpenZeppelin's ``MerkleProof`` (sorted-pair keccak256).

Pure functions, no I/O. Reward leaves are
``keccak256(bytes.concat(keccak256(abi.encode(account, score, amount))))`` as in
IRewardVault; the tree sorts the leaf hashes, hashes each pair in sorted order, and carries an
odd node up unchanged, so any proof checks with ``MerkleProof.verify``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

__all__ = ["RewardLeaf", "SortedMerkleTree", "reward_leaf_hash", "verify_sorted_proof"]


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
