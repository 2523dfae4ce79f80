"""Shared fixtures: plugin folders, the CLI in-process and as a real subprocess."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from netra_diag.cli import app

PLUGINS = Path(__file__).parent / "plugins"


def pytest_configure(config: pytest.Config) -> None:
    """Write the bytecode of netra-diag's own modules once, before any worker starts.

    Nearly every test starts interpreters that import them (the CLI, check servers, checks
    under ``interpreter`` isolation). An editable install ships no bytecode, and with
    ``PYTHONDONTWRITEBYTECODE`` set (as on CI runners and sandboxes) no interpreter writes it
    either, so each would compile every module again (about 0.2 CPU-s per CLI run). This is
    what ``pip install .`` does at install time; files already compiled are only stat'ed."""
    _cache_rewritten_test_modules(config)
    if hasattr(config.option, "loadscopereorder"):  # xdist >= 3.6, in the controller:
        config.option.loadscopereorder = False  # hand files out in the collection's order
    if hasattr(config, "workerinput"):  # an xdist worker: the controller did it
        return
    import compileall
    import re

    import netra_diag_checks

    import netra_diag

    reference = Path(netra_diag.__file__).parent / "reference"  # copied before each use
    for package in (netra_diag, netra_diag_checks):
        compileall.compile_dir(Path(package.__file__).parent, quiet=2, workers=1,
                               rx=re.compile(re.escape(str(reference))))


#: The files that take longest on the clock (mostly waiting on deadlines, fleets and servers
#: rather than computing), longest first: handed out first, so that no worker is left alone
#: with one of them at the end while the other idles. (xdist's own order, which we replace,
#: is by number of tests: it would start the fleet's fault matrix, 7 tests and 16 s, last.)
LONG_FIRST = ("test_fault_matrix_fleet.py", "test_processes.py", "test_boundary.py",
              "test_fault_matrix.py", "test_fleet.py", "test_probe.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``LONG_FIRST``, then the other files by number of tests (as xdist orders them); a
    file's own tests keep their order. Every worker computes the same order."""
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    sizes: dict[Path, int] = {}
    for item in items:
        sizes[item.path] = sizes.get(item.path, 0) + 1
    items.sort(key=lambda item: (rank.get(item.path.name, len(LONG_FIRST)),
                                 -sizes[item.path], str(item.path)))


_DONT_WRITE_BYTECODE = pytest.StashKey[bool]()


def _cache_rewritten_test_modules(config: pytest.Config) -> None:
    """Let pytest cache the test modules it rewrites for assertions while it collects them
    (its default; ``PYTHONDONTWRITEBYTECODE`` would make each worker rewrite and compile
    every test module again: about 2.5 CPU-s per worker and session). The setting is given
    back once collection ends (``pytest_collection_finish``), so nothing else changes."""
    config.stash[_DONT_WRITE_BYTECODE] = sys.dont_write_bytecode
    sys.dont_write_bytecode = False


def pytest_collection_finish(session: pytest.Session) -> None:
    sys.dont_write_bytecode = session.config.stash.get(_DONT_WRITE_BYTECODE,
                                                       sys.dont_write_bytecode)


@pytest.fixture(autouse=True, scope="session")
def _scan_cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The scan caches (support.scan, support.summaries) go to a folder of the test session
    (inherited by the CLI and check subprocesses), never to the user's own cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    patch.undo()


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


def _purge_reference_modules() -> None:
    for name in [m for m in sys.modules if m == "netra_backend" or m.startswith("netra_backend.")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def nb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], ModuleType]]:
    """Import ``netra_backend.<name>`` from a private copy of the healthy reference source."""
    from netra_diag.faults import copy_reference

    root = copy_reference(tmp_path_factory.mktemp("reference") / "src")
    _purge_reference_modules()
    sys.path.insert(0, str(root))
    try:
        yield lambda name: importlib.import_module(f"netra_backend.{name}")
    finally:
        sys.path.remove(str(root))
        _purge_reference_modules()


@pytest.fixture
def hub(nb: Callable[[str], ModuleType]) -> Iterator[Any]:
    """The reference's process-wide connection hub, empty before and after the test."""
    shared = nb("app.websocket_core.connection_hub").get_connection_hub()
    shared.clear()
    yield shared
    shared.clear()


@pytest.fixture(scope="session")
def shared_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the session's xdist workers share, for ``helpers.shared_run``: identical CLI
    runs asked for by several test files are made once."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # .../pytest-N/popen-gwK: one per worker
        base = base.parent
    folder = base / "shared-runs"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private redis-server on a free loopback port for this test session (worker);
    the tests that need it skip, saying why, only when redis-server is not installed."""
    from netra_diag.support.redis_server import RedisServer, find_redis_server

    if find_redis_server() is None:
        if os.environ.get("CI"):  # .ci/run installs it: a missing server there is a defect
            pytest.fail("redis-server is not installed, yet CI must run the fleet tests")
        pytest.skip("redis-server is not installed (apt-get install redis-server): the "
                    "fleet tests need a real Redis backplane")
    server = RedisServer.start()
    try:
        yield server.url
    finally:
        server.stop()
