// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Reputation oracle: MeritRank epoch roots
/// @notice Anyone starts an epoch once the previous one is posted or has expired; starting fixes
/// the epoch's random seed and the block up to which reputation edges count. An epoch must be
/// posted within the post window fixed at deployment (`postWindow`); an epoch nobody posts
/// expires, so starting an epoch and never posting it cannot block the oracle. A holder of POSTER_ROLE (an
/// aggregator) computes MeritRank from `ego` over the edges up to that block with that seed,
/// and posts the Merkle root of (account, score) leaves; anyone can recompute it bit for bit
/// and check any score against the root.
///
/// Leaf: keccak256(bytes.concat(keccak256(abi.encode(account, score)))) with `score` an int256
/// in units of 1e-18; sorted-pair tree (OpenZeppelin MerkleProof).
interface IReputationOracle {
    /// @notice One epoch.
    struct Epoch {
        bytes32 seed;
        uint64 snapshotBlock;
        address ego;
        bytes32 root;
        bytes scoresCid;
        uint64 postDeadline;
    }

    /// @notice Thrown by startEpoch while the latest epoch has no posted root and has not expired.
    error ReputationOracleEpochOpen(uint256 epoch, uint64 postDeadline);
    /// @notice Thrown by postEpoch for an epoch whose post window has passed.
    error ReputationOracleEpochExpired(uint256 epoch, uint64 postDeadline);
    /// @notice Thrown by the constructor with a zero post window.
    error ReputationOracleZeroWindow();
    /// @notice Thrown by postEpoch for an epoch that is not the open one.
    error ReputationOracleNotOpen(uint256 epoch, uint256 openEpoch);
    /// @notice Thrown by postEpoch with a zero root or ego.
    error ReputationOracleEmptyRoot();
    /// @notice Thrown when reading an epoch that was never started.
    error ReputationOracleUnknownEpoch(uint256 epoch);

    /// @notice Emitted when an epoch starts.
    event EpochStarted(uint256 indexed epoch, bytes32 seed, uint64 snapshotBlock);
    /// @notice Emitted when an epoch's root is posted.
    event EpochPosted(uint256 indexed epoch, address indexed poster, address indexed ego, bytes32 root, bytes scoresCid);

    /// @notice Start the next epoch (anyone; the previous epoch must be posted or expired).
    function startEpoch() external returns (uint256 epoch);

    /// @notice Post the open epoch's root (POSTER_ROLE), before its post deadline.
    function postEpoch(uint256 epoch, address ego, bytes32 root, bytes calldata scoresCid) external;

    /// @notice Whether `score` of `account` is in the epoch's root.
    function verifyScore(uint256 epoch, address account, int256 score, bytes32[] calldata proof) external view returns (bool);

    /// @notice An epoch.
    function getEpoch(uint256 epoch) external view returns (Epoch memory);

    /// @notice The latest started epoch (0 before the first).
    function latestEpoch() external view returns (uint256);

    /// @notice Seconds a started epoch stays open for its root.
    function postWindow() external view returns (uint64);
}
