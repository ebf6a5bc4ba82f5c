// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IRewardVault} from "./interfaces/IRewardVault.sol";
import {ITaskManager} from "./interfaces/ITaskManager.sol";

/// @title RewardVault
/// @notice Per-round reward budgets with pull-based Merkle claims; see IRewardVault.
contract RewardVault is AccessControl, ReentrancyGuard, IRewardVault {
    using SafeERC20 for IERC20;

    IERC20 public immutable token;
    ITaskManager public taskManager;
    /// @inheritdoc IRewardVault
    uint64 public immutable claimWindow;

    mapping(uint256 taskId => uint256) private _unallocated;
    mapping(uint256 taskId => uint256) private _held;
    mapping(uint256 taskId => mapping(uint32 round => RoundRewards)) private _rounds;
    mapping(uint256 taskId => mapping(uint32 round => mapping(address account => bool))) private _claimed;

    modifier onlyTaskManager() {
        _checkTaskManager();
        _;
    }

    constructor(address admin, IERC20 token_, uint64 claimWindow_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        token = token_;
        claimWindow = claimWindow_;
    }

    /// @inheritdoc IRewardVault
    function bind(address taskManager_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(taskManager) != address(0)) revert RewardVaultAlreadyBound(address(taskManager));
        taskManager = ITaskManager(taskManager_);
        emit Bound(taskManager_);
    }

    /// @inheritdoc IRewardVault
    function deposit(uint256 taskId, address from, uint256 amount) external onlyTaskManager {
        _unallocated[taskId] += amount;
        _held[taskId] += amount;
        emit Deposited(taskId, from, amount);
        token.safeTransferFrom(from, address(this), amount);
    }

    /// @inheritdoc IRewardVault
    function allocate(uint256 taskId, uint32 round, bytes32 root, uint256 total) external onlyTaskManager {
        RoundRewards storage rewards = _rounds[taskId][round];
        if (rewards.root != bytes32(0)) revert RewardVaultAlreadyAllocated(taskId, round);
        uint256 available = _unallocated[taskId];
        if (total > available) revert RewardVaultInsufficientBudget(taskId, available, total);
        // Cannot underflow: total <= available was checked above.
        unchecked {
            _unallocated[taskId] = available - total;
        }
        rewards.root = root;
        rewards.total = total;
        emit Allocated(taskId, round, root, total);
    }

    /// @inheritdoc IRewardVault
    function claim(uint256 taskId, uint32 round, int256 score, uint256 amount, bytes32[] calldata proof)
        external
        nonReentrant
    {
        // Checks
        if (!taskManager.isFinalized(taskId, round)) revert RewardVaultRoundNotFinalized(taskId, round);
        if (_claimed[taskId][round][msg.sender]) revert RewardVaultAlreadyClaimed(taskId, round, msg.sender);
        if (taskManager.isDisqualified(taskId, round, msg.sender)) revert RewardVaultDisqualified(taskId, round, msg.sender);
        RoundRewards storage rewards = _rounds[taskId][round];
        if (rewards.swept || block.timestamp > rewards.claimDeadline) {
            revert RewardVaultClaimWindow(taskId, round, rewards.claimDeadline);
        }
        if (!MerkleProof.verifyCalldata(proof, rewards.root, _leaf(msg.sender, score, amount))) {
            revert RewardVaultInvalidProof(taskId, round, msg.sender);
        }
        uint256 remaining = rewards.total - rewards.claimed;
        if (amount > remaining) revert RewardVaultAllocationExceeded(taskId, round, remaining, amount);
        // Effects
        _claimed[taskId][round][msg.sender] = true;
        rewards.claimed += amount;
        _held[taskId] -= amount;
        emit Claimed(taskId, round, msg.sender, score, amount);
        if (score != 0) emit ReputationEdge(taskManager.aggregatorOf(taskId), msg.sender, score, taskId);
        // Interactions: free the stake the claimant's commitment locked, then pay.
        taskManager.release(taskId, round, msg.sender);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IRewardVault
    function reclaim(uint256 taskId) external nonReentrant returns (uint256 amount) {
        if (!taskManager.isComplete(taskId) || taskManager.getTask(taskId).owner != msg.sender) {
            revert RewardVaultNotReclaimable(taskId, msg.sender);
        }
        amount = _unallocated[taskId];
        _unallocated[taskId] = 0;
        _held[taskId] -= amount;
        emit Reclaimed(taskId, msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IRewardVault
    function finalizeRound(uint256 taskId, uint32 round) external onlyTaskManager {
        RoundRewards storage rewards = _rounds[taskId][round];
        if (rewards.root != bytes32(0) && rewards.claimDeadline == 0) {
            uint256 deadline = block.timestamp + claimWindow;
            rewards.claimDeadline = deadline > type(uint64).max ? type(uint64).max : uint64(deadline);
        }
    }

    /// @inheritdoc IRewardVault
    function sweep(uint256 taskId, uint32 round) external nonReentrant returns (uint256 amount) {
        RoundRewards storage rewards = _rounds[taskId][round];
        if (rewards.claimDeadline == 0 || rewards.swept || block.timestamp <= rewards.claimDeadline) {
            revert RewardVaultClaimWindow(taskId, round, rewards.claimDeadline);
        }
        rewards.swept = true;
        amount = rewards.total - rewards.claimed;
        _held[taskId] -= amount;
        address owner = taskManager.getTask(taskId).owner;
        emit Swept(taskId, round, owner, amount);
        if (amount != 0) token.safeTransfer(owner, amount);
    }

    /// @inheritdoc IRewardVault
    function heldFor(uint256 taskId) external view returns (uint256) {
        return _held[taskId];
    }

    /// @inheritdoc IRewardVault
    function roundRewards(uint256 taskId, uint32 round) external view returns (RoundRewards memory) {
        return _rounds[taskId][round];
    }

    /// @inheritdoc IRewardVault
    function hasClaimed(uint256 taskId, uint32 round, address account) external view returns (bool) {
        return _claimed[taskId][round][account];
    }

    /// @inheritdoc IRewardVault
    function unallocated(uint256 taskId) external view returns (uint256) {
        return _unallocated[taskId];
    }

    /// @inheritdoc IRewardVault
    function verifyLeaf(uint256 taskId, uint32 round, address account, int256 score, uint256 amount, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return MerkleProof.verifyCalldata(proof, _rounds[taskId][round].root, _leaf(account, score, amount));
    }

    function _checkTaskManager() private view {
        if (msg.sender != address(taskManager) || msg.sender == address(0)) revert RewardVaultNotTaskManager(msg.sender);
    }

    function _leaf(address account, int256 score, uint256 amount) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, score, amount))));
    }
}
