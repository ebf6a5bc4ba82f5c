"""Marginal value of contributions: exact Shapley values and leave-one-out (pure functions).

``value(coalition)`` is any function of a frozenset of player indices, e.g. the validation
loss improvement of the model aggregated from those players' deltas. Exact Shapley is
exponential in the number of players and is meant for n <= 8 (PROTOCOL.md).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from math import factorial

__all__ = ["exact_shapley", "monte_carlo_shapley", "shapley", "leave_one_out", "MAX_EXACT_PLAYERS"]

MAX_EXACT_PLAYERS = 8
Value = Callable[[frozenset[int]], float]


def _memo(value: Value) -> Value:
    """``value`` evaluated once per coalition (each evaluation can cost a model pass)."""
    cache: dict[frozenset[int], float] = {}

    def v(s: frozenset[int]) -> float:
        if s not in cache:
            cache[s] = float(value(s))
        return cache[s]

    return v


def exact_shapley(n: int, value: Value) -> list[float]:
    """phi_i = sum over coalitions S without i of |S|!(n-|S|-1)!/n! (v(S + i) - v(S))."""
    if not 1 <= n <= MAX_EXACT_PLAYERS:
        raise ValueError(f"exact Shapley takes 1 to {MAX_EXACT_PLAYERS} players, got {n}")
    v = _memo(value)
    phi = [0.0] * n
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for subset in combinations(others, size):
                s = frozenset(subset)
                phi[i] += weight * (v(s | {i}) - v(s))
    return phi


def leave_one_out(n: int, value: Value) -> list[float]:
    """v(N) - v(N without i) for each player (a diagnostic: duplicates get about 0 each)."""
    everyone = frozenset(range(n))
    total = float(value(everyone))
    return [total - float(value(everyone - {i})) for i in range(n)]


def monte_carlo_shapley(n: int, value: Value, permutations: int, seed: int) -> list[float]:
    """Permutation-sampling estimate (Castro et al. 2009): the mean marginal contribution of
    each player over ``permutations`` orders drawn from ``seed`` (deterministic)."""
    import random

    rng = random.Random(seed)
    v = _memo(value)
    phi = [0.0] * n
    for _ in range(permutations):
        order = list(range(n))
        rng.shuffle(order)
        coalition: frozenset[int] = frozenset()
        for i in order:
            grown = coalition | {i}
            phi[i] += v(grown) - v(coalition)
            coalition = grown
    return [p / permutations for p in phi]


def shapley(n: int, value: Value, *, seed: int = 0, permutations: int = 64) -> list[float]:
    """Exact for n <= 8, the Monte-Carlo estimate above."""
    if n == 0:
        return []
    return exact_shapley(n, value) if n <= MAX_EXACT_PLAYERS else monte_carlo_shapley(n, value, permutations, seed)
