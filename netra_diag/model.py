"""The result model: statuses, evidence, verdicts, per-check results and the run report.

This module owns the ``netra-diag/run/v1`` JSON contract (see docs/run-json.md). Everything here
is plain data: no I/O, no knowledge of checks, runners or reporters.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from .diagnosis import Diagnosis
from .finding import Finding, finding_id, findings_of
from .finding import with_finding_ids as _with_ids
from .summary_text import CONTINUED, SUMMARY_MAX, concise, full_summary

__all__ = [
    "CONTINUED",
    "SCHEMA",
    "SUMMARY_MAX",
    "CheckResult",
    "Evidence",
    "Finding",
    "RunReport",
    "Status",
    "Verdict",
    "Why",
    "concise",
    "errored",
    "evidence_problem",
    "failed",
    "finding_id",
    "full_summary",
    "json_safe",
    "passed",
    "skipped",
    "with_finding_ids",
]

SCHEMA = "netra-diag/run/v1"

#: ``why`` is 1..5 for the five whys and ``"e2e"`` for end-to-end checks (``None`` only for a
#: plugin that could not even be loaded, so its level is unknown).
Why = int | str | None


class Status(enum.StrEnum):
    """A check's verdict (a contract: docs/statuses.md).

    ``fail`` means the target's own code violates the property; ``error`` means the tool
    could not decide and the message says how to fix the set-up. They are never blurred.
    """

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


@dataclass(frozen=True)
class Evidence:
    """One observation backing a verdict.

    ``kind`` is free text, conventionally one of ``location`` (a file and line in the
    target), ``observed`` (what was seen against what was expected), ``traceback``,
    ``events`` (events received, in order), ``timing``, ``warning`` or ``note``. ``file``
    is relative to the target root when it lies inside it.

    ``id`` is the stable id of a *finding* (evidence with a file, in a result that fails or
    could not decide): see ``finding_id``. CI formats track findings by it (SARIF
    ``partialFingerprints``), so it never depends on the message text nor on the line.
    """

    kind: str
    message: str
    file: str | None = None
    line: int | None = None
    data: Any = None
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.file is not None:
            out["file"] = self.file
        if self.line is not None:
            out["line"] = self.line
        if self.data is not None:
            out["data"] = json_safe(self.data)
        if self.id is not None:
            out["id"] = self.id
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Evidence:
        return cls(
            kind=str(raw["kind"]),
            message=str(raw["message"]),
            file=raw.get("file"),
            line=raw.get("line"),
            data=raw.get("data"),
            id=raw.get("id") if isinstance(raw.get("id"), str) else None,
        )

    @property
    def location(self) -> str | None:
        """``path:line`` (or just ``path``) when the evidence points into a file."""
        if self.file is None:
            return None
        return f"{self.file}:{self.line}" if self.line is not None else self.file


def with_finding_ids(check_id: str, status: Status,
                     evidence: tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    """``evidence`` with an ``id`` on every finding (located evidence of a ``fail`` or
    ``error``) that has none; ids a check set itself are kept (see ``finding``)."""
    return _with_ids(check_id, status in (Status.FAIL, Status.ERROR), evidence)


@dataclass(frozen=True)
class Verdict:
    """What a check returns: a status, a one-line summary, evidence and an optional fix hint."""

    status: Status
    summary: str
    evidence: tuple[Evidence, ...] = ()
    fix: str | None = None


def passed(summary: str, *evidence: Evidence) -> Verdict:
    """The property holds; ``evidence`` says what was observed."""
    return Verdict(Status.PASS, summary, tuple(evidence))


def failed(summary: str, *evidence: Evidence, fix: str | None = None) -> Verdict:
    """The target's own code violates the property."""
    return Verdict(Status.FAIL, summary, tuple(evidence), fix)


def errored(summary: str, *evidence: Evidence, fix: str | None = None) -> Verdict:
    """The check could not decide; ``summary`` or ``fix`` says how to repair the set-up."""
    return Verdict(Status.ERROR, summary, tuple(evidence), fix)


def skipped(summary: str, *evidence: Evidence) -> Verdict:
    """Not applicable here; ``summary`` gives the reason."""
    return Verdict(Status.SKIP, summary, tuple(evidence))


@dataclass(frozen=True)
class CheckResult:
    """A verdict bound to the check that produced it, with its wall-clock duration."""

    id: str
    why: Why
    title: str
    status: Status
    summary: str
    evidence: tuple[Evidence, ...] = ()
    fix: str | None = None
    duration_s: float = 0.0

    @property
    def full_summary(self) -> str:
        """The summary with the rest of a cut one (see ``concise``) joined again."""
        return full_summary(self.summary, self.evidence)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The defects this result locates (evidence with a file, of a ``fail`` or
        ``error``), as values owned by this check."""
        return findings_of(self.id, self.status in (Status.FAIL, Status.ERROR),
                           self.evidence, self.fix)

    @classmethod
    def from_verdict(
        cls, *, id: str, why: Why, title: str, verdict: Verdict, duration_s: float,
        fix: str | None = None,
    ) -> CheckResult:
        """Bind ``verdict``; the check's own fix hint stands in when the verdict has none."""
        problem = evidence_problem(verdict.evidence)
        if problem is not None:  # validated when produced, not when a report is read back
            return cls(id, why, title, Status.ERROR,
                       f"the check {id} returned malformed evidence: {problem}",
                       fix="build evidence as Evidence(kind: str, message: str, file: str | "
                       "None, line: int | None, data: JSON-able)",
                       duration_s=round(duration_s, 6))
        hint = verdict.fix or (fix if verdict.status in (Status.FAIL, Status.ERROR) else None)
        evidence = with_finding_ids(id, verdict.status, verdict.evidence)
        summary, rest, mark = concise(verdict.summary)
        if rest:  # the details go to the evidence, said once
            evidence = (Evidence("note", f"{CONTINUED}{rest}", data={"cut_at": mark}),
                        *evidence)
        return cls(id, why, title, verdict.status, summary, evidence, hint,
                   round(duration_s, 6))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "why": self.why,
            "title": self.title,
            "status": self.status.value,
            "summary": self.summary,
            "evidence": [e.to_dict() for e in self.evidence],
            "fix": self.fix,
            "duration_s": self.duration_s,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CheckResult:
        """Rebuild a result; ``ValueError`` when its evidence is malformed."""
        for index, ev in enumerate(raw.get("evidence", ())):
            if not isinstance(ev, dict):
                raise ValueError(f"evidence[{index}] is not an object")
            _expect_types(ev, {"kind": str, "message": str, "file": str, "line": int},
                          where=f"evidence[{index}].")
        return cls(
            id=str(raw["id"]),
            why=raw.get("why"),
            title=str(raw.get("title", "")),
            status=Status(raw["status"]),
            summary=str(raw.get("summary", "")),
            evidence=tuple(Evidence.from_dict(e) for e in raw.get("evidence", ())),
            fix=raw.get("fix"),
            duration_s=float(raw.get("duration_s", 0.0)),
        )


def evidence_problem(evidence: Any) -> str | None:
    """What is wrong with a verdict's evidence (the first problem), or ``None``: each item
    an ``Evidence`` with a str kind and message, a str (or no) file and an int (or no) line,
    so that the JSON run it is written to can be read back."""
    for index, ev in enumerate(evidence):
        where = f"evidence[{index}]"
        if not isinstance(ev, Evidence):
            return f"{where} is {type(ev).__name__}, not Evidence"
        for name, kinds, form in (("kind", (str,), "a string"), ("message", (str,), "a string"),
                                  ("file", (str, type(None)), "a string or None"),
                                  ("line", (int, type(None)), "an int or None")):
            value = getattr(ev, name)
            if not isinstance(value, kinds) or isinstance(value, bool):
                return f"{where}.{name} should be {form} (got {type(value).__name__} " \
                       f"{value!r:.40})"
    return None


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by a string (``"NaN"``, ``"Infinity"``,
    ``"-Infinity"``): JSON has no such numbers, and a bare ``NaN`` makes a document that
    strict readers refuse. Containers are copied only when something changes."""
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def count_statuses(results: tuple[CheckResult, ...] | list[CheckResult]) -> dict[str, int]:
    """Counts per status, every status present (zero when absent)."""
    counts = {s.value: 0 for s in Status}
    for result in results:
        counts[result.status.value] += 1
    return counts


@dataclass(frozen=True)
class RunReport:
    """One run of the tool: the target, every result, the counts and the diagnosis.

    ``counts`` is derived from ``results`` and never stored separately, so the two cannot
    disagree. ``interrupted`` is true when the run was stopped (Ctrl-C) before every
    selected check finished; ``command`` is the argv that reproduces the run;
    ``environment`` holds the tool version, Python and platform; ``checks`` maps each
    check id to its metadata (title, why, explain, fix, tags, depends_on) so reporters can
    render rules and help from a saved run without loading any check. ``sources`` holds
    the code around each located finding (``{"file:line": {file, line, start, lines}}``),
    read from the target during the run, so a saved run can show it later.
    """

    tool_version: str
    target: dict[str, Any]
    started_at: str
    duration_s: float
    results: tuple[CheckResult, ...]
    diagnosis: Diagnosis = field(default_factory=Diagnosis)
    interrupted: bool = False
    command: tuple[str, ...] = ()
    environment: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return count_statuses(self.results)

    def with_diagnosis(self, diagnosis: Diagnosis) -> RunReport:
        return replace(self, diagnosis=diagnosis)

    def result(self, check_id: str) -> CheckResult | None:
        return next((r for r in self.results if r.id == check_id), None)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "schema": SCHEMA,
            "tool": {"name": "netra-diag", "version": self.tool_version},
            "target": self.target,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 6),
            "interrupted": self.interrupted,
            "command": list(self.command),
            "environment": self.environment,
            "checks": self.checks,
            "results": [r.to_dict() for r in self.results],
            "counts": self.counts,
            "diagnosis": self.diagnosis.to_dict(),
        }
        if self.sources:
            out["sources"] = self.sources
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunReport:
        """Rebuild a report from its JSON form; raises ``ValueError`` on a foreign document."""
        if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
            found = raw.get("schema") if isinstance(raw, dict) else type(raw).__name__
            raise ValueError(f"not a {SCHEMA} document (schema: {found!r})")
        _expect_types(raw, {"tool": dict, "target": dict, "results": list, "diagnosis": dict,
                            "environment": dict, "checks": dict, "command": list,
                            "sources": dict})
        _expect_types(raw["target"], {"faults": list, "name": str})
        for index, result in enumerate(raw.get("results", ())):
            if not isinstance(result, dict):
                raise ValueError(f"results[{index}] is not an object")
            _expect_types(result, {"evidence": list, "summary": str, "id": str},
                          where=f"results[{index}].")
            for ev_index, ev in enumerate(result.get("evidence", ())):
                if not isinstance(ev, dict) or not isinstance(ev.get("message", ""), str):
                    raise ValueError(f"results[{index}].evidence[{ev_index}] is malformed")
                _expect_types(ev, {"kind": str, "file": str, "line": int, "id": str},
                              where=f"results[{index}].evidence[{ev_index}].")
        for check_id, meta in raw.get("checks", {}).items():
            if not isinstance(meta, dict):
                raise ValueError(f"checks.{check_id} is not an object")
        return cls(
            tool_version=str(raw.get("tool", {}).get("version", "")),
            target=dict(raw.get("target", {})),
            started_at=str(raw.get("started_at", "")),
            duration_s=float(raw.get("duration_s", 0.0)),
            results=tuple(CheckResult.from_dict(r) for r in raw.get("results", ())),
            diagnosis=Diagnosis.from_dict(raw.get("diagnosis") or {}),
            interrupted=bool(raw.get("interrupted", False)),
            command=tuple(raw.get("command", ())),
            environment=dict(raw.get("environment", {})),
            checks=dict(raw.get("checks", {})),
            sources=_sources(raw.get("sources") or {}),
        )


def _sources(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The well-formed entries of a saved run's ``sources`` (others are left out)."""
    out = {}
    for key, item in raw.items():
        if isinstance(item, dict) and isinstance(item.get("start"), int) and \
                isinstance(item.get("lines"), list) and \
                all(isinstance(line, str) for line in item["lines"]):
            out[str(key)] = item
    return out


def _expect_types(raw: dict[str, Any], types: dict[str, type], where: str = "") -> None:
    """``ValueError`` naming the first present key whose value has the wrong JSON type."""
    for key, expected in types.items():
        if key in raw and raw[key] is not None and not isinstance(raw[key], expected):
            raise ValueError(f"'{where}{key}' should be a {expected.__name__}, "
                             f"not {type(raw[key]).__name__}")
