// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BN254} from "./libraries/BN254.sol";
import {IDisputeGame} from "./interfaces/IDisputeGame.sol";
import {IRefereeCommittee} from "./interfaces/IRefereeCommittee.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";

/// @title RefereeCommittee
/// @notice Stake-weighted BLS referee keys with per-dispute snapshots; see IRefereeCommittee.
contract RefereeCommittee is IRefereeCommittee {
    using BN254 for BN254.G1Point;

    uint8 public constant ROLE_REFEREE = 8;
    /// @notice Slots (a signer bitmap is one uint256).
    uint256 public constant MAX_SIZE = 256;
    /// @notice Share of an equivocator's slashed weight paid to the prover.
    uint16 public constant EQUIVOCATION_REWARD_BPS = 5000;

    IRegistry public immutable registry;
    /// @inheritdoc IRefereeCommittee
    uint256 public immutable stakeFloor;
    uint256 public immutable thresholdNumerator;
    uint256 public immutable thresholdDenominator;
    /// @inheritdoc IRefereeCommittee
    uint64 public leaveDelay;
    address private immutable _binder;
    /// @notice The dispute game whose verdict messages equivocation proofs refer to.
    address public game;

    /// @inheritdoc IRefereeCommittee
    uint64 public version;
    /// @notice Weight of the current members.
    uint256 public totalWeight;

    Member[] private _members;
    uint256[] private _free;
    mapping(address account => uint256) private _indexPlusOne;
    mapping(uint64 version => uint256) private _totalAt;

    /// @param stakeFloor_ minimum active stake to join (the cost of one identity).
    /// @param numerator_ / denominator_ the share of a snapshot's weight a verdict must exceed
    /// (e.g. 2 / 3), at least one half and below one.
    constructor(IRegistry registry_, uint256 stakeFloor_, uint256 numerator_, uint256 denominator_) {
        if (denominator_ == 0 || numerator_ >= denominator_ || 2 * numerator_ < denominator_) {
            revert RefereeCommitteeInvalidThreshold(numerator_, denominator_);
        }
        registry = registry_;
        stakeFloor = stakeFloor_ == 0 ? 1 : stakeFloor_;
        thresholdNumerator = numerator_;
        thresholdDenominator = denominator_;
        leaveDelay = registry_.unbondingDelay();
        _binder = msg.sender;
    }

    /// @inheritdoc IRefereeCommittee
    function bindGame(address game_) external {
        if (msg.sender != _binder || game != address(0)) revert RefereeCommitteeBindForbidden(msg.sender);
        game = game_;
        // A member in a dispute's snapshot must still be locked when that dispute can last end,
        // or it could leave, exit and withdraw before its equivocation is proven.
        uint256 worst = IDisputeGame(game_).worstCaseDisputeDuration();
        if (worst > leaveDelay) leaveDelay = SafeCast.toUint64(worst);
        emit GameBound(game_, leaveDelay);
    }

    /// @inheritdoc IRefereeCommittee
    function registerKey(BN254.G1Point calldata pk1, BN254.G2Point calldata pk2, BN254.G1Point calldata pop)
        external
        returns (uint256 index)
    {
        if (_indexPlusOne[msg.sender] != 0) revert RefereeCommitteeAlreadyMember(msg.sender);
        if (!registry.isEligible(msg.sender, ROLE_REFEREE, stakeFloor)) revert RefereeCommitteeNotReferee(msg.sender);
        if (!BN254.isValidG1(pk1)) revert RefereeCommitteeInvalidPoint("pk1");
        if (!BN254.isValidG2(pk2)) revert RefereeCommitteeInvalidPoint("pk2");
        if (!BN254.isValidG1(pop)) revert RefereeCommitteeInvalidPoint("pop");
        bytes memory message = abi.encode("meritnet-referee-pop", block.chainid, address(this), msg.sender, pk1.x, pk1.y);
        if (!_check(message, pk1, pk2, pop)) revert RefereeCommitteeInvalidProofOfPossession(msg.sender);

        uint256 weight = registry.freeStakeOf(msg.sender); // stake that backs nothing else
        if (_free.length != 0) {
            index = _free[_free.length - 1];
            _free.pop();
        } else {
            index = _members.length;
            if (index == MAX_SIZE) revert RefereeCommitteeFull(MAX_SIZE);
            _members.push();
        }
        uint64 v = ++version;
        uint256 total = totalWeight + weight;
        totalWeight = total;
        _totalAt[v] = total;
        _members[index] = Member({
            weight: SafeCast.toUint128(weight),
            joined: v,
            left: 0,
            account: msg.sender,
            leftAt: 0,
            slashed: false,
            pk1: pk1,
            pk2: pk2
        });
        _indexPlusOne[msg.sender] = index + 1;
        emit MemberAdded(msg.sender, index, pk1.x, pk1.y);
        emit MembershipChanged(msg.sender, index, weight, true, v, total);
        registry.lock(msg.sender, weight);
    }

    /// @inheritdoc IRefereeCommittee
    function leave() external {
        uint256 plusOne = _indexPlusOne[msg.sender];
        if (plusOne == 0 || _members[plusOne - 1].left != 0) revert RefereeCommitteeNotMember(msg.sender);
        _leave(plusOne - 1);
    }

    /// @inheritdoc IRefereeCommittee
    function exit() external {
        uint256 plusOne = _indexPlusOne[msg.sender];
        if (plusOne == 0 || _members[plusOne - 1].left == 0) revert RefereeCommitteeNotMember(msg.sender);
        Member storage m = _members[plusOne - 1];
        uint256 releaseAt = uint256(m.leftAt) + leaveDelay;
        if (block.timestamp < releaseAt) revert RefereeCommitteeStillBonded(msg.sender, releaseAt);
        uint256 weight = m.weight; // zero after a slash, which already unlocked it
        delete _indexPlusOne[msg.sender];
        _free.push(plusOne - 1);
        emit MemberExited(msg.sender, plusOne - 1, weight);
        if (weight != 0) registry.unlock(msg.sender, weight);
    }

    /// @inheritdoc IRefereeCommittee
    function proveEquivocation(
        address referee,
        bytes32 voteKey,
        bytes32 hashA,
        BN254.G1Point calldata sigA,
        bytes32 hashB,
        BN254.G1Point calldata sigB
    ) external {
        uint256 plusOne = _indexPlusOne[referee];
        if (plusOne == 0 || hashA == hashB || game == address(0)) revert RefereeCommitteeNoEquivocation(referee);
        Member storage m = _members[plusOne - 1];
        if (m.slashed || !BN254.isValidG1(sigA) || !BN254.isValidG1(sigB)) revert RefereeCommitteeNoEquivocation(referee);
        BN254.G1Point memory pk1 = m.pk1;
        BN254.G2Point memory pk2 = m.pk2;
        if (
            !_check(abi.encode(block.chainid, game, voteKey, hashA), pk1, pk2, sigA)
                || !_check(abi.encode(block.chainid, game, voteKey, hashB), pk1, pk2, sigB)
        ) revert RefereeCommitteeNoEquivocation(referee);

        if (m.left == 0) _leave(plusOne - 1);
        uint256 weight = m.weight;
        m.slashed = true;
        m.weight = 0; // its signatures count for nothing from now on, in every snapshot
        uint256 slashable = registry.slashableOf(referee);
        uint256 amount = weight < slashable ? weight : slashable;
        uint256 reward = amount * EQUIVOCATION_REWARD_BPS / 10_000;
        emit Equivocated(referee, voteKey, amount, msg.sender);
        registry.unlock(referee, weight);
        if (reward != 0) registry.slash(referee, reward, msg.sender);
        if (amount > reward) registry.slash(referee, amount - reward, address(0));
    }

    /// @inheritdoc IRefereeCommittee
    function verify(bytes calldata message, uint256 signers, BN254.G2Point calldata apk2, BN254.G1Point calldata sigma)
        external
        view
        returns (bool)
    {
        return _verifyAt(message, signers, apk2, sigma, version);
    }

    /// @inheritdoc IRefereeCommittee
    function verifyAt(bytes calldata message, uint256 signers, BN254.G2Point calldata apk2, BN254.G1Point calldata sigma, uint64 snapshot)
        external
        view
        returns (bool)
    {
        return _verifyAt(message, signers, apk2, sigma, snapshot);
    }

    /// @inheritdoc IRefereeCommittee
    function totalWeightAt(uint64 snapshot) external view returns (uint256) {
        return _totalAt[snapshot];
    }

    /// @inheritdoc IRefereeCommittee
    function indexAt(address account, uint64 snapshot) external view returns (uint256) {
        uint256 plusOne = _indexPlusOne[account];
        if (plusOne == 0 || !_inSnapshot(_members[plusOne - 1], snapshot)) return 0;
        return plusOne;
    }

    /// @inheritdoc IRefereeCommittee
    function size() external view returns (uint256) {
        return _members.length;
    }

    /// @inheritdoc IRefereeCommittee
    function member(uint256 index) external view returns (address account, BN254.G1Point memory pk1) {
        if (index >= _members.length) revert RefereeCommitteeUnknownSigner(index);
        return (_members[index].account, _members[index].pk1);
    }

    /// @inheritdoc IRefereeCommittee
    function memberInfo(uint256 index) external view returns (Member memory) {
        if (index >= _members.length) revert RefereeCommitteeUnknownSigner(index);
        return _members[index];
    }

    /// @inheritdoc IRefereeCommittee
    function memberG2(uint256 index) external view returns (BN254.G2Point memory) {
        if (index >= _members.length) revert RefereeCommitteeUnknownSigner(index);
        return _members[index].pk2;
    }

    /// @inheritdoc IRefereeCommittee
    function indexOf(address account) external view returns (uint256) {
        return _indexPlusOne[account];
    }

    function _leave(uint256 index) private {
        Member storage m = _members[index];
        uint64 v = ++version;
        uint256 total = totalWeight - m.weight;
        totalWeight = total;
        _totalAt[v] = total;
        m.left = v;
        m.leftAt = SafeCast.toUint64(block.timestamp);
        emit MembershipChanged(m.account, index, m.weight, false, v, total);
    }

    function _verifyAt(bytes calldata message, uint256 signers, BN254.G2Point calldata apk2, BN254.G1Point calldata sigma, uint64 snapshot)
        private
        view
        returns (bool)
    {
        if (!BN254.isValidG2(apk2)) revert RefereeCommitteeInvalidPoint("apk2");
        if (!BN254.isValidG1(sigma)) revert RefereeCommitteeInvalidPoint("sigma");
        uint256 n = _members.length;
        uint256 weight;
        BN254.G1Point memory apk1 = BN254.G1Point(0, 0);
        for (uint256 i; signers != 0; ++i) {
            if (signers & 1 == 1) {
                if (i >= n) revert RefereeCommitteeUnknownSigner(i);
                Member storage m = _members[i];
                if (!_inSnapshot(m, snapshot)) revert RefereeCommitteeUnknownSigner(i);
                apk1 = apk1.add(m.pk1);
                weight += m.weight; // zero for a proven equivocator
            }
            signers >>= 1;
        }
        uint256 total = _totalAt[snapshot];
        if (weight * thresholdDenominator <= total * thresholdNumerator || weight == 0) {
            revert RefereeCommitteeBelowThreshold(weight, total);
        }
        if (apk1.x == 0 && apk1.y == 0) revert RefereeCommitteeInvalidPoint("apk1");
        return _check(message, apk1, apk2, sigma);
    }

    function _inSnapshot(Member storage m, uint64 snapshot) private view returns (bool) {
        return m.joined != 0 && m.joined <= snapshot && (m.left == 0 || m.left > snapshot);
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
