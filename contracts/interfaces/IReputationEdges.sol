// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Reputation edges
/// @notice Contracts that create trust relations emit them as events; anyone rebuilds the
/// MeritRank graph from these logs (summing the weights of each (from, to) pair). Weights are
/// in units of 1e-18. Emitted today: task owner -> appointed aggregator (TaskManager, on task
/// creation, weight 1e18); aggregator -> trainer (RewardVault, on claim, weight = the
/// trainer's contribution score).
interface IReputationEdges {
    /// @notice A trust relation from `from` to `to` with `weight`, created in task `taskId`.
    event ReputationEdge(address indexed from, address indexed to, int256 weight, uint256 indexed taskId);
}
