"""The check server: ``python -P -m netra_diag.zygote CONTROL_FD``, one per run.

It imports once what every check interpreter needs (the worker, the built-in check modules,
the pipeline's libraries), then forks one child per check on request, so a check pays a
fork instead of an interpreter start and those imports. Isolation stays what a fresh
interpreter gives:

* each check runs in its own forked process, in its own session (its process group is
  killed as soon as it ends, so nothing it started outlives it), and dies with the server;
* the target is imported after the fork (the server never puts it on ``sys.path``), so no
  check sees another check's imports, module state or monkey-patches;
* each child starts with fresh warnings state: the filters the server started with, an
  empty "once" registry and every module's ``__warningregistry__`` invalidated, so a warning
  one check triggered is seen again by the next;
* stdin is ``/dev/null``, stdout and stderr go to the job's log, signals are the defaults.

Under ``isolation: shared-import`` the server also runs the setup hook and imports the
target's role modules once, before forking: each check still runs in its own process (what
one check changes, no other sees), but import-time effects happen once, in the server.

Protocol: the parent writes one JSON object per line on the server's stdin: first the
configuration ``{"shared": PROFILE|null, "compile": ROOT|null}`` (read once the preload is
imported, so the server can start before the run knows its target; ``compile`` names a
private copy of the target whose bytecode the server writes first), then ``{"op": "run", "id": N,
"argv": [JOB, RESULT], "log": PATH}`` or ``{"op": "kill", "id": N}``. The server answers
on ``CONTROL_FD`` (never stdout: imported code may print): ``{"ready": true}``, then
``{"id": N, "pid": P}`` when a check started and ``{"id": N, "exit": CODE}`` (negative: the
signal) when it ended and its group was killed. It exits when its stdin closes or its
parent dies, killing every check's process group first.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

from .procs import die_with_parent, kill_group, open_pidfd
from .timings import mark

#: What the check interpreters import, beside every ``netra_diag.support`` module and the
#: built-in check modules (added at warm-up); a module that is not installed is skipped.
#: No yaml: checks never parse profiles.
PRELOAD: tuple[str, ...] = (
    "netra_diag.worker",
    "netra_diag.hooks",
    "asyncio",
    "websockets.asyncio.client",
    "websockets.asyncio.server",
    "ctypes",
)

_FILTERS_AT_START = list(warnings.filters)


class _Server:
    def __init__(self, ctl: int, setup_in_children: bool) -> None:
        self.ctl = ctl
        self.setup_in_children = setup_in_children
        self.sel = selectors.DefaultSelector()
        self.children: dict[int, tuple[int, int | None]] = {}  # id -> (pid, pidfd)
        self.polled: dict[int, int] = {}  # id -> pid, where no pidfd exists

    def reply(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode()
        while data:
            data = data[os.write(self.ctl, data):]

    def serve(self, pending: bytes = b"") -> None:
        self.sel.register(0, selectors.EVENT_READ, None)
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                self.handle(json.loads(line))
        while True:
            for key, _ in self.sel.select(timeout=0.05 if self.polled else None):
                if key.data is None:
                    chunk = os.read(0, 65536)
                    if not chunk:  # the runner is done, or died: take every check with us
                        self.shutdown()
                        os._exit(0)  # no tear-down of everything imported: nobody waits
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        if line.strip():
                            self.handle(json.loads(line))
                else:
                    self.reap(key.data)
            for job_id, pid in list(self.polled.items()):
                if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                    self.reap(job_id)

    def handle(self, request: dict[str, Any]) -> None:
        job_id = request["id"]
        if request["op"] == "kill":
            if job_id in self.children:
                kill_group(self.children[job_id][0])
            return
        sys.stdout.flush()
        sys.stderr.flush()
        mark("server", "fork", job=job_id)
        try:
            pid = os.fork()
        except OSError as exc:  # out of processes or memory: this check cannot run
            with contextlib.suppress(OSError), open(request["log"], "a") as log:
                log.write(f"the check server could not fork a process for the check: {exc}\n")
            self.reply({"id": job_id, "pid": 0})
            self.reply({"id": job_id, "exit": 71})
            return
        if pid == 0:
            self.child(request)  # never returns
        pidfd = open_pidfd(pid)
        self.children[job_id] = (pid, pidfd)
        if pidfd is None:
            self.polled[job_id] = pid
        else:
            self.sel.register(pidfd, selectors.EVENT_READ, job_id)
        self.reply({"id": job_id, "pid": pid})

    def reap(self, job_id: int) -> None:
        mark("server", "check ended", job=job_id)
        pid, pidfd = self.children.pop(job_id)
        self.polled.pop(job_id, None)
        if pidfd is not None:
            self.sel.unregister(pidfd)
            os.close(pidfd)
        kill_group(pid)  # not reaped yet: the group id still names only its processes
        _, status = os.waitpid(pid, 0)
        self.reply({"id": job_id, "exit": os.waitstatus_to_exitcode(status)})

    def shutdown(self) -> None:
        for pid, _ in self.children.values():
            kill_group(pid)

    def child(self, request: dict[str, Any]) -> None:
        """The forked check: a process of its own, then the worker's ``main``."""
        code = 1
        try:
            mark("check", "forked", job=request["id"])
            os.setsid()
            server_pid = os.getppid()
            for fd in [self.ctl, self.sel.fileno(),
                       *(fd for _, fd in self.children.values() if fd is not None)]:
                os.close(fd)
            for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
                signal.signal(signum, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            die_with_parent(server_pid)
            null = os.open(os.devnull, os.O_RDONLY)
            log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.close(null)
            os.close(log)
            fresh_warnings()
            os.environ.clear()
            os.environ.update(request.get("env") or {})
            sys.argv = ["netra_diag.worker", *request["argv"]]
            from . import worker

            code = worker.main(request["argv"], setup=self.setup_in_children)
        except SystemExit as exc:  # as a fresh interpreter would end on sys.exit()
            code = _exit_code(exc.code)
        except BaseException:  # noqa: BLE001 - printed into the check's log, like Python does
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):  # a closed stream: nothing to keep
                    stream.flush()
            os._exit(code)


def fresh_warnings() -> None:
    """Warnings state as a fresh interpreter has it (see the module docstring)."""
    warnings.filters[:] = _FILTERS_AT_START
    warnings.onceregistry.clear()
    mutated = getattr(warnings, "_filters_mutated", None) or getattr(
        warnings, "_filters_mutated_lock_held", None)
    if mutated is not None:
        mutated()  # every __warningregistry__ is now stale: warnings show again


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def warm(static: bool = False, modules: list[str] | None = None) -> list[str]:
    """Import the preload list and the built-in checks; what failed to load. ``static`` (a
    ``--static`` run): only the worker and the check modules whose checks run under
    ``--static`` (the manifest's, when there is one): the others are reported skip by the
    runner without a process, so neither they nor the wire's libraries are needed.
    ``modules``: the only check modules the run needs (with the worker and the hooks
    loader); what they import comes with them."""
    import importlib

    if modules is not None and not static:
        return _preload(["netra_diag.worker", "netra_diag.hooks", *modules])
    missing = []
    preload = ["netra_diag.worker"] if static else list(PRELOAD)
    try:  # every support module: what the checks share, whatever gets added there
        import pkgutil

        support = importlib.import_module("netra_diag.support")
        if not static:
            preload += [f"netra_diag.support.{m.name}"
                        for m in pkgutil.iter_modules(support.__path__)]
    except Exception:  # noqa: BLE001 - the worker reports a broken install per check
        pass
    try:
        checks = importlib.import_module("netra_diag_checks")  # every check module, as loaded
        modules = [f"netra_diag_checks.{m.name}" for m in pkgutil.iter_modules(checks.__path__)
                   if not m.name.startswith("_")]
        if static:
            from .manifest import static_modules

            judged = static_modules()
            modules = [m for m in modules if judged is None or m in judged]
        preload += modules
    except Exception:  # noqa: BLE001 - the worker reports a broken install per check
        pass
    return [*missing, *_preload(preload)]


def _preload(names: list[str]) -> list[str]:
    """Import ``names``; those that failed (a child imports them again and reports it)."""
    import importlib

    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a child imports it again and reports it there
            missing.append(name)
    warnings.filters[:] = _FILTERS_AT_START  # what the imports changed, children do not see
    return missing


def precompile(root: Path) -> None:
    """Write the bytecode of a private copy of the target (the embedded reference), so each
    check loads it instead of compiling every module again (``PYTHONDONTWRITEBYTECODE``
    would otherwise make every check compile it). Compiling runs none of its code."""
    import compileall

    with contextlib.suppress(OSError, RecursionError):
        compileall.compile_dir(root, quiet=2, workers=1)


def import_shared(config: dict[str, Any]) -> list[str]:
    """Under shared-import (``config["shared"]`` is the profile): run the setup hook and
    import the target's role modules once; what failed to import."""
    import importlib

    missing: list[str] = []
    shared = config.get("shared")
    if shared:
        from .context import ensure_on_path
        from .profile import Profile
        from .worker import STAGE_SETUP, run_setup_hook

        profile = Profile.from_dict(shared)
        stage = Path(config["stage"]) if config.get("stage") else None
        try:
            if stage is not None and profile.hooks is not None:
                stage.write_text(STAGE_SETUP, encoding="utf-8")
            run_setup_hook(profile)
        except Exception:  # noqa: BLE001 - each check runs it again and reports the error
            return [*missing, "hooks setup()"]  # and the target is not imported without it
        finally:
            if stage is not None:
                stage.unlink(missing_ok=True)
        ensure_on_path(profile.root)
        for entry in dict.fromkeys(v.split(":", 1)[0] for v in profile.roles.values()):
            try:
                importlib.import_module(entry)
            except BaseException:  # noqa: BLE001 - each check imports it again and judges it
                missing.append(entry)
    warnings.filters[:] = _FILTERS_AT_START  # what the imports changed, children do not see
    return missing


def main(argv: list[str]) -> int:
    ctl = int(argv[0])
    os.set_inheritable(ctl, False)

    def stop(signum: int, frame: Any) -> None:  # the runner died (PR_SET_PDEATHSIG)
        server.shutdown()
        os._exit(0)

    server = _Server(ctl, setup_in_children=True)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides when checks stop
    die_with_parent(signum=signal.SIGTERM)
    mark("server", "started")
    # before the configuration arrives: the run may not know it yet
    wanted = argv[argv.index("--modules") + 1].split(",") if "--modules" in argv[1:] \
        and argv.index("--modules") + 1 < len(argv) else None
    missing = warm(static="--static" in argv[1:], modules=[m for m in wanted or () if m]
                   if wanted is not None else None)
    first, pending = _first_line(0)
    config = json.loads(first or b"{}")
    if config.get("compile"):
        precompile(Path(config["compile"]))
    missing += import_shared(config)
    mark("server", "warm")
    server.setup_in_children = not config.get("shared")
    server.reply({"ready": True, "pid": os.getpid(), "missing": missing})
    server.serve(pending)
    return 0


def _first_line(fd: int) -> tuple[bytes, bytes]:
    """The first line on ``fd`` and what was read past it (no buffered reader keeps any)."""
    data = b""
    while b"\n" not in data:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    first, _, rest = data.partition(b"\n")
    return first, rest


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
