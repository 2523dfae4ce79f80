"""What every renderer shares: the plain-text form of evidence and results (JUnit element
text, GitHub groups, the terminal), so that the formats describe a result in the same words;
located evidence and findings; and the mapping of an evidence ``file`` (relative to the
target root) to a path relative to the repository root, which SARIF and GitHub need.

Renderers import this module, never the ``reporters`` package (which dispatches to them).
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from netra_diag.summary_text import CONTINUED

if TYPE_CHECKING:
    from netra_diag.finding import Finding
    from netra_diag.model import CheckResult, Evidence

#: A summary is one line of a table: longer ones show their leading clauses there, and what
#: was cut goes with the evidence (unless the evidence says it already).
SUMMARY_LIMIT = 120


# C0 controls but tab and LF, DEL, and lone surrogates (which no UTF-8 file can hold).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def strip_controls(text: str) -> str:
    """Text documents without control characters: CR LF and lone CR become LF, terminal
    escape sequences lose their ESC, NULs and the like go."""
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _repeats(value: Any, message: str) -> bool:
    """True when ``value`` (a ``data`` entry) only repeats the message: a non-empty list whose
    every item the message already names, or a longer string the message already holds."""
    if isinstance(value, list | tuple):
        return bool(value) and all(
            isinstance(v, str | int | float) and not isinstance(v, bool) and str(v) in message
            and len(str(v)) >= 3 for v in value)
    return isinstance(value, str) and len(value) >= 8 and value in message


def _data_lines(data: Any, message: str = "") -> list[str]:
    """``data`` as ``key: value`` lines, without the entries that only repeat ``message``."""
    if data is None:
        return []
    if not isinstance(data, dict):
        if _repeats(data, message):
            return []
        return [json.dumps(data, sort_keys=True, default=repr)]
    lines = []
    for key, value in data.items():
        if _repeats(value, message):
            continue
        if isinstance(value, list | tuple):
            shown = ", ".join(str(v) for v in value) if value else "(none)"
        elif isinstance(value, dict):
            shown = json.dumps(value, sort_keys=True, default=repr)
        else:
            shown = str(value)
        lines.append(f"{key}: {shown}")
    return lines


def data_lines(ev: Evidence) -> list[str]:
    """The lines of an evidence item's ``data`` worth printing under its message (entries
    that only repeat the message are left out, and so is the bookkeeping of a cut summary's
    continuation, which only lets readers join the sentence again)."""
    if ev.message.startswith(CONTINUED):
        return []
    return _data_lines(ev.data, ev.message)


def evidence_text(ev: Evidence) -> str:
    """``[kind] path:line: message``, continuation lines and ``data`` indented below."""
    where = f"{ev.location}: " if ev.location else ""
    first, *rest = ev.message.splitlines() or [""]
    lines = [f"[{ev.kind}] {where}{first}"]
    lines.extend(f"    {line}" for line in rest)
    lines.extend(f"    {line}" for line in data_lines(ev))
    return "\n".join(lines)


def result_text(result: CheckResult) -> str:
    """A result as plain text: the summary, every piece of evidence, then the fix hint."""
    lines = [f"{result.status.value.upper()} {result.id}: {result.summary}"]
    lines.extend(evidence_text(ev) for ev in result.evidence)
    if result.fix:
        lines.append(f"fix: {result.fix}")
    return "\n".join(lines)


def short_summary(result: CheckResult) -> tuple[str, str]:
    """``(short, rest)``: the summary cut to ``SUMMARY_LIMIT`` characters after a clause
    (``; `` or ``: ``) or else at a word, and what was cut (``""`` when nothing was, or when
    an evidence message already says it)."""
    text = " ".join(result.summary.split())
    if len(text) <= SUMMARY_LIMIT:
        return text, ""
    pieces = re.split(r"(; |: )", text)
    kept, index = pieces[0], 1
    while index + 1 < len(pieces) and len(kept) + len(pieces[index]) + len(
            pieces[index + 1]) <= SUMMARY_LIMIT - 4:
        kept += pieces[index] + pieces[index + 1]
        index += 2
    if len(kept) > SUMMARY_LIMIT - 4:  # one long clause: cut at a word
        kept = kept[:SUMMARY_LIMIT - 4].rsplit(" ", 1)[0].rstrip(",;:")
        rest = text[len(kept):].lstrip(" ,;:")
        said = " ".join(" ".join(ev.message.split()) for ev in result.evidence)
        return kept + " ...", "" if rest in said else "... " + rest
    else:
        rest = "".join(pieces[index + 1:])
    said = " ".join(" ".join(ev.message.split()) for ev in result.evidence)
    return kept + " ...", "" if rest in said else rest


def located_evidence(result: CheckResult) -> list[Evidence]:
    """The evidence that points into a file: ``location`` evidence, or, when a result has
    none, any other evidence that carries a file (a traceback's frame, a warning's origin)."""
    located = [ev for ev in result.evidence if ev.file]
    return [ev for ev in located if ev.kind == "location"] or located


def primary_findings(result: CheckResult) -> list[Finding]:
    """The findings a CI format reports for ``result`` (``CheckResult.findings``): its
    ``location`` findings, or, when it has none, every finding with a file (a traceback's
    frame, a warning's origin). Empty for a passing or skipped result."""
    found = list(result.findings)
    return [f for f in found if f.kind == "location"] or found


#: Located evidence items the terminal and markdown views show per check before "and N
#: more" (JSON, SARIF and GitHub keep every one). The check orders them: what matters first.
SHOWN_LOCATIONS = 5


def shown_evidence(items: list[Evidence], limit: int = SHOWN_LOCATIONS
                   ) -> tuple[list[Evidence], int]:
    """``items`` with at most ``limit`` of the file-located ones kept (in order), and how
    many located ones were left out."""
    kept: list[Evidence] = []
    located = 0
    for ev in items:
        if ev.file and ev.kind == "location":
            located += 1
            if located > limit:
                continue
        kept.append(ev)
    return kept, max(0, located - limit)


def headline(ev: Evidence | Finding) -> str:
    """One line for titles: a traceback's exception line, otherwise the first line."""
    lines = [line.strip() for line in ev.message.splitlines() if line.strip()]
    if not lines:
        return ev.kind
    return lines[-1] if ev.kind == "traceback" else lines[0]


def located_text(ev: Evidence | Finding) -> str:
    """What a located finding says: a traceback's exception line, else the whole message."""
    return headline(ev) if ev.kind == "traceback" else ev.message


def _is_absolute(path: str) -> bool:
    posix = PurePosixPath(path.replace("\\", "/"))
    return posix.is_absolute() or bool(PureWindowsPath(path).drive)


def _prefix(target: dict[str, Any]) -> str:
    return str(target.get("source_prefix") or "").replace("\\", "/").strip("/")


def repository_root(target: dict[str, Any]) -> str | None:
    """The absolute repository root of a run's target (POSIX form): its ``root`` without its
    ``source_prefix``; ``None`` when the root is not an absolute path (the embedded
    reference) or does not end with the prefix."""
    root = str(target.get("root") or "").replace("\\", "/")
    if not root or not _is_absolute(root):
        return None
    base = PurePosixPath(root)
    parts = PurePosixPath(_prefix(target)).parts if _prefix(target) else ()
    if parts:
        if base.parts[-len(parts):] != parts:
            return None
        base = PurePosixPath(*base.parts[:-len(parts)])
    return base.as_posix()


def repository_path(file: str, target: dict[str, Any]) -> str | None:
    """``file`` (evidence: relative to the target root, or absolute) as a POSIX path relative
    to the repository root, or ``None`` when it lies outside it.

    The run's ``target.source_prefix`` is the target root relative to the repository root
    (``""`` when they are the same folder, or when there is no repository: then the target
    root stands in for it; runs saved before the field existed lack it, which reads as
    ``""``). An absolute ``file`` is made relative to ``repository_root(target)``.
    """
    posix = file.replace("\\", "/")
    if _is_absolute(file):
        root = repository_root(target)
        if root is None:
            return None
        try:
            return PurePosixPath(posix).relative_to(root).as_posix()
        except ValueError:
            return None
    joined = posixpath.normpath(posixpath.join(_prefix(target), posix))
    if joined in (".", "..") or joined.startswith("../"):
        return None
    return joined
