"""MERIT amounts: token units (1e-18 MERIT, what the contracts hold) to and from text."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from node.errors import ConfigError

__all__ = ["AMOUNT_FIELDS", "TOKEN", "format_merit", "parse_merit"]

TOKEN = 10**18

# Fields of meritnet's query output that hold token units (shown in MERIT in tables; JSON keeps integers).
AMOUNT_FIELDS = frozenset({
    "token_balance", "stake", "slashable", "budget", "unallocated", "reward_per_round", "min_stake", "no_reveal_penalty",
    "amount", "allocation", "allocated", "claimed_total", "total_reward", "minted", "balance", "bond", "locked", "free",
})  # fmt: skip


def parse_merit(text: str) -> int:
    """``"1000"`` or ``"0.5"`` MERIT in token units (1e-18 MERIT)."""
    try:
        value = Decimal(text) * TOKEN
    except InvalidOperation:
        raise ConfigError(f"{text!r} is not an amount of MERIT", hint="write a number such as 1000 or 0.5") from None
    if value < 0 or value != value.to_integral_value():
        raise ConfigError(f"{text!r} is not an amount of MERIT", hint="a non-negative number with at most 18 decimals")
    return int(value)


def format_merit(units: int) -> str:
    """Token units as MERIT with decimals: ``1500000000000000000`` -> ``"1.5 MERIT"``."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(int(units)), TOKEN)
    text = f"{whole:,}"
    if frac:
        text += "." + f"{frac:018d}".rstrip("0")
    return f"{sign}{text} MERIT"
