"""Scoring building blocks: robust aggregation, similarity weights, Shapley values, the split."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from verifier.scoring import (
    coordinate_median,
    exact_shapley,
    fedavg,
    foolsgold_weights,
    leave_one_out,
    multi_krum,
    split_rewards,
    trimmed_mean,
)
from verifier.scoring.robust import flatten

GEN = torch.Generator().manual_seed(0)
TRUE = {"w": torch.ones(4, 3), "b": torch.ones(3)}


def honest(noise: float = 0.1) -> dict[str, torch.Tensor]:
    return {k: v + noise * torch.randn(v.shape, generator=GEN) for k, v in TRUE.items()}


def test_a_boosted_update_is_rejected_by_multi_krum_and_clipped_by_trimmed_mean() -> None:
    deltas = [honest() for _ in range(6)]
    boosted = {k: 10 * v for k, v in honest().items()}
    everyone = [*deltas, boosted]
    kept = multi_krum(everyone, faulty=1)
    assert 6 not in kept and len(kept) == 6
    mean = fedavg({k: torch.zeros_like(v) for k, v in TRUE.items()}, everyone, [1.0] * 7)
    trimmed = trimmed_mean(everyone, trim=1)
    err = lambda d: float((flatten(d) - flatten(TRUE)).abs().max())  # noqa: E731
    assert err(trimmed) < 0.3 < err(mean)
    assert err(coordinate_median(everyone)) < 0.3


def test_robust_rules_reject_bad_parameters() -> None:
    with pytest.raises(ValueError):
        multi_krum([honest() for _ in range(4)], faulty=1)
    with pytest.raises(ValueError):
        trimmed_mean([honest(), honest()], trim=1)
    with pytest.raises(ValueError):
        coordinate_median([])


def test_near_duplicate_identities_share_their_weight() -> None:
    a, b, c = flatten(honest(1.0)), flatten(honest(1.0)), flatten(honest(1.0))
    sybil = a + 1e-6 * torch.randn(a.shape, generator=GEN, dtype=torch.float64)
    weights = foolsgold_weights([a, b, c, sybil])
    assert weights[0] + weights[3] < 0.05  # the copy pair together weighs less than one honest trainer
    assert max(weights[1], weights[2]) == pytest.approx(1.0)
    assert foolsgold_weights([a]) == [1.0] and foolsgold_weights([]) == []


def _additive(values: list[float]):  # type: ignore[no-untyped-def]
    return lambda s: sum(values[i] for i in s)


def test_shapley_efficiency_symmetry_and_null_player() -> None:
    # players 0 and 1 submit the same useful delta, 2 a different one, 3 nothing useful
    def value(s: frozenset[int]) -> float:
        return (0.6 if s & {0, 1} else 0.0) + (0.5 if 2 in s else 0.0)

    phi = exact_shapley(4, value)
    assert sum(phi) == pytest.approx(value(frozenset(range(4))) - value(frozenset()))
    assert phi[0] == pytest.approx(phi[1]) and phi[0] + phi[1] == pytest.approx(0.6)  # copies split one share
    assert phi[2] == pytest.approx(0.5) and phi[3] == pytest.approx(0.0)
    loo = leave_one_out(4, value)
    assert loo[0] == pytest.approx(0.0) and loo[1] == pytest.approx(0.0)  # each copy looks worthless alone
    assert loo[2] == pytest.approx(0.5)


@given(st.lists(st.floats(min_value=-1, max_value=1, allow_nan=False), min_size=1, max_size=6))
def test_shapley_of_an_additive_game_is_each_players_value(values: list[float]) -> None:
    phi = exact_shapley(len(values), _additive(values))
    assert phi == pytest.approx(values, abs=1e-9)


def test_shapley_refuses_too_many_players() -> None:
    with pytest.raises(ValueError):
        exact_shapley(9, lambda s: 0.0)


@given(budget=st.integers(min_value=0, max_value=10**24), weights=st.lists(st.floats(min_value=-1, max_value=5, allow_nan=False), min_size=1, max_size=20))
def test_reward_split_never_exceeds_the_budget(budget: int, weights: list[float]) -> None:
    rewards = split_rewards(budget, weights)
    assert all(r >= 0 for r in rewards) and sum(rewards) <= budget
    assert all(r == 0 for r, w in zip(rewards, weights, strict=True) if w <= 0)


def test_monte_carlo_shapley_approaches_the_exact_values_and_is_deterministic() -> None:
    from verifier.scoring.shapley import monte_carlo_shapley, shapley

    weights = [0.5, 1.0, 2.0, 0.0]
    value = lambda s: sum(weights[i] for i in s) + (0.3 if {0, 1} <= s else 0.0)  # noqa: E731
    exact = shapley(4, value)
    estimate = monte_carlo_shapley(4, value, permutations=4000, seed=1)
    assert all(abs(a - b) < 0.05 for a, b in zip(exact, estimate, strict=True))
    assert abs(sum(estimate) - value(frozenset(range(4)))) < 1e-9  # every permutation is efficient
    assert estimate == monte_carlo_shapley(4, value, permutations=4000, seed=1)
    assert len(shapley(12, lambda s: float(len(s)), permutations=8)) == 12
