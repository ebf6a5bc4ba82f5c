// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Participant registry: stakes, roles, unbonding and slashing
/// @notice Every meritnet participant registers once with a stake in the meritnet token and a
/// bitmask of roles. Stake leaves through unbonding: a request moves stake into a pending
/// entry that can be withdrawn after `unbondingDelay` seconds; at most `maxPendingUnbonds`
/// entries may be pending per account. Pending stake stays slashable until withdrawn, so
/// unbonding is no escape from a dispute. Only contracts granted SLASHER_ROLE may slash.
/// Contracts granted LOCKER_ROLE lock stake that backs work (a trainer's commitment, an
/// aggregator's posted scores, a referee's committee weight): while `lockedOf(account)` is
/// non-zero, unbond requests are still accepted but a matured unbond is paid out only as far
/// as what stays slashable (active plus pending) covers the locked amount. A lock never exceeds
/// what stays slashable, and eligibility counts only free stake (active minus locked): the same
/// stake cannot back two commitments, and every slash of locked work finds its stake.
interface IRegistry {
    /// @notice One pending unbonding request.
    struct Unbond {
        uint128 amount;
        uint64 releaseAt;
    }

    /// @notice Thrown by register when the account is already registered.
    error RegistryAlreadyRegistered(address account);
    /// @notice Thrown when the account has never registered.
    error RegistryNotRegistered(address account);
    /// @notice Thrown when the role mask is empty or holds unknown bits.
    error RegistryInvalidRoles(uint8 roles);
    /// @notice Thrown when a stake would fall below the global minimum.
    error RegistryStakeTooLow(address account, uint256 stake, uint256 minimum);
    /// @notice Thrown when an amount argument is zero.
    error RegistryZeroAmount();
    /// @notice Thrown when unbonding more than the active stake.
    error RegistryInsufficientStake(address account, uint256 stake, uint256 requested);
    /// @notice Thrown when an account already has the maximum number of pending unbonds.
    error RegistryTooManyUnbonds(address account, uint256 pending, uint256 maximum);
    /// @notice Thrown by withdrawUnbonded when no pending entry has reached its release time.
    error RegistryNothingToWithdraw(address account);
    /// @notice Thrown by lock when the account's locks would exceed its slashable stake: the
    /// stake is already backing other work (free some, or add stake).
    error RegistryLockExceedsStake(address account, uint256 slashable, uint256 locked);
    /// @notice Thrown by withdrawUnbonded when every matured entry is held back by a lock.
    error RegistryStakeLocked(address account, uint256 locked);
    /// @notice Thrown when slashing more than the account holds (active plus pending).
    error RegistrySlashExceedsStake(address account, uint256 total, uint256 requested);

    /// @notice Emitted when an account registers.
    event Registered(address indexed account, uint8 roles, uint256 stake);
    /// @notice Emitted when an account changes its roles.
    event RolesChanged(address indexed account, uint8 roles);
    /// @notice Emitted when stake is added.
    event StakeAdded(address indexed account, uint256 amount, uint256 stake);
    /// @notice Emitted when stake moves into a pending unbond.
    event UnbondRequested(address indexed account, uint256 amount, uint64 releaseAt);
    /// @notice Emitted when matured unbonds are paid out.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when a locker changes `account`'s locked amount (now `locked`).
    event LockChanged(address indexed account, address indexed locker, uint256 locked);
    /// @notice Emitted when stake is slashed; `beneficiary` zero means the tokens were burnt.
    event Slashed(address indexed account, uint256 amount, address indexed beneficiary, address indexed slasher);

    /// @notice Register the caller with `roles` (bitmask of ROLE_*) and pull `stake` tokens.
    /// @dev The caller must have approved the registry for `stake` tokens.
    function register(uint8 roles, uint256 stake) external;

    /// @notice Replace the caller's roles.
    function setRoles(uint8 roles) external;

    /// @notice Pull `amount` more tokens into the caller's active stake.
    function addStake(uint256 amount) external;

    /// @notice Move `amount` of active stake into a pending unbond released after the delay.
    function requestUnbond(uint256 amount) external;

    /// @notice Pay out every pending unbond of the caller whose release time has passed.
    /// @return amount The total paid.
    function withdrawUnbonded() external returns (uint256 amount);

    /// @notice Take `amount` from `account` (active stake first, then pending unbonds, newest
    /// first) and send it to `beneficiary`, or burn it when `beneficiary` is zero.
    /// Callable only by holders of SLASHER_ROLE.
    function slash(address account, uint256 amount, address beneficiary) external;

    /// @notice Lock `amount` more of `account`'s stake against withdrawal (LOCKER_ROLE only);
    /// reverts when the account's locks would exceed its slashable stake.
    function lock(address account, uint256 amount) external;

    /// @notice Release `amount` of `account`'s locked stake (LOCKER_ROLE only; saturates at zero).
    function unlock(address account, uint256 amount) external;

    /// @notice Stake of `account` that withdrawals must leave slashable.
    function lockedOf(address account) external view returns (uint256);

    /// @notice Active stake of `account`.
    function stakeOf(address account) external view returns (uint256);

    /// @notice Active plus pending stake of `account`: what slashing can reach.
    function slashableOf(address account) external view returns (uint256);

    /// @notice Role bitmask of `account` (zero when unregistered).
    function rolesOf(address account) external view returns (uint8);

    /// @notice Active stake of `account` not locked by any work (`stake - locked`, floored at 0).
    function freeStakeOf(address account) external view returns (uint256);

    /// @notice Whether `account` is registered, holds every bit of `role` and has a free
    /// (active, unlocked) stake of at least `minStake` and above zero.
    function isEligible(address account, uint8 role, uint256 minStake) external view returns (bool);

    /// @notice Pending unbonds of `account`, oldest first.
    function pendingUnbonds(address account) external view returns (Unbond[] memory);

    /// @notice Seconds between an unbond request and its release.
    function unbondingDelay() external view returns (uint64);

    /// @notice Maximum number of pending unbonds per account.
    function maxPendingUnbonds() external view returns (uint256);

    /// @notice Minimum active stake of a registered account.
    function minStake() external view returns (uint256);
}
