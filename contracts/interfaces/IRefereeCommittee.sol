// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BN254} from "../libraries/BN254.sol";

/// @title The referee committee: BLS keys on BN254 and threshold verdict checks
/// @notice Registered referees (Registry role REFEREE with at least `minStake`) register one
/// BLS key pair (G1 and G2) with a proof of possession: a signature over
/// abi.encode("meritnet-referee-pop", referee, pk.x, pk.y). A verdict is valid when at least
/// `threshold` distinct members signed it: their G1 keys are summed on chain (0x06) and the
/// aggregate signature is checked against the supplied aggregate G2 key with one pairing
/// product (0x08) that also ties that key to the G1 sum (random linear combination).
interface IRefereeCommittee {
    /// @notice Thrown when the caller is not an eligible referee in the Registry.
    error RefereeCommitteeNotReferee(address account);
    /// @notice Thrown when the caller already registered a key.
    error RefereeCommitteeAlreadyMember(address account);
    /// @notice Thrown when the committee has reached its size limit.
    error RefereeCommitteeFull(uint256 size);
    /// @notice Thrown when the proof of possession does not verify.
    error RefereeCommitteeInvalidProofOfPossession(address account);
    /// @notice Thrown when a signer bitmap names an index that is not a member.
    error RefereeCommitteeUnknownSigner(uint256 index);
    /// @notice Thrown when fewer members signed than the threshold.
    error RefereeCommitteeBelowThreshold(uint256 signers, uint256 threshold);

    /// @notice Emitted when a referee registers its key as member `index`.
    event MemberAdded(address indexed referee, uint256 index, uint256 pkX, uint256 pkY);

    /// @notice Register the caller's BLS key pair with its proof of possession.
    function registerKey(BN254.G1Point calldata pk1, BN254.G2Point calldata pk2, BN254.G1Point calldata pop) external returns (uint256 index);

    /// @notice Whether the members in `signers` (bit i = member i) signed `message`, with
    /// `apk2` the sum of their G2 keys and `sigma` the sum of their signatures. Reverts for
    /// unknown signers or fewer than `threshold` of them; false for a bad signature.
    function verify(bytes calldata message, uint256 signers, BN254.G2Point calldata apk2, BN254.G1Point calldata sigma) external view returns (bool);

    /// @notice Number of members.
    function size() external view returns (uint256);

    /// @notice Signatures a verdict needs.
    function threshold() external view returns (uint256);

    /// @notice Member `index`'s account and G1 key.
    function member(uint256 index) external view returns (address account, BN254.G1Point memory pk1);

    /// @notice Member `index`'s G2 key (for summing the keys of a verdict's signers).
    function memberG2(uint256 index) external view returns (BN254.G2Point memory pk2);

    /// @notice Member index of `account` plus one (zero when not a member).
    function indexOf(address account) external view returns (uint256);
}
