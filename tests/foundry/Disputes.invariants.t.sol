// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./utils/Vm.sol";
import {Deployment} from "./utils/Deployment.sol";
import {DisputeHandler} from "./handlers/DisputeHandler.sol";
import {IDisputeGame} from "../../contracts/interfaces/IDisputeGame.sol";
import {ITaskManager} from "../../contracts/interfaces/ITaskManager.sol";

/// @notice Invariants of the dispute game under any sequence of honest and hostile moves
/// (DisputeHandler): an honest party never loses, every dispute ends within its bound, no
/// verdict stands without more than 2/3 of the snapshot's stake weight, and tokens are
/// conserved through slashes, bonds and burns.
contract DisputeInvariants is TestBase, Deployment {
    DisputeHandler internal handler;
    address[] internal holders;

    function setUp() public {
        _deploy(IDisputeGame.GameParams({bond: TOKEN, moveDuration: 1 hours, verdictDuration: 6 hours, slashBps: 5000, rewardBps: 5000}));
        address owner = address(0x4800);
        ITaskManager.TaskConfig memory config = ITaskManager.TaskConfig({
            modelCid: hex"01551220aa",
            dataCid: hex"01551220bb",
            configHash: bytes32(uint256(1)),
            aggregator: owner,
            rewardPerRound: TOKEN,
            numRounds: 500,
            commitDuration: 1 days,
            revealDuration: 1 days,
            scoreDuration: 1 days,
            challengeDuration: 1 days,
            minStake: 5 * TOKEN,
            noRevealPenalty: TOKEN,
            stepsPerRound: 4,
            opsPerStep: 3
        });
        uint256 each = 10_000 * TOKEN;
        token.mint(owner, each);
        vm.startPrank(owner);
        token.approve(address(vault), type(uint256).max);
        token.approve(address(registry), type(uint256).max);
        registry.register(2, 10 * TOKEN);
        uint256 taskId = tasks.createTask(config);
        vm.stopPrank();
        holders.push(owner);

        handler = new DisputeHandler(token, registry, tasks, committee, game, taskId, 0);
        _fund(handler.H(), 1, 100 * TOKEN, each);
        _fund(handler.X(), 1, 100 * TOKEN, each);
        _fund(handler.VH(), 4, 10 * TOKEN, each);
        _fund(handler.VX(), 4, 10 * TOKEN, each);
        uint256[4] memory stakes = [uint256(100), 150, 200, 120];
        for (uint256 i; i < 4; ++i) {
            _fund(handler.referees(i), 8, stakes[i] * TOKEN, each);
            handler.churn(uint8(i)); // joins with key i + 1
        }
        holders.push(address(registry));
        holders.push(address(vault));
        holders.push(address(game));
        holders.push(address(tasks));
        holders.push(address(committee));
        holders.push(address(handler));

        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = DisputeHandler.newRound.selector;
        selectors[1] = DisputeHandler.closeRound.selector;
        selectors[2] = DisputeHandler.honestChallenge.selector;
        selectors[3] = DisputeHandler.hostileChallenge.selector;
        selectors[4] = DisputeHandler.hostileMove.selector;
        selectors[5] = DisputeHandler.hostileMove.selector; // the liar moves more often than anything else
        selectors[6] = DisputeHandler.verdict.selector;
        selectors[7] = DisputeHandler.timeout.selector;
        selectors[8] = DisputeHandler.churn.selector;
        selectors[9] = DisputeHandler.warp.selector;
        selectors[10] = DisputeHandler.newRound.selector;
        _target(address(handler), selectors);
    }

    function _fund(address account, uint8 roles, uint256 stake, uint256 amount) internal {
        token.mint(account, amount);
        vm.startPrank(account);
        token.approve(address(registry), type(uint256).max);
        token.approve(address(game), type(uint256).max);
        registry.register(roles, stake);
        vm.stopPrank();
        holders.push(account);
    }

    function invariant_disputes() public view {
        _honestPartyNeverLoses();
        _everyDisputeEnds();
        assertTrue(!handler.ghostThresholdBroken(), "a verdict stood with no more than 2/3 of the snapshot's weight");
        _conservation();
    }

    /// @notice Whatever the opponent does, an honest defender is never beaten and an honest
    /// challenger never loses its bond (a dispute may end cancelled when no verdict came).
    function _honestPartyNeverLoses() internal view {
        for (uint256 i; i < handler.disputeCount(); ++i) {
            uint256 id = handler.disputeIds(i);
            IDisputeGame.Dispute memory d = game.getDispute(id);
            if (d.stage != IDisputeGame.Stage.Resolved || d.cancelled) continue;
            (bool defenderHonest, bool challengerHonest,) = handler.sides(id);
            if (defenderHonest) assertTrue(d.winner == IDisputeGame.Party.Defender, "an honest defender lost");
            if (challengerHonest) assertTrue(d.winner == IDisputeGame.Party.Challenger, "an honest challenger lost");
        }
    }

    /// @notice A live dispute's deadline never lies beyond its worst-case life: once that has
    /// passed, `timeout` ends it; moves are bounded by ceil(log2 K) + ceil(log2 M).
    function _everyDisputeEnds() internal view {
        uint256 bound = game.maxDisputeDuration(4, 3);
        for (uint256 i; i < handler.disputeCount(); ++i) {
            uint256 id = handler.disputeIds(i);
            IDisputeGame.Dispute memory d = game.getDispute(id);
            assertLe(d.moves, 2 + 2, "moves <= ceil(log2 K) + ceil(log2 M)");
            if (d.stage == IDisputeGame.Stage.Resolved) continue;
            (,, uint256 openedAt) = handler.sides(id);
            assertLe(d.deadline, openedAt + bound, "a live dispute's deadline is within its worst-case life");
        }
    }

    function _conservation() internal view {
        uint256 sum;
        for (uint256 i; i < holders.length; ++i) sum += token.balanceOf(holders[i]);
        assertEq(sum, token.totalSupply(), "every token is held by a known participant or contract");
        assertEq(token.totalSupply() + handler.ghostBurnt(), token.totalMinted(), "minted = supply + burnt");
        uint256 bonds;
        for (uint256 i; i < handler.disputeCount(); ++i) {
            IDisputeGame.Dispute memory d = game.getDispute(handler.disputeIds(i));
            if (d.stage != IDisputeGame.Stage.Resolved) bonds += d.bond;
        }
        assertEq(token.balanceOf(address(game)), bonds, "the game holds exactly the bonds of live disputes");
    }

    // -- the handler's paths, played out once each (so the invariant runs are not vacuous) ----

    function _last() internal view returns (uint256 index, uint256 id) {
        index = handler.disputeCount() - 1;
        id = handler.disputeIds(index);
    }

    function _nextRound() internal {
        for (uint256 i; i < 4; ++i) {
            ITaskManager.Round memory r = tasks.getRound(1, tasks.getTask(1).currentRound);
            if (r.phase == ITaskManager.Phase.Commit) return;
            handler.closeRound();
        }
    }

    /// @dev Let the hostile side answer with `how` until the dispute waits for a verdict, then
    /// have members `signers` sign the correct value.
    function _playOut(uint256 index, uint256 id, uint8 how, uint8 signers) internal returns (IDisputeGame.Dispute memory d) {
        for (uint256 i; i < 24; ++i) {
            d = game.getDispute(id);
            if (d.stage == IDisputeGame.Stage.Resolved) return d;
            if (d.stage == IDisputeGame.Stage.AwaitVerdict) {
                handler.verdict(index, signers, false);
            } else {
                handler.hostileMove(index, how, keccak256(abi.encode(i)));
                handler.warp(0); // the honest side answers
            }
        }
        d = game.getDispute(id);
    }

    function test_honestChallengerBeatsEveryWrongReveal() public {
        for (uint8 kind = 1; kind <= 3; ++kind) {
            for (uint8 how; how < 3; ++how) {
                _nextRound();
                handler.newRound(kind);
                handler.honestChallenge();
                (uint256 index, uint256 id) = _last();
                IDisputeGame.Dispute memory d = _playOut(index, id, how, 15);
                assertTrue(d.stage == IDisputeGame.Stage.Resolved && !d.cancelled, "the dispute ended with a verdict or a timeout");
                assertTrue(d.winner == IDisputeGame.Party.Challenger, "the honest challenger won");
                if (kind == 2) assertEq(d.op, game.FINAL_DELTA(), "a wrong delta is judged on FINAL_DELTA");
            }
        }
    }

    function test_hostileChallengerLosesAgainstAnHonestTrainer() public {
        for (uint8 kind; kind < 3; ++kind) {
            for (uint8 how; how < 3; ++how) {
                _nextRound();
                handler.newRound(0);
                handler.hostileChallenge(false, kind);
                (uint256 index, uint256 id) = _last();
                IDisputeGame.Dispute memory d = _playOut(index, id, how, 15);
                assertTrue(d.stage == IDisputeGame.Stage.Resolved && !d.cancelled, "the dispute ended");
                assertTrue(d.winner == IDisputeGame.Party.Defender, "the honest trainer won");
            }
        }
    }

    function test_noVerdictWithoutMoreThanTwoThirdsOfTheStake() public {
        handler.newRound(2); // a wrong delta: straight to the verdict
        handler.honestChallenge();
        (uint256 index, uint256 id) = _last();
        handler.verdict(index, 0x01, true); // one member (100 of 570) lies
        handler.verdict(index, 0x06, false); // 150 + 200 = 350 of 570: not more than 2/3
        assertTrue(game.getDispute(id).stage == IDisputeGame.Stage.AwaitVerdict, "no verdict yet");
        handler.verdict(index, 0x0E, false); // 150 + 200 + 120 = 470 of 570
        assertTrue(game.getDispute(id).winner == IDisputeGame.Party.Challenger, "the verdict settled it");
    }
}
