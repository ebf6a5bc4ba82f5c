"""A complete protocol round on a fresh chain: deploy, stake, task, commit, reveal, score,
finalize, claim, and a reputation epoch. The main job until trainer nodes land; also a smoke
test of a deployment.

Deltas here are placeholder bytes addressed by real CIDs (CIDv1, raw codec, sha256), and
scores are fixed fractions; the trainer issue replaces both with real training.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from typing import Any

from web3 import Web3

from node.chain.contracts import Phase, Role, TaskConfig
from node.chain.deploy import DeployParams, Network, deploy
from node.chain.provider import advance_time
from node.chain.queries import account_info, deployment_info, round_info, task_info
from node.chain.reputation import post_epoch
from node.errors import ConfigError
from verifier.merkle import RewardLeaf, SortedMerkleTree

__all__ = ["raw_cid", "run_walkthrough"]

logger = logging.getLogger(__name__)

TOKEN = 10**18
PHASE_SECONDS = 60


def raw_cid(data: bytes) -> bytes:
    """Binary CIDv1 (raw codec, sha2-256) of a single block: what `ipfs add --raw-leaves` gives below 256 KiB."""
    return b"\x01\x55\x12\x20" + hashlib.sha256(data).digest()


def run_walkthrough(
    w3: Web3, *, trainers: int = 3, net: Network | None = None, walks: int = 10_000, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Run one round with ``trainers`` trainers on ``w3`` (a devnet with unlocked accounts),
    post a reputation epoch from the task owner, and return the final state.

    Deploys the contracts unless ``net`` (deployed by the node's first account) is given.
    """
    if not 1 <= trainers <= len(w3.eth.accounts) - 2:
        raise ConfigError(f"trainers must be between 1 and {len(w3.eth.accounts) - 2} on this chain")
    owner, aggregator, *rest = w3.eth.accounts
    names = rest[:trainers]
    if net is None:
        progress("deploying contracts")
        net = deploy(w3, owner, DeployParams(min_stake=10 * TOKEN))
    progress("registering an aggregator and trainers with stakes")
    for account in [aggregator, *names]:
        net.token.mint(owner, account, 100 * TOKEN)
        net.token.approve(account, net.registry.address, 20 * TOKEN)
        net.registry.register(account, Role.AGGREGATOR if account == aggregator else Role.TRAINER, 20 * TOKEN)
    config = TaskConfig(
        model_cid=raw_cid(b"meritnet demo: initial model"), data_cid=raw_cid(b"meritnet demo: data manifest"),
        config_hash=hashlib.sha256(b"mlp-digits;K=10;lr=0.1").digest(), aggregator=aggregator,
        reward_per_round=90 * TOKEN, num_rounds=1, commit_duration=PHASE_SECONDS, reveal_duration=PHASE_SECONDS,
        score_duration=PHASE_SECONDS, challenge_duration=PHASE_SECONDS, min_stake=10 * TOKEN, no_reveal_penalty=TOKEN,
    )  # fmt: skip
    net.token.mint(owner, owner, config.budget)
    net.token.approve(owner, net.vault.address, config.budget)
    task_id, _ = net.tasks.create_task(owner, config)
    progress(f"task {task_id} created with a budget of {config.budget // TOKEN} MERIT")

    def next_phase() -> None:
        advance_time(w3, PHASE_SECONDS + 1)
        net.tasks.advance(owner, task_id)

    reveals = {}
    for i, t in enumerate(names):
        delta = raw_cid(f"delta of trainer {i}".encode())
        values = (delta, hashlib.sha256(b"trace" + delta).digest(), hashlib.sha256(b"final" + delta).digest(), os.urandom(32))
        reveals[t] = values
        net.tasks.commit(t, task_id, 1, net.tasks.compute_commitment(*values, t, task_id, 1))
    progress(f"{trainers} trainers committed")
    next_phase()
    for t in names:
        net.tasks.reveal(t, task_id, 1, *reveals[t])
    progress(f"{trainers} trainers revealed")
    next_phase()
    scores = [10**18 // (i + 2) for i in range(trainers)]  # placeholder contribution scores
    total = config.reward_per_round
    amounts = [total * s // sum(scores) for s in scores]  # floor: never more than the budget
    leaves = [RewardLeaf(t, s, a) for t, s, a in zip(names, scores, amounts, strict=True)]
    tree = SortedMerkleTree([leaf.hash() for leaf in leaves])
    net.tasks.post_scores(
        aggregator, task_id, 1, new_model_cid=raw_cid(b"meritnet demo: model after round 1"),
        scores_root=tree.root, trace_root=hashlib.sha256(b"aggregation").digest(),
        scores_cid=raw_cid(repr(leaves).encode()), total_reward=sum(amounts),
    )  # fmt: skip
    progress("aggregator posted the scores root; challenge window open")
    next_phase()
    assert net.tasks.get_round(task_id, 1).phase == Phase.FINALIZED
    progress("round finalized")
    for leaf in leaves:
        net.vault.claim(leaf.account, task_id, 1, leaf.score, leaf.amount, tree.proof(leaf.hash()))
    progress("trainers claimed their rewards with Merkle proofs")
    net.reputation.grant_poster(owner, aggregator)
    epoch, reputation = post_epoch(net, aggregator, owner, walks=walks)
    progress(f"aggregator posted reputation epoch {epoch} (MeritRank from the task owner)")
    return {
        "deployment": deployment_info(net),
        "task": task_info(net, task_id),
        "round": round_info(net, task_id, 1),
        "accounts": [account_info(net, a) | {"role": "aggregator" if a == aggregator else "trainer"} for a in [aggregator, *names]],
        "rewards": [{"account": leaf.account, "score": leaf.score, "amount": leaf.amount} for leaf in leaves],
        "reputation": {"epoch": epoch, "ego": owner, "root": "0x" + reputation.root.hex(), "scores": reputation.scores},
    }
