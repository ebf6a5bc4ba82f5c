// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IReputationEdges} from "./IReputationEdges.sol";

/// @title Training tasks and their rounds
/// @notice A task owner creates a task (base model, data manifest, config hash, aggregator,
/// reward per round, phase durations, minimum trainer stake) and deposits its whole reward
/// budget into the RewardVault. Each round moves through
/// Commit -> Reveal -> Score -> Challenge -> Finalized. Every phase has a deadline; after it,
/// anyone may call `advance` to move the current round one phase on. Finalizing a round opens
/// the next one with the round's new model as its base. A round whose aggregator did not post
/// by the Score deadline finalizes as failed: it pays nothing and its budget stays in the
/// vault, reclaimable by the owner when the task is complete.
///
/// Commit-reveal binds each submission to its sender, task and round:
/// commitment = keccak256(abi.encode(deltaCid, traceRoot, finalStateHash, salt, trainer, taskId, round)),
/// so replaying another trainer's commitment or reveal gains nothing.
///
/// Creating a task emits a ReputationEdge from the owner to the appointed aggregator.
///
/// No function loops over trainers: a trainer that committed and did not reveal is penalised
/// by a separate O(1) call (`slashNoReveal`) that anyone may make after the Reveal phase.
///
/// Stake that backs work is locked in the Registry: a commitment locks
/// max(minStake, noRevealPenalty) of the trainer's stake until `release` (anyone, once the
/// round is finalized; the RewardVault calls it on claim), which first applies the no-reveal
/// penalty if it is due; posting scores locks the aggregator's minStake until the round is
/// finalized. A round never finalizes while a dispute over it is open, and disputes can only
/// be opened in its Score and Challenge phases, before the phase's deadline. The delta CID of
/// a reveal is kept in the Revealed event only (the chain only compares it, through the
/// commitment). K and M are bounded by MAX_STEPS and MAX_OPS.
interface ITaskManager is IReputationEdges {
    enum Phase {
        None,
        Commit,
        Reveal,
        Score,
        Challenge,
        Finalized
    }

    /// @notice What a task owner fixes when creating a task.
    struct TaskConfig {
        bytes modelCid;
        bytes dataCid;
        bytes32 configHash;
        address aggregator;
        uint256 rewardPerRound;
        uint32 numRounds;
        uint64 commitDuration;
        uint64 revealDuration;
        uint64 scoreDuration;
        uint64 challengeDuration;
        uint256 minStake;
        uint256 noRevealPenalty;
        /// @dev Training steps per round (K) and RepOps operator calls per step (M, the
        /// `state` operator included) of the task's program; zero when submissions are not
        /// verifiable by re-execution (no disputes possible).
        uint32 stepsPerRound;
        uint32 opsPerStep;
    }

    /// @notice A task: its config, owner, the model CID of its current round and the round number.
    struct Task {
        address owner;
        uint32 currentRound;
        bytes currentModelCid;
        TaskConfig config;
    }

    /// @notice The public state of one round.
    struct Round {
        Phase phase;
        bool failed;
        uint64 deadline;
        uint32 commits;
        uint32 reveals;
        uint32 openDisputes;
        bytes32 seed;
        bytes baseModelCid;
        bytes newModelCid;
        bytes32 scoresRoot;
        bytes32 traceRoot;
        bytes scoresCid;
        uint256 totalReward;
    }

    /// @notice One trainer's submission in one round.
    struct Submission {
        bytes32 commitment;
        bool revealed;
        bool penalized;
        bool released; // the stake it locked was released after the round finalized
        bytes32 traceRoot;
        bytes32 finalStateHash;
    }

    /// @notice Thrown when the task config is unusable; `reason` names the field.
    error TaskManagerInvalidConfig(string reason);
    /// @notice Thrown for a task id that does not exist.
    error TaskManagerUnknownTask(uint256 taskId);
    /// @notice Thrown for a round that is not the task's current round (or has not opened).
    error TaskManagerNotCurrentRound(uint256 taskId, uint32 round, uint32 currentRound);
    /// @notice Thrown when an action needs another phase.
    error TaskManagerWrongPhase(uint256 taskId, uint32 round, Phase expected, Phase actual);
    /// @notice Thrown when an action comes after its phase's deadline.
    error TaskManagerDeadlinePassed(uint256 taskId, uint32 round, uint64 deadline, uint256 timestamp);
    /// @notice Thrown by advance before the current phase's deadline.
    error TaskManagerDeadlineNotReached(uint256 taskId, uint32 round, uint64 deadline, uint256 timestamp);
    /// @notice Thrown when the account lacks the role or the stake the task requires.
    error TaskManagerNotEligible(address account, uint8 role, uint256 minStake);
    /// @notice Thrown when the caller is not the task's aggregator.
    error TaskManagerNotAggregator(uint256 taskId, address caller, address aggregator);
    /// @notice Thrown when a zero commitment is submitted.
    error TaskManagerEmptyCommitment();
    /// @notice Thrown when the trainer already committed in this round.
    error TaskManagerAlreadyCommitted(uint256 taskId, uint32 round, address trainer);
    /// @notice Thrown when the trainer reveals without a commitment.
    error TaskManagerNotCommitted(uint256 taskId, uint32 round, address trainer);
    /// @notice Thrown when the trainer already revealed.
    error TaskManagerAlreadyRevealed(uint256 taskId, uint32 round, address trainer);
    /// @notice Thrown when a reveal does not hash to the trainer's commitment.
    error TaskManagerRevealMismatch(address trainer, bytes32 committed, bytes32 revealed);
    /// @notice Thrown when the aggregator allocates more than the per-round reward.
    error TaskManagerRewardExceedsBudget(uint256 taskId, uint256 requested, uint256 rewardPerRound);
    /// @notice Thrown by advance while a dispute on the round is open.
    error TaskManagerDisputeOpen(uint256 taskId, uint32 round, uint32 openDisputes);
    /// @notice Thrown by closeDispute when no dispute is open on the round.
    error TaskManagerNoOpenDispute(uint256 taskId, uint32 round);
    /// @notice Thrown by slashNoReveal when the trainer revealed, never committed, or was
    /// already penalised.
    error TaskManagerNoRevealNotSlashable(uint256 taskId, uint32 round, address trainer);

    /// @notice Emitted when a trainer's locked stake for a round is released.
    event StakeReleased(uint256 indexed taskId, uint32 indexed round, address indexed trainer, uint256 amount);
    /// @notice Thrown by advance when every round of the task is finalized.
    error TaskManagerTaskComplete(uint256 taskId);

    /// @notice Emitted when a task is created and its budget deposited.
    event TaskCreated(uint256 indexed taskId, address indexed owner, address indexed aggregator, uint256 budget, bytes32 configHash);
    /// @notice Emitted when a round opens; `seed` fixes its shard assignment and randomness.
    event RoundOpened(uint256 indexed taskId, uint32 indexed round, bytes32 seed, bytes baseModelCid, uint64 deadline);
    /// @notice Emitted when a round moves to a new phase.
    event PhaseAdvanced(uint256 indexed taskId, uint32 indexed round, Phase phase, uint64 deadline);
    /// @notice Emitted when a trainer commits.
    event Committed(uint256 indexed taskId, uint32 indexed round, address indexed trainer, bytes32 commitment);
    /// @notice Emitted when a trainer reveals. The salt is published so that anyone can prove
    /// against the stored commitment which `deltaCid` was revealed (DisputeGame.openDelta).
    event Revealed(
        uint256 indexed taskId, uint32 indexed round, address indexed trainer, bytes deltaCid, bytes32 traceRoot, bytes32 finalStateHash, bytes32 salt
    );
    /// @notice Emitted when the aggregator posts the round's result.
    event ScoresPosted(uint256 indexed taskId, uint32 indexed round, address indexed aggregator, bytes newModelCid, bytes32 scoresRoot, bytes32 traceRoot, bytes scoresCid, uint256 totalReward);
    /// @notice Emitted when a trainer lost a dispute over its submission: it can claim no reward for the round.
    event Disqualified(uint256 indexed taskId, uint32 indexed round, address indexed trainer);
    /// @notice Emitted when a round finalizes; `failed` when no result was posted.
    event RoundFinalized(uint256 indexed taskId, uint32 indexed round, bool failed);
    /// @notice Emitted when a dispute on a round opens or closes.
    event DisputeCountChanged(uint256 indexed taskId, uint32 indexed round, uint32 openDisputes);
    /// @notice Emitted when a trainer that did not reveal is slashed.
    event NoRevealSlashed(uint256 indexed taskId, uint32 indexed round, address indexed trainer, uint256 amount);

    /// @notice Create a task, pull `rewardPerRound * numRounds` from the caller into the vault
    /// (approve the vault first) and open round 1.
    function createTask(TaskConfig calldata config) external returns (uint256 taskId);

    /// @notice Commit to a submission for the current round (Commit phase, eligible trainer).
    function commit(uint256 taskId, uint32 round, bytes32 commitment) external;

    /// @notice Reveal the committed submission (Reveal phase).
    function reveal(uint256 taskId, uint32 round, bytes calldata deltaCid, bytes32 traceRoot, bytes32 finalStateHash, bytes32 salt) external;

    /// @notice The aggregator posts the round's new model, the Merkle root of
    /// (trainer, score, reward) leaves, the aggregation trace root, the CID of the leaves and
    /// the total reward (Score phase). Opens the challenge window.
    function postScores(uint256 taskId, uint32 round, bytes calldata newModelCid, bytes32 scoresRoot, bytes32 traceRoot, bytes calldata scoresCid, uint256 totalReward) external;

    /// @notice Move the task's current round one phase on once its deadline has passed.
    function advance(uint256 taskId) external;

    /// @notice Slash a trainer that committed and did not reveal (after the Reveal phase).
    function slashNoReveal(uint256 taskId, uint32 round, address trainer) external;

    /// @notice Once round `round` is finalized: release the stake `trainer`'s commitment
    /// locked (applying the no-reveal penalty first if it is due). Anyone may call it; false
    /// when there is nothing to release.
    function release(uint256 taskId, uint32 round, address trainer) external returns (bool);

    /// @notice Register an open dispute on a round (DISPUTE_ROLE only); blocks finalization.
    function openDispute(uint256 taskId, uint32 round) external;

    /// @notice Clear an open dispute on a round (DISPUTE_ROLE only).
    function closeDispute(uint256 taskId, uint32 round) external;

    /// @notice Bar `trainer` from the round's rewards (it lost a dispute); DISPUTE_ROLE only.
    function disqualify(uint256 taskId, uint32 round, address trainer) external;

    /// @notice Whether `trainer` lost a dispute over its submission in the round.
    function isDisqualified(uint256 taskId, uint32 round, address trainer) external view returns (bool);

    /// @notice The commitment a trainer must submit for the given reveal values.
    function computeCommitment(bytes calldata deltaCid, bytes32 traceRoot, bytes32 finalStateHash, bytes32 salt, address trainer, uint256 taskId, uint32 round) external pure returns (bytes32);

    /// @notice Largest K (steps per round) a task may declare.
    function MAX_STEPS() external view returns (uint32);

    /// @notice Largest M (operators per step) a task may declare.
    function MAX_OPS() external view returns (uint32);

    /// @notice The task with id `taskId`.
    function getTask(uint256 taskId) external view returns (Task memory);

    /// @notice The round `round` of task `taskId`.
    function getRound(uint256 taskId, uint32 round) external view returns (Round memory);

    /// @notice The submission of `trainer` in a round.
    function getSubmission(uint256 taskId, uint32 round, address trainer) external view returns (Submission memory);

    /// @notice Whether the round finalized with a posted result (its rewards are claimable).
    function isFinalized(uint256 taskId, uint32 round) external view returns (bool);

    /// @notice Whether every round of the task is finalized.
    function isComplete(uint256 taskId) external view returns (bool);

    /// @notice The aggregator appointed for a task (zero for an unknown task).
    function aggregatorOf(uint256 taskId) external view returns (address);

    /// @notice The number of tasks created; ids run from 1 to taskCount.
    function taskCount() external view returns (uint256);
}
