// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title The meritnet token
/// @notice ERC20 used for stakes and rewards. Accounts holding MINTER_ROLE may mint (the
/// deployer on a devnet, a reward vault in production); anyone may burn their own tokens.
interface IMeritToken is IERC20 {
    /// @notice Mint `amount` new tokens to `to`. Reverts with AccessControlUnauthorizedAccount
    /// unless the caller holds MINTER_ROLE.
    function mint(address to, uint256 amount) external;

    /// @notice Burn `amount` of the caller's tokens.
    function burn(uint256 amount) external;
}
