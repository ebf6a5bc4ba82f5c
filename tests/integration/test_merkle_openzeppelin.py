"""Reward and reputation trees against npm @openzeppelin/merkle-tree itself.

For 1..33 rows of random values, the package (run with node) and verifier.merkle build the
same root, the same proofs and the same ``dump()``; every proof verifies with the other side
and with the contracts' verify functions on the in-process chain; and our dump loads with
``StandardMerkleTree.load``.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address

from node.chain.compiler import Artifact
from node.chain.contracts import Role
from node.chain.deploy import DeployParams, Network, deploy
from node.chain.provider import connect
from tests.helpers import TOKEN, create_task, register, run_round_to_score
from verifier.merkle import REPUTATION_ENCODING, REWARD_ENCODING, StandardMerkleTree

HELPER = Path(__file__).with_name("oz_merkle.js")
SIZES = range(1, 34)
SEED = 19

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node (npm run-time for @openzeppelin/merkle-tree)")


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _random_rows(rng: random.Random, encoding: tuple[str, ...], n: int) -> list[tuple[Any, ...]]:
    def one() -> tuple[Any, ...]:
        account = to_checksum_address(rng.randbytes(20))
        score = rng.choice([0, -1, 1, -(2**255), 2**255 - 1, rng.randint(-(2**255), 2**255 - 1), rng.randint(-(10**18), 10**18)])
        if encoding == REPUTATION_ENCODING:
            return (account, score)
        return (account, score, rng.choice([0, 2**256 - 1, rng.randint(0, 2**256 - 1), rng.randint(0, 100 * TOKEN)]))

    return [one() for _ in range(n)]


def _run_library(cases: list[dict[str, Any]], repo_root: Path) -> list[dict[str, Any]]:
    done = subprocess.run(["node", str(HELPER)], input=json.dumps(cases), capture_output=True, text=True, cwd=repo_root, timeout=120, check=False)
    assert done.returncode == 0, f"{done.stderr}\n(is @openzeppelin/merkle-tree installed? run npm ci)"
    out: list[dict[str, Any]] = json.loads(done.stdout)
    return out


@pytest.fixture(scope="module")
def chain(artifacts: dict[str, Artifact]) -> Network:
    w3 = connect("eth-tester://?accounts=5")
    net = deploy(w3, w3.eth.accounts[0], DeployParams(min_stake=10 * TOKEN, unbonding_delay=3600, max_pending_unbonds=3), artifacts=artifacts)
    for account in w3.eth.accounts:
        net.token.mint(w3.eth.accounts[0], account, 10_000 * TOKEN)
    return net


@pytest.fixture(scope="module")
def trees(repo_root: Path) -> list[tuple[tuple[str, ...], StandardMerkleTree, dict[str, Any]]]:
    """For each encoding and size: our tree and the library's answers on the same rows."""
    rng = random.Random(SEED)
    ours = [(enc, StandardMerkleTree.of(_random_rows(rng, enc, n), enc)) for enc in (REWARD_ENCODING, REPUTATION_ENCODING) for n in SIZES]
    cases = []
    for enc, tree in ours:
        dump = tree.dump()
        rows = [v["value"] for v in dump["values"]]
        cases.append({"encoding": list(enc), "rows": rows, "ours": {"root": _hex(tree.root), "proofs": [[_hex(p) for p in tree.proof(i)] for i in range(len(rows))], "dump": dump}})
    return [(enc, tree, answer) for (enc, tree), answer in zip(ours, _run_library(cases, repo_root), strict=True)]


def test_merkle_roots_equal_the_library_for_every_size(trees: list) -> None:  # type: ignore[type-arg]
    for enc, tree, lib in trees:
        assert lib["root"] == _hex(tree.root), f"{enc} with {len(tree.rows)} rows"


def test_merkle_proofs_and_dump_equal_the_library(trees: list) -> None:  # type: ignore[type-arg]
    for enc, tree, lib in trees:
        assert lib["proofs"] == [[_hex(p) for p in tree.proof(i)] for i in range(len(tree.rows))], f"{enc} with {len(tree.rows)} rows"
        assert lib["dump"] == tree.dump()
        assert json.dumps(lib["dump"]) == json.dumps(tree.dump()), "same keys in the same order"


def test_merkle_proofs_verify_across_implementations(trees: list) -> None:  # type: ignore[type-arg]
    for _, tree, lib in trees:
        assert all(lib["oursVerify"]), "every proof of ours verifies with StandardMerkleTree.verify"
        for i, row in enumerate(tree.rows):
            assert tree.verify(row, [bytes.fromhex(p[2:]) for p in lib["proofs"][i]]), "every library proof verifies with ours"


def test_merkle_our_dump_loads_in_the_library_and_theirs_in_ours(trees: list) -> None:  # type: ignore[type-arg]
    for _, tree, lib in trees:
        assert lib["loadedRoot"] == _hex(tree.root)
        assert lib["loadedProofs"] == [[_hex(p) for p in tree.proof(i)] for i in range(len(tree.rows))]
        theirs = StandardMerkleTree.load(lib["dump"])
        assert theirs.root == tree.root and theirs.rows == tree.rows


def test_merkle_library_proofs_verify_on_chain(chain: Network, trees: list) -> None:  # type: ignore[type-arg]
    """RewardVault.verifyLeaf and ReputationOracle.verifyScore accept the library's proofs."""
    net = chain
    admin, agg, caller = net.w3.eth.accounts[:3]
    reward_trees = sum(1 for enc, _, _ in trees if enc == REWARD_ENCODING)
    # each posting locks the aggregator's minStake until its round finalizes: free stake for every task
    register(net, agg, Role.AGGREGATOR, reward_trees * net.registry.min_stake() + 20 * 10**18)
    net.reputation.grant_poster(admin, admin)
    for enc, tree, lib in trees:
        proofs = [[bytes.fromhex(p[2:]) for p in proof] for proof in lib["proofs"]]
        root = bytes.fromhex(lib["root"][2:])
        if enc == REWARD_ENCODING:
            task_id = create_task(net, admin, agg, num_rounds=1)
            run_round_to_score(net, task_id, 1, [], caller)
            net.tasks.post_scores(agg, task_id, 1, new_model_cid=b"\x01" * 36, scores_root=root, trace_root=b"\x44" * 32, scores_cid=b"\x01" * 36, total_reward=0)
            for (account, score, amount), proof in zip(tree.rows, proofs, strict=True):
                assert net.vault.verify_leaf(task_id, 1, account, score, amount, proof)
            account, score, amount = tree.rows[0]
            assert not net.vault.verify_leaf(task_id, 1, account, score, amount ^ 1, proofs[0])
            continue
        epoch, _ = net.reputation.start_epoch(admin)
        net.reputation.post_epoch(admin, epoch, admin, root)
        for row, proof in zip(tree.rows, proofs, strict=True):
            assert net.reputation.verify_score(epoch, row[0], row[1], proof)
        bad = (tree.rows[0][0], tree.rows[0][1] ^ 1)  # another score, still an int256
        assert not net.reputation.verify_score(epoch, bad[0], bad[1], proofs[0])
