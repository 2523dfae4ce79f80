"""The code at each finding, read from the target while it still exists.

A report must show the lines a finding points at, but reporters read a ``RunReport`` and
nothing else (a saved run is rendered long after the reference's private copy is gone). So
the run reads them once, at the edge (``session``), into ``RunReport.sources``: for each
located finding of a failing or undecided check, a few lines around it, keyed ``file:line``.
Only files inside the target root are read, each at most ``MAX_BYTES``; lines are cut to
``MAX_COLUMNS`` and stripped of control characters.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .model import CheckResult, Status

__all__ = ["CONTEXT_LINES", "code_context"]

CONTEXT_LINES = 2  #: lines shown before and after the finding's own line
MAX_BYTES = 2 << 20
MAX_COLUMNS = 160


def code_context(results: Iterable[CheckResult], root: Path) -> dict[str, dict[str, Any]]:
    """``{"file:line": {"file", "line", "start", "lines"}}`` for every located finding."""
    from .reporters.common import located_evidence, strip_controls

    out: dict[str, dict[str, Any]] = {}
    cache: dict[Path, list[str] | None] = {}
    base = Path(root).resolve()
    for result in results:
        if result.status not in (Status.FAIL, Status.ERROR):
            continue
        for ev in located_evidence(result):
            if not ev.file or not isinstance(ev.line, int) or ev.line < 1:
                continue
            key = f"{ev.file}:{ev.line}"
            path = (base / ev.file).resolve()
            if key in out or not path.is_relative_to(base):
                continue
            if path not in cache:
                cache[path] = _lines(path)
            lines = cache[path]
            if not lines or ev.line > len(lines):
                continue
            start = max(1, ev.line - CONTEXT_LINES)
            end = min(len(lines), ev.line + CONTEXT_LINES)
            out[key] = {"file": ev.file, "line": ev.line, "start": start,
                        "lines": [strip_controls(line)[:MAX_COLUMNS]
                                  for line in lines[start - 1:end]]}
    return out


def _lines(path: Path) -> list[str] | None:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES)
    except OSError:
        return None
    return data.decode("utf-8", "replace").splitlines()
