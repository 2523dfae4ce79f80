"""Run checks: order by ``depends_on``, one fresh interpreter per check, in parallel.

Rules this module owns:

* every check runs in its own subprocess (``python -m netra_diag.worker``) with a timeout;
  a check that hangs is killed (its whole process group) and reported ``error``;
* a child that dies without writing a result (``os._exit``, a signal) is ``error`` naming
  the exit code or signal, with the tail of its output;
* under ``--static`` a check that only a run can judge (``CheckSpec.static_skip``) gets no
  process: its skip is reported from here, as its worker would have reported it;
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
import json
import os
import secrets
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

from .checkserver import CheckServer, ServerGone, server_stage
from .context import LiveEndpoint
from .errors import ConfigError
from .model import CheckResult, Status
from .procs import PARENT_ENV, end_process, kill_group, open_pidfd
from .profile import ISOLATION_MODES as _PROFILE_ISOLATION_MODES
from .profile import Profile
from .registry import CheckSpec
from .run_results import (
    INTERRUPTED,
    describe_exit,
    error_result,
    load_failure_result,
    read_stage,
    skip_result,
    static_skip_result,
    tail_evidence,
)
from .scheduling import critical_first, order_specs
from .timings import mark
from .worker import STAGE_SETUP, read_result, stage_path

__all__ = ["ISOLATION_MODES", "RunOutcome", "Runner", "load_failure_result", "order_specs"]

_KILL_GRACE_S = 2.0
_NOT_STARTED = object()
#: ``process``: a fork of the check server per check, the target imported in each (the
#: default); ``shared-import``: the target imported once in the check server, a fork per
#: check; ``interpreter``: a fresh interpreter per check (no check server).
ISOLATION_MODES = _PROFILE_ISOLATION_MODES


@dataclass
class RunOutcome:
    """What a run produced: results in completion order and whether it was interrupted."""

    results: list[CheckResult] = field(default_factory=list)
    interrupted: bool = False


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
        endpoint: LiveEndpoint | None = None,
        on_start: Callable[[CheckSpec], None] | None = None,
        on_result: Callable[[CheckResult], None] | None = None,
        isolation: str | None = None,
        warmup_s: float = 30.0,
        server: CheckServer | None = None,
        private_copy: bool = False,
    ) -> None:
        """``isolation`` defaults to the profile's; ``server`` is a check server started
        earlier, not yet configured (``CheckServer.start_early``): the runner configures and
        adopts it in ``process`` and ``shared-import`` modes (and closes it at the end of
        ``run``), and kills it at once under ``interpreter``. ``private_copy``: the target
        root is the run's own copy (the embedded reference), whose bytecode the check server
        may write before the checks import it. ``endpoint``: the live endpoint of a probe,
        handed to every check as ``ctx.endpoint``."""
        self.private_copy = private_copy
        isolation = isolation or profile.isolation
        if isolation not in ISOLATION_MODES:
            raise ConfigError(f"isolation must be one of {', '.join(ISOLATION_MODES)} "
                              f"(got {isolation!r})")
        self.profile = profile
        self.isolation = isolation
        self._warmup_s = warmup_s
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.timeout_s = timeout_s
        self.static = static
        self.options = options or {}
        self.endpoint = endpoint
        self.on_start = on_start or (lambda spec: None)
        self.on_result = on_result or (lambda result: None)
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._jobs: set[int] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: CheckServer | None = None
        self._early = server
        self._server_log: Path | None = None

    def _start_server(self, folder: Path, modules: list[str] | None = None) -> None:
        """Start the check server (a zygote) unless checks run in fresh interpreters;
        ``modules``: the check modules the run needs, preloaded there."""
        early, self._early = self._early, None
        # under --static nothing of the target is imported, not even once in the server
        shared = self.profile.to_dict() if self.isolation == "shared-import" and \
            not self.static else None
        if early is not None and self.isolation != "interpreter" and not early.gone \
                and not early.configured:
            early.configure(shared, self._compile_root())
            self._server, self._server_log = early, early.log
            return
        if early is not None:
            early.close()
        if self.isolation == "interpreter" or not hasattr(os, "fork"):
            return
        self._server_log = folder / "check-server.log"
        self._server = CheckServer(shared, self._server_log, compile_root=self._compile_root(),
                                   static=self.static, modules=modules)

    def _compile_root(self) -> Path | None:
        return self.profile.root if self.private_copy and not self.static else None

    def run(self, specs: Sequence[CheckSpec]) -> RunOutcome:
        ordered = order_specs(specs)
        selected = {s.id for s in ordered}
        outcome = RunOutcome()
        status: dict[str, Status] = {}
        waiting = critical_first(ordered)
        running: dict[cf.Future[CheckResult], CheckSpec] = {}

        def finish(result: CheckResult) -> None:
            status[result.id] = result.status
            outcome.results.append(result)
            self.on_result(result)

        pool = cf.ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="netra-check")
        server_dir = tempfile.TemporaryDirectory(prefix="netra-diag-server-")
        try:
            self._start_server(Path(server_dir.name), _modules_of(ordered))
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
                        finish(skip_result(spec, blocked, status))
                    elif self.static and spec.static_skip is not None:
                        waiting.remove(spec)  # only a run can judge it: no process needed
                        self.on_start(spec)
                        finish(static_skip_result(spec))
                    elif len(running) < self.jobs:
                        waiting.remove(spec)
                        self.on_start(spec)
                        mark("parent", "check submitted", check=spec.id)
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
                    result = error_result(spec, INTERRUPTED, time.perf_counter())
                finish(result)
            for spec in waiting:
                finish(CheckResult(id=spec.id, why=spec.why, title=spec.title,
                                   status=Status.SKIP,
                                   summary="not run: the run was interrupted"))
        finally:
            pool.shutdown(wait=not outcome.interrupted, cancel_futures=True)
            if self._server is not None:
                self._server.close()
                self._server = None
            server_dir.cleanup()
        return outcome

    # -- one check in one process -----------------------------------------------------

    def _run_one(self, spec: CheckSpec) -> CheckResult:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="netra-diag-") as tmp:
            job_path = Path(tmp) / "job.json"
            result_path = Path(tmp) / "result.json"
            log_path = Path(tmp) / "output.log"
            nonce = secrets.token_hex(16)
            job_path.write_text(json.dumps({**self._job(spec), "nonce": nonce}),
                                encoding="utf-8")
            log_path.touch()
            server = self._server
            if server is not None:
                try:
                    code = self._run_forked(server, [str(job_path), str(result_path)],
                                            log_path, self._child_env())
                except ServerGone as exc:
                    if self._stopping.is_set():
                        return error_result(spec, INTERRUPTED, started)
                    if self._server_log and read_stage(server_stage(self._server_log)) \
                            == STAGE_SETUP:
                        return self._setup_hung(spec, started, exc, log_path)
                    return error_result(spec, f"the check server ended: {exc}", started,
                                        tail_evidence(log_path), tail_evidence(
                                      self._server_log, "the check server"),
                                        fix="something ended the check server (a signal, the "
                                        "target's import under isolation: shared-import); see "
                                        "its output")
            else:
                with open(log_path, "ab") as log:
                    code = self._run_spawned(job_path, result_path, log)
            if code is _NOT_STARTED:
                return error_result(spec, INTERRUPTED, started)
            if code is None:
                if self._stopping.is_set():
                    return error_result(spec, INTERRUPTED, started)
                if read_stage(stage_path(result_path)) == STAGE_SETUP:
                    return self._setup_hung(spec, started, f"timed out after "
                                            f"{self.timeout_s:g} s", log_path)
                return error_result(spec, f"timed out after {self.timeout_s:g} s", started,
                                    tail_evidence(log_path),
                                    fix="the check hung: raise --timeout if the target is slow, "
                                    "or look for a wait without a timeout")
            try:
                result = read_result(result_path, nonce)
            except ValueError as exc:
                return error_result(spec, f"the check's interpreter wrote an unreadable result: "
                                    f"{exc}", started, tail_evidence(log_path))
            if result is not None:
                return result
            if self._stopping.is_set():
                return error_result(spec, INTERRUPTED, started)
            return error_result(spec, f"the check's interpreter died: {describe_exit(code)}",
                                started,
                                tail_evidence(log_path),
                                fix="something in the check or the target ended the interpreter "
                                "(os._exit, a signal, a crash in native code); see its output")

    def _setup_hung(self, spec: CheckSpec, started: float, what: object,
                    log_path: Path) -> CheckResult:
        """The error of a check killed while the hooks file's ``setup()`` still ran."""
        hooks = self.profile.hooks
        return error_result(spec, f"{what}: the hooks file's setup() "
                            f"({hooks.name if hooks else '?'}) never returned, before the check "
                            "started", started, tail_evidence(log_path),
                            fix=f"setup() in {hooks} did not return: it runs before the checks "
                            "and must finish (give its waits a timeout; start servers in the "
                            "background)")

    @staticmethod
    def _child_env() -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1", "NETRA_DIAG_CHILD": "1"}

    def _run_forked(self, server: CheckServer, argv: list[str], log: Path,
                    env: dict[str, str]) -> Any:
        """Run the check as a fork of the check server: its exit code, None on timeout."""
        job_id = server.start(argv, log, env)
        try:
            # the server may still be importing (the target too, under shared-import): that
            # time is not the check's, but it is bounded all the same
            if not server.wait_started(job_id, self._warmup_s + self.timeout_s):
                raise ServerGone(f"the check server did not start the check within "
                                 f"{self._warmup_s + self.timeout_s:g} s")
            with self._lock:
                if self._stopping.is_set():
                    server.kill(job_id)
                self._jobs.add(job_id)
            code = server.wait(job_id, self.timeout_s)
            if code is None:
                server.kill(job_id)
                server.wait(job_id, _KILL_GRACE_S + 5)
            return code
        finally:
            with self._lock:
                self._jobs.discard(job_id)
            server.forget(job_id)

    def _run_spawned(self, job: Path, result: Path, log: Any) -> Any:
        """Run the check in a fresh interpreter: its exit code, None on timeout."""
        env = {**self._child_env(), PARENT_ENV: str(os.getpid())}
        with self._lock:
            if self._stopping.is_set():
                return _NOT_STARTED
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
        try:
            return end_process(proc, open_pidfd(proc.pid), self.timeout_s)
        finally:
            with self._lock:
                self._procs.discard(proc)

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
            "endpoint": self.endpoint.to_dict() if self.endpoint else None,
        }

    def _kill_all(self) -> None:
        with self._lock:
            procs = list(self._procs)
            jobs = list(self._jobs)
        for proc in procs:
            kill_group(proc.pid)
        if self._server is not None:
            for job_id in jobs:
                self._server.kill(job_id)


def _modules_of(specs: Sequence[CheckSpec]) -> list[str] | None:
    """The importable modules of ``specs`` (None when one is a plugin file: the server then
    preloads every built-in module, as before)."""
    if any(s.origin is None or s.origin.kind != "module" for s in specs):
        return None
    return sorted({s.origin.ref for s in specs if s.origin is not None})


def ignore_further_interrupts() -> None:
    """After the first Ctrl-C (or SIGTERM), ignore more until the partial report is written.

    The session restores the handlers once the outputs are written. Only the main thread
    can change signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
