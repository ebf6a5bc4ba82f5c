"""Reward and reputation trees as @openzeppelin/merkle-tree StandardMerkleTree builds them."""

from __future__ import annotations

import copy

import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.merkle import (
    REPUTATION_ENCODING,
    REWARD_ENCODING,
    RewardLeaf,
    SortedMerkleTree,
    StandardMerkleTree,
    reward_leaf_hash,
    reward_leaves,
    verify_sorted_proof,
)
from verifier.reputation.epoch import epoch_from_dump

ADDRESSES = [f"0x{i:040x}" for i in range(1, 40)]


@settings(deadline=None)  # no timing assertion: shared CI machines are slow at times
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


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def test_standard_tree_matches_the_library_readme_example() -> None:
    # The example in @openzeppelin/merkle-tree's README and the root it documents.
    rows = [("0x1111111111111111111111111111111111111111", 5 * 10**18), ("0x2222222222222222222222222222222222222222", 25 * 10**17)]
    tree = StandardMerkleTree.of(rows, ["address", "uint256"])
    assert tree.root.hex() == "d4dee0beab2d53f2cc83e567171bd2820e49898130a22622b10ead383e90bd77"


def test_standard_tree_five_rows_match_the_library() -> None:
    # StandardMerkleTree.of(rows, ["address", "int256", "uint256"]) from @openzeppelin/merkle-tree
    # 1.0.8 on these rows; meritnet's old layout (odd node carried up) gave another root here.
    rows = [("0x" + str(i) * 40, -i, i * 1000) for i in range(1, 6)]
    tree = StandardMerkleTree.of(rows, REWARD_ENCODING)
    assert tree.root.hex() == "5359225c71ad60b11c75d0d6f31cd8b287a21de5ec5a6a4826240a28116978e4"
    assert [p.hex() for p in tree.proof(4)] == [
        "512dac85046f3ede503a25f9987be012f50cbdfa2203e34f79530d26dc879cf5",
        "d16a497dfa35a94a25ea6d687ca2618f55aaba8fcc880c8cd23f94635244dbef",
        "73eadc92ddf3617eac10f4febe5fdfe7d2be20251371756e9b8c5922da559c81",
    ]


def test_standard_tree_is_a_complete_binary_tree_with_leaves_from_the_end() -> None:
    hashes = sorted(reward_leaf_hash(a, 0, 1) for a in ADDRESSES[:5])
    nodes = SortedMerkleTree(hashes).nodes
    assert len(nodes) == 9
    assert nodes[8:3:-1] == hashes  # the i-th sorted leaf at 2n - 2 - i
    for i in range(3, -1, -1):
        assert nodes[i] == _pair(nodes[2 * i + 1], nodes[2 * i + 2])


def test_standard_tree_dump_round_trips_and_keeps_row_order() -> None:
    rows = [(ADDRESSES[i], (-1) ** i * 10**30, i) for i in range(7)]
    tree = StandardMerkleTree.of(rows, REWARD_ENCODING)
    dump = tree.dump()
    assert dump["format"] == "standard-v1" and dump["leafEncoding"] == list(REWARD_ENCODING)
    assert [v["value"][1] for v in dump["values"]] == [str((-1) ** i * 10**30) for i in range(7)]
    loaded = StandardMerkleTree.load(dump)
    assert loaded.root == tree.root and loaded.rows == [(a, s, m) for a, s, m in ((RewardLeaf(*r).row()) for r in rows)]
    for i, row in enumerate(loaded.rows):
        assert dump["tree"][dump["values"][i]["treeIndex"]] == "0x" + loaded.leaf_hash(row).hex()
        assert verify_sorted_proof(loaded.leaf_hash(row), loaded.proof(row), tree.root)


def test_standard_tree_load_rejects_a_tampered_dump() -> None:
    dump = StandardMerkleTree.of([(a, 1, 2) for a in ADDRESSES[:4]], REWARD_ENCODING).dump()
    changed_value = copy.deepcopy(dump)
    changed_value["values"][0]["value"][2] = "3"
    changed_node = copy.deepcopy(dump)
    changed_node["tree"][0] = "0x" + "00" * 32
    wrong_index = copy.deepcopy(dump)
    wrong_index["values"][0]["treeIndex"] = 0
    for bad, message in [(changed_value, "not the leaf"), (changed_node, "invalid"), (wrong_index, "not the leaf"),
                         ({**dump, "format": "simple-v1"}, "unknown"), ({k: v for k, v in dump.items() if k != "leafEncoding"}, "leafEncoding")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            StandardMerkleTree.load(bad)


def test_reward_leaves_reads_a_dump_a_table_or_a_list() -> None:
    leaves = [RewardLeaf(ADDRESSES[i].upper().replace("0X", "0x"), -i, 10 * i) for i in range(3)]
    listed = [{"account": lf.account, "score": lf.score, "amount": lf.amount} for lf in leaves]
    dump = StandardMerkleTree.of([lf.row() for lf in leaves], REWARD_ENCODING).dump()
    expected = [RewardLeaf(*lf.row()) for lf in leaves]
    assert reward_leaves(listed) == reward_leaves({"leaves": listed}) == reward_leaves(dump) == expected
    with pytest.raises(ValueError, match="not a reward table"):
        reward_leaves(StandardMerkleTree.of([(ADDRESSES[0], 1)], REPUTATION_ENCODING).dump())
    with pytest.raises(ValueError, match="expected"):
        reward_leaves({"rows": []})


def test_reputation_epoch_reads_its_dump() -> None:
    rows = [(ADDRESSES[0], 6 * 10**17), (ADDRESSES[1], 4 * 10**17)]
    epoch = epoch_from_dump(StandardMerkleTree.of(rows, REPUTATION_ENCODING).dump(), ADDRESSES[0])
    assert epoch.scores == {RewardLeaf(ADDRESSES[0], 0, 0).row()[0]: 0.6, RewardLeaf(ADDRESSES[1], 0, 0).row()[0]: 0.4}
    account = next(iter(epoch.fixed))
    assert verify_sorted_proof(epoch.tree.leaf_hash((account, epoch.fixed[account])), epoch.proof(account), epoch.root)
    with pytest.raises(ValueError, match="not a reputation table"):
        epoch_from_dump(StandardMerkleTree.of([(ADDRESSES[0], 1, 1)], REWARD_ENCODING).dump(), ADDRESSES[0])
