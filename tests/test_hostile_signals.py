"""Issue 11, interrupts (I1): Ctrl-C or SIGTERM at any moment of a run, plugin discovery and
start-up included, exits 2 and writes every report, each check never started a ``skip``."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
from pathlib import Path

import pytest
from helpers import WAIT_S, netra_diag_cmd

from netra_diag import interrupts
from netra_diag.exitcodes import ExitCode

HANGS_AT_IMPORT = '''
import os
import time

with open(os.environ["NETRA_TEST_FIFO"], "w") as fifo:  # tell the test discovery is here
    fifo.write(f"{os.getpid()}\\n")
time.sleep(30)  # bounded: the discovery's own --timeout ends it sooner
'''


def wait_for_line(fifo: Path) -> str:
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        ready, _, _ = select.select([fd], [], [], WAIT_S)
        assert ready, "plugin discovery never started"
        data = b""
        while not data.endswith(b"\n"):  # bounded: the writer sends one short line
            ready, _, _ = select.select([fd], [], [], WAIT_S)
            assert ready
            chunk = os.read(fd, 64)
            assert chunk
            data += chunk
        return data.decode().strip()
    finally:
        os.close(fd)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_during_plugin_discovery_writes_every_report(tmp_path: Path,
                                                                  signum: int) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "hangs_at_import.py").write_text(HANGS_AT_IMPORT, encoding="utf-8")
    fifo = tmp_path / "discovery.fifo"
    os.mkfifo(fifo)
    out, junit = tmp_path / "run.json", tmp_path / "run.xml"
    env = {**os.environ, "NETRA_TEST_FIFO": str(fifo), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [*netra_diag_cmd(), "run", "--checks-dir", str(folder), "--only", "import-chain",
         "--only", "event-flow", "--timeout", "10", "--format", "json", "-o", str(out),
         "--report", f"junit:{junit}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(wait_for_line(fifo))
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=WAIT_S)
    finally:
        proc.kill()
        if child is not None:  # the discovery interpreter this test's plugin runs in
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert "Traceback" not in stderr
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True and doc["diagnosis"]["verdict"] == "interrupted"
    assert {r["id"]: r["status"] for r in doc["results"]} == {"import-chain": "skip",
                                                              "event-flow": "skip"}
    assert all("interrupted" in r["summary"] for r in doc["results"])
    assert "<testsuite" in junit.read_text()


def test_a_signal_received_during_start_up_is_acted_on_with_reports(cli, tmp_path) -> None:
    """The console script defers SIGTERM from its first instant; the run then reports it."""
    with interrupts.handlers("defer"):
        os.kill(os.getpid(), signal.SIGTERM)  # delivered to this (main) thread at once
    assert interrupts.pending() == signal.SIGTERM
    try:
        result = cli("run", "--only", "import-chain", "--format", "json", "-o", "run.json",
                     "--report", "markdown:run.md")
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            interrupts.raise_pending()  # never leak a pending signal into other tests
    assert result.exit_code == ExitCode.INTERRUPTED, result.output
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["interrupted"] is True
    assert [(r["id"], r["status"]) for r in doc["results"]] == [("import-chain", "skip")]
    assert (tmp_path / "run.md").read_text().strip()


def test_a_signal_before_a_quick_command_still_exits_2(cli) -> None:
    with interrupts.handlers("defer"):
        os.kill(os.getpid(), signal.SIGINT)
    try:
        result = cli("list", "--format", "json")
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            interrupts.raise_pending()
    assert result.exit_code == ExitCode.INTERRUPTED
