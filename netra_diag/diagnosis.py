"""The typed diagnosis of a run: what its results mean along the chain.

Computed once from the results (``analysis.diagnose``, called by
``session.assemble_report``), stored in the ``RunReport`` and in the JSON run (``diagnosis``,
docs/run-json.md), and read by every reporter: none recomputes it. Plain data, no I/O.

``to_dict`` writes the ``run/v1`` keys in their historical order, the newer ones after them;
``from_dict`` reads a run written before those existed (they default to empty).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Blocked",
    "Cause",
    "Caveat",
    "ChecklistItem",
    "Diagnosis",
    "Link",
    "RootCause",
    "Skipped",
]

Why = int | str | None


@dataclass(frozen=True)
class Link:
    """A failing check, in chain order."""

    id: str
    why: Why
    title: str
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "why": self.why, "title": self.title, "summary": self.summary}


@dataclass(frozen=True)
class RootCause:
    """The first to fix: the earliest failing link, where it is and why it comes first."""

    id: str
    why: Why
    title: str
    location: str | None
    reasoning: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "why": self.why, "title": self.title,
                "location": self.location, "reasoning": self.reasoning}


@dataclass(frozen=True)
class Cause:
    """One distinct root cause: the checks that own it (``ids``, one defect seen by several
    links shares one cause), its site and the ids of the findings that locate it."""

    ids: tuple[str, ...]
    location: str | None
    findings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"ids": list(self.ids), "location": self.location,
                "findings": list(self.findings)}


@dataclass(frozen=True)
class Blocked:
    """A check stopped by another check's defect (``by`` owns it)."""

    id: str
    by: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "by": self.by}


@dataclass(frozen=True)
class Skipped:
    id: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason}


@dataclass(frozen=True)
class ChecklistItem:
    """One box of the post-fix checklist: a check's declared criterion and its status
    (``pass``, ``fail``, ``error``, ``skip``, or ``not run``)."""

    id: str
    text: str
    status: str

    @property
    def ticked(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "status": self.status}


@dataclass(frozen=True)
class Caveat:
    """What a passing check does not prove while the chain is broken (its declared caveat)."""

    id: str
    why: Why
    title: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "why": self.why, "title": self.title, "text": self.text}


@dataclass(frozen=True)
class Diagnosis:
    """See ``analysis.diagnose`` for how each field is derived (docs/run-json.md)."""

    verdict: str = "undecided"
    interrupted: bool = False
    symptom: str | None = None
    symptom_checks: tuple[str, ...] = ()
    failing_links: tuple[Link, ...] = ()
    root_cause: RootCause | None = None
    root_causes: tuple[Cause, ...] = ()
    blocked: tuple[Blocked, ...] = ()
    undecided: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    #: the post-fix checklist, in chain order (one box per selected check)
    checklist: tuple[ChecklistItem, ...] = ()
    #: failing checks whose failure is critical (their declared ``critical`` guard holds)
    critical: tuple[str, ...] = ()
    caveats: tuple[Caveat, ...] = ()
    #: a short phrase per check (its declared ``headline``), shown beside its result
    headlines: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "interrupted": self.interrupted,
            "symptom": self.symptom,
            "symptom_checks": list(self.symptom_checks),
            "failing_links": [link.to_dict() for link in self.failing_links],
            "root_cause": self.root_cause.to_dict() if self.root_cause else None,
            "root_causes": [cause.to_dict() for cause in self.root_causes],
            "blocked": [b.to_dict() for b in self.blocked],
            "undecided": list(self.undecided),
            "skipped": [s.to_dict() for s in self.skipped],
            "counts": dict(self.counts),
            "checklist": [item.to_dict() for item in self.checklist],
            "critical": list(self.critical),
            "caveats": [c.to_dict() for c in self.caveats],
            "headlines": dict(self.headlines),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Diagnosis:
        """Read a stored diagnosis; fields a run written by an older version lacks default
        to empty, and malformed items are left out (``ValueError`` for a foreign shape)."""
        def items(key: str) -> list[dict[str, Any]]:
            value = raw.get(key) or []
            if not isinstance(value, list):
                raise ValueError(f"'diagnosis.{key}' should be a list")
            return [item for item in value if isinstance(item, dict)]

        root = raw.get("root_cause")
        return cls(
            verdict=str(raw.get("verdict", "undecided")),
            interrupted=bool(raw.get("interrupted", False)),
            symptom=raw.get("symptom") if isinstance(raw.get("symptom"), str) else None,
            symptom_checks=tuple(str(i) for i in raw.get("symptom_checks") or ()),
            failing_links=tuple(Link(str(x.get("id")), x.get("why"), str(x.get("title", "")),
                                     str(x.get("summary", ""))) for x in items("failing_links")),
            root_cause=RootCause(str(root.get("id")), root.get("why"),
                                 str(root.get("title", "")), root.get("location"),
                                 str(root.get("reasoning", "")))
            if isinstance(root, dict) else None,
            root_causes=tuple(Cause(tuple(str(i) for i in x.get("ids") or ()), x.get("location"),
                                    tuple(str(i) for i in x.get("findings") or ()))
                              for x in items("root_causes")),
            blocked=tuple(Blocked(str(x.get("id")), str(x.get("by"))) for x in items("blocked")),
            undecided=tuple(str(i) for i in raw.get("undecided") or ()),
            skipped=tuple(Skipped(str(x.get("id")), str(x.get("reason", "")))
                          for x in items("skipped")),
            counts={str(k): int(v) for k, v in (raw.get("counts") or {}).items()
                    if isinstance(v, int)},
            checklist=tuple(ChecklistItem(str(x.get("id")), str(x.get("text", "")),
                                          str(x.get("status", ""))) for x in items("checklist")),
            critical=tuple(str(i) for i in raw.get("critical") or ()),
            caveats=tuple(Caveat(str(x.get("id")), x.get("why"), str(x.get("title", "")),
                                 str(x.get("text", ""))) for x in items("caveats")),
            headlines={str(k): str(v) for k, v in (raw.get("headlines") or {}).items()},
        )
