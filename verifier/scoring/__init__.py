"""Contribution scores, robust aggregation, similarity weights, marginal value, reward split (pure functions)."""

from verifier.scoring.basic import fedavg, relative_improvement, split_rewards, to_fixed_score
from verifier.scoring.robust import coordinate_median, multi_krum, trimmed_mean
from verifier.scoring.shapley import exact_shapley, leave_one_out
from verifier.scoring.similarity import foolsgold_weights

__all__ = [
    "fedavg",
    "relative_improvement",
    "split_rewards",
    "to_fixed_score",
    "coordinate_median",
    "multi_krum",
    "trimmed_mean",
    "exact_shapley",
    "leave_one_out",
    "foolsgold_weights",
]
