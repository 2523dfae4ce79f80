"""Check processes: isolation under the check server, process groups, dying with the parent,
a result channel plugins cannot corrupt, and one deadline for plugin discovery."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import WAIT_S, netra_diag_cmd, run_subprocess

from netra_diag.model import Status
from netra_diag.profile import Profile
from netra_diag.registry import Registry
from netra_diag.runner import Runner

MODES = ["process", "shared-import", "interpreter"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run_checks(folder: Path, root: Path, roles: dict[str, str] | None = None, **options):
    registry = Registry()
    registry.load_dir(folder)
    profile = Profile(name="t", root=root, source="test", roles=roles or {})
    outcome = Runner(profile, **options).run(registry.specs)
    return {r.id: r for r in outcome.results}


def await_death(pid: int, timeout: float = WAIT_S) -> bool:
    """True once ``pid`` is gone (awaited on a pidfd, never by sleeping)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


def read_fifo(path: Path, timeout: float = WAIT_S) -> str:
    """The first line a plugin writes into the FIFO at ``path`` (bounded wait)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        data = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"nothing written into {path} within {timeout} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                data += os.read(fd, 4096)
        return data.decode().split("\n", 1)[0]
    finally:
        os.close(fd)


# -- isolation: what a fresh interpreter gave, the check server gives --------------------

TARGET = """
import os
import warnings

IMPORTED_IN = os.getpid()
state = []
warnings.warn("marker_mod is old", DeprecationWarning)
"""

ISOLATION_CHECKS = """
import os
import sys
import warnings

from netra_diag import Evidence, check, passed


def observe():
    before = "marker_mod" in sys.modules
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        import marker_mod
    marker_mod.state.append(1)
    return passed("observed", Evidence("observed", "x", data={
        "before": before, "pid": os.getpid(), "imported_in": marker_mod.IMPORTED_IN,
        "state": len(marker_mod.state), "warned": len(caught)}))


@check(id="first", why="e2e", title="first")
def first(ctx):
    return observe()


@check(id="second", why="e2e", title="second", depends_on=("first",))
def second(ctx):
    return observe()
"""


@pytest.mark.parametrize("isolation", ["process", "interpreter"])
def test_each_check_imports_the_target_itself_in_a_process_of_its_own(tmp_path, isolation):
    root = tmp_path / "src"
    write(root / "marker_mod.py", TARGET)
    folder = tmp_path / "checks"
    write(folder / "iso.py", ISOLATION_CHECKS)
    results = run_checks(folder, root, isolation=isolation, jobs=1)
    seen = [results[i].evidence[0].data for i in ("first", "second")]
    assert [r.status for r in results.values()] == [Status.PASS, Status.PASS]
    assert [d["before"] for d in seen] == [False, False]  # imported after the fork
    assert all(d["imported_in"] == d["pid"] for d in seen)
    assert seen[0]["pid"] != seen[1]["pid"]
    assert [d["state"] for d in seen] == [1, 1]  # no module state shared between checks
    assert [d["warned"] for d in seen] == [1, 1]  # each check sees the import-time warning


def test_shared_import_imports_the_target_once_and_still_forks_per_check(tmp_path):
    root = tmp_path / "src"
    write(root / "marker_mod.py", TARGET)
    folder = tmp_path / "checks"
    write(folder / "iso.py", ISOLATION_CHECKS)
    results = run_checks(folder, root, roles={"engine": "marker_mod:state"},
                         isolation="shared-import", jobs=1)
    seen = [results[i].evidence[0].data for i in ("first", "second")]
    assert [d["before"] for d in seen] == [True, True]
    assert seen[0]["imported_in"] == seen[1]["imported_in"] != seen[0]["pid"]
    assert seen[0]["pid"] != seen[1]["pid"]
    assert [d["state"] for d in seen] == [1, 1]  # still a process per check


def test_a_forked_check_starts_with_fresh_warnings_state(tmp_path):
    script = """
import warnings
from netra_diag.zygote import fresh_warnings

shown = []
warnings.showwarning = lambda *args, **kwargs: shown.append(1)
warnings.simplefilter("default")

def warn():
    warnings.warn("same message", UserWarning)
    return len(shown)

print(warn(), warn(), end=" ")   # "default": the registry suppresses the second
fresh_warnings()
print(warn())                    # a fresh registry: shown again
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=WAIT_S, check=True).stdout
    assert out.split() == ["1", "1", "2"]  # cumulative count of warnings shown


# -- G1: process groups and dying with the parent ---------------------------------------

GRANDCHILD = """
import subprocess
import sys
from pathlib import Path

from netra_diag import Evidence, check, passed


@check(id="starts-a-process", why="e2e", title="Leaves a process behind")
def leaves(ctx):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    return passed("started", Evidence("observed", "pid", data={"pid": proc.pid}))
"""


@pytest.mark.parametrize("isolation", MODES)
def test_processes_a_check_starts_die_when_it_returns(tmp_path, isolation):
    folder = tmp_path / "checks"
    write(folder / "grandchild.py", GRANDCHILD)
    (tmp_path / "src").mkdir()
    result = run_checks(folder, tmp_path / "src", isolation=isolation)["starts-a-process"]
    assert result.status is Status.PASS
    assert await_death(result.evidence[0].data["pid"])


HANGS_REPORTING = """
import os
import time

from netra_diag import check

PHASE = "{phase}"


def report():
    with open({fifo!r}, "w") as fh:
        fh.write(f"{{os.getpid()}}\\n")
    time.sleep(300)


if PHASE == "import":
    report()


@check(id="hangs", why="e2e", title="Hangs")
def hangs(ctx):
    report()
"""


def start_run(tmp_path: Path, phase: str, *extra: str) -> tuple[subprocess.Popen[str], int]:
    fifo = tmp_path / "pid.fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "checks"
    write(folder / "hangs.py", HANGS_REPORTING.format(phase=phase, fifo=str(fifo)))
    proc = subprocess.Popen([*netra_diag_cmd(), "run", "--checks-dir", str(folder), "--only",
                             "hangs", "--format", "json", *extra], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    return proc, int(read_fifo(fifo))


@pytest.mark.parametrize("phase", ["import", "check"])
def test_children_die_with_a_killed_parent(tmp_path, phase):
    proc, child = start_run(tmp_path, phase)
    try:
        proc.kill()  # SIGKILL: no handler of ours runs
        proc.wait(timeout=WAIT_S)
        assert await_death(child), f"pid {child} outlived its parent"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def test_sigterm_during_discovery_ends_the_discovery_interpreter(tmp_path):
    proc, child = start_run(tmp_path, "import")
    try:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=WAIT_S)
        assert await_death(child, 5.0), "the discovery interpreter was orphaned"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


# -- G4: the result channel is the tool's own --------------------------------------------

SCRIBBLER = """
import os
import sys

from netra_diag import check

for arg in sys.argv[1:]:
    try:
        with open(arg, "w") as fh:
            fh.write("garbage {{ not json")
    except OSError:
        pass
print("garbage on stdout")
os.write(1, b"raw garbage on fd 1\\n")
{end}


@check(id="scribbler", why="e2e", title="Scribbles at import")
def scribbler(ctx):
    return None
"""


@pytest.mark.parametrize("end", ["", "os._exit(0)"])
def test_plugins_writing_into_the_job_and_result_files_cannot_break_the_run(tmp_path, end):
    folder = tmp_path / "checks"
    write(folder / "scribbler.py", SCRIBBLER.replace("{end}", end))
    proc = run_subprocess("run", "--checks-dir", str(folder), "--only",
                          "deprecation-warnings", "--format", "json", cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)  # stdout is still only the document
    by_id = {r["id"]: r for r in doc["results"]}
    assert by_id["deprecation-warnings"]["status"] == "pass"
    if end:  # it ends the interpreter that imports it: a load error naming it, exit 3
        [load] = [r for r in doc["results"] if r["id"].startswith("load-error:")]
        assert "scribbler.py" in load["id"] and "exit code 0" in load["summary"]
        assert proc.returncode == 3
    else:
        assert proc.returncode == 0, proc.stderr


def test_a_check_that_scribbles_over_its_result_and_exits_is_an_error_not_garbage(tmp_path):
    folder = tmp_path / "checks"
    write(folder / "scribble_late.py", """
        import os
        import sys

        from netra_diag import check


        @check(id="scribble-late", why="e2e", title="Writes a fake result")
        def scribble(ctx):
            with open(sys.argv[2], "w") as fh:
                fh.write('{"nonce": null, "result": {"id": "scribble-late", "status": "pass"}}')
            os._exit(0)
    """)
    (tmp_path / "src").mkdir()
    result = run_checks(folder, tmp_path / "src")["scribble-late"]
    assert result.status is Status.ERROR
    assert "exit code 0 without writing a result" in result.summary


# -- G5: one deadline for discovery -----------------------------------------------------

#: Ignores the import deadline's SIGALRM and never finishes importing; it blocks rather than
#: spins, so that the three of them do not burn a core each for the whole deadline.
IGNORES_ALARM = """
import signal
import threading

signal.signal(signal.SIGALRM, signal.SIG_IGN)
while True:
    threading.Event().wait(3600)
"""


def test_discovery_has_one_deadline_and_says_timed_out(tmp_path):
    folder = tmp_path / "checks"
    for i in range(3):
        write(folder / f"spins{i}.py", IGNORES_ALARM)
    write(folder / "fine.py", """
        from netra_diag import check

        @check(id="fine", why="e2e", title="Loads")
        def fine(ctx):
            return None
    """)
    t0 = time.monotonic()
    proc = run_subprocess("run", "--checks-dir", str(folder), "--only", "fine", "--timeout",
                          "1", "--format", "json", cwd=tmp_path, timeout=60)
    elapsed = time.monotonic() - t0
    doc = json.loads(proc.stdout)
    loads = [r for r in doc["results"] if r["id"].startswith("load-error:")]
    assert sorted(r["id"] for r in loads) == [f"load-error:spins{i}.py" for i in range(3)]
    for r in loads:
        assert "SIGKILL" not in r["summary"]
        assert "did not finish importing" in r["summary"] or "deadline" in r["summary"]
    assert {r["id"]: r["status"] for r in doc["results"]}["fine"] == "pass"
    # one overall deadline, not one per plugin (3 x 1 s plus grace each)
    assert elapsed < 3 * (1 + 5), elapsed


HOOKS = """
import os


def setup():
    with open(os.environ["NETRA_TEST_SETUP_LOG"], "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    os.environ["NETRA_TEST_CONFIGURED"] = "yes"
"""

CONFIGURED_TARGET = """
import os

CONFIGURED_AT_IMPORT = os.environ.get("NETRA_TEST_CONFIGURED")
"""

SEES_SETUP = """
import os

from netra_diag import Evidence, check, passed


def observe():
    import configured_mod
    return passed("observed", Evidence("observed", "x", data={
        "pid": os.getpid(), "configured": configured_mod.CONFIGURED_AT_IMPORT}))


@check(id="one", why="e2e", title="one")
def one(ctx):
    return observe()


@check(id="two", why="e2e", title="two")
def two(ctx):
    return observe()
"""


@pytest.mark.parametrize("isolation", MODES)
def test_the_setup_hook_runs_before_the_target_is_imported_once_per_process(
        tmp_path, monkeypatch, isolation):
    log = tmp_path / "setup.log"
    monkeypatch.setenv("NETRA_TEST_SETUP_LOG", str(log))
    monkeypatch.delenv("NETRA_TEST_CONFIGURED", raising=False)
    root = tmp_path / "src"
    write(root / "configured_mod.py", CONFIGURED_TARGET)
    hooks = write(tmp_path / "netra_diag_hooks.py", HOOKS)
    folder = tmp_path / "checks"
    write(folder / "sees.py", SEES_SETUP)
    registry = Registry()
    registry.load_dir(folder)
    profile = Profile(name="t", root=root, source="test", hooks=hooks,
                      roles={"engine": "configured_mod:CONFIGURED_AT_IMPORT"})
    outcome = Runner(profile, isolation=isolation).run(registry.specs)
    seen = [r.evidence[0].data for r in outcome.results]
    assert [d["configured"] for d in seen] == ["yes", "yes"]  # setup ran before the import
    setup_pids = log.read_text().split()
    if isolation == "shared-import":  # once, in the check server, not in the checks
        assert len(setup_pids) == 1
        assert setup_pids[0] not in {str(d["pid"]) for d in seen}
    else:  # once in each check's own process
        assert sorted(setup_pids) == sorted(str(d["pid"]) for d in seen)


HANGING_SETUP = """
import threading


def setup():
    threading.Event().wait()  # never returns: a server started in the foreground
"""


@pytest.mark.parametrize("isolation", MODES)
def test_a_setup_hook_that_never_returns_is_named_when_the_check_is_killed(
        tmp_path, isolation):
    root = tmp_path / "src"
    write(root / "configured_mod.py", CONFIGURED_TARGET)
    hooks = write(tmp_path / "netra_diag_hooks.py", HANGING_SETUP)
    folder = tmp_path / "checks"
    write(folder / "sees.py", SEES_SETUP)
    registry = Registry()
    registry.load_dir(folder)
    profile = Profile(name="t", root=root, source="test", hooks=hooks,
                      roles={"engine": "configured_mod:CONFIGURED_AT_IMPORT"})
    # under shared-import the check server runs setup() before any check: it is given up
    # on after its warm-up allowance plus the check's timeout
    outcome = Runner(profile, isolation=isolation, timeout_s=1.0, warmup_s=1.0).run(
        [registry.get("one")])
    (result,) = outcome.results
    assert result.status is Status.ERROR
    assert "the hooks file's setup() (netra_diag_hooks.py) never returned" in result.full_summary
    assert "setup()" in (result.fix or "") and "did not return" in (result.fix or "")
