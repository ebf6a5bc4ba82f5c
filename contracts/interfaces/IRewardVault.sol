// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IReputationEdges} from "./IReputationEdges.sol";

/// @title Reward vault: per-round budgets and pull-based Merkle claims
/// @notice Holds each task's reward budget. When a round's aggregator posts its scores, the
/// TaskManager allocates that round's total reward against the Merkle root of
/// (trainer, score, reward) leaves. Once the round is finalized (challenge window closed, no
/// open dispute), each trainer claims its own reward with a proof. The sum of claims in a
/// round can never exceed the round's allocation, and allocations never exceed the deposit,
/// whatever root was posted.
///
/// Leaf: keccak256(bytes.concat(keccak256(abi.encode(trainer, score, reward)))) with
/// `score` an int256 in units of 1e-18; the tree hashes sorted pairs (OpenZeppelin MerkleProof).
/// A claim with a nonzero score emits a ReputationEdge from the task's aggregator to the
/// trainer with the score as weight. A claim also releases the claimant's stake locked by
/// its commitment in that round (TaskManager.release).
///
/// Nothing stays stuck: claims are open for `claimWindow` seconds after the round is
/// finalized; after that anyone may `sweep` what is left of the round's allocation
/// (unclaimed rewards, a disqualified trainer's share, rounding leftovers) to the task owner,
/// and the owner reclaims the unallocated budget (failed rounds, rewards below the budget)
/// once the task is complete. `heldFor(taskId)` is what the vault holds for a task: zero once
/// the task is complete, reclaimed and every round swept.
interface IRewardVault is IReputationEdges {
    /// @notice The allocation of one round.
    struct RoundRewards {
        bytes32 root;
        uint256 total;
        uint256 claimed;
        uint64 claimDeadline; // set when the round is finalized
        bool swept;
    }

    /// @notice Thrown by claim after the claim window (or a sweep) and by sweep before it ends.
    error RewardVaultClaimWindow(uint256 taskId, uint32 round, uint64 claimDeadline);
    /// @notice Thrown when a function reserved to the TaskManager is called by anyone else.
    error RewardVaultNotTaskManager(address caller);
    /// @notice Thrown when the claimant lost a dispute over its submission in that round.
    error RewardVaultDisqualified(uint256 taskId, uint32 round, address account);
    /// @notice Thrown by bind when the vault is already bound to a TaskManager.
    error RewardVaultAlreadyBound(address taskManager);
    /// @notice Thrown when an allocation exceeds the task's unallocated budget.
    error RewardVaultInsufficientBudget(uint256 taskId, uint256 available, uint256 requested);
    /// @notice Thrown when a round is allocated twice.
    error RewardVaultAlreadyAllocated(uint256 taskId, uint32 round);
    /// @notice Thrown when claiming from a round that is not finalized.
    error RewardVaultRoundNotFinalized(uint256 taskId, uint32 round);
    /// @notice Thrown when the account already claimed this round.
    error RewardVaultAlreadyClaimed(uint256 taskId, uint32 round, address account);
    /// @notice Thrown when the proof does not lead to the round's root.
    error RewardVaultInvalidProof(uint256 taskId, uint32 round, address account);
    /// @notice Thrown when a claim would take the round past its allocation.
    error RewardVaultAllocationExceeded(uint256 taskId, uint32 round, uint256 remaining, uint256 requested);
    /// @notice Thrown by reclaim unless the caller owns a complete task.
    error RewardVaultNotReclaimable(uint256 taskId, address caller);

    /// @notice Emitted when a task's budget is deposited.
    event Deposited(uint256 indexed taskId, address indexed from, uint256 amount);
    /// @notice Emitted when a round's rewards are allocated against a root.
    event Allocated(uint256 indexed taskId, uint32 indexed round, bytes32 root, uint256 total);
    /// @notice Emitted when an account claims its reward.
    event Claimed(uint256 indexed taskId, uint32 indexed round, address indexed account, int256 score, uint256 amount);
    /// @notice Emitted when the owner of a complete task takes back the unallocated budget.
    event Reclaimed(uint256 indexed taskId, address indexed owner, uint256 amount);
    /// @notice Emitted when a round's leftover allocation goes to the task owner.
    event Swept(uint256 indexed taskId, uint32 indexed round, address indexed owner, uint256 amount);
    /// @notice Emitted when the vault is bound to its TaskManager.
    event Bound(address taskManager);

    /// @notice Bind the vault to its TaskManager (admin, once).
    function bind(address taskManager) external;

    /// @notice Pull `amount` from `from` into the budget of `taskId` (TaskManager only).
    function deposit(uint256 taskId, address from, uint256 amount) external;

    /// @notice Allocate `total` of the task's budget to a round against `root` (TaskManager only).
    function allocate(uint256 taskId, uint32 round, bytes32 root, uint256 total) external;

    /// @notice Open the round's claim window (TaskManager only, when the round is finalized).
    function finalizeRound(uint256 taskId, uint32 round) external;

    /// @notice After the claim window: send what is left of the round's allocation to the task owner (anyone).
    function sweep(uint256 taskId, uint32 round) external returns (uint256 amount);

    /// @notice Seconds claims stay open after a round is finalized.
    function claimWindow() external view returns (uint64);

    /// @notice Tokens the vault holds for `taskId` (unallocated plus unclaimed allocations).
    function heldFor(uint256 taskId) external view returns (uint256);

    /// @notice Claim the caller's reward for a finalized round.
    function claim(uint256 taskId, uint32 round, int256 score, uint256 amount, bytes32[] calldata proof) external;

    /// @notice Return the unallocated budget of a complete task to its owner.
    function reclaim(uint256 taskId) external returns (uint256 amount);

    /// @notice The allocation of a round.
    function roundRewards(uint256 taskId, uint32 round) external view returns (RoundRewards memory);

    /// @notice Whether `account` claimed in the round.
    function hasClaimed(uint256 taskId, uint32 round, address account) external view returns (bool);

    /// @notice The task's budget not yet allocated to a round.
    function unallocated(uint256 taskId) external view returns (uint256);

    /// @notice Whether a claim with these values would pass the proof check.
    function verifyLeaf(uint256 taskId, uint32 round, address account, int256 score, uint256 amount, bytes32[] calldata proof) external view returns (bool);
}
