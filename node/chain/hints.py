"""What to do about an error: fixes for the reverts and RPC errors a user meets first.

Pure lookups. :func:`revert_hint` maps a decoded Solidity error (name and arguments) to the
fix, :func:`rpc_hint` maps a node's error message (an account the node cannot sign for, no
ETH for gas) to one. The transactor attaches them to the errors it raises, so every command
prints cause and fix on one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eth_utils import keccak

__all__ = ["ROLE_NAMES", "revert_hint", "role_name", "rpc_hint"]

TOKEN = 10**18

ROLE_NAMES: dict[bytes, str] = {
    b"\x00" * 32: "DEFAULT_ADMIN_ROLE",
    **{keccak(text=name): name for name in ("MINTER_ROLE", "SLASHER_ROLE", "POSTER_ROLE", "DISPUTE_ROLE")},
}

_ROLE_FIX = {
    "MINTER_ROLE": "only the deployer mints MERIT: on a devnet run `meritnet faucet ADDRESS` (it mints as the deployer)",
    "POSTER_ROLE": "`meritnet deploy` grants it to the deployer (or `--poster ADDRESS`): post as that account with --account",
    "DEFAULT_ADMIN_ROLE": "send this as the deployer (--account DEPLOYER or its key)",
}


def _merit(units: Any) -> str:
    whole, frac = divmod(int(units), TOKEN)
    return f"{whole:,}" + ("." + f"{frac:018d}".rstrip("0") if frac else "") + " MERIT"


def role_name(role: bytes | str) -> str:
    raw = bytes.fromhex(role.removeprefix("0x")) if isinstance(role, str) else bytes(role)
    return ROLE_NAMES.get(raw, "0x" + raw.hex())


def _unauthorized(args: Mapping[str, Any]) -> str:
    name = role_name(args.get("neededRole", b""))
    return f"{args.get('account')} lacks {name}: " + _ROLE_FIX.get(name, "an admin must grant it")


_REVERTS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "ERC20InsufficientBalance": lambda a: (
        f"{a.get('sender')} holds {_merit(a.get('balance', 0))} and needs {_merit(a.get('needed', 0))}: on a devnet run "
        f"`meritnet faucet {a.get('sender')}` (or deploy with --fund); elsewhere get MERIT from a holder"
    ),
    "AccessControlUnauthorizedAccount": _unauthorized,
    "TaskManagerUnknownTask": lambda a: (
        f"task {a.get('taskId')} does not exist on this deployment: list tasks with `meritnet query task ID`, or create one with `meritnet task create`"
    ),
    "TaskManagerNotEligible": lambda a: (
        f"{a.get('account')} is not registered with the role and stake the task needs: the role's `run` command registers it (it needs MERIT: `meritnet faucet` on a devnet)"
    ),
    "TaskManagerNotAggregator": lambda a: (
        f"{a.get('caller')} is not the task's aggregator ({a.get('aggregator')}): run the aggregator with --account {a.get('aggregator')}"
    ),
    "RegistryStakeTooLow": lambda a: f"stake at least {_merit(a.get('minimum', 0))} (--stake, in token units)",
    "ReputationOracleEpochOpen": lambda a: (
        f"epoch {a.get('epoch')} is open until chain time {a.get('postDeadline')}: `meritnet post-epoch` finishes it"
    ),
    "ReputationOracleEpochExpired": lambda a: (
        f"epoch {a.get('epoch')} expired at chain time {a.get('postDeadline')}: run `meritnet post-epoch` again to start and post a new one"
    ),
    "TaskManagerTaskComplete": lambda a: f"task {a.get('taskId')} has run all its rounds: create a new task",
}


def revert_hint(name: str, args: Mapping[str, Any]) -> str | None:
    """The fix for a decoded revert, or None when there is no advice beyond its name."""
    fix = _REVERTS.get(name)
    return fix(args) if fix else None


_RPC = (
    (("no signer available", "unknown account", "unknown key", "account not found"),
     "the node cannot sign for this sender: use one of its unlocked accounts (--account) or set MERITNET_PRIVATE_KEY / private_key_file"),
    (("insufficient funds",), "the sender has no ETH for gas: fund the account first (on anvil every dev account has ETH)"),
)  # fmt: skip


def rpc_hint(message: str) -> str | None:
    """The fix for a node's error message, or None."""
    text = message.lower()
    for needles, fix in _RPC:
        if any(n in text for n in needles):
            return fix
    return None
