// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title The meritnet token
/// @notice ERC20 used for stakes and rewards. Accounts holding MINTER_ROLE may mint (the
/// deployer on a devnet) until `cap` tokens have been minted in all, and never again once the
/// admin calls `finishMinting` (after the genesis mint); anyone may burn their own tokens.
/// `totalMinted - totalSupply` is what was burnt.
interface IMeritToken is IERC20 {
    /// @notice Thrown by mint after finishMinting.
    error MeritTokenMintingFinished();
    /// @notice Thrown when a mint would take the tokens ever minted past the cap.
    error MeritTokenCapExceeded(uint256 cap, uint256 minted);

    /// @notice Emitted once, when minting ends for good.
    event MintingFinished();

    /// @notice Mint `amount` new tokens to `to`. Reverts with AccessControlUnauthorizedAccount
    /// unless the caller holds MINTER_ROLE.
    function mint(address to, uint256 amount) external;

    /// @notice End minting for good (DEFAULT_ADMIN_ROLE only).
    function finishMinting() external;

    /// @notice Burn `amount` of the caller's tokens.
    function burn(uint256 amount) external;

    /// @notice The most tokens that can ever be minted.
    function cap() external view returns (uint256);

    /// @notice Whether minting has ended for good.
    function mintingFinished() external view returns (bool);

    /// @notice Tokens minted so far (burns do not lower it).
    function totalMinted() external view returns (uint256);
}
