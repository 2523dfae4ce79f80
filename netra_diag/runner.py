"""Run checks: order by ``depends_on``, one fresh interpreter per check, in parallel.

Rules this module owns:

* every check runs in its own subprocess (``python -m netra_diag.worker``) with a timeout;
  a check that hangs is killed (its whole process group) and reported ``error``;
* a child that dies without writing a result (``os._exit``, a signal) is ``error`` naming
  the exit code or signal, with the tail of its output;
* a check runs once every selected check it depends on has finished; if one of them did
  not pass, the dependant is ``skip`` naming it (dependencies outside the selection are
  ignored: the check then judges on its own);
* results are streamed through ``on_result`` as they finish;
* ``KeyboardInterrupt`` kills the children and returns what finished, marked interrupted:
  a check cut short is ``error`` ("interrupted before it finished"), one never started is
  ``skip`` ("not run: the run was interrupted"), so no report can read as complete; further
  interrupts are ignored until the session has written the partial report;
* the check interpreter runs with ``-P``: the working directory is never on its path.

The runner knows nothing about reporters or the CLI.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .model import CheckResult, Evidence, Status
from .profile import Profile
from .registry import CheckSpec, LoadFailure

__all__ = ["RunOutcome", "Runner", "load_failure_result", "order_specs"]

STDERR_TAIL_BYTES = 4000
_KILL_GRACE_S = 2.0


@dataclass
class RunOutcome:
    """What a run produced: results in completion order and whether it was interrupted."""

    results: list[CheckResult] = field(default_factory=list)
    interrupted: bool = False


def order_specs(specs: Sequence[CheckSpec]) -> list[CheckSpec]:
    """Topological order (stable); ``ConfigError`` on a cycle among selected checks."""
    by_id = {s.id: s for s in specs}
    ordered: list[CheckSpec] = []
    state: dict[str, int] = {}

    def visit(spec: CheckSpec, trail: list[str]) -> None:
        mark = state.get(spec.id)
        if mark == 2:
            return
        if mark == 1:
            cycle = " -> ".join([*trail, spec.id])
            raise ConfigError(f"checks depend on each other in a cycle: {cycle}")
        state[spec.id] = 1
        for dep in spec.depends_on:
            if dep in by_id:
                visit(by_id[dep], [*trail, spec.id])
        state[spec.id] = 2
        ordered.append(spec)

    for spec in specs:
        visit(spec, [])
    return ordered


def load_failure_result(failure: LoadFailure) -> CheckResult:
    """An ``error`` result for a plugin that raised while importing."""
    name = Path(failure.origin.ref).name if failure.origin.kind == "file" else failure.origin.ref
    return CheckResult(
        id=f"load-error:{name}",
        why=None,
        title=f"Load check plugin {name}",
        status=Status.ERROR,
        summary=f"the plugin {failure.origin.label} could not be imported: {failure.message}",
        evidence=(Evidence("traceback", failure.traceback.rstrip()),),
        fix="fix the import error in the plugin; every other check still ran",
    )


class Runner:
    """Runs selected checks against one profile (see the module docstring)."""

    def __init__(
        self,
        profile: Profile,
        *,
        jobs: int | None = None,
        timeout_s: float = 60.0,
        static: bool = False,
        options: dict[str, Any] | None = None,
        on_start: Callable[[CheckSpec], None] | None = None,
        on_result: Callable[[CheckResult], None] | None = None,
    ) -> None:
        self.profile = profile
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.timeout_s = timeout_s
        self.static = static
        self.options = options or {}
        self.on_start = on_start or (lambda spec: None)
        self.on_result = on_result or (lambda result: None)
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def run(self, specs: Sequence[CheckSpec]) -> RunOutcome:
        ordered = order_specs(specs)
        selected = {s.id for s in ordered}
        outcome = RunOutcome()
        status: dict[str, Status] = {}
        waiting = list(ordered)
        running: dict[cf.Future[CheckResult], CheckSpec] = {}

        def finish(result: CheckResult) -> None:
            status[result.id] = result.status
            outcome.results.append(result)
            self.on_result(result)

        pool = cf.ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="netra-check")
        try:
            while waiting or running:
                for spec in list(waiting):
                    deps = [d for d in spec.depends_on if d in selected]
                    if any(d not in status for d in deps):
                        continue
                    # under --static a dependency that skipped is not a verdict: the
                    # dependant runs and gives its own --static reason
                    blocked = [d for d in deps if status[d] is not Status.PASS
                               and not (self.static and status[d] is Status.SKIP)]
                    if blocked:
                        waiting.remove(spec)
                        finish(_skip_for(spec, blocked, status))
                    elif len(running) < self.jobs:
                        waiting.remove(spec)
                        self.on_start(spec)
                        running[pool.submit(self._run_one, spec)] = spec
                if not running:
                    if waiting and all(any(d in selected and d not in status
                                           for d in s.depends_on) for s in waiting):
                        raise AssertionError("unreachable: order_specs rejects cycles")
                    continue
                done, _ = cf.wait(list(running), timeout=0.5, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    finish(future.result())
        except KeyboardInterrupt:
            ignore_further_interrupts()  # a second Ctrl-C must not lose what finished
            outcome.interrupted = True
            self._stopping.set()
            self._kill_all()
            for future, spec in list(running.items()):
                try:
                    result = future.result(timeout=_KILL_GRACE_S + 1)
                except (cf.TimeoutError, cf.CancelledError):
                    result = _error(spec, _INTERRUPTED, time.perf_counter())
                finish(result)
            for spec in waiting:
                finish(CheckResult(id=spec.id, why=spec.why, title=spec.title,
                                   status=Status.SKIP,
                                   summary="not run: the run was interrupted"))
        finally:
            pool.shutdown(wait=not outcome.interrupted, cancel_futures=True)
        return outcome

    # -- one check in one interpreter -------------------------------------------------

    def _run_one(self, spec: CheckSpec) -> CheckResult:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="netra-diag-") as tmp:
            job_path = Path(tmp) / "job.json"
            result_path = Path(tmp) / "result.json"
            log_path = Path(tmp) / "output.log"
            job_path.write_text(json.dumps(self._job(spec)), encoding="utf-8")
            with open(log_path, "wb") as log:
                proc = self._spawn(job_path, result_path, log)
                if proc is None:
                    return _error(spec, _INTERRUPTED, started)
                try:
                    code = proc.wait(timeout=self.timeout_s)
                except subprocess.TimeoutExpired:
                    self._kill(proc)
                    return _error(spec, f"timed out after {self.timeout_s:g} s", started,
                                  _tail_evidence(log_path),
                                  fix="the check hung: raise --timeout if the target is slow, "
                                  "or look for a wait without a timeout")
                finally:
                    with self._lock:
                        self._procs.discard(proc)
            if result_path.exists():
                try:
                    raw = json.loads(result_path.read_text(encoding="utf-8"))
                    return CheckResult.from_dict(raw)
                except (ValueError, KeyError, TypeError) as exc:
                    return _error(spec, f"the check's interpreter wrote an unreadable result: "
                                  f"{exc}", started, _tail_evidence(log_path))
            if self._stopping.is_set():
                return _error(spec, _INTERRUPTED, started)
            return _error(spec, f"the check's interpreter died: {_describe_exit(code)}", started,
                          _tail_evidence(log_path),
                          fix="something in the check or the target ended the interpreter "
                          "(os._exit, a signal, a crash in native code); see its output")

    def _job(self, spec: CheckSpec) -> dict[str, Any]:
        assert spec.origin is not None, "specs run by the runner come from a Registry"
        return {
            "check_id": spec.id,
            "why": spec.why,
            "title": spec.title,
            "origin": spec.origin.to_dict(),
            "profile": self.profile.to_dict(),
            "timeout_s": self.timeout_s,
            "static": self.static,
            "options": self.options,
        }

    def _spawn(self, job: Path, result: Path, log: Any) -> subprocess.Popen[bytes] | None:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["NETRA_DIAG_CHILD"] = "1"
        with self._lock:
            if self._stopping.is_set():
                return None
            proc = subprocess.Popen(
                # -P: never put the working directory on the check's sys.path (a stray
                # secrets.py or checks/ folder there must not shadow anything)
                [sys.executable, "-P", "-m", "netra_diag.worker", str(job), str(result)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C reaches us, not the children: we stop them
            )
            self._procs.add(proc)
        return proc

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
            proc.wait(timeout=_KILL_GRACE_S)

    def _kill_all(self) -> None:
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            self._kill(proc)


_INTERRUPTED = "interrupted before it finished"


def ignore_further_interrupts() -> None:
    """After the first Ctrl-C (or SIGTERM), ignore more until the partial report is written.

    The session restores the handlers once the outputs are written. Only the main thread
    can change signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def _skip_for(spec: CheckSpec, blocked: list[str], status: dict[str, Status]) -> CheckResult:
    names = ", ".join(f"{d} ({status[d].value})" for d in blocked)
    return CheckResult(
        id=spec.id, why=spec.why, title=spec.title, status=Status.SKIP,
        summary=f"depends on {names}, which did not pass",
    )


def _error(spec: CheckSpec, summary: str, started: float, *evidence: Evidence,
           fix: str | None = None) -> CheckResult:
    return CheckResult(
        id=spec.id, why=spec.why, title=spec.title, status=Status.ERROR, summary=summary,
        evidence=tuple(evidence), fix=fix, duration_s=round(time.perf_counter() - started, 6),
    )


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name} (signal {-code})"
    return f"exit code {code} without writing a result"


def _tail_evidence(log_path: Path) -> Evidence:
    try:
        size = log_path.stat().st_size
        with open(log_path, "rb") as fh:
            fh.seek(max(0, size - STDERR_TAIL_BYTES))
            tail = fh.read().decode("utf-8", "replace").strip()
    except OSError:
        tail = ""
    return Evidence("output", f"last output of the check's interpreter:\n{tail}" if tail
                    else "the check's interpreter printed nothing")
