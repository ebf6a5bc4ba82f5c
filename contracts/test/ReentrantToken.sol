// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IRewardVault} from "../interfaces/IRewardVault.sol";

/// @notice Test-only token with ERC777-style receive hooks: every transfer to a contract calls
/// `onTokenReceived` on it, which gives a hostile receiver a chance to re-enter the payer.
contract ReentrantToken is ERC20 {
    constructor() ERC20("Hooked", "HOOK") {}

    function mint(address to, uint256 value) external {
        _mint(to, value);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (to.code.length != 0 && from != address(0)) {
            // Receivers without the hook (the registry, the vault) simply do not react.
            try ReentrantClaimer(to).onTokenReceived(from, value) {} catch {}
        }
    }
}

/// @notice Test-only hostile trainer: when paid, it claims the same reward again.
contract ReentrantClaimer {
    IRewardVault public immutable vault;
    uint256 public taskId;
    uint32 public round;
    int256 public score;
    uint256 public amount;
    bytes32[] public proof;
    uint256 public reentries;
    bool public reentrySucceeded;
    bytes public reentryError;

    constructor(IRewardVault vault_) {
        vault = vault_;
    }

    function attack(uint256 taskId_, uint32 round_, int256 score_, uint256 amount_, bytes32[] calldata proof_) external {
        taskId = taskId_;
        round = round_;
        score = score_;
        amount = amount_;
        proof = proof_;
        vault.claim(taskId_, round_, score_, amount_, proof_);
    }

    function onTokenReceived(address, uint256) external {
        if (msg.sender == address(0) || reentries != 0) return;
        ++reentries;
        try vault.claim(taskId, round, score, amount, proof) {
            reentrySucceeded = true;
        } catch (bytes memory err) {
            reentryError = err;
        }
    }
}
