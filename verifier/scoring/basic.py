"""The first scoring rule: relative validation-loss improvement, weighted FedAvg, floor split.

``s_i = (L(theta) - L(theta + delta_i)) / L(theta)``; a delta's aggregation weight and reward
weight is ``max(0, s_i)``; rewards are ``floor(budget * w_i / sum w)`` so that the total never
exceeds the budget (the remainder stays in the vault, reclaimable by the task owner).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

__all__ = ["relative_improvement", "fedavg", "split_rewards", "to_fixed_score", "SCORE_UNIT"]

SCORE_UNIT = 10**18


def relative_improvement(loss_before: float, loss_after: float) -> float:
    if loss_before <= 0:
        return 0.0
    return (loss_before - loss_after) / loss_before


def to_fixed_score(score: float) -> int:
    return round(score * SCORE_UNIT)


def fedavg(base: Mapping[str, torch.Tensor], deltas: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """``base + sum_i w_i delta_i / sum_i w_i``, summed in the given order; ``base`` when no weight is positive."""
    total = float(sum(w for w in weights if w > 0))
    if total <= 0:
        return {k: v.clone() for k, v in base.items()}
    out = {}
    for name in sorted(base):
        acc = torch.zeros_like(base[name])
        for delta, w in zip(deltas, weights, strict=True):
            if w > 0:
                acc = acc + delta[name] * (w / total)
        out[name] = base[name] + acc
    return out


def split_rewards(budget: int, weights: Sequence[float]) -> list[int]:
    """Integer rewards proportional to the positive weights; the sum never exceeds ``budget``."""
    fixed = [max(0, to_fixed_score(w)) for w in weights]
    total = sum(fixed)
    if total == 0 or budget <= 0:
        return [0] * len(weights)
    return [budget * f // total for f in fixed]
