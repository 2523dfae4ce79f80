"""Process hygiene for the interpreters netra-diag starts (checks, discovery, the check server).

Rules this module owns:

* every child runs in its own session, so its whole process group can be killed: when the
  child ends (whatever it started that is still running goes with it) or times out;
* a child dies with its parent: ``die_with_parent`` asks Linux for a signal when the parent
  goes (``PR_SET_PDEATHSIG`` through ctypes) and exits at once if the parent is already gone;
* waiting for a child never reaps it before its group is killed: ``wait_exit`` waits on a
  pidfd (Linux) so the process group id cannot be reused by an unrelated process meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time

__all__ = ["PARENT_ENV", "die_with_parent", "end_process", "kill_group", "wait_exit"]

#: Set by the parent in a child's environment: the pid the child must die with.
PARENT_ENV = "NETRA_DIAG_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None, signum: int = signal.SIGKILL) -> None:
    """Have ``signum`` delivered to this process when its parent ends (Linux only); exit
    at once when ``parent_pid`` (default: ``$NETRA_DIAG_PARENT_PID``) is already gone."""
    if parent_pid is None:
        raw = os.environ.get(PARENT_ENV, "")
        parent_pid = int(raw) if raw.isdigit() else None
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the parent's pipe still ends us
            pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(70)  # the parent died before we could ask: nobody wants our result


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (nothing if it is already gone)."""
    if pid <= 1:  # 0 would be our own group, 1 init's: never a check's
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def wait_exit(pid: int, timeout: float | None, pidfd: int | None = None) -> bool:
    """Wait until the child ``pid`` has exited (without reaping it); False on timeout."""
    if pidfd is not None:
        ready, _, _ = select.select([pidfd], [], [], timeout)
        return bool(ready)
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.001
    while True:  # no pidfd (not Linux): poll without reaping, bounded by the deadline
        try:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        if info is not None:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def open_pidfd(pid: int) -> int | None:
    """A pidfd for ``pid`` (closed by the caller), or None where the OS has none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def end_process(proc: subprocess.Popen[bytes], pidfd: int | None, timeout: float | None
                ) -> int | None:
    """Wait up to ``timeout`` for ``proc``; then kill its process group (at once when it
    exited: whatever it started goes too; else because it timed out) and reap it.
    Returns its exit code, or None when it timed out."""
    exited = wait_exit(proc.pid, timeout, pidfd)
    kill_group(proc.pid)
    try:
        code = proc.wait(timeout=5.0)  # SIGKILL cannot be ignored
    except subprocess.TimeoutExpired:  # pragma: no cover - a process stuck in the kernel
        code = None
    if pidfd is not None:
        with contextlib.suppress(OSError):
            os.close(pidfd)
    return code if exited else None
