"""Shared fixtures: plugin folders, the CLI in-process and as a real subprocess."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netra_diag.cli import app

PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture
def plugin_dir(tmp_path: Path):
    """Copy named plugin files from tests/plugins into a fresh folder."""

    def make(*names: str) -> Path:
        folder = tmp_path / "plugins"
        folder.mkdir(exist_ok=True)
        for name in names:
            shutil.copy(PLUGINS / name, folder / name)
        return folder

    return make


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Invoke the CLI in-process from an empty working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    return invoke
