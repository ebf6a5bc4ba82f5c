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
    uint256 internal constant COMMITTEE_THRESHOLD = 2;

    MeritToken public token;
    Registry public registry;
    RewardVault public vault;
    TaskManager public tasks;
    RefereeCommittee public committee;
    DisputeGame public game;

    function _deploy(IDisputeGame.GameParams memory params) internal {
        token = new MeritToken(address(this));
        registry = new Registry(address(this), IMeritToken(address(token)), MIN_STAKE, UNBONDING_DELAY, 8);
        vault = new RewardVault(address(this), token);
        tasks = new TaskManager(address(this), IRegistry(address(registry)), IRewardVault(address(vault)));
        committee = new RefereeCommittee(IRegistry(address(registry)), COMMITTEE_THRESHOLD);
        game = new DisputeGame(
            IRegistry(address(registry)),
            IMeritToken(address(token)),
            ITaskManager(address(tasks)),
            IRefereeCommittee(address(committee)),
            params
        );
        vault.bind(address(tasks));
        registry.grantRole(registry.SLASHER_ROLE(), address(tasks));
        registry.grantRole(registry.SLASHER_ROLE(), address(game));
        tasks.grantRole(tasks.DISPUTE_ROLE(), address(game));
    }
}
