// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BN254} from "../libraries/BN254.sol";

/// @title The referee committee: stake-weighted BLS keys on BN254 and verdict checks
/// @notice A registered referee (Registry role REFEREE with at least `stakeFloor` active
/// stake) joins with one BLS key pair (G1 and G2) and a proof of possession: a signature over
/// abi.encode("meritnet-referee-pop", chainId, committee, referee, pk.x, pk.y). Its voting
/// weight is its free stake at joining (active, not locked by other work), which the Registry
/// locks while it is a member and for `leaveDelay` seconds after it leaves (the lock blocks
/// withdrawal, not unbond requests).
///
/// Every join and leave bumps `version`; a dispute records the version when it opens (its
/// snapshot) and only the members of that snapshot, with their weights, count for it. A
/// verdict is valid when the signers' weight is more than thresholdNumerator /
/// thresholdDenominator of the snapshot's total weight: their G1 keys are summed on chain
/// (0x06) and the aggregate signature is checked against the supplied aggregate G2 key with
/// one pairing product (0x08) that also ties that key to the G1 sum. Keys and signatures
/// that are the point at infinity or off the curve are rejected.
///
/// A referee that signs two different output hashes for the same question (the game's voteKey:
/// the dispute's parties, located operator and agreed inputs, never its sequential id) can be
/// proven to have equivocated by anyone holding both signatures: its locked weight is
/// slashed, half to the prover, and it leaves the committee.
interface IRefereeCommittee {
    /// @notice One committee slot.
    /// @dev weight, joined and left share one slot: what a verdict check reads per signer.
    struct Member {
        uint128 weight; // zero once slashed for equivocation
        uint64 joined; // the version its join created
        uint64 left; // the version its leave created (0 while a member)
        address account;
        uint64 leftAt; // timestamp of leaving
        bool slashed;
        BN254.G1Point pk1;
        BN254.G2Point pk2;
    }

    /// @notice Thrown when the caller is not an eligible referee (role and stake floor).
    error RefereeCommitteeNotReferee(address account);
    /// @notice Thrown when the caller already holds a slot (a member, or left and not exited).
    error RefereeCommitteeAlreadyMember(address account);
    /// @notice Thrown when every slot is taken.
    error RefereeCommitteeFull(uint256 size);
    /// @notice Thrown when the proof of possession does not verify.
    error RefereeCommitteeInvalidProofOfPossession(address account);
    /// @notice Thrown when a signer bitmap names a slot that is not in the snapshot.
    error RefereeCommitteeUnknownSigner(uint256 index);
    /// @notice Thrown when the signers carry no more than the threshold share of the weight.
    error RefereeCommitteeBelowThreshold(uint256 signed, uint256 total);
    /// @notice Thrown for a key or signature at infinity, off the curve or unreduced.
    error RefereeCommitteeInvalidPoint(string what);
    /// @notice Thrown when the caller holds no slot, or already left.
    error RefereeCommitteeNotMember(address account);
    /// @notice Thrown by exit before `leaveDelay` has passed since leaving.
    error RefereeCommitteeStillBonded(address account, uint256 releaseAt);
    /// @notice Thrown when an equivocation proof does not show two valid, different signatures.
    error RefereeCommitteeNoEquivocation(address referee);
    /// @notice Thrown by bindGame when the caller is not the deployer or the game is bound.
    error RefereeCommitteeBindForbidden(address caller);
    /// @notice Thrown when the threshold fraction is not in [1/2, 1).
    error RefereeCommitteeInvalidThreshold(uint256 numerator, uint256 denominator);

    /// @notice Emitted when a referee registers its key as member `index`.
    event MemberAdded(address indexed referee, uint256 index, uint256 pkX, uint256 pkY);
    /// @notice Emitted on every join and leave with the new version and total weight.
    event MembershipChanged(address indexed referee, uint256 index, uint256 weight, bool joined, uint64 version, uint256 totalWeight);
    /// @notice Emitted when a former member's stake is unlocked and its slot freed.
    event MemberExited(address indexed referee, uint256 index, uint256 weight);
    /// @notice Emitted when an equivocation is proven.
    event Equivocated(address indexed referee, bytes32 indexed voteKey, uint256 slashed, address indexed prover);

    /// @notice Emitted when the dispute game is bound; `leaveDelay` is the delay from then on.
    event GameBound(address indexed game, uint64 leaveDelay);

    /// @notice Bind the dispute game whose verdict messages equivocation proofs refer to (once, by
    /// the deployer). Raises `leaveDelay` to the game's worst-case dispute duration when shorter,
    /// so no member of a dispute's snapshot can exit before that dispute has ended.
    function bindGame(address game) external;

    /// @notice Join with the caller's BLS key pair and proof of possession; locks its free stake as its weight.
    function registerKey(BN254.G1Point calldata pk1, BN254.G2Point calldata pk2, BN254.G1Point calldata pop) external returns (uint256 index);

    /// @notice Leave the committee: open disputes keep counting the caller, new ones do not.
    function leave() external;

    /// @notice After `leaveDelay` since leaving: unlock the caller's stake and free its slot.
    function exit() external;

    /// @notice Prove that `referee` signed two different output hashes for the same question
    /// `voteKey` (IDisputeGame.voteKey) of the bound game; slashes its weight (half to the caller, the rest burnt).
    function proveEquivocation(
        address referee,
        bytes32 voteKey,
        bytes32 hashA,
        BN254.G1Point calldata sigA,
        bytes32 hashB,
        BN254.G1Point calldata sigB
    ) external;

    /// @notice `verifyAt` against the current committee.
    function verify(bytes calldata message, uint256 signers, BN254.G2Point calldata apk2, BN254.G1Point calldata sigma) external view returns (bool);

    /// @notice Whether the members of snapshot `snapshot` in `signers` (bit i = slot i) signed
    /// `message`, with `apk2` the sum of their G2 keys and `sigma` the sum of their
    /// signatures. Reverts for signers outside the snapshot, invalid points, or signers
    /// carrying no more than the threshold share of the snapshot's weight; false for a bad
    /// signature.
    function verifyAt(bytes calldata message, uint256 signers, BN254.G2Point calldata apk2, BN254.G1Point calldata sigma, uint64 snapshot)
        external
        view
        returns (bool);

    /// @notice The current version (what a dispute records as its snapshot).
    function version() external view returns (uint64);

    /// @notice Total weight of the members at `snapshot`.
    function totalWeightAt(uint64 snapshot) external view returns (uint256);

    /// @notice Slot index plus one of `account` if it was a member at `snapshot`, else zero.
    function indexAt(address account, uint64 snapshot) external view returns (uint256);

    /// @notice Number of slots (members, and former members that have not exited).
    function size() external view returns (uint256);

    /// @notice Minimum active stake to join.
    function stakeFloor() external view returns (uint256);

    /// @notice Seconds a former member's stake stays locked after it leaves: the Registry's
    /// unbonding delay, or the bound game's worst-case dispute duration when longer.
    function leaveDelay() external view returns (uint64);

    /// @notice Slot `index`'s account and G1 key.
    function member(uint256 index) external view returns (address account, BN254.G1Point memory pk1);

    /// @notice Slot `index` in full.
    function memberInfo(uint256 index) external view returns (Member memory);

    /// @notice Slot `index`'s G2 key (for summing the keys of a verdict's signers).
    function memberG2(uint256 index) external view returns (BN254.G2Point memory pk2);

    /// @notice Slot index plus one of `account` (zero when it holds no slot).
    function indexOf(address account) external view returns (uint256);
}
