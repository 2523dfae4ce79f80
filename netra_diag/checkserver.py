"""The runner's handle on the check server (``netra_diag.zygote``): start, run, wait, kill.

One server per run, started from the thread that runs the checks (so it dies with that
thread's process). Calls are thread-safe: the runner's pool threads each run one check.
A reader thread dispatches the server's replies to the waiting checks; when the server ends
unexpectedly, every waiting check learns it at once (``ServerGone``) instead of hanging.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .procs import PARENT_ENV, kill_group

__all__ = ["CheckServer", "ServerGone", "prestart", "static_hint"]


_PRESTARTED: CheckServer | None = None


def prestart(argv: list[str] | None = None) -> None:
    """Start the check server now, for the next ``CheckServer.start_early`` (the console
    script calls it first thing for ``run`` and ``probe``, before parsing the options).
    ``argv``, the command line, is only a hint: with ``--static`` in it, the server preloads
    only what the checks that judge from source need (``zygote.warm``); a wrong hint costs
    time, never a result (a check imports what was not preloaded itself)."""
    global _PRESTARTED
    if _PRESTARTED is None and hasattr(os, "fork"):
        _PRESTARTED = CheckServer.start_early(static=static_hint(argv or []),
                                              modules=modules_hint(argv or []))


def modules_hint(argv: list[str]) -> list[str] | None:
    """The built-in check modules a ``run``/``probe`` command line selects with ``--only``
    (ids or tags, from the manifest), or None (all of them, or the manifest cannot say).
    Only a hint for what to preload: a check whose module was not preloaded imports it."""
    options = _options(argv)
    names: list[str] = []
    for i, arg in enumerate(options):
        if arg == "--only" and i + 1 < len(options):
            names += options[i + 1].split(",")
        elif arg.startswith("--only="):
            names += arg.removeprefix("--only=").split(",")
    if not names:
        return None
    from .manifest import modules_for

    return modules_for({n.strip() for n in names if n.strip()})


def static_hint(argv: list[str]) -> bool:
    """Whether the command line ``argv`` (``netra-diag run ...``) asks for ``--static``
    (an option before any ``--``)."""
    return "--static" in _options(argv)


def _options(argv: list[str]) -> list[str]:
    """The options of ``netra-diag run|probe ...``, up to a ``--``."""
    options = argv[2:]
    return options[:options.index("--")] if "--" in options else options


def server_stage(log: Path) -> Path:
    """Where a server logging to ``log`` names the set-up step in progress (the hooks
    file's ``setup()`` under shared-import), so a runner that gives up on it can say why."""
    return log.with_name(log.name + ".stage")


class ServerGone(RuntimeError):
    """The check server ended (or never became ready) while a check needed it."""


class _Job:
    def __init__(self) -> None:
        self.pid: int | None = None
        self.exit: int | None = None
        self.started = threading.Event()
        self.ended = threading.Event()


class CheckServer:
    """A started check server (see the module docstring)."""

    def __init__(self, shared: dict[str, Any] | None = None, log: Path | None = None, *,
                 deferred: bool = False, compile_root: Path | None = None,
                 static: bool = False, modules: Sequence[str] | None = None) -> None:
        """Start a server; ``shared`` is the profile (as a dict) under shared-import;
        ``deferred``: the configuration is sent later with ``configure``; ``static``: a
        ``--static`` run (a smaller preload); ``modules``: the only check modules the run
        needs (None: every built-in one), preloaded with the worker."""
        read_fd, write_fd = os.pipe()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", PARENT_ENV: str(os.getpid())}
        self.log = log
        self._own_log = False
        self._closed = False
        out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "netra_diag.zygote", str(write_fd),
                 *(["--static"] if static else []),
                 *(["--modules", ",".join(modules)] if modules is not None else [])],
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=env,
                pass_fds=(write_fd,), start_new_session=True)
        finally:
            os.close(write_fd)
            if log is not None:
                out.close()  # type: ignore[union-attr]
        self._replies = os.fdopen(read_fd, "rb")
        self._lock = threading.Lock()
        self._jobs: dict[int, _Job] = {}
        self._next = 0
        self.ready = threading.Event()
        self.gone = False
        self.missing: list[str] = []
        self.configured = False
        if not deferred:
            self.configure(shared, compile_root)
        self._reader = threading.Thread(target=self._read, name="netra-check-server",
                                        daemon=True)
        self._reader.start()

    @classmethod
    def start_early(cls, static: bool = False, modules: Sequence[str] | None = None
                    ) -> CheckServer | None:
        """A ``process``-mode server started before the run knows its target, so that its
        imports overlap the parent's work (the one ``prestart`` made, if any); None where
        processes cannot fork."""
        global _PRESTARTED
        if _PRESTARTED is not None:
            server, _PRESTARTED = _PRESTARTED, None
            return server
        if not hasattr(os, "fork"):
            return None
        fd, name = tempfile.mkstemp(prefix="netra-diag-server-", suffix=".log")
        os.close(fd)
        server = cls(None, Path(name), deferred=True, static=static, modules=modules)
        server._own_log = True
        return server

    def configure(self, shared: dict[str, Any] | None, compile_root: Path | None = None
                  ) -> None:
        """Send the configuration (once): the profile under shared-import, else None;
        ``compile_root``: a private copy of the target to write bytecode for first."""
        if not self.configured:
            self.configured = True
            self._send({"shared": shared,
                        "compile": str(compile_root) if compile_root else None,
                        "stage": str(server_stage(self.log)) if self.log else None})

    def abandon(self) -> None:
        """Kill the server at once (it runs no check yet: nothing to wait for)."""
        self._closed = True
        kill_group(self._proc.pid)
        self._proc.wait()
        self._reader.join(5.0)
        with contextlib.suppress(OSError):
            self._replies.close()
        if self._own_log and self.log is not None:
            with contextlib.suppress(OSError):
                self.log.unlink()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc.stdin is not None
        try:
            with self._lock:
                self._proc.stdin.write((json.dumps(message) + "\n").encode())
                self._proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise ServerGone("the check server has ended") from None

    def _read(self) -> None:
        for raw in self._replies:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if message.get("ready"):
                self.missing = list(message.get("missing", ()))
                self.ready.set()
                continue
            job = self._jobs.get(message.get("id", -1))
            if job is None:
                continue
            if "pid" in message:
                job.pid = int(message["pid"])
                job.started.set()
            elif "exit" in message:
                job.exit = int(message["exit"])
                job.ended.set()
        self.gone = True  # EOF: the server ended; wake every waiter
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.started.set()
            job.ended.set()

    def start(self, argv: list[str], log: Path, env: dict[str, str]) -> int:
        """Fork a check running the worker on ``argv`` with environment ``env`` (the
        parent's at run time: the server may have started before it changed); returns
        its job id."""
        with self._lock:
            self._next += 1
            job_id = self._next
            self._jobs[job_id] = _Job()
        if self.gone:
            raise ServerGone("the check server has ended")
        self._send({"op": "run", "id": job_id, "argv": argv, "log": str(log), "env": env})
        return job_id

    def wait_started(self, job_id: int, timeout: float) -> bool:
        """True once the check runs; False if it did not start within ``timeout``;
        ``ServerGone`` when the server ended first."""
        job = self._jobs[job_id]
        if not job.started.wait(timeout):
            return False
        if job.pid is None:
            raise ServerGone("the check server ended before starting the check")
        return True

    def wait(self, job_id: int, timeout: float | None) -> int | None:
        """The check's exit code (its process group already killed), or None on timeout;
        ``ServerGone`` when the server ended first."""
        job = self._jobs[job_id]
        if not job.ended.wait(timeout):
            return None
        if job.exit is None:
            raise ServerGone("the check server ended while the check ran")
        return job.exit

    def kill(self, job_id: int) -> None:
        """Kill the check's process group (the server reports its exit)."""
        job = self._jobs.get(job_id)
        if job is None or job.ended.is_set():
            return
        try:
            self._send({"op": "kill", "id": job_id})
        except ServerGone:
            if job.pid is not None:
                kill_group(job.pid)

    def forget(self, job_id: int) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the server: closing its stdin ends it (and any check still running).
        Calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        if not self.configured or not self.ready.is_set():
            self.abandon()  # still importing or setting up, not serving: nothing to wait for
            return
        with contextlib.suppress(OSError, ValueError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(self._proc.pid)
            self._proc.wait()
        self._reader.join(timeout)
        with contextlib.suppress(OSError):
            self._replies.close()
        if self._own_log and self.log is not None:
            with contextlib.suppress(OSError):
                self.log.unlink()
