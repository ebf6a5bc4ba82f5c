"""The trainer journal: atomic writes, and torn or corrupted files refused at load, untouched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from node.errors import JournalCorrupt, MeritnetError
from node.roles import journal as journal_module
from node.roles.journal import Journal, read_journal


def _written(tmp_path: Path) -> Path:
    path = tmp_path / "task1-0xabc.json"
    j = Journal(path)
    j.update(1, delta_cid="bafy", salt="00" * 32)
    j.update(1, committed=True)
    j.update(2, delta_cid="bafz")
    return path


def test_journal_roundtrip_survives_restart(tmp_path: Path) -> None:
    path = _written(tmp_path)

    again = Journal(path)

    assert again.round(1) == {"delta_cid": "bafy", "salt": "00" * 32, "committed": True}
    assert again.rounds() == {1: again.round(1), 2: {"delta_cid": "bafz"}}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_journal_reads_files_without_checksum(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"rounds": {"3": {"salt": "ab"}}}))

    assert Journal(path).round(3) == {"salt": "ab"}


@pytest.mark.parametrize("cut", [0, 1, 17, -2])
def test_journal_torn_file_is_refused_and_left_alone(tmp_path: Path, cut: int) -> None:
    path = _written(tmp_path)
    whole = path.read_bytes()
    torn = whole[:cut] if cut >= 0 else whole[: len(whole) + cut]
    path.write_bytes(torn)

    with pytest.raises(JournalCorrupt) as info:
        Journal(path)

    line = info.value.one_line()
    assert str(path) in line and "\n" not in line
    assert f"mv {path} {path}.bad" in line
    assert isinstance(info.value, MeritnetError)
    assert path.read_bytes() == torn


def test_journal_edited_content_fails_the_checksum(tmp_path: Path) -> None:
    path = _written(tmp_path)
    data = json.loads(path.read_text())
    data["rounds"]["1"]["salt"] = "11" * 32  # a bit flip that stays valid JSON
    path.write_text(json.dumps(data))

    with pytest.raises(JournalCorrupt, match="checksum mismatch"):
        read_journal(path)


@pytest.mark.parametrize("content", ["[]", '{"rounds": []}', '{"rounds": {"x": {}}}', '{"rounds": {"1": 5}}', "\xff\xfe"])
def test_journal_wrong_shape_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "j.json"
    path.write_bytes(content.encode("latin-1"))

    with pytest.raises(JournalCorrupt):
        Journal(path)


def test_journal_crash_before_rename_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _written(tmp_path)
    before = path.read_bytes()

    def crash(_src: object, _dst: object) -> None:
        raise OSError("killed between write and rename")

    monkeypatch.setattr(journal_module.os, "replace", crash)
    with pytest.raises(OSError):
        Journal(path).update(1, revealed=True)

    assert path.read_bytes() == before
    assert Journal(path).round(1).get("revealed") is None
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_journal_write_fsyncs_file_and_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(journal_module.os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])

    Journal(tmp_path / "j.json").update(1, salt="ab")

    assert len(synced) == (2 if hasattr(os, "O_DIRECTORY") else 1)
