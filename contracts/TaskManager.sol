// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {IRewardVault} from "./interfaces/IRewardVault.sol";
import {ITaskManager} from "./interfaces/ITaskManager.sol";

/// @title TaskManager
/// @notice Tasks, rounds, phases and commit-reveal; see ITaskManager.
contract TaskManager is AccessControl, ITaskManager {
    bytes32 public constant DISPUTE_ROLE = keccak256("DISPUTE_ROLE");
    uint8 private constant _ROLE_TRAINER = 1;
    uint8 private constant _ROLE_AGGREGATOR = 2;
    // The dispute game pads K and M to a power of two in a uint32.
    /// @inheritdoc ITaskManager
    uint32 public constant MAX_STEPS = 1 << 24;
    /// @inheritdoc ITaskManager
    uint32 public constant MAX_OPS = 1 << 24;

    IRegistry public immutable registry;
    IRewardVault public immutable vault;

    uint256 private _taskCount;
    mapping(uint256 taskId => Task) private _tasks;
    mapping(uint256 taskId => mapping(uint32 round => Round)) private _rounds;
    mapping(uint256 taskId => mapping(uint32 round => mapping(address trainer => Submission))) private _submissions;
    mapping(uint256 taskId => mapping(uint32 round => mapping(address trainer => bool))) private _disqualified;

    modifier onlyExistingTask(uint256 taskId) {
        _checkTask(taskId);
        _;
    }

    constructor(address admin, IRegistry registry_, IRewardVault vault_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        registry = registry_;
        vault = vault_;
    }

    /// @inheritdoc ITaskManager
    function createTask(TaskConfig calldata config) external returns (uint256 taskId) {
        _checkConfig(config);
        taskId = ++_taskCount;
        Task storage task = _tasks[taskId];
        task.owner = msg.sender;
        task.config = config;
        task.currentModelCid = config.modelCid;
        uint256 budget = config.rewardPerRound * config.numRounds;
        emit TaskCreated(taskId, msg.sender, config.aggregator, budget, config.configHash);
        emit ReputationEdge(msg.sender, config.aggregator, 1e18, taskId);
        _openRound(taskId, task);
        vault.deposit(taskId, msg.sender, budget);
    }

    /// @inheritdoc ITaskManager
    function commit(uint256 taskId, uint32 round, bytes32 commitment) external onlyExistingTask(taskId) {
        Round storage r = _checkPhase(taskId, round, Phase.Commit);
        // The free stake must cover this commitment's lock: stake backing another submission
        // (or a referee seat, or posted scores) does not count twice.
        uint256 amount = _trainerLock(_tasks[taskId].config);
        if (!registry.isEligible(msg.sender, _ROLE_TRAINER, amount)) {
            revert TaskManagerNotEligible(msg.sender, _ROLE_TRAINER, amount);
        }
        if (commitment == bytes32(0)) revert TaskManagerEmptyCommitment();
        Submission storage sub = _submissions[taskId][round][msg.sender];
        if (sub.commitment != bytes32(0)) revert TaskManagerAlreadyCommitted(taskId, round, msg.sender);
        sub.commitment = commitment;
        ++r.commits;
        emit Committed(taskId, round, msg.sender, commitment);
        // The stake that makes the trainer eligible backs this submission until `release`.
        if (amount != 0) registry.lock(msg.sender, amount);
    }

    /// @inheritdoc ITaskManager
    function reveal(uint256 taskId, uint32 round, bytes calldata deltaCid, bytes32 traceRoot, bytes32 finalStateHash, bytes32 salt)
        external
        onlyExistingTask(taskId)
    {
        Round storage r = _checkPhase(taskId, round, Phase.Reveal);
        Submission storage sub = _submissions[taskId][round][msg.sender];
        if (sub.commitment == bytes32(0)) revert TaskManagerNotCommitted(taskId, round, msg.sender);
        if (sub.revealed) revert TaskManagerAlreadyRevealed(taskId, round, msg.sender);
        bytes32 computed = computeCommitment(deltaCid, traceRoot, finalStateHash, salt, msg.sender, taskId, round);
        if (computed != sub.commitment) revert TaskManagerRevealMismatch(msg.sender, sub.commitment, computed);
        sub.revealed = true;
        // The delta CID is only ever compared (through the commitment): it lives in the event.
        sub.traceRoot = traceRoot;
        sub.finalStateHash = finalStateHash;
        ++r.reveals;
        emit Revealed(taskId, round, msg.sender, deltaCid, traceRoot, finalStateHash, salt);
    }

    /// @inheritdoc ITaskManager
    function postScores(
        uint256 taskId,
        uint32 round,
        bytes calldata newModelCid,
        bytes32 scoresRoot,
        bytes32 traceRoot,
        bytes calldata scoresCid,
        uint256 totalReward
    ) external onlyExistingTask(taskId) {
        Task storage task = _tasks[taskId];
        if (msg.sender != task.config.aggregator) {
            revert TaskManagerNotAggregator(taskId, msg.sender, task.config.aggregator);
        }
        if (!registry.isEligible(msg.sender, _ROLE_AGGREGATOR, task.config.minStake)) {
            revert TaskManagerNotEligible(msg.sender, _ROLE_AGGREGATOR, task.config.minStake);
        }
        Round storage r = _checkPhase(taskId, round, Phase.Score);
        if (totalReward > task.config.rewardPerRound) {
            revert TaskManagerRewardExceedsBudget(taskId, totalReward, task.config.rewardPerRound);
        }
        if (newModelCid.length == 0) revert TaskManagerInvalidConfig("newModelCid");
        if (scoresRoot == bytes32(0)) revert TaskManagerInvalidConfig("scoresRoot");
        r.newModelCid = newModelCid;
        r.scoresRoot = scoresRoot;
        r.traceRoot = traceRoot;
        r.scoresCid = scoresCid;
        r.totalReward = totalReward;
        emit ScoresPosted(taskId, round, msg.sender, newModelCid, scoresRoot, traceRoot, scoresCid, totalReward);
        _setPhase(taskId, round, r, Phase.Challenge, task.config.challengeDuration);
        // The aggregator's stake backs its scores until the round is finalized.
        if (task.config.minStake != 0) registry.lock(msg.sender, task.config.minStake);
        vault.allocate(taskId, round, scoresRoot, totalReward);
    }

    /// @inheritdoc ITaskManager
    function advance(uint256 taskId) external onlyExistingTask(taskId) {
        Task storage task = _tasks[taskId];
        uint32 round = task.currentRound;
        Round storage r = _rounds[taskId][round];
        if (r.phase == Phase.Finalized) revert TaskManagerTaskComplete(taskId);
        if (block.timestamp <= r.deadline) {
            revert TaskManagerDeadlineNotReached(taskId, round, r.deadline, block.timestamp);
        }
        // No round finalizes (failed or not) while a dispute over one of its submissions is open.
        if (r.phase >= Phase.Score && r.openDisputes != 0) revert TaskManagerDisputeOpen(taskId, round, r.openDisputes);
        TaskConfig storage cfg = task.config;
        if (r.phase == Phase.Commit) {
            _setPhase(taskId, round, r, Phase.Reveal, cfg.revealDuration);
        } else if (r.phase == Phase.Reveal) {
            _setPhase(taskId, round, r, Phase.Score, cfg.scoreDuration);
        } else if (r.phase == Phase.Score) {
            // The aggregator missed its deadline: the round pays nothing.
            r.failed = true;
            _finalize(taskId, task, round, r);
        } else {
            task.currentModelCid = r.newModelCid;
            _finalize(taskId, task, round, r);
        }
    }

    /// @inheritdoc ITaskManager
    function slashNoReveal(uint256 taskId, uint32 round, address trainer) external onlyExistingTask(taskId) {
        Round storage r = _rounds[taskId][round];
        if (r.phase <= Phase.Reveal) revert TaskManagerWrongPhase(taskId, round, Phase.Score, r.phase);
        Submission storage sub = _submissions[taskId][round][trainer];
        if (sub.commitment == bytes32(0) || sub.revealed || sub.penalized || sub.released) {
            revert TaskManagerNoRevealNotSlashable(taskId, round, trainer);
        }
        _penalizeNoReveal(taskId, round, trainer, sub);
    }

    /// @inheritdoc ITaskManager
    function release(uint256 taskId, uint32 round, address trainer) external onlyExistingTask(taskId) returns (bool) {
        Round storage r = _rounds[taskId][round];
        if (r.phase != Phase.Finalized) revert TaskManagerWrongPhase(taskId, round, Phase.Finalized, r.phase);
        Submission storage sub = _submissions[taskId][round][trainer];
        if (sub.commitment == bytes32(0) || sub.released) return false;
        // A trainer that never revealed pays the penalty before its stake is free.
        if (!sub.revealed && !sub.penalized) _penalizeNoReveal(taskId, round, trainer, sub);
        sub.released = true;
        uint256 amount = _trainerLock(_tasks[taskId].config);
        emit StakeReleased(taskId, round, trainer, amount);
        if (amount != 0) registry.unlock(trainer, amount);
        return true;
    }

    /// @inheritdoc ITaskManager
    function openDispute(uint256 taskId, uint32 round) external onlyRole(DISPUTE_ROLE) onlyExistingTask(taskId) {
        Round storage r = _rounds[taskId][round];
        if (r.phase != Phase.Score && r.phase != Phase.Challenge) {
            revert TaskManagerWrongPhase(taskId, round, Phase.Challenge, r.phase);
        }
        // The challenge window closes with the phase's deadline, even before anyone advances.
        if (block.timestamp > r.deadline) revert TaskManagerDeadlinePassed(taskId, round, r.deadline, block.timestamp);
        ++r.openDisputes;
        emit DisputeCountChanged(taskId, round, r.openDisputes);
    }

    /// @inheritdoc ITaskManager
    function closeDispute(uint256 taskId, uint32 round) external onlyRole(DISPUTE_ROLE) onlyExistingTask(taskId) {
        Round storage r = _rounds[taskId][round];
        if (r.openDisputes == 0) revert TaskManagerNoOpenDispute(taskId, round);
        --r.openDisputes;
        emit DisputeCountChanged(taskId, round, r.openDisputes);
    }

    /// @inheritdoc ITaskManager
    function disqualify(uint256 taskId, uint32 round, address trainer) external onlyRole(DISPUTE_ROLE) onlyExistingTask(taskId) {
        _disqualified[taskId][round][trainer] = true;
        emit Disqualified(taskId, round, trainer);
    }

    /// @inheritdoc ITaskManager
    function isDisqualified(uint256 taskId, uint32 round, address trainer) external view returns (bool) {
        return _disqualified[taskId][round][trainer];
    }

    /// @inheritdoc ITaskManager
    function computeCommitment(
        bytes calldata deltaCid,
        bytes32 traceRoot,
        bytes32 finalStateHash,
        bytes32 salt,
        address trainer,
        uint256 taskId,
        uint32 round
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(deltaCid, traceRoot, finalStateHash, salt, trainer, taskId, round));
    }

    /// @inheritdoc ITaskManager
    function getTask(uint256 taskId) external view onlyExistingTask(taskId) returns (Task memory) {
        return _tasks[taskId];
    }

    /// @inheritdoc ITaskManager
    function getRound(uint256 taskId, uint32 round) external view onlyExistingTask(taskId) returns (Round memory) {
        return _rounds[taskId][round];
    }

    /// @inheritdoc ITaskManager
    function getSubmission(uint256 taskId, uint32 round, address trainer) external view returns (Submission memory) {
        return _submissions[taskId][round][trainer];
    }

    /// @inheritdoc ITaskManager
    function isFinalized(uint256 taskId, uint32 round) external view returns (bool) {
        Round storage r = _rounds[taskId][round];
        return r.phase == Phase.Finalized && !r.failed;
    }

    /// @inheritdoc ITaskManager
    function isComplete(uint256 taskId) external view returns (bool) {
        Task storage task = _tasks[taskId];
        return task.currentRound != 0 && task.currentRound == task.config.numRounds
            && _rounds[taskId][task.currentRound].phase == Phase.Finalized;
    }

    /// @inheritdoc ITaskManager
    function aggregatorOf(uint256 taskId) external view returns (address) {
        return _tasks[taskId].config.aggregator;
    }

    /// @inheritdoc ITaskManager
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    function _finalize(uint256 taskId, Task storage task, uint32 round, Round storage r) private {
        r.phase = Phase.Finalized;
        emit RoundFinalized(taskId, round, r.failed);
        if (r.scoresRoot != bytes32(0)) {
            if (task.config.minStake != 0) registry.unlock(task.config.aggregator, task.config.minStake);
            vault.finalizeRound(taskId, round);
        }
        if (round < task.config.numRounds) _openRound(taskId, task);
    }

    function _openRound(uint256 taskId, Task storage task) private {
        uint32 round = ++task.currentRound;
        Round storage r = _rounds[taskId][round];
        r.phase = Phase.Commit;
        r.deadline = SafeCast.toUint64(block.timestamp + task.config.commitDuration);
        r.seed = keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), taskId, round));
        r.baseModelCid = task.currentModelCid;
        emit RoundOpened(taskId, round, r.seed, r.baseModelCid, r.deadline);
    }

    function _setPhase(uint256 taskId, uint32 round, Round storage r, Phase phase, uint64 duration) private {
        r.phase = phase;
        r.deadline = SafeCast.toUint64(block.timestamp + duration);
        emit PhaseAdvanced(taskId, round, phase, r.deadline);
    }

    function _checkPhase(uint256 taskId, uint32 round, Phase expected) private view returns (Round storage r) {
        uint32 current = _tasks[taskId].currentRound;
        if (round != current) revert TaskManagerNotCurrentRound(taskId, round, current);
        r = _rounds[taskId][round];
        if (r.phase != expected) revert TaskManagerWrongPhase(taskId, round, expected, r.phase);
        if (block.timestamp > r.deadline) revert TaskManagerDeadlinePassed(taskId, round, r.deadline, block.timestamp);
    }

    function _checkTask(uint256 taskId) private view {
        if (taskId == 0 || taskId > _taskCount) revert TaskManagerUnknownTask(taskId);
    }

    function _penalizeNoReveal(uint256 taskId, uint32 round, address trainer, Submission storage sub) private {
        sub.penalized = true;
        uint256 penalty = _tasks[taskId].config.noRevealPenalty;
        uint256 slashable = registry.slashableOf(trainer);
        uint256 amount = penalty < slashable ? penalty : slashable;
        emit NoRevealSlashed(taskId, round, trainer, amount);
        // The penalty is burnt: paying the caller would let a trainer take back its own stake.
        if (amount != 0) registry.slash(trainer, amount, address(0));
    }

    /// @dev What a commitment locks: the eligibility stake, and at least the no-reveal penalty.
    function _trainerLock(TaskConfig storage config) private view returns (uint256) {
        return config.minStake > config.noRevealPenalty ? config.minStake : config.noRevealPenalty;
    }

    function _checkConfig(TaskConfig calldata config) private pure {
        if (config.modelCid.length == 0) revert TaskManagerInvalidConfig("modelCid");
        if (config.dataCid.length == 0) revert TaskManagerInvalidConfig("dataCid");
        if (config.aggregator == address(0)) revert TaskManagerInvalidConfig("aggregator");
        if (config.numRounds == 0) revert TaskManagerInvalidConfig("numRounds");
        if (
            config.commitDuration == 0 || config.revealDuration == 0 || config.scoreDuration == 0
                || config.challengeDuration == 0
        ) revert TaskManagerInvalidConfig("duration");
        if ((config.stepsPerRound == 0) != (config.opsPerStep == 0)) revert TaskManagerInvalidConfig("program");
        if (config.stepsPerRound > MAX_STEPS || config.opsPerStep > MAX_OPS) revert TaskManagerInvalidConfig("program size");
    }
}
