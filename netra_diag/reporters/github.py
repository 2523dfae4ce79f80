"""The ``github`` format: GitHub Actions workflow commands, and the step summary.

Rules (docs/ci-formats.md): ``::error`` for each located piece of evidence of a failed check
(a failed check with none gets one ``::error`` without a file), ``::warning`` for checks that
could not decide, ``file=`` relative to the repository root (the target's ``source_prefix``
before the evidence's path); a notice with the diagnosis, and one more when the run was
interrupted; at most ``MAX_PER_KIND`` per kind, failures and file-located ones first, and a
final ``::notice`` saying how many were left out. Data is escaped (``%``, CR, LF; plus ``:``
and ``,`` in properties), so nothing from the target can start a command on an
annotation line. The full evidence follows in ``::group::`` folds, wrapped in
``::stop-commands::TOKEN`` ... ``::TOKEN::`` with a random token, so target text printed
verbatim cannot inject commands either.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netra_diag.analysis import chain_order, why_label
from netra_diag.errors import OutputError
from netra_diag.finding import Finding
from netra_diag.model import CheckResult, RunReport, Status

from .common import located_text, primary_findings, repository_path, result_text, strip_controls

__all__ = [
    "MAX_PER_KIND",
    "STEP_SUMMARY_LIMIT",
    "Annotation",
    "annotations",
    "append_step_summary",
    "escape_data",
    "escape_property",
    "render_github",
]

MAX_PER_KIND = 10
STEP_SUMMARY_LIMIT = 1024 * 1024  # bytes per step, GitHub's limit


def escape_data(text: str) -> str:
    """Escape a command's message: ``%``, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property value: as data, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Annotation:
    """One workflow-command annotation before escaping."""

    kind: str  # "error" | "warning" | "notice"
    title: str
    message: str
    file: str | None = None
    line: int | None = None

    def command(self) -> str:
        props = []
        if self.file:
            props.append(f"file={escape_property(self.file)}")
            if isinstance(self.line, int) and self.line >= 1:
                props.append(f"line={self.line}")
        if self.title:
            props.append(f"title={escape_property(self.title)}")
        head = f"::{self.kind} {','.join(props)}" if props else f"::{self.kind}"
        return f"{head}::{escape_data(self.message)}"


def _path(ev: Finding | None, target: dict[str, Any]) -> str | None:
    """The annotation's ``file=``: relative to the repository root (GitHub resolves it
    against the checkout), or the evidence's own path when it lies outside the repository."""
    if ev is None or not ev.file:
        return None
    return repository_path(ev.file, target) or ev.file


def _for_result(result: CheckResult, target: dict[str, Any]) -> list[Annotation]:
    label = why_label(result.why, result.title)
    fix = f"\nfix: {result.fix}" if result.fix else ""
    if result.status is Status.FAIL:
        located = primary_findings(result)
        if not located:
            return [Annotation("error", f"{label} failed", result.summary + fix)]
        return [Annotation("error", f"{label} failed", f"{located_text(ev)}\n{result.summary}{fix}",
                           _path(ev, target), ev.line) for ev in located]
    if result.status is Status.ERROR:
        ev = next(iter(primary_findings(result)), None)
        message = f"not evaluated (the check could not decide): {result.summary}{fix}"
        return [Annotation("warning", f"{label} not evaluated", message,
                           _path(ev, target), ev.line if ev else None)]
    return []


def annotations(report: RunReport) -> tuple[list[Annotation], dict[str, int]]:
    """The annotations to print, in priority order and capped, and how many per kind
    were left out."""
    found = [a for r in chain_order(report.results, report.checks)
             for a in _for_result(r, report.target)]
    kept: list[Annotation] = []
    dropped: dict[str, int] = {}
    for kind in ("error", "warning"):
        of_kind = [a for a in found if a.kind == kind]
        of_kind.sort(key=lambda a: a.file is None)  # stable: file-located first
        kept.extend(of_kind[:MAX_PER_KIND])
        if len(of_kind) > MAX_PER_KIND:
            dropped[kind] = len(of_kind) - MAX_PER_KIND
    return kept, dropped


def _diagnosis_notice(report: RunReport) -> Annotation:
    d = report.diagnosis  # computed once, from the results
    counts = report.counts
    parts = [f"{(d.verdict or 'unknown').upper()}: {counts['pass']} passed, "
             f"{counts['fail']} failed, {counts['error']} could not decide, "
             f"{counts['skip']} skipped" + (" (interrupted)" if report.interrupted else "")]
    if d.symptom:
        parts.append(f"symptom: {d.symptom}")
    root = d.root_cause
    if root:
        where = f" at {root.location}" if root.location else ""
        parts.append(f"first to fix: {root.id}{where}: {root.reasoning or root.id}")
    return Annotation("notice", "netra-diag diagnosis", "\n".join(parts))


def _token(texts: list[str]) -> str:
    while True:
        token = secrets.token_hex(16)
        if not any(token in text for text in texts):
            return token


def _group(result: CheckResult, token: str) -> list[str]:
    title = (f"{why_label(result.why, result.title)}: {result.status.value.upper()} - "
             f"{result.summary}")
    return [
        f"::group::{escape_data(title)}",
        f"::stop-commands::{token}",
        *result_text(result).splitlines(),
        f"::{token}::",
        "::endgroup::",
    ]


def render_github(report: RunReport, *, token: str | None = None) -> str:
    """Workflow commands for the run: annotations, a diagnosis notice, a notice for what
    was left out, then the evidence of every non-passing check in folded groups.

    ``token`` (for tests) fixes the stop-commands token; it is random by default.
    """
    kept, dropped = annotations(report)
    lines = [a.command() for a in kept]
    lines.append(_diagnosis_notice(report).command())
    if report.interrupted:
        lines.append(Annotation(
            "notice", "netra-diag: run interrupted",
            "The run was interrupted before every check finished: the results are incomplete "
            "and do not prove the pipeline healthy. Re-run it to completion.").command())
    if dropped:
        detail = ", ".join(f"{n} {kind}" for kind, n in dropped.items())
        lines.append(Annotation(
            "notice", "netra-diag: annotations left out",
            f"{sum(dropped.values())} annotation(s) left out ({detail}): GitHub shows at most "
            f"{MAX_PER_KIND} per kind. Every finding is in the groups below and in the "
            "step summary.").command())
    shown = [r for r in chain_order(report.results, report.checks) if r.status is not Status.PASS]
    texts = [result_text(r) for r in shown]
    if token is None or any(token in text for text in texts):
        token = _token(texts)
    for result in shown:
        lines.extend(_group(result, token))
    return strip_controls("\n".join(lines) + "\n")


def _bounded(text: str, budget: int) -> str:
    """``text`` cut at a line boundary to fit ``budget`` UTF-8 bytes, with a closing note."""
    data = text.encode("utf-8")
    if len(data) <= budget:
        return text
    note = ("\n\n> **Truncated:** this summary reached GitHub's 1 MiB step-summary limit; "
            "the full report is in the run's artefacts.\n")
    room = budget - len(note.encode("utf-8")) - len("```\n")
    if room <= 0:
        return ""
    cut = data[:room].decode("utf-8", errors="ignore")
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else ""
    fences = sum(1 for line in cut.splitlines() if line.lstrip().startswith("```"))
    if fences % 2:
        cut += "```\n"
    return cut + note


def append_step_summary(report: RunReport, path: Path | str | None = None, *,
                        baseline: RunReport | None = None) -> bool:
    """Append the markdown report to the step summary file; ``path`` defaults to
    ``$GITHUB_STEP_SUMMARY``. Returns ``False`` when there is no such file to write.

    What is appended stays within ``STEP_SUMMARY_LIMIT`` bytes together with what the step
    already wrote (cut at a line boundary, with a note). ``OutputError`` when writing fails.
    """
    from .markdown import render_markdown

    if path is None:
        path = os.environ.get("GITHUB_STEP_SUMMARY") or None
        if path is None:
            return False
    path = Path(path)
    try:
        used = path.stat().st_size
    except FileNotFoundError:
        used = 0
    except OSError as exc:
        raise OutputError(f"cannot write step summary {path}: {exc.strerror or exc}") from exc
    separator = "\n" if used else ""
    text = _bounded(render_markdown(report, baseline), STEP_SUMMARY_LIMIT - used - len(separator))
    if not text:
        return False
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(separator + text)
    except OSError as exc:
        raise OutputError(f"cannot write step summary {path}: {exc.strerror or exc}") from exc
    return True
