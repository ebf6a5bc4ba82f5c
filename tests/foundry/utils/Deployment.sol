// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MeritToken} from "../../../contracts/MeritToken.sol";
import {Registry} from "../../../contracts/Registry.sol";
import {RewardVault} from "../../../contracts/RewardVault.sol";
import {TaskManager} from "../../../contracts/TaskManager.sol";
import {RefereeCommittee} from "../../../contracts/RefereeCommittee.sol";
import {DisputeGame} from "../../../contracts/DisputeGame.sol";
import {IDisputeGame} from "../../../contracts/interfaces/IDisputeGame.sol";
import {IMeritToken} from "../../../contracts/interfaces/IMeritToken.sol";
import {IRegistry} from "../../../contracts/interfaces/IRegistry.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {ITaskManager} from "../../../contracts/interfaces/ITaskManager.sol";
import {IRefereeCommittee} from "../../../contracts/interfaces/IRefereeCommittee.sol";

/// @notice The contracts wired as `meritnet deploy` wires them (node/chain/deploy.py), with
/// the deploying contract as admin.
contract Deployment {
    uint256 internal constant TOKEN = 1e18;
    uint256 internal constant MIN_STAKE = 1 * TOKEN;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    uint256 internal constant REFEREE_STAKE = 100 * TOKEN; // the committee's stake floor
    uint64 internal constant CLAIM_WINDOW = 3 days; // short, so that runs reach the sweep

    MeritToken public token;
    Registry public registry;
    RewardVault public vault;
    TaskManager public tasks;
    RefereeCommittee public committee;
    DisputeGame public game;

    function _deploy(IDisputeGame.GameParams memory params) internal {
        token = new MeritToken(address(this), 0);
        registry = new Registry(address(this), IMeritToken(address(token)), MIN_STAKE, UNBONDING_DELAY, 8);
        vault = new RewardVault(address(this), token, CLAIM_WINDOW);
        tasks = new TaskManager(address(this), IRegistry(address(registry)), IRewardVault(address(vault)));
        committee = new RefereeCommittee(IRegistry(address(registry)), REFEREE_STAKE, 2, 3);
        game = new DisputeGame(
            IRegistry(address(registry)),
            IMeritToken(address(token)),
            ITaskManager(address(tasks)),
            IRefereeCommittee(address(committee)),
            params
        );
        vault.bind(address(tasks));
        committee.bindGame(address(game));
        registry.grantRole(registry.SLASHER_ROLE(), address(tasks));
        registry.grantRole(registry.SLASHER_ROLE(), address(game));
        registry.grantRole(registry.SLASHER_ROLE(), address(committee));
        registry.grantRole(registry.LOCKER_ROLE(), address(tasks));
        registry.grantRole(registry.LOCKER_ROLE(), address(committee));
        tasks.grantRole(tasks.DISPUTE_ROLE(), address(game));
    }
}
