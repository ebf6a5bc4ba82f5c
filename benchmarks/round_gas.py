"""round-gas: gas per trainer per round (commit + reveal + claim) at several trainer counts.

Prints one JSON object per trainer count and a summary with the ratio between the largest and
the smallest count; the protocol has no loop over trainers, so the ratio stays near 1.

    python -m benchmarks.round_gas [--rpc URI] [--trainers 4 256]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from node.chain.contracts import Role, TaskConfig
from node.chain.deploy import DeployParams, Network, deploy
from node.chain.provider import advance_time, connect, is_in_process
from verifier.merkle import RewardLeaf, SortedMerkleTree

TOKEN = 10**18
STAKE = 10 * TOKEN
DURATION = 3600


def _fund_eth(w3: Web3, funder: str, account: str) -> None:
    if is_in_process(w3):
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": funder, "to": account, "value": 10**18}))
        return
    for method in ("anvil_setBalance", "hardhat_setBalance"):
        if "error" not in w3.provider.make_request(method, [account, hex(10**18)]):
            return
    raise RuntimeError("cannot fund accounts on this node")


def _pass_phase(net: Network, admin: str, task_id: int) -> None:
    advance_time(net.w3, DURATION + 1)
    net.tasks.advance(admin, task_id)


def measure(net: Network, n_trainers: int, *, salt: bytes = b"") -> dict[str, Any]:
    """Run one round with ``n_trainers`` fresh trainers; return gas per call and per trainer."""
    w3, admin = net.w3, net.w3.eth.accounts[0]
    trainers: list[LocalAccount] = [
        Account.from_key(keccak(b"round-gas" + salt + n_trainers.to_bytes(4, "big") + i.to_bytes(4, "big")))
        for i in range(n_trainers)
    ]
    aggregator = w3.eth.accounts[1]
    if not net.registry.is_eligible(aggregator, Role.AGGREGATOR, 0):
        net.token.mint(admin, aggregator, STAKE)
        net.token.approve(aggregator, net.registry.address, STAKE)
        net.registry.register(aggregator, Role.AGGREGATOR, STAKE)
    for t in trainers:
        _fund_eth(w3, admin, t.address)
        net.token.mint(admin, t.address, STAKE)
        net.token.approve(t, net.registry.address, STAKE)
        net.registry.register(t, Role.TRAINER, STAKE)
    config = TaskConfig(
        model_cid=b"\x01\x55\x12\x20" + b"\x01" * 32, data_cid=b"\x01\x55\x12\x20" + b"\x02" * 32,
        config_hash=b"\x03" * 32, aggregator=aggregator, reward_per_round=n_trainers * TOKEN, num_rounds=1,
        commit_duration=DURATION, reveal_duration=DURATION, score_duration=DURATION, challenge_duration=DURATION,
        min_stake=STAKE, no_reveal_penalty=TOKEN,
    )  # fmt: skip
    net.token.mint(admin, admin, config.budget)
    net.token.approve(admin, net.vault.address, config.budget)
    task_id, _ = net.tasks.create_task(admin, config)
    gas: dict[str, list[int]] = {"commit": [], "reveal": [], "claim": []}
    reveals = {}
    for t in trainers:
        values = (b"\x01\x55\x12\x20" + keccak(t.key), keccak(b"trace" + t.key), keccak(b"final" + t.key), os.urandom(32))
        reveals[t.address] = values
        commitment = net.tasks.compute_commitment(*values, t.address, task_id, 1)
        gas["commit"].append(int(net.tasks.commit(t, task_id, 1, commitment)["gasUsed"]))
    _pass_phase(net, admin, task_id)
    for t in trainers:
        gas["reveal"].append(int(net.tasks.reveal(t, task_id, 1, *reveals[t.address])["gasUsed"]))
    _pass_phase(net, admin, task_id)
    leaves = [RewardLeaf(t.address, 10**17, TOKEN) for t in trainers]
    tree = SortedMerkleTree([leaf.hash() for leaf in leaves])
    net.tasks.post_scores(
        aggregator, task_id, 1, new_model_cid=b"\x01\x55\x12\x20" + b"\x09" * 32, scores_root=tree.root,
        trace_root=b"\x00" * 32, scores_cid=b"", total_reward=config.budget,
    )  # fmt: skip
    _pass_phase(net, admin, task_id)
    for t, leaf in zip(trainers, leaves, strict=True):
        gas["claim"].append(int(net.vault.claim(t, task_id, 1, leaf.score, leaf.amount, tree.proof(leaf.hash()))["gasUsed"]))
    per_trainer = [c + r + k for c, r, k in zip(gas["commit"], gas["reveal"], gas["claim"], strict=True)]
    return {
        "benchmark": "round-gas",
        "trainers": n_trainers,
        "gas_per_call_median": {k: int(statistics.median(v)) for k, v in gas.items()},
        "gas_per_call_max": {k: max(v) for k, v in gas.items()},
        "gas_per_trainer_median": int(statistics.median(per_trainer)),
        "gas_per_trainer_max": max(per_trainer),
    }


def run(uri: str, counts: list[int]) -> list[dict[str, Any]]:
    w3 = connect(uri)
    net = deploy(w3, w3.eth.accounts[0], DeployParams(min_stake=STAKE))
    results = [measure(net, n) for n in counts]
    small, large = results[0], results[-1]
    results.append({
        "benchmark": "round-gas-summary",
        "backend": "eth-tester" if is_in_process(w3) else uri,
        "trainers": [small["trainers"], large["trainers"]],
        "ratio_max_per_trainer": round(large["gas_per_trainer_max"] / small["gas_per_trainer_max"], 4),
        "ratio_median_per_trainer": round(large["gas_per_trainer_median"] / small["gas_per_trainer_median"], 4),
    })  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", default="eth-tester://")
    parser.add_argument("--trainers", type=int, nargs="+", default=[4, 256])
    args = parser.parse_args(argv)
    for result in run(args.rpc, sorted(args.trainers)):
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
