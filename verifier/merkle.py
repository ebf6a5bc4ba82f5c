"""Merkle trees: reward and reputation tables (built exactly as OpenZeppelin's
``@openzeppelin/merkle-tree`` ``StandardMerkleTree`` builds them) and training traces
(positional sha256, :class:`TraceTree`).

Pure functions, no I/O. A table row (``["address", "int256", "uint256"]`` for rewards,
``["address", "int256"]`` for reputation) becomes the leaf
``keccak256(keccak256(abi.encode(row)))``, the hash IRewardVault and IReputationOracle check.
The tree is StandardMerkleTree's:

- the leaf hashes sorted ascending (as unsigned big-endian numbers);
- a complete binary tree in one array of ``2n - 1`` nodes: node ``i`` has children
  ``2i + 1`` and ``2i + 2``, the root is node 0, and the i-th sorted leaf is node ``2n - 2 - i``
  (so the leaves fill the array from the end, in reverse);
- an inner node is ``keccak256`` of its two children in sorted order (as ``MerkleProof`` expects);
- a proof lists the siblings from the leaf up to (not including) the root.

So roots and proofs equal the library's for any number of rows, and
:meth:`StandardMerkleTree.dump` writes the library's ``standard-v1`` JSON, which
``StandardMerkleTree.load`` reads (and :meth:`StandardMerkleTree.load` reads the library's).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import is_address, keccak, to_checksum_address

__all__ = [
    "REPUTATION_ENCODING",
    "REWARD_ENCODING",
    "DUMP_FORMAT",
    "RewardLeaf",
    "SortedMerkleTree",
    "StandardMerkleTree",
    "TraceTree",
    "is_tree_dump",
    "reward_leaf_hash",
    "reward_leaves",
    "standard_leaf_hash",
    "verify_sorted_proof",
    "verify_trace_proof",
]

REWARD_ENCODING: tuple[str, ...] = ("address", "int256", "uint256")
"""A reward row: (trainer, score in units of 1e-18, reward in token units)."""
REPUTATION_ENCODING: tuple[str, ...] = ("address", "int256")
"""A reputation row: (account, score in units of 1e-18)."""
DUMP_FORMAT = "standard-v1"


@dataclass(frozen=True)
class RewardLeaf:
    """One (trainer, score, reward) entry of a round's scores table."""

    account: str
    score: int  # int256, units of 1e-18
    amount: int  # token units

    def hash(self) -> bytes:
        return reward_leaf_hash(self.account, self.score, self.amount)

    def row(self) -> tuple[str, int, int]:
        return (to_checksum_address(self.account), self.score, self.amount)


def standard_leaf_hash(leaf_encoding: Sequence[str], row: Sequence[Any]) -> bytes:
    """``keccak256(keccak256(abi.encode(row)))``: StandardMerkleTree's leaf."""
    return keccak(keccak(encode(list(leaf_encoding), list(row))))


def reward_leaf_hash(account: str, score: int, amount: int) -> bytes:
    """The leaf hash IRewardVault checks for a claim."""
    return standard_leaf_hash(REWARD_ENCODING, (to_checksum_address(account), score, amount))


def _hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def _make_tree(leaves: Sequence[bytes]) -> list[bytes]:
    """The node array over ``leaves`` (already in leaf order): leaf ``i`` at ``2n - 2 - i``."""
    n = len(leaves)
    tree: list[bytes] = [b""] * (2 * n - 1)
    for i, leaf in enumerate(leaves):
        tree[len(tree) - 1 - i] = leaf
    for i in range(len(tree) - 1 - n, -1, -1):
        tree[i] = _hash_pair(tree[2 * i + 1], tree[2 * i + 2])
    return tree


def _is_leaf_index(tree: Sequence[bytes], index: int) -> bool:
    return 0 <= index < len(tree) and 2 * index + 1 >= len(tree)


def _proof(tree: Sequence[bytes], index: int) -> list[bytes]:
    """Siblings of node ``index`` up to the root."""
    proof = []
    while index > 0:
        proof.append(tree[index + 1 if index % 2 else index - 1])
        index = (index - 1) // 2
    return proof


def _is_valid_tree(tree: Sequence[bytes]) -> bool:
    """Every node 32 bytes, every inner node the hash of its children, no half-filled node."""
    size = len(tree)
    for i, node in enumerate(tree):
        if len(node) != 32:
            return False
        left, right = 2 * i + 1, 2 * i + 2
        if right >= size:
            if left < size:
                return False
        elif node != _hash_pair(tree[left], tree[right]):
            return False
    return size > 0


class SortedMerkleTree:
    """StandardMerkleTree's tree over 32-byte leaf hashes (sorted, complete binary layout).

    The tree depends only on the set of leaf hashes, not on their order.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        if any(len(leaf) != 32 for leaf in leaves):
            raise ValueError("leaves must be 32-byte hashes")
        if len(set(leaves)) != len(leaves):
            raise ValueError("duplicate leaves")
        ordered = sorted(leaves)
        self.nodes: list[bytes] = _make_tree(ordered)
        self._index = {leaf: len(self.nodes) - 1 - i for i, leaf in enumerate(ordered)}

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    def tree_index(self, leaf: bytes) -> int:
        """Where ``leaf`` sits in :attr:`nodes` (the dump's ``treeIndex``)."""
        try:
            return self._index[leaf]
        except KeyError:
            raise KeyError("leaf is not in the tree") from None

    def proof(self, leaf: bytes) -> list[bytes]:
        """Sibling hashes from ``leaf`` to the root (what ``getProof`` returns)."""
        return _proof(self.nodes, self.tree_index(leaf))


def verify_sorted_proof(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """What ``MerkleProof.verify`` computes."""
    node = leaf
    for sibling in proof:
        node = _hash_pair(node, sibling)
    return node == root


_INT = re.compile(r"^u?int(\d*)$")
_BYTES = re.compile(r"^bytes(\d*)$")
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")


def _to_json(kind: str, value: Any) -> Any:
    """A row value as the library's dump holds it: addresses checksummed, integers as decimal
    strings (exact in JavaScript), bytes as 0x-hex."""
    if kind == "address":
        return to_checksum_address(value)
    if _INT.match(kind):
        return str(int(value))
    if _BYTES.match(kind):
        return "0x" + bytes(value).hex()
    if kind in ("bool", "string"):
        return value
    raise ValueError(f"leaf type {kind!r} is not supported (address, intN, uintN, bool, bytesN, bytes, string are)")


def _from_json(kind: str, value: Any) -> Any:
    if kind == "address":
        if not isinstance(value, str) or not is_address(value):
            raise ValueError(f"{value!r} is not an address")
        return to_checksum_address(value)
    if _INT.match(kind):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"{value!r} is not an integer")
        return int(value, 0) if isinstance(value, str) and value.lower().lstrip("-").startswith("0x") else int(value)
    if _BYTES.match(kind):
        if not isinstance(value, str) or not value.startswith("0x"):
            raise ValueError(f"{value!r} is not 0x-hex bytes")
        return bytes.fromhex(value[2:])
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "string" and isinstance(value, str):
        return value
    raise ValueError(f"{value!r} does not fit leaf type {kind!r}")


def is_tree_dump(data: Any) -> bool:
    """Whether JSON ``data`` looks like a ``StandardMerkleTree.dump()``."""
    return isinstance(data, Mapping) and data.get("format") == DUMP_FORMAT


class StandardMerkleTree:
    """Rows of one ABI encoding in StandardMerkleTree's tree, with the library's dump format.

    Build with :meth:`of` (as ``StandardMerkleTree.of(rows, encoding)``) or :meth:`load` (as
    ``StandardMerkleTree.load(dump)``); rows keep the order they were given in.
    """

    def __init__(self, nodes: Sequence[bytes], rows: Sequence[tuple[Any, ...]], tree_indices: Sequence[int],
                 leaf_encoding: Sequence[str]) -> None:  # fmt: skip
        self.nodes = list(nodes)
        self.rows = [tuple(r) for r in rows]
        self.tree_indices = list(tree_indices)
        self.leaf_encoding = tuple(leaf_encoding)
        self._lookup = {self.nodes[t]: i for i, t in enumerate(self.tree_indices)}

    @classmethod
    def of(cls, rows: Sequence[Sequence[Any]], leaf_encoding: Sequence[str]) -> StandardMerkleTree:
        if not rows:
            raise ValueError("a Merkle tree needs at least one row")
        hashes = [standard_leaf_hash(leaf_encoding, row) for row in rows]
        tree = SortedMerkleTree(hashes)
        return cls(tree.nodes, [tuple(r) for r in rows], [tree.tree_index(h) for h in hashes], leaf_encoding)

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> StandardMerkleTree:
        """A tree from a ``standard-v1`` dump, checked as the library checks it: every value's
        leaf at its ``treeIndex`` and every inner node the hash of its children."""
        if not is_tree_dump(data):
            raise ValueError(f"unknown Merkle tree format {data.get('format') if isinstance(data, Mapping) else None!r}; expected {DUMP_FORMAT!r}")
        encoding, raw_tree, raw_values = data.get("leafEncoding"), data.get("tree"), data.get("values")
        if not isinstance(encoding, list) or not all(isinstance(k, str) for k in encoding):
            raise ValueError("the dump has no leafEncoding (a list of ABI types)")
        if not isinstance(raw_tree, list) or not raw_tree or not all(isinstance(h, str) and _HEX32.match(h) for h in raw_tree):
            raise ValueError("the dump's tree is not a non-empty list of 32-byte 0x-hex hashes")
        if not isinstance(raw_values, list) or not raw_values:
            raise ValueError("the dump has no values")
        nodes = [bytes.fromhex(h[2:]) for h in raw_tree]
        rows, indices = [], []
        for i, entry in enumerate(raw_values):
            value, index = (entry.get("value"), entry.get("treeIndex")) if isinstance(entry, Mapping) else (None, None)
            if not isinstance(value, list) or len(value) != len(encoding) or not isinstance(index, int) or isinstance(index, bool):
                raise ValueError(f"value {i} of the dump is not {{'value': [{len(encoding)} items], 'treeIndex': n}}")
            row = tuple(_from_json(k, v) for k, v in zip(encoding, value, strict=True))
            if not _is_leaf_index(nodes, index) or nodes[index] != standard_leaf_hash(encoding, row):
                raise ValueError(f"value {i} of the dump is not the leaf at its treeIndex {index}")
            rows.append(row)
            indices.append(index)
        if not _is_valid_tree(nodes):
            raise ValueError("the dump's tree is invalid: an inner node is not the hash of its children")
        return cls(nodes, rows, indices, encoding)

    def dump(self) -> dict[str, Any]:
        """``StandardMerkleTree.dump()``: format, leafEncoding, tree, values (value, treeIndex)."""
        return {
            "format": DUMP_FORMAT,
            "leafEncoding": list(self.leaf_encoding),
            "tree": ["0x" + node.hex() for node in self.nodes],
            "values": [{"value": [_to_json(k, v) for k, v in zip(self.leaf_encoding, row, strict=True)], "treeIndex": t}
                       for row, t in zip(self.rows, self.tree_indices, strict=True)],
        }  # fmt: skip

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    def leaf_hash(self, row: Sequence[Any]) -> bytes:
        return standard_leaf_hash(self.leaf_encoding, row)

    def proof(self, row: Sequence[Any] | int) -> list[bytes]:
        """``getProof``: by row, or by the row's position in :attr:`rows`."""
        if isinstance(row, int):
            if not 0 <= row < len(self.rows):
                raise IndexError(f"no row {row} (the tree has {len(self.rows)})")
            index = row
        else:
            try:
                index = self._lookup[self.leaf_hash(row)]
            except KeyError:
                raise KeyError("row is not in the tree") from None
        return _proof(self.nodes, self.tree_indices[index])

    def verify(self, row: Sequence[Any], proof: Sequence[bytes]) -> bool:
        return verify_sorted_proof(self.leaf_hash(row), proof, self.root)


def reward_leaves(data: Any) -> list[RewardLeaf]:
    """The reward rows of a published table in any of its forms: a ``StandardMerkleTree``
    dump with leafEncoding ``["address", "int256", "uint256"]``, a scores table (its
    ``leaves``), or a bare list of ``{"account", "score", "amount"}``.

    Raises ValueError (with what was expected) for anything else; a dump is checked in full
    (:meth:`StandardMerkleTree.load`).
    """
    if is_tree_dump(data):
        tree = StandardMerkleTree.load(data)
        if tree.leaf_encoding != REWARD_ENCODING:
            raise ValueError(f"the tree's leafEncoding is {list(tree.leaf_encoding)}, not a reward table's {list(REWARD_ENCODING)}")
        return [RewardLeaf(a, s, m) for a, s, m in tree.rows]
    entries = data.get("leaves") if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise ValueError(f'expected a {DUMP_FORMAT} tree dump, a scores table or [{{"account", "score", "amount"}}, ...]')
    try:
        return [RewardLeaf(to_checksum_address(e["account"]), int(e["score"]), int(e["amount"])) for e in entries]
    except (KeyError, TypeError) as exc:
        raise ValueError(f'a reward entry lacks "account", "score" or "amount": {exc}') from exc


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
