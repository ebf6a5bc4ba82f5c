"""MERIT amounts to and from text."""

from __future__ import annotations

import pytest

from node.errors import ConfigError
from node.units import TOKEN, format_merit, parse_merit


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (0, "0 MERIT"),
        (TOKEN, "1 MERIT"),
        (1500 * TOKEN, "1,500 MERIT"),
        (TOKEN * 3 // 2, "1.5 MERIT"),
        (1, "0.000000000000000001 MERIT"),
        (-2 * TOKEN, "-2 MERIT"),
    ],
)
def test_format_merit_shows_decimals_only_when_needed(units: int, text: str) -> None:
    assert format_merit(units) == text


def test_parse_merit_round_trips_and_rejects_bad_amounts() -> None:
    assert parse_merit("1000") == 1000 * TOKEN and parse_merit("0.5") == TOKEN // 2 and parse_merit("0") == 0
    for bad in ("-1", "abc", "1e-19"):
        with pytest.raises(ConfigError, match="not an amount of MERIT"):
            parse_merit(bad)
