"""Helpers for tests that drive the real CLI (importable: tests/ is on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
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
