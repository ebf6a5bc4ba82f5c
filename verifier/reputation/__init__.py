"""MeritRank reputation (pure logic)."""

from verifier.reputation.meritrank import EpochReputation, MeritRank

__all__ = ["MeritRank", "EpochReputation"]
