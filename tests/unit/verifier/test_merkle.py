"""Sorted-pair Merkle trees (OpenZeppelin-compatible) for reward tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.merkle import RewardLeaf, SortedMerkleTree, reward_leaf_hash, verify_sorted_proof

ADDRESSES = [f"0x{i:040x}" for i in range(1, 40)]


@given(st.integers(min_value=1, max_value=39))
def test_every_leaf_proves_against_the_root(n: int) -> None:
    leaves = [RewardLeaf(a, i - 5, i * 10) for i, a in enumerate(ADDRESSES[:n])]
    tree = SortedMerkleTree([leaf.hash() for leaf in leaves])
    for leaf in leaves:
        assert verify_sorted_proof(leaf.hash(), tree.proof(leaf.hash()), tree.root)


def test_changed_amount_or_account_fails_the_proof() -> None:
    leaves = [RewardLeaf(a, 1, 100) for a in ADDRESSES[:5]]
    tree = SortedMerkleTree([leaf.hash() for leaf in leaves])
    proof = tree.proof(leaves[2].hash())
    assert not verify_sorted_proof(reward_leaf_hash(ADDRESSES[2], 1, 101), proof, tree.root)
    assert not verify_sorted_proof(reward_leaf_hash(ADDRESSES[3], 1, 100), proof, tree.root)
    assert not verify_sorted_proof(reward_leaf_hash(ADDRESSES[2], 2, 100), proof, tree.root)


def test_single_leaf_tree_has_the_leaf_as_root_and_empty_proof() -> None:
    leaf = reward_leaf_hash(ADDRESSES[0], 0, 1)
    tree = SortedMerkleTree([leaf])
    assert tree.root == leaf and tree.proof(leaf) == []


def test_root_does_not_depend_on_leaf_order() -> None:
    hashes = [reward_leaf_hash(a, 0, 1) for a in ADDRESSES[:9]]
    assert SortedMerkleTree(hashes).root == SortedMerkleTree(list(reversed(hashes))).root


def test_bad_trees_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SortedMerkleTree([])
    with pytest.raises(ValueError, match="32-byte"):
        SortedMerkleTree([b"short"])
    leaf = reward_leaf_hash(ADDRESSES[0], 0, 1)
    with pytest.raises(ValueError, match="duplicate"):
        SortedMerkleTree([leaf, leaf])
    with pytest.raises(KeyError):
        SortedMerkleTree([leaf]).proof(b"\x00" * 32)
