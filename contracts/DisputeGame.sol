// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BN254} from "./libraries/BN254.sol";
import {IDisputeGame} from "./interfaces/IDisputeGame.sol";
import {IMeritToken} from "./interfaces/IMeritToken.sol";
import {IRefereeCommittee} from "./interfaces/IRefereeCommittee.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {ITaskManager} from "./interfaces/ITaskManager.sol";

/// @title DisputeGame
/// @notice Bisection over steps, then over one step's operators, settled by a BLS committee;
/// see IDisputeGame.
contract DisputeGame is IDisputeGame {
    using SafeERC20 for IMeritToken;

    uint8 public constant ROLE_VERIFIER = 4;
    /// @notice Operator index of a verdict on S_0 itself.
    uint32 public constant INITIAL_STATE = type(uint32).max;
    /// @notice Operator index of a verdict on the published delta: `delta = params(S_K) - base`.
    uint32 public constant FINAL_DELTA = type(uint32).max - 1;
    uint8 private constant _DEFENDER = 1;
    uint8 private constant _CHALLENGER = 2;

    IRegistry public immutable registry;
    IMeritToken public immutable token;
    ITaskManager public immutable taskManager;
    IRefereeCommittee public immutable committee;
    GameParams private _params;

    uint256 private _count;
    mapping(uint256 disputeId => Dispute) private _disputes;
    mapping(uint256 disputeId => mapping(address party => bytes cid)) private _evidence;
    mapping(uint256 disputeId => mapping(uint256 member => Vote)) private _votes;
    /// @dev The committee version each dispute counts votes against.
    mapping(uint256 disputeId => uint64) private _snapshots;
    /// @dev Submissions (taskId, round, defender) over which a dispute ended with a result.
    mapping(bytes32 submission => bool) private _decided;
    /// @dev (submission, challenger) pairs that already opened a dispute.
    mapping(bytes32 pair => bool) private _challenged;

    struct Vote {
        bytes32 outputHash;
        BN254.G1Point sigma;
    }

    constructor(IRegistry registry_, IMeritToken token_, ITaskManager taskManager_, IRefereeCommittee committee_, GameParams memory params_) {
        registry = registry_;
        token = token_;
        taskManager = taskManager_;
        committee = committee_;
        _params = params_;
    }

    /// @inheritdoc IDisputeGame
    function open(
        uint256 taskId,
        uint32 round,
        address defender,
        bytes32 traceRoot,
        bytes32 s0,
        bytes32[] calldata proof0,
        bytes32 sK,
        bytes32[] calldata proofK
    ) external returns (uint256 disputeId) {
        (ITaskManager.TaskConfig memory config, ITaskManager.Submission memory sub) = _checkOpen(taskId, round, defender);
        if (sK == sub.finalStateHash) revert DisputeGameNoDisagreement(sK);
        disputeId = _newDispute(taskId, round, defender);
        uint32 k = config.stepsPerRound;
        _checkProof(disputeId, traceRoot, k, 0, s0, proof0);
        _checkProof(disputeId, traceRoot, k, k, sK, proofK);

        Dispute storage d = _disputes[disputeId];
        d.taskId = taskId;
        d.round = round;
        d.defender = defender;
        d.challenger = msg.sender;
        d.steps = k;
        d.ops = config.opsPerStep;
        d.defenderRoot = sub.traceRoot;
        d.challengerRoot = traceRoot;
        d.agreed = s0; // the challenger's S_0, compared with the defender's in respond
        d.challengerHi = sK;
        d.revealedFinal = sub.finalStateHash;
        d.bond = _params.bond;
        _setStage(d, Stage.AwaitDefender, _params.moveDuration);
        emit DisputeOpened(disputeId, taskId, round, defender, msg.sender, d.bond);

        taskManager.openDispute(taskId, round);
        if (d.bond != 0) token.safeTransferFrom(msg.sender, address(this), d.bond);
    }

    /// @inheritdoc IDisputeGame
    function openDelta(uint256 taskId, uint32 round, address defender, bytes calldata deltaCid, bytes32 salt, bytes32 deltaHash)
        external
        returns (uint256 disputeId)
    {
        (ITaskManager.TaskConfig memory config, ITaskManager.Submission memory sub) = _checkOpen(taskId, round, defender);
        // The submission stores only its commitment: the revealed CID is proven against it.
        bytes32 commitment = taskManager.computeCommitment(deltaCid, sub.traceRoot, sub.finalStateHash, salt, defender, taskId, round);
        if (commitment != sub.commitment) revert DisputeGameNotRevealedDelta(taskId, round, defender);
        bytes32 published = sha256(deltaCid);
        if (deltaHash == published) revert DisputeGameNoDisagreement(deltaHash);
        disputeId = _newDispute(taskId, round, defender);
        Dispute storage d = _disputes[disputeId];
        d.taskId = taskId;
        d.round = round;
        d.defender = defender;
        d.challenger = msg.sender;
        d.steps = config.stepsPerRound;
        d.ops = config.opsPerStep;
        d.defenderRoot = sub.traceRoot;
        d.revealedFinal = sub.finalStateHash;
        // The delta's inputs are agreed from the start: the revealed S_K and the round's base.
        d.agreed = sub.finalStateHash;
        d.start = sub.finalStateHash;
        d.defenderHi = published;
        d.challengerHi = deltaHash;
        d.bond = _params.bond;
        emit DisputeOpened(disputeId, taskId, round, defender, msg.sender, d.bond);
        _locate(disputeId, d, config.stepsPerRound, FINAL_DELTA);

        taskManager.openDispute(taskId, round);
        if (d.bond != 0) token.safeTransferFrom(msg.sender, address(this), d.bond);
    }

    /// @inheritdoc IDisputeGame
    function respond(uint256 disputeId, bytes32 s0, bytes32[] calldata proof0, bytes32 sK, bytes32[] calldata proofK) external {
        Dispute storage d = _live(disputeId, Stage.AwaitDefender);
        if (msg.sender != d.defender) revert DisputeGameNotParty(disputeId, msg.sender);
        _checkProof(disputeId, d.defenderRoot, d.steps, 0, s0, proof0);
        _checkProof(disputeId, d.defenderRoot, d.steps, d.steps, sK, proofK);
        if (sK != d.revealedFinal) {
            // The defender's own trace does not end at the final state it revealed: its reveal
            // contradicts itself, and no accusation it answers this way can fail.
            _resolve(disputeId, d, Party.Challenger, false);
        } else if (s0 != d.agreed) {
            // The parties start from different states: the committee decides S_0.
            d.defenderHi = s0;
            d.challengerHi = d.agreed;
            d.agreed = bytes32(0);
            _locate(disputeId, d, 0, INITIAL_STATE);
        } else if (sK == d.challengerHi) {
            _resolve(disputeId, d, Party.Defender, false); // the traces agree: a false accusation
        } else {
            d.defenderHi = sK;
            d.lo = 0;
            d.hi = _pow2(d.steps);
            _afterStepMove(disputeId, d);
        }
    }

    /// @inheritdoc IDisputeGame
    function postState(uint256 disputeId, bytes32 value, bytes32[] calldata proof) external {
        Dispute storage d = _live(disputeId, Stage.Steps);
        uint32 m = (d.lo + d.hi) / 2;
        uint8 side = _post(disputeId, d, value, m);
        _checkProof(disputeId, side == _DEFENDER ? d.defenderRoot : d.challengerRoot, d.steps, m, value, proof);
        if (d.posted == _DEFENDER | _CHALLENGER) {
            _bisect(disputeId, d, m);
            _afterStepMove(disputeId, d);
        }
    }

    /// @inheritdoc IDisputeGame
    function postChainEnd(uint256 disputeId, bytes32 beforeLast) external {
        Dispute storage d = _live(disputeId, Stage.ChainEnd);
        _post(disputeId, d, beforeLast, d.ops - 1);
        if (d.posted == _DEFENDER | _CHALLENGER) {
            // c_M = sha256(c_(M-1) || S_t+1): the step's last operator outputs the state hash.
            d.defenderHi = sha256(abi.encodePacked(d.defenderPost, d.defenderHi));
            d.challengerHi = sha256(abi.encodePacked(d.challengerPost, d.challengerHi));
            d.posted = 0;
            d.lo = 0;
            d.hi = _pow2(d.ops);
            _afterOpMove(disputeId, d);
        }
    }

    /// @inheritdoc IDisputeGame
    function postChain(uint256 disputeId, bytes32 value) external {
        Dispute storage d = _live(disputeId, Stage.Ops);
        uint32 m = (d.lo + d.hi) / 2;
        _post(disputeId, d, value, m);
        if (d.posted == _DEFENDER | _CHALLENGER) {
            _bisect(disputeId, d, m);
            _afterOpMove(disputeId, d);
        }
    }

    /// @inheritdoc IDisputeGame
    function postEvidence(uint256 disputeId, bytes calldata cid) external {
        Dispute storage d = _live(disputeId, Stage.AwaitVerdict);
        if (msg.sender != d.defender && msg.sender != d.challenger) revert DisputeGameNotParty(disputeId, msg.sender);
        _evidence[disputeId][msg.sender] = cid;
        emit EvidencePosted(disputeId, msg.sender, cid);
    }

    /// @inheritdoc IDisputeGame
    function castVote(uint256 disputeId, bytes32 outputHash, BN254.G1Point calldata sigma) external {
        _live(disputeId, Stage.AwaitVerdict);
        uint256 indexPlusOne = committee.indexAt(msg.sender, _snapshots[disputeId]);
        if (indexPlusOne == 0) revert DisputeGameNotReferee(msg.sender);
        _votes[disputeId][indexPlusOne - 1] = Vote(outputHash, sigma);
        emit VoteCast(disputeId, indexPlusOne - 1, outputHash, sigma.x, sigma.y);
    }

    /// @inheritdoc IDisputeGame
    function submitVerdict(uint256 disputeId, bytes32 outputHash, uint256 signers, BN254.G2Point calldata apk2, BN254.G1Point calldata sigma)
        external
    {
        Dispute storage d = _live(disputeId, Stage.AwaitVerdict);
        bytes memory message = abi.encode(block.chainid, address(this), _voteKey(d), outputHash);
        if (!committee.verifyAt(message, signers, apk2, sigma, _snapshots[disputeId])) revert DisputeGameInvalidVerdict(disputeId);
        // S_0 and the delta are judged on the committee's value itself, an operator on its chain link.
        bytes32 expected = d.op == INITIAL_STATE || d.op == FINAL_DELTA ? outputHash : sha256(abi.encodePacked(d.agreed, outputHash));
        if (expected == d.defenderHi) {
            _resolve(disputeId, d, Party.Defender, false);
        } else if (expected == d.challengerHi) {
            _resolve(disputeId, d, Party.Challenger, false);
        } else {
            _resolve(disputeId, d, Party.None, false); // both wrong
        }
    }

    /// @inheritdoc IDisputeGame
    function timeout(uint256 disputeId) external {
        Dispute storage d = _get(disputeId);
        if (d.stage == Stage.Resolved) revert DisputeGameWrongStage(disputeId, Stage.AwaitVerdict, d.stage);
        if (block.timestamp <= d.deadline) revert DisputeGameDeadlineNotReached(disputeId, d.deadline, block.timestamp);
        if (d.stage == Stage.AwaitVerdict) {
            _resolve(disputeId, d, Party.None, true);
        } else if (d.stage == Stage.AwaitDefender || d.posted == _CHALLENGER) {
            _resolve(disputeId, d, Party.Challenger, false);
        } else {
            _resolve(disputeId, d, Party.Defender, false); // the challenger was silent (or both were)
        }
    }

    /// @inheritdoc IDisputeGame
    function getDispute(uint256 disputeId) external view returns (Dispute memory) {
        return _get(disputeId);
    }

    /// @inheritdoc IDisputeGame
    function query(uint256 disputeId) external view returns (uint32) {
        Dispute storage d = _get(disputeId);
        if (d.stage == Stage.ChainEnd) return d.ops - 1;
        return (d.lo + d.hi) / 2;
    }

    /// @inheritdoc IDisputeGame
    function evidenceOf(uint256 disputeId, address party) external view returns (bytes memory) {
        return _evidence[disputeId][party];
    }

    /// @inheritdoc IDisputeGame
    function voteOf(uint256 disputeId, uint256 member) external view returns (bytes32 outputHash, BN254.G1Point memory sigma) {
        Vote storage v = _votes[disputeId][member];
        return (v.outputHash, v.sigma);
    }

    /// @inheritdoc IDisputeGame
    function voteKey(uint256 disputeId) external view returns (bytes32) {
        return _voteKey(_get(disputeId));
    }

    /// @inheritdoc IDisputeGame
    function disputeCount() external view returns (uint256) {
        return _count;
    }

    /// @inheritdoc IDisputeGame
    function params() external view returns (GameParams memory) {
        return _params;
    }

    /// @inheritdoc IDisputeGame
    function snapshotOf(uint256 disputeId) external view returns (uint64) {
        _get(disputeId);
        return _snapshots[disputeId];
    }

    /// @inheritdoc IDisputeGame
    function isDecided(uint256 taskId, uint32 round, address defender) external view returns (bool) {
        return _decided[_submissionKey(taskId, round, defender)];
    }

    /// @inheritdoc IDisputeGame
    function hasChallenged(uint256 taskId, uint32 round, address defender, address challenger) external view returns (bool) {
        return _challenged[keccak256(abi.encode(_submissionKey(taskId, round, defender), challenger))];
    }

    /// @inheritdoc IDisputeGame
    function maxDisputeDuration(uint32 steps, uint32 ops) public view returns (uint256) {
        // The defender's answer, ceil(log2 K) step moves, the chain end, ceil(log2 M) operator
        // moves: each at most one move window; then the verdict window.
        return uint256(_params.moveDuration) * (2 + _log2Ceil(steps) + _log2Ceil(ops)) + _params.verdictDuration;
    }

    /// @inheritdoc IDisputeGame
    function worstCaseDisputeDuration() external view returns (uint256) {
        return maxDisputeDuration(taskManager.MAX_STEPS(), taskManager.MAX_OPS());
    }

    /// @inheritdoc IDisputeGame
    function maxRoundDuration(uint256 taskId) external view returns (uint256) {
        ITaskManager.TaskConfig memory c = taskManager.getTask(taskId).config;
        uint256 phases = uint256(c.commitDuration) + c.revealDuration + c.scoreDuration + c.challengeDuration;
        return c.stepsPerRound == 0 ? phases : phases + maxDisputeDuration(c.stepsPerRound, c.opsPerStep);
    }

    // -- internals ---------------------------------------------------------------------

    /// @dev Once per (submission, challenger), whichever kind of dispute, and none after a
    /// dispute over the submission ended with a result; records the committee snapshot.
    function _newDispute(uint256 taskId, uint32 round, address defender) private returns (uint256 disputeId) {
        bytes32 key = _submissionKey(taskId, round, defender);
        if (_decided[key]) revert DisputeGameAlreadyDecided(taskId, round, defender);
        bytes32 pair = keccak256(abi.encode(key, msg.sender));
        if (_challenged[pair]) revert DisputeGameAlreadyChallenged(taskId, round, defender, msg.sender);
        _challenged[pair] = true;
        disputeId = ++_count;
        _snapshots[disputeId] = committee.version();
    }

    function _checkOpen(uint256 taskId, uint32 round, address defender)
        private
        view
        returns (ITaskManager.TaskConfig memory config, ITaskManager.Submission memory sub)
    {
        config = taskManager.getTask(taskId).config;
        if (config.stepsPerRound == 0) revert DisputeGameNotVerifiable(taskId);
        sub = taskManager.getSubmission(taskId, round, defender);
        if (!sub.revealed) revert DisputeGameNotRevealed(taskId, round, defender);
        if (defender == msg.sender || !registry.isEligible(msg.sender, ROLE_VERIFIER, 0)) {
            revert DisputeGameNotChallenger(msg.sender);
        }
    }

    function _post(uint256 disputeId, Dispute storage d, bytes32 value, uint32 index) private returns (uint8 side) {
        if (msg.sender == d.defender) {
            side = _DEFENDER;
            if (d.posted & side != 0) revert DisputeGameAlreadyPosted(disputeId, msg.sender);
            d.defenderPost = value;
        } else if (msg.sender == d.challenger) {
            side = _CHALLENGER;
            if (d.posted & side != 0) revert DisputeGameAlreadyPosted(disputeId, msg.sender);
            d.challengerPost = value;
        } else {
            revert DisputeGameNotParty(disputeId, msg.sender);
        }
        d.posted |= side;
        emit Posted(disputeId, msg.sender, d.stage, index, value);
    }

    function _bisect(uint256 disputeId, Dispute storage d, uint32 m) private {
        bool same = d.defenderPost == d.challengerPost;
        if (same) {
            d.lo = m;
            d.agreed = d.defenderPost;
        } else {
            d.hi = m;
            d.defenderHi = d.defenderPost;
            d.challengerHi = d.challengerPost;
        }
        d.posted = 0;
        ++d.moves;
        emit Moved(disputeId, d.stage, m, same, d.lo, d.hi, d.moves);
    }

    function _afterStepMove(uint256 disputeId, Dispute storage d) private {
        _padMoves(disputeId, d, d.steps);
        if (d.hi - d.lo > 1) {
            _setStage(d, Stage.Steps, _params.moveDuration);
        } else {
            d.step = d.lo;
            d.start = d.agreed;
            _setStage(d, Stage.ChainEnd, _params.moveDuration);
        }
    }

    function _afterOpMove(uint256 disputeId, Dispute storage d) private {
        _padMoves(disputeId, d, d.ops);
        if (d.hi - d.lo > 1) {
            _setStage(d, Stage.Ops, _params.moveDuration);
        } else {
            _locate(disputeId, d, d.step, d.lo);
        }
    }

    /// @dev The range is padded to a power of two; past the last index every value equals the
    /// last one, which the parties dispute, so a midpoint there moves hi without any post.
    function _padMoves(uint256 disputeId, Dispute storage d, uint32 last) private {
        while (d.hi - d.lo > 1 && (d.lo + d.hi) / 2 >= last) {
            d.hi = (d.lo + d.hi) / 2;
            ++d.moves;
            emit Moved(disputeId, d.stage, d.hi, false, d.lo, d.hi, d.moves);
        }
    }

    function _pow2(uint32 n) private pure returns (uint32 p) {
        p = 1;
        while (p < n) p <<= 1;
    }

    function _log2Ceil(uint32 n) private pure returns (uint256 bits) {
        while ((uint256(1) << bits) < n) ++bits;
    }

    /// @dev What a referee's vote answers, by content (never by the sequential dispute id, which
    /// a reorg can give to another dispute): the parties, the located step and operator and its
    /// agreed inputs. Fixed once the dispute awaits its verdict.
    function _voteKey(Dispute storage d) private view returns (bytes32) {
        return keccak256(abi.encode(d.taskId, d.round, d.defender, d.challenger, d.step, d.op, d.start, d.agreed));
    }

    function _submissionKey(uint256 taskId, uint32 round, address defender) private pure returns (bytes32) {
        return keccak256(abi.encode(taskId, round, defender));
    }

    function _locate(uint256 disputeId, Dispute storage d, uint32 step, uint32 op) private {
        d.step = step;
        d.op = op;
        _setStage(d, Stage.AwaitVerdict, _params.verdictDuration);
        emit Located(disputeId, step, op);
    }

    function _resolve(uint256 disputeId, Dispute storage d, Party winner, bool cancelled) private {
        d.stage = Stage.Resolved;
        d.winner = winner;
        d.cancelled = cancelled;
        d.posted = 0;
        uint256 bond = d.bond;
        bytes32 key = _submissionKey(d.taskId, d.round, d.defender);
        bool defenderLost = !cancelled && winner != Party.Defender;
        // Only the first loss slashes: N colluding challengers cannot each take a cut of the stake.
        if (defenderLost && !_decided[key]) {
            uint256 amount = registry.slashableOf(d.defender) * _params.slashBps / 10_000;
            d.slashed = amount;
            uint256 reward = winner == Party.Challenger ? amount * _params.rewardBps / 10_000 : 0;
            if (reward != 0) registry.slash(d.defender, reward, d.challenger);
            if (amount > reward) registry.slash(d.defender, amount - reward, address(0));
            taskManager.disqualify(d.taskId, d.round, d.defender);
        }
        // A loss settles the submission: no more disputes over it. A win does not: a Sybil
        // challenger that loses on purpose must not shield a cheater from honest challengers.
        if (defenderLost) _decided[key] = true;
        emit DisputeResolved(disputeId, winner, cancelled, d.slashed);
        taskManager.closeDispute(d.taskId, d.round);
        if (bond == 0) return;
        if (cancelled || winner == Party.Challenger) {
            token.safeTransfer(d.challenger, bond);
        } else {
            uint256 reward = winner == Party.Defender ? bond * _params.rewardBps / 10_000 : 0;
            if (reward != 0) token.safeTransfer(d.defender, reward);
            if (bond > reward) token.burn(bond - reward);
        }
    }

    function _setStage(Dispute storage d, Stage stage, uint64 duration) private {
        d.stage = stage;
        d.deadline = SafeCast.toUint64(block.timestamp + duration);
    }

    function _live(uint256 disputeId, Stage expected) private view returns (Dispute storage d) {
        d = _get(disputeId);
        if (d.stage != expected) revert DisputeGameWrongStage(disputeId, expected, d.stage);
        if (block.timestamp > d.deadline) revert DisputeGameDeadlinePassed(disputeId, d.deadline, block.timestamp);
    }

    function _get(uint256 disputeId) private view returns (Dispute storage d) {
        if (disputeId == 0 || disputeId > _count) revert DisputeGameUnknownDispute(disputeId);
        return _disputes[disputeId];
    }

    /// @dev Positional sha256 Merkle proof over K + 1 leaves padded to a power of two.
    function _checkProof(uint256 disputeId, bytes32 root, uint32 k, uint32 index, bytes32 leaf, bytes32[] calldata proof) private view {
        uint256 depth;
        while ((uint256(1) << depth) < uint256(k) + 1) ++depth;
        bytes32 node = leaf;
        uint256 i = index;
        if (proof.length == depth) {
            for (uint256 level; level < depth; ++level) {
                node = i & 1 == 1 ? sha256(abi.encodePacked(proof[level], node)) : sha256(abi.encodePacked(node, proof[level]));
                i >>= 1;
            }
        }
        if (proof.length != depth || node != root) revert DisputeGameInvalidProof(disputeId, msg.sender, index);
    }
}
