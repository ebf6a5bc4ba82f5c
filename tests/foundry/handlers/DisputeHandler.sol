// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "../utils/Vm.sol";
import {Trees} from "../utils/Trees.sol";
import {Bls} from "../utils/Bls.sol";
import {BN254} from "../../../contracts/libraries/BN254.sol";
import {MeritToken} from "../../../contracts/MeritToken.sol";
import {Registry} from "../../../contracts/Registry.sol";
import {TaskManager} from "../../../contracts/TaskManager.sol";
import {RefereeCommittee} from "../../../contracts/RefereeCommittee.sol";
import {DisputeGame} from "../../../contracts/DisputeGame.sol";
import {IDisputeGame} from "../../../contracts/interfaces/IDisputeGame.sol";
import {IRefereeCommittee} from "../../../contracts/interfaces/IRefereeCommittee.sol";
import {ITaskManager} from "../../../contracts/interfaces/ITaskManager.sol";

/// @notice Disputes between honest and hostile parties, decided by a stake-weighted committee.
///
/// Each round an honest trainer H and a hostile trainer X submit; X reveals honestly, an
/// honest trace with another final state, an honest trace with another delta, or a consistent
/// faulty run. The honest verifier VH disputes exactly the submissions that are wrong (a trace
/// dispute, or a delta dispute for a wrong delta); the hostile verifier VX disputes anything
/// with a faulty run, a run from another S_0, or a made-up delta. Hostile parties move as
/// they like (their own trace, the honest chain, random values, silence); honest parties
/// always answer before time passes (every warp first lets them move). The committee (four
/// referees, stake weights 100/150/200/120 MERIT, keys 1..4) signs the correct value with any
/// subset of members, or a lie with a minority; one referee leaves and rejoins. The synthetic
/// runs: S_i and operator outputs are hashes of (run, index); a faulty run diverges at step
/// K/2, operator 1; the last operator of a step outputs S_t+1, as in the real program.
contract DisputeHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint32 internal constant K = 4;
    uint32 internal constant M = 3;
    uint256 internal constant TOKEN = 1e18;

    MeritToken public immutable token;
    Registry public immutable registry;
    TaskManager public immutable tasks;
    RefereeCommittee public immutable committee;
    DisputeGame public immutable game;
    uint256 public immutable taskId;

    address public constant H = address(0x4801);
    address public constant X = address(0x4802);
    address public constant VH = address(0x4803);
    address public constant VX = address(0x4804);
    address[4] public referees = [address(0x4811), address(0x4812), address(0x4813), address(0x4814)];
    uint256[4] internal _keys = [uint256(1), 2, 3, 4];

    enum Run {
        Honest,
        Faulty, // diverges at step K/2, operator 1
        OtherStart // starts from another S_0
    }

    enum Kind {
        Honest,
        BadFinal,
        BadDelta,
        Faulty
    }

    struct Side {
        Run run; // the run this party answers from (of the defender's round)
        bool honest;
    }

    struct Info {
        uint32 round;
        Side defender;
        Side challenger;
        uint256 openedAt;
        bool settled; // burns accounted
    }

    mapping(uint256 disputeId => Info) internal infos;
    mapping(uint32 round => Kind) public kindOf;
    mapping(uint32 round => mapping(address trainer => bytes32)) internal _salt;
    uint256[] public disputeIds;

    uint256 public ghostMinted;
    uint256 public ghostBurnt;
    bool public ghostThresholdBroken; // a verdict was accepted with no more than 2/3 of the snapshot's weight
    mapping(bytes32 => uint256) public calls;

    constructor(MeritToken token_, Registry registry_, TaskManager tasks_, RefereeCommittee committee_, DisputeGame game_, uint256 taskId_, uint256 minted) {
        token = token_;
        registry = registry_;
        tasks = tasks_;
        committee = committee_;
        game = game_;
        taskId = taskId_;
        ghostMinted = minted;
    }

    /// @notice Which sides of dispute `id` are honest, and when it opened.
    function sides(uint256 id) external view returns (bool defenderHonest, bool challengerHonest, uint256 openedAt) {
        Info storage info = infos[id];
        return (info.defender.honest, info.challenger.honest, info.openedAt);
    }

    function disputeCount() external view returns (uint256) {
        return disputeIds.length;
    }

    // -- the synthetic runs -------------------------------------------------------------------

    function state(uint32 round, address trainer, Run run, uint256 i) public view returns (bytes32) {
        if (run == Run.OtherStart) return sha256(abi.encode("W", taskId, round, trainer, i));
        if (run == Run.Faulty && i > K / 2) return sha256(abi.encode("F", taskId, round, trainer, i));
        return sha256(abi.encode("S", taskId, round, trainer, i));
    }

    /// @notice Output of operator j of step t (the last operator outputs S_t+1).
    function output(uint32 round, address trainer, Run run, uint256 t, uint256 j) public view returns (bytes32) {
        if (j == M - 1) return state(round, trainer, run, t + 1);
        if (run == Run.OtherStart) return sha256(abi.encode("hw", taskId, round, trainer, t, j));
        if (run == Run.Faulty && (t > K / 2 || (t == K / 2 && j >= 1))) return sha256(abi.encode("hf", taskId, round, trainer, t, j));
        return sha256(abi.encode("h", taskId, round, trainer, t, j));
    }

    /// @notice c_m of step t's prefix chain.
    function chain(uint32 round, address trainer, Run run, uint256 t, uint256 m) public view returns (bytes32 c) {
        c = state(round, trainer, run, t);
        for (uint256 j; j < m; ++j) c = sha256(abi.encodePacked(c, output(round, trainer, run, t, j)));
    }

    function leaves(uint32 round, address trainer, Run run) public view returns (bytes32[] memory out) {
        out = new bytes32[](K + 1);
        for (uint256 i; i <= K; ++i) out[i] = state(round, trainer, run, i);
    }

    function honestDelta(uint32 round, address trainer) public view returns (bytes memory) {
        return abi.encodePacked(hex"01551220", sha256(abi.encode("delta", taskId, round, trainer)));
    }

    function _proof(uint32 round, address trainer, Run run, uint256 i) internal view returns (bytes32 root, bytes32[] memory proof) {
        return Trees.traceProof(leaves(round, trainer, run), i);
    }

    function _revealed(uint32 round, address trainer, Kind kind)
        internal
        view
        returns (bytes memory deltaCid, bytes32 root, bytes32 finalState)
    {
        Run run = kind == Kind.Faulty ? Run.Faulty : Run.Honest;
        (root,) = _proof(round, trainer, run, 0);
        finalState = kind == Kind.BadFinal ? sha256("not the trace's final state") : state(round, trainer, run, K);
        deltaCid = kind == Kind.BadDelta || kind == Kind.Faulty ? abi.encodePacked(hex"01551220", sha256(abi.encode("boosted", round))) : honestDelta(round, trainer);
    }

    // -- rounds -------------------------------------------------------------------------------

    function _round() internal view returns (uint32 round, ITaskManager.Round memory r) {
        round = tasks.getTask(taskId).currentRound;
        r = tasks.getRound(taskId, round);
    }

    /// @notice Run the current round to its Score phase: H commits and reveals honestly, X as `kindSeed` says.
    function newRound(uint8 kindSeed) external {
        (uint32 round, ITaskManager.Round memory r) = _round();
        if (r.phase != ITaskManager.Phase.Commit || block.timestamp > r.deadline) return;
        Kind kind = Kind(kindSeed % 4);
        kindOf[round] = kind;
        if (registry.stakeOf(X) < 50 * TOKEN) {
            vm.prank(X);
            registry.addStake(50 * TOKEN); // the hostile trainer keeps buying back in
        }
        _commit(round, H, Kind.Honest);
        _commit(round, X, kind);
        _honestAct();
        vm.warp(r.deadline + 1);
        tasks.advance(taskId);
        _reveal(round, H, Kind.Honest);
        _reveal(round, X, kind);
        vm.warp(tasks.getRound(taskId, round).deadline + 1);
        tasks.advance(taskId); // Score: disputes may open
        ++calls["newRound"];
    }

    function _commit(uint32 round, address trainer, Kind kind) internal {
        (bytes memory deltaCid, bytes32 root, bytes32 finalState) = _revealed(round, trainer, kind);
        bytes32 salt = keccak256(abi.encode(round, trainer));
        _salt[round][trainer] = salt;
        bytes32 commitment = tasks.computeCommitment(deltaCid, root, finalState, salt, trainer, taskId, round);
        vm.prank(trainer);
        tasks.commit(taskId, round, commitment);
    }

    function _reveal(uint32 round, address trainer, Kind kind) internal {
        (bytes memory deltaCid, bytes32 root, bytes32 finalState) = _revealed(round, trainer, kind);
        vm.prank(trainer);
        tasks.reveal(taskId, round, deltaCid, root, finalState, _salt[round][trainer]);
    }

    /// @notice Close the round when the chain allows it (no open dispute, deadline passed).
    function closeRound() external {
        _honestAct();
        (, ITaskManager.Round memory r) = _round();
        if (block.timestamp <= r.deadline) vm.warp(r.deadline + 1);
        try tasks.advance(taskId) {
            ++calls["advance"];
        } catch {}
    }

    // -- opening disputes -----------------------------------------------------------------------

    /// @notice VH disputes X's submission when it is wrong (which kind of dispute its re-execution calls for).
    function honestChallenge() external {
        (uint32 round,) = _round();
        Kind kind = kindOf[round];
        if (kind == Kind.Honest || tasks.getSubmission(taskId, round, X).commitment == bytes32(0)) return;
        if (kind == Kind.BadDelta) {
            _openDelta(round, X, VH, sha256(honestDelta(round, X)), Side(Run.Honest, false), Side(Run.Honest, true));
        } else {
            _openTrace(round, X, VH, Run.Honest, Side(kind == Kind.Faulty ? Run.Faulty : Run.Honest, false), Side(Run.Honest, true));
        }
    }

    /// @notice VX accuses H (or X) with a faulty run, a run from another S_0, or a made-up delta.
    function hostileChallenge(bool againstX, uint8 how) external {
        (uint32 round,) = _round();
        address defender = againstX ? X : H;
        if (tasks.getSubmission(taskId, round, defender).commitment == bytes32(0)) return;
        Side memory d = againstX ? Side(kindOf[round] == Kind.Faulty ? Run.Faulty : Run.Honest, false) : Side(Run.Honest, true);
        if (how % 3 == 2) {
            _openDelta(round, defender, VX, sha256(abi.encode("made-up delta", how)), d, Side(Run.Honest, false));
        } else {
            Run run = how % 3 == 0 ? Run.Faulty : Run.OtherStart;
            _openTrace(round, defender, VX, run, d, Side(run, false));
        }
    }

    function _openTrace(uint32 round, address defender, address challenger, Run run, Side memory d, Side memory c) internal {
        (bytes32 root, bytes32[] memory p0) = _proof(round, defender, run, 0);
        (, bytes32[] memory pK) = _proof(round, defender, run, K);
        (bytes32 s0, bytes32 sK) = (state(round, defender, run, 0), state(round, defender, run, K));
        vm.prank(challenger); // the next call: every argument is computed above (a precompile call would take the prank)
        try game.open(taskId, round, defender, root, s0, p0, sK, pK) returns (uint256 id) {
            _record(id, round, d, c);
            ++calls["open"];
        } catch {}
    }

    function _openDelta(uint32 round, address defender, address challenger, bytes32 claimed, Side memory d, Side memory c) internal {
        (bytes memory deltaCid,,) = _revealed(round, defender, defender == H ? Kind.Honest : kindOf[round]);
        vm.prank(challenger);
        try game.openDelta(taskId, round, defender, deltaCid, _salt[round][defender], claimed) returns (uint256 id) {
            _record(id, round, d, c);
            ++calls["openDelta"];
        } catch {}
    }

    function _record(uint256 id, uint32 round, Side memory d, Side memory c) internal {
        infos[id] = Info(round, d, c, block.timestamp, false);
        disputeIds.push(id);
    }

    // -- moves ------------------------------------------------------------------------------

    /// @notice Every honest party makes its pending move in every live dispute.
    function _honestAct() internal {
        for (uint256 i; i < disputeIds.length; ++i) {
            uint256 id = disputeIds[i];
            IDisputeGame.Dispute memory d = game.getDispute(id);
            if (d.stage == IDisputeGame.Stage.Resolved || block.timestamp > d.deadline) continue;
            Info storage info = infos[id];
            // Until the honest side has nothing left to do (its answer may open its next move).
            for (uint256 n; n < 16 && d.stage != IDisputeGame.Stage.Resolved; ++n) {
                (IDisputeGame.Stage stage, uint32 moves, uint8 posted) = (d.stage, d.moves, d.posted);
                if (info.defender.honest) _move(id, d, d.defender, info.defender.run, 0);
                d = game.getDispute(id);
                if (info.challenger.honest && d.stage != IDisputeGame.Stage.Resolved) _move(id, d, d.challenger, info.challenger.run, 0);
                d = game.getDispute(id);
                if (d.stage == stage && d.moves == moves && d.posted == posted) break;
            }
        }
        _settle();
    }

    /// @notice A hostile party's move: `how` 0 answers from its own run, 1 copies the honest
    /// chain (phase 2), 2 posts a random value (phase 2), 3 stays silent.
    function hostileMove(uint256 disputeSeed, uint8 how, bytes32 noise) external {
        if (disputeIds.length == 0) return;
        uint256 id = disputeIds[disputeSeed % disputeIds.length];
        IDisputeGame.Dispute memory d = game.getDispute(id);
        if (d.stage == IDisputeGame.Stage.Resolved || block.timestamp > d.deadline) return;
        Info storage info = infos[id];
        if (!info.defender.honest) _moveOrLie(id, d, d.defender, info.defender.run, how, noise);
        d = game.getDispute(id);
        if (!info.challenger.honest && d.stage != IDisputeGame.Stage.Resolved) _moveOrLie(id, d, d.challenger, info.challenger.run, how, noise);
        _settle();
    }

    function _moveOrLie(uint256 id, IDisputeGame.Dispute memory d, address party, Run run, uint8 how, bytes32 noise) internal {
        how %= 4;
        if (how == 3) return;
        bool phase2 = d.stage == IDisputeGame.Stage.Ops || d.stage == IDisputeGame.Stage.ChainEnd;
        if (how == 0 || !phase2) return _move(id, d, party, run, 0);
        if (how == 1) return _move(id, d, party, Run.Honest, 0);
        _move(id, d, party, run, noise == bytes32(0) ? bytes32(uint256(1)) : noise);
    }

    /// @dev `party`'s answer from `run` (or `forced`, when nonzero, in phase 2).
    function _move(uint256 id, IDisputeGame.Dispute memory d, address party, Run run, bytes32 forced) internal {
        uint8 bit = party == d.defender ? 1 : 2;
        vm.startPrank(party);
        if (d.stage == IDisputeGame.Stage.AwaitDefender && party == d.defender) {
            (, bytes32[] memory p0) = _proof(infos[id].round, d.defender, run, 0);
            (, bytes32[] memory pK) = _proof(infos[id].round, d.defender, run, K);
            try game.respond(id, state(infos[id].round, d.defender, run, 0), p0, state(infos[id].round, d.defender, run, K), pK) {} catch {}
        } else if (d.posted & bit == 0 && d.stage == IDisputeGame.Stage.Steps) {
            uint32 m = game.query(id);
            (, bytes32[] memory p) = _proof(infos[id].round, d.defender, run, m);
            try game.postState(id, state(infos[id].round, d.defender, run, m), p) {} catch {}
        } else if (d.posted & bit == 0 && d.stage == IDisputeGame.Stage.ChainEnd) {
            bytes32 v = forced != bytes32(0) ? forced : chain(infos[id].round, d.defender, run, d.step, M - 1);
            try game.postChainEnd(id, v) {} catch {}
        } else if (d.posted & bit == 0 && d.stage == IDisputeGame.Stage.Ops) {
            uint32 m = game.query(id);
            bytes32 v = forced != bytes32(0) ? forced : chain(infos[id].round, d.defender, run, d.step, m);
            try game.postChain(id, v) {} catch {}
        }
        vm.stopPrank();
    }

    // -- the committee ------------------------------------------------------------------------

    /// @notice The correct output of the located operator (what honest referees recompute).
    function correct(uint256 id) public view returns (bytes32) {
        IDisputeGame.Dispute memory d = game.getDispute(id);
        if (d.op == game.INITIAL_STATE()) return state(infos[id].round, d.defender, Run.Honest, 0);
        if (d.op == game.FINAL_DELTA()) return sha256(honestDelta(infos[id].round, d.defender));
        return output(infos[id].round, d.defender, Run.Honest, d.step, d.op);
    }

    /// @notice Members of the dispute's snapshot in `signerSeed` sign the correct value; with
    /// `lie`, a wrong one (only when they hold no more than 1/3 of the snapshot's weight).
    function verdict(uint256 disputeSeed, uint8 signerSeed, bool lie) external {
        if (disputeIds.length == 0) return;
        uint256 id = disputeIds[disputeSeed % disputeIds.length];
        IDisputeGame.Dispute memory d = game.getDispute(id);
        if (d.stage != IDisputeGame.Stage.AwaitVerdict) return;
        bytes32 value = lie ? sha256(abi.encode("a lie", id)) : correct(id);
        uint64 snapshot = game.snapshotOf(id);
        uint256 signers;
        uint256 keySum;
        uint256 weight;
        BN254.G1Point memory sigma;
        bytes memory message = abi.encode(block.chainid, address(game), game.voteKey(id), value);
        for (uint256 i; i < 4; ++i) {
            if ((signerSeed >> i) & 1 == 0) continue;
            uint256 slotPlusOne = committee.indexAt(referees[i], snapshot);
            if (slotPlusOne == 0) continue;
            signers |= uint256(1) << (slotPlusOne - 1);
            keySum += _keys[i];
            weight += committee.memberInfo(slotPlusOne - 1).weight;
            sigma = BN254.add(sigma, Bls.sign(_keys[i], message));
        }
        if (signers == 0) return;
        // The assumption under test: liars hold no more than 1/3 of the snapshot's weight.
        if (lie && 3 * weight > committee.totalWeightAt(snapshot)) return;
        try game.submitVerdict(id, value, signers, Bls.g2(keySum), sigma) {
            if (3 * weight <= 2 * committee.totalWeightAt(snapshot)) ghostThresholdBroken = true;
            ++calls[lie ? bytes32("lyingVerdict") : bytes32("verdict")];
        } catch {}
        _settle();
    }

    function timeout(uint256 disputeSeed) external {
        if (disputeIds.length == 0) return;
        try game.timeout(disputeIds[disputeSeed % disputeIds.length]) {
            ++calls["timeout"];
        } catch {}
        _settle();
    }

    /// @notice Referee `i` leaves, or (after leaveDelay) exits and joins again with its key.
    function churn(uint8 i) external {
        address r = referees[i % 4];
        uint256 slotPlusOne = committee.indexOf(r);
        vm.startPrank(r);
        if (slotPlusOne == 0) {
            uint256 sk = _keys[i % 4];
            BN254.G1Point memory pk = Bls.pk1(sk);
            bytes memory message = abi.encode("meritnet-referee-pop", block.chainid, address(committee), r, pk.x, pk.y);
            try committee.registerKey(pk, Bls.g2(sk), Bls.sign(sk, message)) {
                ++calls["join"];
            } catch {}
        } else if (committee.memberInfo(slotPlusOne - 1).left == 0) {
            try committee.leave() {
                ++calls["leave"];
            } catch {}
        } else {
            try committee.exit() {
                ++calls["exit"];
            } catch {}
        }
        vm.stopPrank();
    }

    function warp(uint256 secondsSeed) external {
        _honestAct(); // honest parties are never late
        vm.warp(block.timestamp + 1 + secondsSeed % (12 hours));
    }

    /// @dev Account the burns of newly resolved disputes (the slash not paid to the challenger,
    /// the bond not paid back or to the defender).
    function _settle() internal {
        IDisputeGame.GameParams memory p = game.params();
        for (uint256 i; i < disputeIds.length; ++i) {
            Info storage info = infos[disputeIds[i]];
            if (info.settled) continue;
            IDisputeGame.Dispute memory d = game.getDispute(disputeIds[i]);
            if (d.stage != IDisputeGame.Stage.Resolved) continue;
            info.settled = true;
            uint256 reward = d.winner == IDisputeGame.Party.Challenger ? d.slashed * p.rewardBps / 10_000 : 0;
            ghostBurnt += d.slashed - reward;
            if (!d.cancelled && d.winner != IDisputeGame.Party.Challenger) {
                uint256 paid = d.winner == IDisputeGame.Party.Defender ? d.bond * p.rewardBps / 10_000 : 0;
                ghostBurnt += d.bond - paid;
            }
        }
    }
}
