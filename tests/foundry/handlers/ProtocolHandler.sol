// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "../utils/Vm.sol";
import {Trees} from "../utils/Trees.sol";
import {MeritToken} from "../../../contracts/MeritToken.sol";
import {Registry} from "../../../contracts/Registry.sol";
import {RewardVault} from "../../../contracts/RewardVault.sol";
import {TaskManager} from "../../../contracts/TaskManager.sol";
import {ITaskManager} from "../../../contracts/interfaces/ITaskManager.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";

/// @notice Honest and hostile participants of the economic protocol: stakers that register,
/// add stake, unbond and withdraw; a task owner; trainers that commit and reveal (or never
/// reveal); an aggregator that posts honest tables or tables promising more than the round's
/// allocation; claimers that claim honestly or overclaim; keepers that advance, slash
/// no-reveals and reclaim; and time passing. Every call is wrapped so that a revert is a
/// rejected move, and ghost variables record what the model says must have happened.
contract ProtocolHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant TOKEN = 1e18;
    uint32 internal constant K = 4; // steps per round
    uint32 internal constant M = 3; // operators per step
    uint8 internal constant ROLE_TRAINER = 1;
    uint8 internal constant ROLE_AGGREGATOR = 2;
    uint8 internal constant ROLE_VERIFIER = 4;
    uint8 internal constant ROLE_REFEREE = 8;

    MeritToken public immutable token;
    Registry public immutable registry;
    RewardVault public immutable vault;
    TaskManager public immutable tasks;

    address public immutable owner = address(0xA11CE);
    address public immutable aggregator = address(0xA66);
    address[] public actors; // trainers, verifiers and referees: anyone may stake

    // -- ghost state ----------------------------------------------------------------------
    uint256 public ghostMinted;
    uint256 public ghostBurnt;
    mapping(uint256 taskId => mapping(uint32 round => uint256)) public ghostPaid;
    mapping(uint256 taskId => uint256) public ghostBudget;
    mapping(uint256 taskId => uint256) public ghostReclaimed;
    mapping(uint256 taskId => uint256) public ghostSwept;
    mapping(uint256 taskId => bool) public reclaimedAfterEnd;
    /// @notice Set when a withdrawal left an account's slashable stake below its lock.
    bool public ghostLockBroken;
    /// @notice A commitment was accepted though the trainer's free stake did not cover its lock.
    bool public ghostDoubleBacking;
    uint256[] public taskIds;
    mapping(bytes32 => uint256) public calls;

    enum Kind {
        Honest,
        BadFinal, // an honest trace revealed with another final state
        BadDelta, // an honest trace and final state, another run's delta
        Faulty, // a consistent faulty run
        NoReveal
    }

    struct Reveal {
        Kind kind;
        bytes deltaCid;
        bytes32 traceRoot;
        bytes32 finalStateHash;
        bytes32 salt;
    }

    mapping(uint256 taskId => mapping(uint32 round => mapping(address trainer => Reveal))) internal _reveals;
    mapping(uint256 taskId => mapping(uint32 round => address[])) internal _revealed;
    mapping(uint256 taskId => mapping(uint32 round => bytes32[])) internal _leaves;
    mapping(uint256 taskId => mapping(uint32 round => uint256[])) internal _amounts;

    constructor(MeritToken token_, Registry registry_, RewardVault vault_, TaskManager tasks_, address[] memory actors_, uint256 minted) {
        token = token_;
        registry = registry_;
        vault = vault_;
        tasks = tasks_;
        actors = actors_;
        ghostMinted = minted;
    }

    // -- views for the invariants ------------------------------------------------------------

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function taskCount() external view returns (uint256) {
        return taskIds.length;
    }

    function revealedOf(uint256 taskId, uint32 round) external view returns (address[] memory) {
        return _revealed[taskId][round];
    }

    // -- the synthetic runs -------------------------------------------------------------------

    /// @notice S_i of `trainer`'s honest run in (`taskId`, `round`) (states differ per trainer: shard and seed do).
    function honestState(uint256 taskId, uint32 round, address trainer, uint256 i) public pure returns (bytes32) {
        return sha256(abi.encode("S", taskId, round, trainer, i));
    }

    /// @notice S_i of a faulty run: the honest one up to step `K / 2`, then another.
    function faultyState(uint256 taskId, uint32 round, address trainer, uint256 i) public pure returns (bytes32) {
        return i <= K / 2 ? honestState(taskId, round, trainer, i) : sha256(abi.encode("F", taskId, round, trainer, i));
    }

    function states(uint256 taskId, uint32 round, address trainer, bool honest) public pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](K + 1);
        for (uint256 i; i <= K; ++i) {
            leaves[i] = honest ? honestState(taskId, round, trainer, i) : faultyState(taskId, round, trainer, i);
        }
    }

    function honestDelta(uint256 taskId, uint32 round, address trainer) public pure returns (bytes memory) {
        return abi.encodePacked(hex"01551220", sha256(abi.encode("delta", taskId, round, trainer)));
    }

    function _traceRoot(bytes32[] memory leaves) internal pure returns (bytes32 root) {
        (root,) = Trees.traceProof(leaves, 0);
    }

    // -- actions: staking -------------------------------------------------------------------

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function stake(uint256 actorSeed, uint256 amount, uint8 roles) external {
        address a = _actor(actorSeed);
        amount = 1 + amount % (50 * TOKEN);
        bool registered = registry.rolesOf(a) != 0;
        vm.prank(a); // the next call only: nothing may be called in between
        if (!registered) {
            roles = uint8(1 + roles % 15);
            try registry.register(roles, amount) {
                ++calls["register"];
            } catch {}
        } else {
            try registry.addStake(amount) {
                ++calls["addStake"];
            } catch {}
        }
    }

    function unbond(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        uint256 staked = registry.stakeOf(a);
        if (staked == 0) return;
        amount = amount % 2 == 0 ? staked : 1 + amount % staked;
        vm.prank(a);
        try registry.requestUnbond(amount) {
            ++calls["requestUnbond"];
        } catch {}
    }

    /// @notice Withdraw matured unbonds: whatever the account locked (a commitment, the
    /// aggregator's posted scores) must stay slashable afterwards.
    function withdraw(uint256 actorSeed, bool asAggregator) external {
        address a = asAggregator ? aggregator : _actor(actorSeed);
        uint256 locked = registry.lockedOf(a);
        vm.prank(a);
        try registry.withdrawUnbonded() {
            if (registry.slashableOf(a) < locked) ghostLockBroken = true;
            ++calls["withdrawUnbonded"];
        } catch {}
    }

    /// @notice The aggregator asks to unbond everything it has (its posted scores lock minStake).
    function aggregatorUnbond() external {
        uint256 staked = registry.stakeOf(aggregator);
        if (staked == 0) return;
        vm.prank(aggregator);
        try registry.requestUnbond(staked) {
            ++calls["requestUnbond"];
        } catch {}
    }

    /// @notice After the claim window anyone sweeps what is left of a round to the task owner.
    function sweep(uint256 taskSeed, uint8 roundSeed) external {
        (uint256 taskId,, bool ok) = _task(taskSeed);
        if (!ok) return;
        try vault.sweep(taskId, uint32(1 + roundSeed % 2)) returns (uint256 amount) {
            ghostSwept[taskId] += amount;
            ++calls["sweep"];
        } catch {}
    }

    /// @notice A trainer releases the stake its commitment locked once the round is final.
    function release(uint256 taskSeed, uint8 roundSeed, uint256 trainerSeed) external {
        (uint256 taskId,, bool ok) = _task(taskSeed);
        if (!ok) return;
        uint32 round = uint32(1 + roundSeed % 2);
        address trainer = _actor(trainerSeed);
        ITaskManager.Submission memory sub = tasks.getSubmission(taskId, round, trainer);
        bool penalty = sub.commitment != bytes32(0) && !sub.revealed && !sub.penalized && !sub.released;
        uint256 slashable = registry.slashableOf(trainer);
        uint256 fine = tasks.getTask(taskId).config.noRevealPenalty;
        try tasks.release(taskId, round, trainer) returns (bool released) {
            if (released && penalty) ghostBurnt += fine < slashable ? fine : slashable;
            ++calls["release"];
        } catch {}
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + 1 + secondsSeed % (2 days));
    }

    // -- actions: tasks -----------------------------------------------------------------------

    function createTask(uint256 rewardSeed) external {
        if (taskIds.length >= 3) return;
        if (registry.rolesOf(aggregator) == 0) {
            vm.prank(aggregator);
            registry.register(ROLE_AGGREGATOR, 20 * TOKEN);
        }
        ITaskManager.TaskConfig memory config = ITaskManager.TaskConfig({
            modelCid: hex"01551220aa",
            dataCid: hex"01551220bb",
            configHash: bytes32(uint256(1)),
            aggregator: aggregator,
            rewardPerRound: 1 + rewardSeed % (20 * TOKEN),
            numRounds: 2,
            commitDuration: 1 days,
            revealDuration: 1 days,
            scoreDuration: 1 days,
            challengeDuration: 1 days,
            minStake: 2 * TOKEN,
            noRevealPenalty: 3 * TOKEN,
            stepsPerRound: K,
            opsPerStep: M
        });
        vm.prank(owner);
        uint256 taskId = tasks.createTask(config);
        taskIds.push(taskId);
        ghostBudget[taskId] = config.rewardPerRound * config.numRounds;
        ++calls["createTask"];
    }

    function _task(uint256 seed) internal view returns (uint256 taskId, uint32 round, bool ok) {
        if (taskIds.length == 0) return (0, 0, false);
        taskId = taskIds[seed % taskIds.length];
        round = tasks.getTask(taskId).currentRound;
        ok = true;
    }

    function commit(uint256 taskSeed, uint256 trainerSeed, uint8 kindSeed) external {
        (uint256 taskId, uint32 round, bool ok) = _task(taskSeed);
        if (!ok) return;
        address trainer = _actor(trainerSeed);
        Kind kind = Kind(kindSeed % 5);
        bytes32[] memory run = states(taskId, round, trainer, kind != Kind.Faulty);
        Reveal memory r = Reveal({
            kind: kind,
            deltaCid: kind == Kind.BadDelta || kind == Kind.Faulty ? abi.encodePacked(hex"01551220", sha256(abi.encode("other", trainer))) : honestDelta(taskId, round, trainer),
            traceRoot: _traceRoot(run),
            finalStateHash: kind == Kind.BadFinal ? sha256("not the trace's") : run[K],
            salt: keccak256(abi.encode(taskId, round, trainer))
        });
        bytes32 commitment = tasks.computeCommitment(r.deltaCid, r.traceRoot, r.finalStateHash, r.salt, trainer, taskId, round);
        uint256 free = registry.freeStakeOf(trainer);
        uint256 lockedBefore = registry.lockedOf(trainer);
        vm.prank(trainer);
        try tasks.commit(taskId, round, commitment) {
            // The stake this commitment locks was free: no stake backs two commitments.
            if (free < registry.lockedOf(trainer) - lockedBefore) ghostDoubleBacking = true;
            _reveals[taskId][round][trainer] = r;
            ++calls["commit"];
        } catch {}
    }

    function reveal(uint256 taskSeed, uint256 trainerSeed) external {
        (uint256 taskId, uint32 round, bool ok) = _task(taskSeed);
        if (!ok) return;
        address trainer = _actor(trainerSeed);
        Reveal storage r = _reveals[taskId][round][trainer];
        if (r.traceRoot == bytes32(0) || r.kind == Kind.NoReveal) return;
        vm.prank(trainer);
        try tasks.reveal(taskId, round, r.deltaCid, r.traceRoot, r.finalStateHash, r.salt) {
            _revealed[taskId][round].push(trainer);
            ++calls["reveal"];
        } catch {}
    }

    /// @notice The aggregator posts a table over the revealed trainers; a hostile one promises
    /// every trainer the whole reward (the table sums to more than the round's allocation).
    function postScores(uint256 taskSeed, uint256 totalSeed, bool hostile) external {
        (uint256 taskId, uint32 round, bool ok) = _task(taskSeed);
        if (!ok) return;
        address[] storage revealed = _revealed[taskId][round];
        uint256 total = totalSeed % (tasks.getTask(taskId).config.rewardPerRound + 1);
        uint256 n = revealed.length;
        bytes32[] memory leaves = new bytes32[](n == 0 ? 1 : n);
        uint256[] memory amounts = new uint256[](leaves.length);
        for (uint256 i; i < n; ++i) {
            amounts[i] = hostile ? total : total / n;
            leaves[i] = Trees.rewardLeaf(revealed[i], int256(1e18), amounts[i]);
        }
        if (n == 0) leaves[0] = Trees.rewardLeaf(aggregator, 0, 0);
        (bytes32 root,) = Trees.sortedProof(leaves, 0);
        vm.prank(aggregator);
        try tasks.postScores(taskId, round, hex"01551220cc", root, bytes32(0), hex"", total) {
            _leaves[taskId][round] = leaves;
            _amounts[taskId][round] = amounts;
            ++calls["postScores"];
        } catch {}
    }

    function advance(uint256 taskSeed) external {
        (uint256 taskId,, bool ok) = _task(taskSeed);
        if (!ok) return;
        try tasks.advance(taskId) {
            ++calls["advance"];
        } catch {}
    }

    /// @notice A trainer claims its leaf (or, `greedy`, one unit more than it).
    function claim(uint256 taskSeed, uint8 roundSeed, uint256 indexSeed, bool greedy) external {
        (uint256 taskId,, bool ok) = _task(taskSeed);
        if (!ok) return;
        uint32 round = uint32(1 + roundSeed % 2);
        bytes32[] storage leaves = _leaves[taskId][round];
        address[] storage revealed = _revealed[taskId][round];
        if (revealed.length == 0 || leaves.length != revealed.length) return;
        uint256 index = indexSeed % revealed.length;
        (, bytes32[] memory proof) = Trees.sortedProof(leaves, index);
        uint256 amount = _amounts[taskId][round][index] + (greedy ? 1 : 0);
        uint256 before = token.balanceOf(revealed[index]);
        vm.prank(revealed[index]);
        try vault.claim(taskId, round, int256(1e18), amount, proof) {
            ghostPaid[taskId][round] += token.balanceOf(revealed[index]) - before;
            ++calls["claim"];
        } catch {}
    }

    function slashNoReveal(uint256 taskSeed, uint8 roundSeed, uint256 trainerSeed) external {
        (uint256 taskId,, bool ok) = _task(taskSeed);
        if (!ok) return;
        uint32 round = uint32(1 + roundSeed % 2);
        address trainer = _actor(trainerSeed);
        uint256 slashable = registry.slashableOf(trainer);
        uint256 penalty = tasks.getTask(taskId).config.noRevealPenalty;
        try tasks.slashNoReveal(taskId, round, trainer) {
            ghostBurnt += penalty < slashable ? penalty : slashable;
            ++calls["slashNoReveal"];
        } catch {}
    }

    function reclaim(uint256 taskSeed) external {
        (uint256 taskId,, bool ok) = _task(taskSeed);
        if (!ok) return;
        vm.prank(owner);
        try vault.reclaim(taskId) returns (uint256 amount) {
            ghostReclaimed[taskId] += amount;
            reclaimedAfterEnd[taskId] = true;
            ++calls["reclaim"];
        } catch {}
    }
}
