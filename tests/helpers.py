"""Helpers for tests that drive the real CLI (importable: tests/ is on sys.path)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: One bound for every wait in the tests: a safety net against a hang, far above what any
#: wait takes on an idle machine, so that a loaded one (other jobs on 2 cores) never trips it.
WAIT_S = 60.0


def netra_diag_cmd() -> list[str]:
    """The installed console script, or ``python -m netra_diag`` when it is not on PATH."""
    exe = Path(sys.executable).parent / "netra-diag"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "netra_diag"]


def run_subprocess(*args: str, cwd: Path, env: dict[str, str] | None = None,
                   timeout: float = WAIT_S) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    full_env.update({"NO_COLOR": "1", **(env or {})})
    return subprocess.run([*netra_diag_cmd(), *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout, check=False)


def shared_run(shared: Path, *args: str, env: dict[str, str] | None = None
               ) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``run_subprocess(*args)`` made once per test session, whichever test file asks first,
    and the folder it ran in (its working directory, where its ``-o``/``--report`` files go).

    ``shared`` is a folder all the session's workers see (the ``shared_runs`` fixture). The
    command is the key: ``{out}`` in ``args`` or ``env`` values stands for the run's folder.
    The first worker to ask runs it under an exclusive lock and records its outcome; a worker
    asking meanwhile waits for the lock (bounded by ``WAIT_S``, then it makes its own run in
    a private folder) and reads the outcome. Tests must treat what they get as read-only."""
    key = hashlib.sha256(json.dumps([args, sorted((env or {}).items())]).encode()).hexdigest()
    folder = shared / key[:16]
    outcome = shared / f"{key[:16]}.json"
    with open(shared / f"{key[:16]}.lock", "w") as lock:
        locked = _lock(lock.fileno(), WAIT_S)
        if locked and outcome.is_file():
            record = json.loads(outcome.read_text(encoding="utf-8"))
            return subprocess.CompletedProcess(record["args"], record["returncode"],
                                               record["stdout"], record["stderr"]), folder
        if locked:
            folder.mkdir()
        else:  # the holder is stuck: do not depend on it
            folder = Path(tempfile.mkdtemp(dir=shared, prefix=f"{key[:16]}-"))
        proc = run_subprocess(*(a.replace("{out}", str(folder)) for a in args), cwd=folder,
                              env={k: v.replace("{out}", str(folder))
                                   for k, v in (env or {}).items()})
        if locked:
            outcome.write_text(json.dumps({"args": proc.args, "returncode": proc.returncode,
                                           "stdout": proc.stdout, "stderr": proc.stderr}),
                               encoding="utf-8")
        return proc, folder


def _lock(fd: int, timeout: float) -> bool:
    """Take an exclusive ``flock`` on ``fd`` within ``timeout`` s (released when ``fd`` is
    closed); False when it could not."""
    import fcntl
    import threading

    taker = threading.Thread(target=fcntl.flock, args=(fd, fcntl.LOCK_EX), daemon=True)
    taker.start()
    taker.join(timeout)
    return not taker.is_alive()
