"""Contribution scores, aggregation and the reward split (pure functions)."""

from verifier.scoring.basic import fedavg, relative_improvement, split_rewards, to_fixed_score

__all__ = ["fedavg", "relative_improvement", "split_rewards", "to_fixed_score"]
