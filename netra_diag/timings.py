"""Phase marks for ``benchmarks/run_time.py``: free unless ``NETRA_DIAG_TIMINGS`` is set.

With ``NETRA_DIAG_TIMINGS=FILE`` in the environment, the parent, the check server and every
check process append one JSON line per phase to FILE: ``{"pid", "role", "phase", "t"}``
with ``t`` from ``time.monotonic()`` (one clock for every process of the machine), plus
the check id where there is one. Lines are written with ``O_APPEND`` in one ``write``, so
processes do not interleave them.
"""

from __future__ import annotations

import json
import os
import time

__all__ = ["mark"]

_PATH = os.environ.get("NETRA_DIAG_TIMINGS")


def mark(role: str, phase: str, **extra: object) -> None:
    """Record that ``role`` (parent, server, check) reached ``phase`` now."""
    if not _PATH:
        return
    line = json.dumps({"pid": os.getpid(), "role": role, "phase": phase,
                       "t": time.monotonic(), **extra}) + "\n"
    try:
        fd = os.open(_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        return
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
