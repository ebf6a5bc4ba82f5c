// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./utils/Vm.sol";
import {Deployment} from "./utils/Deployment.sol";
import {ProtocolHandler} from "./handlers/ProtocolHandler.sol";
import {IDisputeGame} from "../../contracts/interfaces/IDisputeGame.sol";
import {IRegistry} from "../../contracts/interfaces/IRegistry.sol";
import {IRewardVault} from "../../contracts/interfaces/IRewardVault.sol";

/// @notice Invariants of the economic protocol under any sequence of honest and hostile
/// moves (ProtocolHandler): tokens are conserved, every contract holds exactly what its
/// books say, and the vault never pays a round more than its allocation.
contract ProtocolInvariants is TestBase, Deployment {
    ProtocolHandler internal handler;
    address[] internal holders;

    function setUp() public {
        _deploy(IDisputeGame.GameParams({bond: TOKEN, moveDuration: 1 hours, verdictDuration: 6 hours, slashBps: 5000, rewardBps: 5000}));
        address[] memory actors = new address[](6);
        for (uint256 i; i < actors.length; ++i) actors[i] = address(uint160(0x1000 + i));
        uint256 each = 1000 * TOKEN;
        handler = new ProtocolHandler(token, registry, vault, tasks, actors, each * (actors.length + 2));
        address[] memory funded = new address[](actors.length + 2);
        for (uint256 i; i < actors.length; ++i) funded[i] = actors[i];
        funded[actors.length] = handler.owner();
        funded[actors.length + 1] = handler.aggregator();
        for (uint256 i; i < funded.length; ++i) {
            token.mint(funded[i], each);
            vm.startPrank(funded[i]);
            token.approve(address(registry), type(uint256).max);
            token.approve(address(vault), type(uint256).max);
            token.approve(address(game), type(uint256).max);
            vm.stopPrank();
            holders.push(funded[i]);
        }
        holders.push(address(registry));
        holders.push(address(vault));
        holders.push(address(game));
        holders.push(address(tasks));
        holders.push(address(committee));
        holders.push(address(handler));
        holders.push(address(this));

        bytes4[] memory selectors = new bytes4[](16);
        selectors[0] = ProtocolHandler.stake.selector;
        selectors[1] = ProtocolHandler.unbond.selector;
        selectors[2] = ProtocolHandler.withdraw.selector;
        selectors[3] = ProtocolHandler.warp.selector;
        selectors[4] = ProtocolHandler.createTask.selector;
        selectors[5] = ProtocolHandler.commit.selector;
        selectors[6] = ProtocolHandler.reveal.selector;
        selectors[7] = ProtocolHandler.postScores.selector;
        selectors[8] = ProtocolHandler.advance.selector;
        selectors[9] = ProtocolHandler.claim.selector;
        selectors[10] = ProtocolHandler.slashNoReveal.selector;
        selectors[11] = ProtocolHandler.reclaim.selector;
        selectors[12] = ProtocolHandler.commit.selector; // commits twice as often: rounds fill up
        selectors[13] = ProtocolHandler.sweep.selector;
        selectors[14] = ProtocolHandler.release.selector;
        selectors[15] = ProtocolHandler.aggregatorUnbond.selector;
        _target(address(handler), selectors);
    }

    /// @notice Every invariant after every call. One campaign checks them all: forge runs a
    /// separate campaign (runs x depth calls) per invariant function.
    function invariant_protocol() public view {
        _tokenConservation();
        _registrySolvent();
        _vaultBooks();
        _locksHold();
    }

    function _allSwept(uint256 taskId) internal view returns (bool) {
        for (uint32 round = 1; round <= 2; ++round) {
            IRewardVault.RoundRewards memory r = vault.roundRewards(taskId, round);
            if (r.root != bytes32(0) && !r.swept) return false;
        }
        return true;
    }

    /// @notice Locked stake never leaves while it backs work: every account keeps at least
    /// its locked amount slashable, and no withdrawal ever broke that.
    function _locksHold() internal view {
        // (Slashes may take locked stake: that is what it is locked for.)
        assertTrue(!handler.ghostLockBroken(), "a withdrawal left less slashable stake than the lock");
        assertTrue(!handler.ghostDoubleBacking(), "a commitment was backed by stake already locked");
    }

    /// @notice minted = balances + vault + registry + game + burnt, and no token sits anywhere else.
    function _tokenConservation() internal view {
        uint256 sum;
        for (uint256 i; i < holders.length; ++i) sum += token.balanceOf(holders[i]);
        assertEq(sum, token.totalSupply(), "every token is held by a known participant or contract");
        assertEq(token.totalSupply() + handler.ghostBurnt(), handler.ghostMinted(), "minted = supply + burnt");
    }

    /// @notice The registry holds exactly the stake and pending unbonds it owes.
    function _registrySolvent() internal view {
        uint256 owed = registry.slashableOf(handler.aggregator());
        for (uint256 i; i < handler.actorCount(); ++i) owed += registry.slashableOf(handler.actors(i));
        assertEq(token.balanceOf(address(registry)), owed, "registry balance = stakes + pending unbonds");
    }

    /// @notice The vault holds every task's unallocated budget plus each round's unclaimed
    /// allocation, and has paid no round more than its allocation.
    function _vaultBooks() internal view {
        uint256 owed;
        uint256 owedBefore;
        for (uint256 t; t < handler.taskCount(); ++t) {
            uint256 taskId = handler.taskIds(t);
            uint256 allocated;
            for (uint32 round = 1; round <= 2; ++round) {
                IRewardVault.RoundRewards memory r = vault.roundRewards(taskId, round);
                assertLe(r.claimed, r.total, "a round's claims stay within its allocation");
                assertEq(handler.ghostPaid(taskId, round), r.claimed, "the vault paid exactly what it booked");
                if (!r.swept) owed += r.total - r.claimed;
                allocated += r.total;
            }
            owed += vault.unallocated(taskId);
            assertEq(vault.unallocated(taskId) + allocated + handler.ghostReclaimed(taskId), handler.ghostBudget(taskId), "budget = unallocated + allocated + reclaimed");
            assertEq(vault.heldFor(taskId), owed - owedBefore, "heldFor = unallocated + unclaimed, unswept allocations");
            owedBefore = owed;
            if (tasks.isComplete(taskId) && handler.reclaimedAfterEnd(taskId) && _allSwept(taskId)) {
                assertEq(vault.heldFor(taskId), 0, "the vault holds nothing for a complete, reclaimed, swept task");
            }
        }
        assertEq(token.balanceOf(address(vault)), owed, "vault balance = unallocated + unclaimed allocations");
    }

    /// @notice The handler's honest path, played once (so the invariant runs are not vacuous):
    /// stake, commit, reveal, post, finalize, claim, release, sweep, reclaim.
    function test_handlerPlaysAWholeTask() public {
        handler.createTask(4e18);
        for (uint256 i; i < 3; ++i) handler.stake(i, 10e18, 0);
        for (uint8 round; round < 2; ++round) {
            for (uint256 i; i < 3; ++i) handler.commit(0, i, 0);
            handler.warp(1 days);
            handler.advance(0);
            for (uint256 i; i < 3; ++i) handler.reveal(0, i);
            handler.warp(1 days);
            handler.advance(0);
            handler.postScores(0, 3e18, false);
            handler.warp(1 days);
            handler.advance(0);
            for (uint256 i; i < 3; ++i) handler.claim(0, round, i, i == 2); // the third overclaims
            for (uint256 i; i < 3; ++i) handler.release(0, round, i);
        }
        for (uint256 i; i < 4; ++i) handler.warp(1 days);
        handler.sweep(0, 0);
        handler.sweep(0, 1);
        handler.reclaim(0);
        assertEq(handler.calls("commit"), 6, "commits");
        assertEq(handler.calls("reveal"), 6, "reveals");
        assertEq(handler.calls("postScores"), 2, "posts");
        assertEq(handler.calls("claim"), 4, "honest claims paid, overclaims refused");
        assertEq(handler.calls("release"), 6, "releases");
        assertEq(handler.calls("sweep"), 2, "sweeps");
        assertEq(handler.calls("reclaim"), 1, "reclaim");
        assertEq(vault.heldFor(handler.taskIds(0)), 0, "the vault holds nothing for the finished task");
        invariant_protocol();
    }
}
