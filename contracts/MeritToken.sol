// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMeritToken} from "./interfaces/IMeritToken.sol";

/// @title MeritToken
/// @notice ERC20 for stakes and rewards; see IMeritToken.
contract MeritToken is ERC20, AccessControl, IMeritToken {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @inheritdoc IMeritToken
    uint256 public immutable cap;
    /// @inheritdoc IMeritToken
    bool public mintingFinished;
    /// @inheritdoc IMeritToken
    uint256 public totalMinted;

    constructor(address admin, uint256 cap_) ERC20("Merit", "MERIT") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
        cap = cap_ == 0 ? type(uint256).max : cap_;
    }

    /// @inheritdoc IMeritToken
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        if (mintingFinished) revert MeritTokenMintingFinished();
        uint256 minted = totalMinted + amount;
        if (minted > cap) revert MeritTokenCapExceeded(cap, minted);
        totalMinted = minted;
        _mint(to, amount);
    }

    /// @inheritdoc IMeritToken
    function finishMinting() external onlyRole(DEFAULT_ADMIN_ROLE) {
        mintingFinished = true;
        emit MintingFinished();
    }

    /// @inheritdoc IMeritToken
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }
}
