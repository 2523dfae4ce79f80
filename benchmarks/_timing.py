"""Shared helpers for the benchmark scripts: time whole commands, print medians."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence


def netra_diag() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m netra_diag``."""
    exe = shutil.which("netra-diag", path=os.path.dirname(sys.executable)) or shutil.which(
        "netra-diag")
    return [exe] if exe else [sys.executable, "-m", "netra_diag"]


def time_command(argv: Sequence[str], repeat: int, *,
                 ok_codes: Sequence[int] = (0,)) -> list[float]:
    """Wall times (s) of ``repeat`` runs of ``argv``; raises if it exits with another code."""
    times = []
    env = {**os.environ, "NO_COLOR": "1"}
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                              timeout=300, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in ok_codes:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-500:]!r}")
    return times


def report(rows: list[tuple[str, list[float]]], baseline: str) -> None:
    """Print median, min and max per row, and each row's median minus the baseline's."""
    base = statistics.median(dict(rows)[baseline])
    print(f"{'command':44} {'median':>9} {'min':>9} {'max':>9} {'- baseline':>11}")
    for name, times in rows:
        med = statistics.median(times)
        print(f"{name:44} {med * 1000:8.1f}ms {min(times) * 1000:8.1f}ms "
              f"{max(times) * 1000:8.1f}ms {(med - base) * 1000:+10.1f}ms")
