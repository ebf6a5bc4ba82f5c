"""``meritnet status`` on the in-process chain: a trainer's view through one round, read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from node.chain.contracts import Phase
from node.cli import status as status_cli
from node.cli.app import main
from node.cli.common import err_console
from node.training.loop import TrainConfig
from tests.integration.conftest import Harness, make_harness


def _small(folder: Path) -> Harness:
    return make_harness(folder, TrainConfig(steps=5), rounds=1, shards=1, accounts=4)


@pytest.fixture
def small(tmp_path: Path) -> Harness:
    return _small(tmp_path)


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Harness:
    """A task nobody acts on (shared by the read-only tests)."""
    return _small(tmp_path_factory.mktemp("idle"))


def _main(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exc:  # typer ends a successful command with SystemExit(0)
        return int(exc.code or 0)


def _status(h: Harness, address: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, Any, str]:
    monkeypatch.setattr(status_cli, "open_network", lambda _s: h.net)
    args = ["status", "--task", str(h.task_id), "--address", address, "--journal", str(h.tmp / "journal"), "--store", f"embedded:{h.tmp / 'store'}", *extra]
    code = _main([*args, "--json"])
    out = capsys.readouterr()
    return code, json.loads(out.out) if code == 0 else None, out.err


def test_status_follows_a_trainer_through_a_round(small: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    h = small
    trainer, aggregator = h.trainer(h.accounts[2]), h.aggregator()
    me = trainer.address

    code, before, _ = _status(h, me, monkeypatch, capsys)
    assert code == 0
    assert before["roles"] == ["trainer"] and before["stake"] > 0 and before["free"] == before["stake"] - before["locked"]
    assert (before["round"], before["phase"], before["committed"]) == (1, "commit", False)
    assert before["seconds_left"] > 0 and before["next"] == "train on its shard, store the delta and commit"

    trainer.step()
    _, committed, _ = _status(h, me, monkeypatch, capsys)
    assert committed["committed"] and committed["next"] == "wait for the reveal phase"
    assert {"delta_cid", "salt", "commitment", "committed"} <= set(committed["journaled"]) and committed["pending"] == []

    h.run([trainer.step], trainers=1, until=lambda: h.net.tasks.get_submission(h.task_id, 1, me).revealed)
    h.run([aggregator.step], trainers=1, until=lambda: h.net.tasks.is_finalized(h.task_id, 1))
    _, finalized, _ = _status(h, me, monkeypatch, capsys)
    assert finalized["phase"] == "finalized" and finalized["revealed"] and finalized["disputes"] == []
    assert [u["round"] for u in finalized["unclaimed"]] == [1] and finalized["unclaimed"][0]["amount"] > 0
    assert finalized["next"].startswith("claim")

    trainer.step()
    _, settled, _ = _status(h, me, monkeypatch, capsys)
    assert settled["unclaimed"] == [] and settled["complete"] and settled["next"] == "nothing: the task is complete"


def test_status_of_an_unregistered_address_says_register(idle: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, view, _ = _status(idle, idle.accounts[3], monkeypatch, capsys)

    assert code == 0 and view["roles"] == [] and view["next"] == "register with a stake"


def test_status_names_a_corrupt_journal_and_leaves_it(idle: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    me = idle.accounts[2]
    journal = idle.tmp / "journal" / f"task{idle.task_id}-{me}.json"
    journal.parent.mkdir(parents=True)
    journal.write_text('{"rounds": {"1": {"salt": "ab"')
    monkeypatch.setattr(err_console, "_width", 10_000)  # no terminal wrapping of the one line

    code, _, err = _status(idle, me, monkeypatch, capsys)

    assert code == 1 and f"the journal {journal} is corrupt" in err and f"mv {journal} {journal}.bad" in err
    assert len(err.strip().splitlines()) == 1
    assert journal.read_text() == '{"rounds": {"1": {"salt": "ab"'


def test_status_without_json_prints_a_table(idle: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(status_cli, "open_network", lambda _s: idle.net)

    code = _main(["status", "--task", str(idle.task_id), "--address", idle.accounts[2], "--journal", str(idle.tmp / "j")])

    assert code == 0 and "next" in capsys.readouterr().out
    assert Phase.COMMIT.name.lower() in json.dumps(status_cli.node_status(idle.net, None, idle.task_id, idle.accounts[2], idle.tmp / "j" / "x.json"))
