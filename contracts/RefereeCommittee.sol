// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BN254} from "./libraries/BN254.sol";
import {IRefereeCommittee} from "./interfaces/IRefereeCommittee.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";

/// @title RefereeCommittee
/// @notice BLS referee keys and threshold verdict checks; see IRefereeCommittee.
contract RefereeCommittee is IRefereeCommittee {
    using BN254 for BN254.G1Point;

    uint8 public constant ROLE_REFEREE = 8;
    uint256 public constant MAX_SIZE = 256;

    IRegistry public immutable registry;
    /// @inheritdoc IRefereeCommittee
    uint256 public immutable threshold;

    address[] private _accounts;
    BN254.G1Point[] private _keys;
    BN254.G2Point[] private _keys2;
    mapping(address account => uint256) private _indexPlusOne;

    constructor(IRegistry registry_, uint256 threshold_) {
        registry = registry_;
        threshold = threshold_ == 0 ? 1 : threshold_;
    }

    /// @inheritdoc IRefereeCommittee
    function registerKey(BN254.G1Point calldata pk1, BN254.G2Point calldata pk2, BN254.G1Point calldata pop)
        external
        returns (uint256 index)
    {
        if (!registry.isEligible(msg.sender, ROLE_REFEREE, 0)) revert RefereeCommitteeNotReferee(msg.sender);
        if (_indexPlusOne[msg.sender] != 0) revert RefereeCommitteeAlreadyMember(msg.sender);
        if (_keys.length == MAX_SIZE) revert RefereeCommitteeFull(MAX_SIZE);
        bytes memory message = abi.encode("meritnet-referee-pop", msg.sender, pk1.x, pk1.y);
        if (!_check(message, pk1, pk2, pop)) revert RefereeCommitteeInvalidProofOfPossession(msg.sender);
        index = _keys.length;
        _keys.push(pk1);
        _keys2.push(pk2);
        _accounts.push(msg.sender);
        _indexPlusOne[msg.sender] = index + 1;
        emit MemberAdded(msg.sender, index, pk1.x, pk1.y);
    }

    /// @inheritdoc IRefereeCommittee
    function verify(bytes calldata message, uint256 signers, BN254.G2Point calldata apk2, BN254.G1Point calldata sigma)
        external
        view
        returns (bool)
    {
        uint256 n = _keys.length;
        uint256 count;
        BN254.G1Point memory apk1 = BN254.G1Point(0, 0);
        for (uint256 i; signers != 0; ++i) {
            if (signers & 1 == 1) {
                if (i >= n) revert RefereeCommitteeUnknownSigner(i);
                apk1 = apk1.add(_keys[i]);
                ++count;
            }
            signers >>= 1;
        }
        if (count < threshold) revert RefereeCommitteeBelowThreshold(count, threshold);
        return _check(message, apk1, apk2, sigma);
    }

    /// @inheritdoc IRefereeCommittee
    function size() external view returns (uint256) {
        return _keys.length;
    }

    /// @inheritdoc IRefereeCommittee
    function member(uint256 index) external view returns (address account, BN254.G1Point memory pk1) {
        if (index >= _keys.length) revert RefereeCommitteeUnknownSigner(index);
        return (_accounts[index], _keys[index]);
    }

    /// @inheritdoc IRefereeCommittee
    function memberG2(uint256 index) external view returns (BN254.G2Point memory) {
        if (index >= _keys2.length) revert RefereeCommitteeUnknownSigner(index);
        return _keys2[index];
    }

    /// @inheritdoc IRefereeCommittee
    function indexOf(address account) external view returns (uint256) {
        return _indexPlusOne[account];
    }

    /// @dev e(sigma + gamma * apk1, -G2) * e(H(m) + gamma * G1, apk2) == 1.
    function _check(bytes memory message, BN254.G1Point memory apk1, BN254.G2Point memory apk2, BN254.G1Point memory sigma)
        private
        view
        returns (bool)
    {
        BN254.G1Point memory h = BN254.hashToG1(message);
        uint256 gamma = uint256(
            keccak256(abi.encode(h.x, h.y, apk1.x, apk1.y, apk2.x[0], apk2.x[1], apk2.y[0], apk2.y[1], sigma.x, sigma.y))
        ) % BN254.R;
        return BN254.pairing2(
            sigma.add(apk1.mul(gamma)), BN254.negGeneratorG2(), h.add(BN254.generatorG1().mul(gamma)), apk2
        );
    }
}
