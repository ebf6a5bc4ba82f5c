"""Scores and rewards by policy: cheaters earn less than honest trainers, rewards stay in budget."""

from __future__ import annotations

import functools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from node.training.data import Dataset, load_digits, split_shards
from node.training.loop import TrainConfig, apply_delta, evaluate, train
from node.training.models import get_model
from verifier.scoring import relative_improvement
from verifier.scoring.policy import Contribution, ScoringPolicy, aggregate, score_round, split_capped
from verifier.scoring.robust import flatten

SHARDS, VALIDATION = split_shards(load_digits(), 6)
BASE = get_model("mlp").init(0)
BUDGET = 1_000 * 10**18


def gain(delta: dict[str, torch.Tensor], data: Dataset) -> float:
    before, _ = evaluate("mlp", BASE, data)
    after, _ = evaluate("mlp", apply_delta(BASE, delta), data)
    return relative_improvement(before, after)


@functools.lru_cache(maxsize=None)
def honest_delta(shard: int) -> dict[str, torch.Tensor]:
    return train(BASE, SHARDS[shard], TrainConfig(steps=20), seed=bytes([shard])).delta


def contribution(account: str, delta: dict[str, torch.Tensor], own: int, other: int) -> Contribution:
    return Contribution(account, True, gain(delta, VALIDATION), gain(delta, SHARDS[own]), gain(delta, SHARDS[other]), flatten(delta))


def test_every_cheating_strategy_earns_less_than_every_honest_trainer() -> None:
    flipped = Dataset(SHARDS[4].x, (SHARDS[4].y + 1) % 10)
    cast = {
        "honest-0": (honest_delta(0), 0, 1),
        "honest-1": (honest_delta(1), 1, 2),
        "honest-2": (honest_delta(2), 2, 3),
        "honest-3": (honest_delta(3), 3, 0),
        "lazy": ({k: torch.zeros_like(v) for k, v in BASE.items()}, 5, 0),
        "label-flip": (train(BASE, flipped, TrainConfig(steps=20), seed=b"f").delta, 4, 0),
        "copycat": ({k: v.clone() for k, v in honest_delta(0).items()}, 5, 1),  # trained on shard 0, claims shard 5
        "boosted": ({k: v * 10 for k, v in honest_delta(1).items()}, 1, 2),
    }
    contributions = [contribution(name, d, own, other) for name, (d, own, other) in cast.items()]
    verdicts = {v.account: v for v in score_round(ScoringPolicy(rule="multi_krum", faulty=2), contributions, [d for d, _, _ in cast.values()], BUDGET)}
    honest = [verdicts[f"honest-{i}"].amount for i in range(4)]
    assert min(honest) > 0
    for cheater in ("lazy", "label-flip", "copycat", "boosted"):
        assert verdicts[cheater].amount < min(honest), (cheater, verdicts[cheater])
    assert verdicts["label-flip"].improvement <= 0 and verdicts["label-flip"].amount == 0
    assert verdicts["lazy"].amount == 0
    assert not verdicts["boosted"].kept and verdicts["boosted"].reason == "rejected by multi_krum"
    assert verdicts["copycat"].copy_suspect and verdicts["copycat"].similarity == 0.0
    assert not verdicts["honest-0"].copy_suspect and verdicts["honest-0"].amount > 0  # the copied trainer keeps its reward
    assert sum(v.amount for v in verdicts.values()) <= BUDGET


def test_duplicates_share_one_share_when_neither_looks_copied() -> None:
    d = honest_delta(0)
    twins = [Contribution(n, True, gain(d, VALIDATION), None, None, flatten(d)) for n in ("a", "b")]
    others = [contribution(f"h{i}", honest_delta(i), i, (i + 1) % 4) for i in (1, 2)]
    verdicts = score_round(ScoringPolicy(rule="fedavg", cap_bps=10_000), [*twins, *others], [d, d, honest_delta(1), honest_delta(2)], BUDGET)
    assert verdicts[0].amount + verdicts[1].amount <= max(verdicts[2].amount, verdicts[3].amount)


def test_trimmed_mean_clips_a_boosted_update_and_median_ignores_it() -> None:
    deltas = [honest_delta(i) for i in range(4)] + [{k: v * 10 for k, v in honest_delta(0).items()}]
    weights = [1.0] * 5
    plain = aggregate(ScoringPolicy(rule="fedavg"), BASE, deltas, weights)
    for rule in ("trimmed_mean", "median"):
        robust = aggregate(ScoringPolicy(rule=rule, trim=1), BASE, deltas, weights)
        assert evaluate("mlp", robust, VALIDATION)[0] < evaluate("mlp", plain, VALIDATION)[0]


def test_ema_and_reputation_enter_the_weight() -> None:
    x = torch.ones(4)
    c = [Contribution("a", True, 0.2, history=x, prev_ema=0.6, reputation=1.0), Contribution("b", True, 0.2, history=-x, reputation=0.5)]
    a, b = score_round(ScoringPolicy(rule="fedavg", ema_alpha=0.5, cap_bps=10_000), c, [{"w": x}, {"w": -x}], 100)
    assert a.ema == pytest.approx(0.4) and b.ema == pytest.approx(0.2)
    assert a.weight == pytest.approx(0.4 * a.similarity) and b.weight == pytest.approx(0.2 * b.similarity * 0.5)


def test_bad_input_pays_nothing_or_stays_in_budget() -> None:
    assert [v.amount for v in score_round(ScoringPolicy(), [Contribution("a", False), Contribution("b", False)], [None, None], 100)] == [0, 0]
    (single,) = score_round(ScoringPolicy(cap_bps=4000), [Contribution("a", True, 0.3, history=torch.ones(3))], [{"w": torch.ones(3)}], 100)
    assert single.amount == 40  # the cap: 40% of the budget; the rest stays in the vault
    assert [v.amount for v in score_round(ScoringPolicy(), [Contribution("a", True, 0.3)], [{"w": torch.ones(3)}], 0)] == [0]
    with pytest.raises(ValueError, match="unknown aggregation rule"):
        ScoringPolicy(rule="mean-ish")


@settings(max_examples=200, deadline=None)
@given(
    budget=st.integers(min_value=0, max_value=10**24),
    weights=st.lists(st.floats(min_value=-1.0, max_value=10.0, allow_nan=False), min_size=1, max_size=20),
    cap_bps=st.integers(min_value=1, max_value=10_000),
)
def test_rewards_are_nonnegative_within_budget_and_cap(budget: int, weights: list[float], cap_bps: int) -> None:
    amounts = split_capped(budget, weights, cap_bps)
    assert all(a >= 0 for a in amounts) and sum(amounts) <= budget
    assert all(a <= budget * cap_bps // 10_000 for a in amounts)
    assert all(a == 0 for a, w in zip(amounts, weights, strict=True) if w <= 0)
    assert amounts == split_capped(budget, weights, cap_bps)  # deterministic
