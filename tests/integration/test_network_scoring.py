"""A network run with honest, lazy, label-flipping, boosting and copying trainers: every
cheating strategy earns less than every honest trainer, and a verifier reproduces each
round's scores root from public data."""

from __future__ import annotations

from pathlib import Path

from node.roles.verifier import Verifier
from node.training.loop import TrainConfig
from tests.integration.conftest import make_harness


def test_cheaters_earn_less_than_honest_trainers_and_scores_reproduce(tmp_path: Path) -> None:
    h = make_harness(tmp_path, TrainConfig(steps=15), rounds=2, shards=6, accounts=10)
    acc = h.accounts
    honest = [h.trainer(a) for a in acc[2:5]]
    cheaters = {"lazy": h.trainer(acc[5]), "label-flip": h.trainer(acc[6]), "boosted": h.trainer(acc[7]), "copycat": h.trainer(acc[8])}
    for behaviour, node in cheaters.items():
        node.behaviour = behaviour
    cheaters["copycat"].copy_from = honest[0]
    # Scores only: re-executed submissions would be disputed (a copycat, a lazy or boosted delta),
    # and with no referee here those disputes could only stall the rounds until cancelled.
    verifier = Verifier(h.net, h.store, acc[9], h.task_id, fraction=0.0, on_event=h.events.append)
    verifier.ensure_registered()
    aggregator = h.aggregator()
    before = {a: h.net.token.balance_of(a) for a in acc[2:9]}

    h.run([*(t.step for t in honest), *(c.step for c in cheaters.values()), aggregator.step, verifier.step], trainers=7, max_ticks=400)

    earned = {a: h.net.token.balance_of(a) - before[a] for a in acc[2:9]}
    honest_min = min(earned[a] for a in acc[2:5])
    assert honest_min > 0
    for behaviour, node in cheaters.items():
        assert earned[node.address] < honest_min, (behaviour, earned[node.address], honest_min)
    for behaviour in ("lazy", "label-flip", "boosted"):
        assert earned[cheaters[behaviour].address] == 0, behaviour
    rows = [e for table in aggregator.reports.values() for e in table["entries"]]
    assert all(not r["kept"] for r in rows if r["account"] == cheaters["boosted"].address)
    assert verifier.scores_checked == {1: True, 2: True}
    assert sum(earned.values()) <= 2 * h.net.tasks.get_task(h.task_id).config.reward_per_round
