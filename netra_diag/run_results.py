"""The results a runner makes itself, without a check's verdict: a plugin that did not load,
a dependant skipped, a check only a run can judge under ``--static``, a check interrupted,
an interpreter that died (its exit code or signal and the tail of its output)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from .model import CheckResult, Evidence, Status, skipped
from .registry import CheckSpec, LoadFailure

__all__ = ["INTERRUPTED", "STDERR_TAIL_BYTES", "describe_exit", "error_result",
           "load_failure_result", "read_stage", "skip_result", "static_skip_result",
           "tail_evidence"]

STDERR_TAIL_BYTES = 4000
INTERRUPTED = "interrupted before it finished"


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


def skip_result(spec: CheckSpec, blocked: list[str], status: dict[str, Status]) -> CheckResult:
    names = ", ".join(f"{d} ({status[d].value})" for d in blocked)
    return CheckResult(
        id=spec.id, why=spec.why, title=spec.title, status=Status.SKIP,
        summary=f"depends on {names}, which did not pass",
    )


def static_skip_result(spec: CheckSpec) -> CheckResult:
    """The ``--static`` skip of a check only a run can judge (``CheckSpec.static_skip``),
    exactly as its worker would report it."""
    assert spec.static_skip is not None
    return CheckResult.from_verdict(id=spec.id, why=spec.why, title=spec.title,
                                    verdict=skipped(spec.static_skip), duration_s=0.0,
                                    fix=spec.fix)


def error_result(spec: CheckSpec, summary: str, started: float, *evidence: Evidence,
           fix: str | None = None) -> CheckResult:
    return CheckResult(
        id=spec.id, why=spec.why, title=spec.title, status=Status.ERROR, summary=summary,
        evidence=tuple(evidence), fix=fix, duration_s=round(time.perf_counter() - started, 6),
    )


def read_stage(path: Path) -> str | None:
    """The set-up step a process named in its stage file ``path``, if any."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name} (signal {-code})"
    return f"exit code {code} without writing a result"


def tail_evidence(log_path: Path | None, who: str = "the check's interpreter") -> Evidence:
    try:
        assert log_path is not None
        size = log_path.stat().st_size
        with open(log_path, "rb") as fh:
            fh.seek(max(0, size - STDERR_TAIL_BYTES))
            tail = fh.read().decode("utf-8", "replace").strip()
    except (OSError, AssertionError):
        tail = ""
    return Evidence("output", f"last output of {who}:\n{tail}" if tail
                    else f"{who} printed nothing")
