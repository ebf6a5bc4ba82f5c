"""Each wait is reported once, with what the node waits for."""

from __future__ import annotations

from typing import Any

from node.roles.waits import Waits, deadline_wait


def test_a_wait_is_reported_once_until_it_changes() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    waits = Waits(lambda event, **fields: events.append((event, fields)))
    for _ in range(3):
        waits.waiting((1, "Commit"), deadline_wait("Commit", 100, 130))
    waits.waiting((1, "Reveal"), deadline_wait("Reveal", 131, 160))
    waits.done()
    waits.waiting((1, "Reveal"), deadline_wait("Reveal", 131, 160))
    assert [e for e, _ in events] == ["waiting"] * 3
    assert events[0][1]["message"] == "waiting for chain time to pass the Commit deadline (chain at 100, deadline 130)"


def test_a_stalled_chain_says_how_to_move_it() -> None:
    text = deadline_wait("Commit", 100, 130, stalled=True)
    assert "--block-time" in text and "--mine-empty-blocks" in text
