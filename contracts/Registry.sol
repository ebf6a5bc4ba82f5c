// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMeritToken} from "./interfaces/IMeritToken.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";

/// @title Registry
/// @notice Stakes, roles, unbonding and slashing; see IRegistry.
contract Registry is AccessControl, IRegistry {
    using SafeERC20 for IMeritToken;

    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    bytes32 public constant LOCKER_ROLE = keccak256("LOCKER_ROLE");
    uint8 public constant ROLE_TRAINER = 1;
    uint8 public constant ROLE_AGGREGATOR = 2;
    uint8 public constant ROLE_VERIFIER = 4;
    uint8 public constant ROLE_REFEREE = 8;
    uint8 private constant _ALL_ROLES = 15;

    struct Account {
        uint8 roles;
        // Packed with roles: locking and unlocking rewrite a slot that is already non-zero.
        uint248 locked;
        uint256 stake;
    }

    IMeritToken public immutable token;
    /// @inheritdoc IRegistry
    uint64 public immutable unbondingDelay;
    /// @inheritdoc IRegistry
    uint256 public immutable maxPendingUnbonds;
    /// @inheritdoc IRegistry
    uint256 public immutable minStake;

    mapping(address account => Account) private _accounts;
    mapping(address account => Unbond[]) private _unbonds;

    constructor(address admin, IMeritToken token_, uint256 minStake_, uint64 unbondingDelay_, uint256 maxPendingUnbonds_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        token = token_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        maxPendingUnbonds = maxPendingUnbonds_;
    }

    /// @inheritdoc IRegistry
    function register(uint8 roles, uint256 stake) external {
        if (_accounts[msg.sender].roles != 0) revert RegistryAlreadyRegistered(msg.sender);
        _checkRoles(roles);
        if (stake < minStake || stake == 0) revert RegistryStakeTooLow(msg.sender, stake, minStake);
        _accounts[msg.sender] = Account({roles: roles, locked: 0, stake: stake});
        emit Registered(msg.sender, roles, stake);
        token.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @inheritdoc IRegistry
    function setRoles(uint8 roles) external {
        _checkRegistered(msg.sender);
        _checkRoles(roles);
        _accounts[msg.sender].roles = roles;
        emit RolesChanged(msg.sender, roles);
    }

    /// @inheritdoc IRegistry
    function addStake(uint256 amount) external {
        _checkRegistered(msg.sender);
        if (amount == 0) revert RegistryZeroAmount();
        Account storage account = _accounts[msg.sender];
        account.stake += amount;
        emit StakeAdded(msg.sender, amount, account.stake);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IRegistry
    function requestUnbond(uint256 amount) external {
        _checkRegistered(msg.sender);
        if (amount == 0) revert RegistryZeroAmount();
        Account storage account = _accounts[msg.sender];
        if (amount > account.stake) revert RegistryInsufficientStake(msg.sender, account.stake, amount);
        uint256 remaining = account.stake - amount;
        if (remaining != 0 && remaining < minStake) revert RegistryStakeTooLow(msg.sender, remaining, minStake);
        Unbond[] storage pending = _unbonds[msg.sender];
        if (pending.length >= maxPendingUnbonds) {
            revert RegistryTooManyUnbonds(msg.sender, pending.length, maxPendingUnbonds);
        }
        uint64 releaseAt = SafeCast.toUint64(block.timestamp + unbondingDelay);
        account.stake = remaining;
        pending.push(Unbond({amount: SafeCast.toUint128(amount), releaseAt: releaseAt}));
        emit UnbondRequested(msg.sender, amount, releaseAt);
    }

    /// @inheritdoc IRegistry
    function withdrawUnbonded() external returns (uint256 amount) {
        Unbond[] storage pending = _unbonds[msg.sender];
        uint256 locked = _accounts[msg.sender].locked;
        // What stays slashable must cover the locked amount.
        uint256 slashable = slashableOf(msg.sender);
        bool blocked;
        // Bounded by maxPendingUnbonds. Swap-and-pop keeps the array dense.
        uint256 i = 0;
        while (i < pending.length) {
            uint256 entry = pending[i].amount;
            if (pending[i].releaseAt <= block.timestamp && slashable - entry >= locked) {
                amount += entry;
                slashable -= entry;
                pending[i] = pending[pending.length - 1];
                pending.pop();
            } else {
                if (pending[i].releaseAt <= block.timestamp) blocked = true;
                ++i;
            }
        }
        if (amount == 0) {
            if (blocked) revert RegistryStakeLocked(msg.sender, locked);
            revert RegistryNothingToWithdraw(msg.sender);
        }
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IRegistry
    function lock(address account, uint256 amount) external onlyRole(LOCKER_ROLE) {
        Account storage acct = _accounts[account];
        uint256 locked = acct.locked + amount;
        // Locks never exceed what slashing can reach: the same stake cannot back two things, and
        // every slash of locked work finds its stake. Active stake usually covers it (one read).
        if (locked > acct.stake) {
            uint256 slashable = slashableOf(account);
            if (locked > slashable) revert RegistryLockExceedsStake(account, slashable, locked);
        }
        acct.locked = SafeCast.toUint248(locked);
        emit LockChanged(account, msg.sender, locked);
    }

    /// @inheritdoc IRegistry
    function unlock(address account, uint256 amount) external onlyRole(LOCKER_ROLE) {
        Account storage acct = _accounts[account];
        uint256 locked = acct.locked;
        locked = amount < locked ? locked - amount : 0;
        acct.locked = uint248(locked);
        emit LockChanged(account, msg.sender, locked);
    }

    /// @inheritdoc IRegistry
    function lockedOf(address account) external view returns (uint256) {
        return _accounts[account].locked;
    }

    /// @inheritdoc IRegistry
    function slash(address account, uint256 amount, address beneficiary) external onlyRole(SLASHER_ROLE) {
        if (amount == 0) revert RegistryZeroAmount();
        uint256 total = slashableOf(account);
        if (amount > total) revert RegistrySlashExceedsStake(account, total, amount);
        Account storage acct = _accounts[account];
        uint256 fromStake = amount < acct.stake ? amount : acct.stake;
        acct.stake -= fromStake;
        uint256 rest = amount - fromStake;
        Unbond[] storage pending = _unbonds[account];
        // Bounded by maxPendingUnbonds; rest <= sum of pending because amount <= total.
        while (rest != 0) {
            Unbond storage last = pending[pending.length - 1];
            if (last.amount > rest) {
                // Cannot underflow: last.amount > rest, and rest fits in uint128 here.
                last.amount -= uint128(rest);
                rest = 0;
            } else {
                rest -= last.amount;
                pending.pop();
            }
        }
        emit Slashed(account, amount, beneficiary, msg.sender);
        if (beneficiary == address(0)) {
            token.burn(amount);
        } else {
            token.safeTransfer(beneficiary, amount);
        }
    }

    /// @inheritdoc IRegistry
    function stakeOf(address account) external view returns (uint256) {
        return _accounts[account].stake;
    }

    /// @inheritdoc IRegistry
    function slashableOf(address account) public view returns (uint256 total) {
        total = _accounts[account].stake;
        Unbond[] storage pending = _unbonds[account];
        for (uint256 i = 0; i < pending.length; ++i) {
            total += pending[i].amount;
        }
    }

    /// @inheritdoc IRegistry
    function freeStakeOf(address account) public view returns (uint256) {
        Account storage acct = _accounts[account];
        return acct.stake > acct.locked ? acct.stake - acct.locked : 0;
    }

    /// @inheritdoc IRegistry
    function rolesOf(address account) external view returns (uint8) {
        return _accounts[account].roles;
    }

    /// @inheritdoc IRegistry
    function isEligible(address account, uint8 role, uint256 minStake_) external view returns (bool) {
        Account storage acct = _accounts[account];
        // Only free stake makes an account eligible: stake already locked backs other work.
        uint256 free = acct.stake > acct.locked ? acct.stake - acct.locked : 0;
        return acct.roles & role == role && role != 0 && free >= minStake_ && free != 0;
    }

    /// @inheritdoc IRegistry
    function pendingUnbonds(address account) external view returns (Unbond[] memory) {
        return _unbonds[account];
    }

    function _checkRegistered(address account) private view {
        if (_accounts[account].roles == 0) revert RegistryNotRegistered(account);
    }

    function _checkRoles(uint8 roles) private pure {
        if (roles == 0 || roles & ~_ALL_ROLES != 0) revert RegistryInvalidRoles(roles);
    }
}
