"""Atomic report writing and secret redaction."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from netra_diag.errors import OutputError
from netra_diag.redaction import redact
from netra_diag.reporters import atomic
from netra_diag.reporters.atomic import write_atomic


def test_writes_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    write_atomic(path, "first ✅\n")
    assert path.read_text(encoding="utf-8") == "first ✅\n"
    os.chmod(path, 0o640)
    write_atomic(path, "second\n")
    assert path.read_text(encoding="utf-8") == "second\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # permissions kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_new_files_are_world_readable(tmp_path: Path) -> None:
    path = tmp_path / "new.xml"
    write_atomic(str(path), "<x/>")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_unwritable_path_raises_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        write_atomic(tmp_path / "no-such-folder" / "r.md", "x")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write report"):
        write_atomic(blocker / "r.md", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_failure_after_the_temp_file_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "is-a-dir"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(OutputError, match="is-a-dir"):
        write_atomic(target, "text")  # os.replace onto a non-empty folder fails
    assert sorted(p.name for p in tmp_path.iterdir()) == ["is-a-dir"]


def test_failure_during_write_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "r.md"
    path.write_text("old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OutputError, match="No space left on device") as info:
        write_atomic(path, "new")
    assert isinstance(info.value.__cause__, OSError)
    assert path.read_text() == "old"  # the old report survives whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]


def test_unencodable_text_is_still_written(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_atomic(path, "lone \ud800 surrogate")
    assert path.read_text(encoding="utf-8") == "lone ? surrogate"


def test_redact() -> None:
    token = "ghp_abcdef123456"
    text = f"Authorization: Bearer {token}; again {token}; short: abc"
    out = redact(text, [token, "abc", ""])
    assert token not in out
    assert out == "Authorization: Bearer ***; again ***; short: abc"
    assert redact("secret-long secret", ["secret", "secret-long"]) == "*** ***"
    assert redact("nothing", []) == "nothing"
