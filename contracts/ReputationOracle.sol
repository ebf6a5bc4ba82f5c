// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IReputationOracle} from "./interfaces/IReputationOracle.sol";

/// @title ReputationOracle
/// @notice MeritRank epoch roots; see IReputationOracle.
contract ReputationOracle is AccessControl, IReputationOracle {
    bytes32 public constant POSTER_ROLE = keccak256("POSTER_ROLE");

    uint64 private immutable _postWindow;
    uint256 private _latest;
    mapping(uint256 epoch => Epoch) private _epochs;

    constructor(address admin, address poster, uint64 postWindow_) {
        if (postWindow_ == 0) revert ReputationOracleZeroWindow();
        _postWindow = postWindow_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (poster != address(0)) _grantRole(POSTER_ROLE, poster);
    }

    /// @inheritdoc IReputationOracle
    function startEpoch() external returns (uint256 epoch) {
        if (_latest != 0) {
            Epoch storage previous = _epochs[_latest];
            if (previous.root == bytes32(0) && block.timestamp <= previous.postDeadline) {
                revert ReputationOracleEpochOpen(_latest, previous.postDeadline);
            }
        }
        epoch = ++_latest;
        Epoch storage e = _epochs[epoch];
        e.seed = keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), epoch));
        e.snapshotBlock = SafeCast.toUint64(block.number);
        e.postDeadline = SafeCast.toUint64(block.timestamp) + _postWindow;
        emit EpochStarted(epoch, e.seed, e.snapshotBlock);
    }

    /// @inheritdoc IReputationOracle
    function postEpoch(uint256 epoch, address ego, bytes32 root, bytes calldata scoresCid) external onlyRole(POSTER_ROLE) {
        if (epoch != _latest || epoch == 0 || _epochs[epoch].root != bytes32(0)) {
            revert ReputationOracleNotOpen(epoch, _epochs[_latest].root == bytes32(0) ? _latest : 0);
        }
        if (root == bytes32(0) || ego == address(0)) revert ReputationOracleEmptyRoot();
        Epoch storage e = _epochs[epoch];
        if (block.timestamp > e.postDeadline) revert ReputationOracleEpochExpired(epoch, e.postDeadline);
        e.root = root;
        e.ego = ego;
        e.scoresCid = scoresCid;
        emit EpochPosted(epoch, msg.sender, ego, root, scoresCid);
    }

    /// @inheritdoc IReputationOracle
    function verifyScore(uint256 epoch, address account, int256 score, bytes32[] calldata proof) external view returns (bool) {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, score))));
        return MerkleProof.verifyCalldata(proof, _epochs[epoch].root, leaf);
    }

    /// @inheritdoc IReputationOracle
    function getEpoch(uint256 epoch) external view returns (Epoch memory) {
        if (epoch == 0 || epoch > _latest) revert ReputationOracleUnknownEpoch(epoch);
        return _epochs[epoch];
    }

    /// @inheritdoc IReputationOracle
    function latestEpoch() external view returns (uint256) {
        return _latest;
    }

    /// @inheritdoc IReputationOracle
    function postWindow() external view returns (uint64) {
        return _postWindow;
    }
}
