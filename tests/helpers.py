"""Helpers for contract tests: expected reverts, tasks, rounds and reward tables."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import pytest

from node.chain.contracts import Phase, Role, TaskConfig
from node.chain.deploy import Network
from node.chain.provider import advance_time
from node.errors import ContractRevert
from verifier.merkle import RewardLeaf, SortedMerkleTree

TOKEN = 10**18
DURATION = 100


@contextlib.contextmanager
def reverts(name: str, **expected: Any) -> Iterator[None]:
    """Expect a ContractRevert named ``name`` whose arguments include ``expected``."""
    with pytest.raises(ContractRevert) as info:
        yield
    err = info.value
    assert err.name == name, f"expected {name}, got {err}"
    for key, value in expected.items():
        assert err.args_dict[key] == value, f"{key}: expected {value!r}, got {err.args_dict[key]!r} in {err}"


def task_config(aggregator: str, **overrides: Any) -> TaskConfig:
    base = TaskConfig(
        model_cid=b"\x01\x55\x12\x20" + b"\x11" * 32,
        data_cid=b"\x01\x55\x12\x20" + b"\x22" * 32,
        config_hash=b"\x33" * 32,
        aggregator=aggregator,
        reward_per_round=100 * TOKEN,
        num_rounds=2,
        commit_duration=DURATION,
        reveal_duration=DURATION,
        score_duration=DURATION,
        challenge_duration=DURATION,
        min_stake=10 * TOKEN,
        no_reveal_penalty=5 * TOKEN,
    )
    return replace(base, **overrides)


def register(net: Network, account: str, roles: Role = Role.TRAINER, stake: int = 20 * TOKEN) -> None:
    net.token.approve(account, net.registry.address, stake)
    net.registry.register(account, roles, stake)


def create_task(net: Network, owner: str, aggregator: str, **overrides: Any) -> int:
    config = task_config(aggregator, **overrides)
    net.token.approve(owner, net.vault.address, config.budget)
    task_id, _ = net.tasks.create_task(owner, config)
    return task_id


def pass_deadline(net: Network, task_id: int) -> None:
    """Move the chain's clock past the current round's deadline."""
    task = net.tasks.get_task(task_id)
    rnd = net.tasks.get_round(task_id, task.current_round)
    now = net.w3.eth.get_block("latest")["timestamp"]
    advance_time(net.w3, max(1, rnd.deadline - now + 1))


def advance(net: Network, task_id: int, caller: str) -> None:
    pass_deadline(net, task_id)
    net.tasks.advance(caller, task_id)


def submission(trainer: str, tag: int = 0) -> tuple[bytes, bytes, bytes, bytes]:
    """(deltaCid, traceRoot, finalStateHash, salt) for a trainer."""
    seed = int(trainer, 16).to_bytes(20, "big") + tag.to_bytes(4, "big")
    return b"\x01\x55\x12\x20" + seed.ljust(32, b"\x00"), seed.rjust(32, b"\x01"), seed.rjust(32, b"\x02"), os.urandom(32)


def commit(net: Network, task_id: int, round_: int, trainer: str, values: Sequence[bytes]) -> bytes:
    commitment = net.tasks.compute_commitment(*values, trainer, task_id, round_)
    net.tasks.commit(trainer, task_id, round_, commitment)
    return commitment


def reward_table(entries: Sequence[tuple[str, int, int]]) -> tuple[SortedMerkleTree, list[RewardLeaf]]:
    leaves = [RewardLeaf(a, s, r) for a, s, r in entries]
    return SortedMerkleTree([leaf.hash() for leaf in leaves]), leaves


def run_round_to_score(net: Network, task_id: int, round_: int, trainers: Sequence[str], caller: str) -> None:
    """Commit and reveal for every trainer, then move to the Score phase."""
    values = {t: submission(t, round_) for t in trainers}
    for t in trainers:
        commit(net, task_id, round_, t, values[t])
    advance(net, task_id, caller)
    for t in trainers:
        net.tasks.reveal(t, task_id, round_, *values[t])
    advance(net, task_id, caller)
    assert net.tasks.get_round(task_id, round_).phase == Phase.SCORE


def post(net: Network, task_id: int, round_: int, aggregator: str, entries: Sequence[tuple[str, int, int]], total: int | None = None) -> tuple[SortedMerkleTree, list[RewardLeaf]]:
    tree, leaves = reward_table(entries)
    net.tasks.post_scores(
        aggregator, task_id, round_,
        new_model_cid=b"\x01\x55\x12\x20" + bytes([round_]) * 32,
        scores_root=tree.root, trace_root=b"\x44" * 32, scores_cid=b"\x01\x55\x12\x20" + b"\x55" * 32,
        total_reward=sum(e[2] for e in entries) if total is None else total,
    )  # fmt: skip
    return tree, leaves


def _fq2_sqrt(a: Any) -> Any:
    """A square root in F_p^2 (p = 3 mod 4; Adj and Rodriguez-Henriquez, algorithm 9), or None."""
    from py_ecc import optimized_bn128 as bn

    p = bn.field_modulus
    minus_one = bn.FQ2([p - 1, 0])
    a1 = a ** ((p - 3) // 4)
    alpha = a1 * a1 * a
    if (alpha**p) * alpha == minus_one:
        return None
    x0 = a1 * a
    if alpha == minus_one:
        return bn.FQ2([0, 1]) * x0
    return ((bn.FQ2.one() + alpha) ** ((p - 1) // 2)) * x0


def off_subgroup_g2() -> tuple[tuple[int, int], tuple[int, int]]:
    """A point on the G2 twist outside its order-r subgroup (the twist's cofactor is not 1),
    in Solidity form: it passes an on-curve check and must still be refused."""
    from py_ecc import optimized_bn128 as bn

    from verifier.dispute.bls import g2_to_sol

    x = 1
    while True:
        xx = bn.FQ2([x, 1])
        y = _fq2_sqrt(xx**3 + bn.b2)
        if y is not None and y * y == xx**3 + bn.b2:
            point = (xx, y, bn.FQ2.one())
            if not bn.is_inf(bn.multiply(point, bn.curve_order)):
                return g2_to_sol(point)
        x += 1
