"""``Finding``: one defect a check located, as a value.

A finding is what CI tools track and what "one defect, one owner" reasons about: a stable
``id``, a message, a file and line, a hint, and the check that owns it. A check reports it
as ``location`` evidence (or any evidence with a file) in a ``fail`` or ``error`` result;
``CheckResult.findings`` reads them back as values, so SARIF results, GitHub annotations,
the baseline comparison, blocking (``blocking``) and de-duplication compare finding ids and
sites, never matched message strings.

The id is ``check:kind:file[:symbol]`` (``#n`` for the n-th such finding without a symbol):
the line and the message are left out on purpose, so a finding keeps its id when code moves
or wording changes (SARIF ``partialFingerprints``). Plain data; it imports nothing of the
model (the model imports it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

__all__ = ["COROUTINE_FROM", "CRASH", "Finding", "crash_site", "finding_id", "findings_of",
           "with_finding_ids"]

#: The ``data`` key that marks a located item as the site where the target raised
#: (``context.target_traceback``; ``data["exception"]`` names the exception type): a crash
#: seen by a step, not a finding about the check's own property.
CRASH = "crash"
#: The ``data`` key, beside ``CRASH``, naming where a coroutine the crashing code used was
#: created (``path:line``): an async call nobody awaited, the defect behind the crash.
COROUTINE_FROM = "coroutine_from"


def crash_site(ev: Any) -> bool:
    """True when the evidence item ``ev`` marks where the target raised (see ``CRASH``)."""
    return isinstance(ev.data, dict) and ev.data.get(CRASH) is True


@dataclass(frozen=True)
class Finding:
    """A located defect: ``check`` owns it; ``crash`` when it only marks where the target
    raised (not a finding about the check's own link)."""

    id: str
    check: str
    message: str
    file: str
    line: int | None = None
    hint: str | None = None
    kind: str = "location"
    crash: bool = False

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "check": self.check, "message": self.message,
                               "file": self.file}
        if self.line is not None:
            out["line"] = self.line
        if self.hint:
            out["hint"] = self.hint
        return out


def finding_id(check_id: str, ev: Any, ordinal: int = 1) -> str:
    """``check:kind:file[:symbol]`` (``#n`` for the n-th such finding without a symbol) for
    the evidence item ``ev``; the symbol is ``data["symbol"]`` when the check gives one."""
    base = f"{check_id}:{ev.kind}:{ev.file or ''}"
    symbol = ev.data.get("symbol") if isinstance(ev.data, dict) else None
    if isinstance(symbol, str) and symbol:
        return f"{base}:{symbol}"
    return base if ordinal == 1 else f"{base}#{ordinal}"


def with_finding_ids(check_id: str, failing: bool, evidence: tuple[Any, ...]) -> tuple[Any, ...]:
    """``evidence`` with an ``id`` on every finding (evidence with a file, of a result that
    fails or could not decide: ``failing``) that has none; ids a check set itself are kept."""
    if not failing:
        return evidence
    seen: dict[str, int] = {}
    out = []
    for ev in evidence:
        if ev.file and ev.id is None:
            first = finding_id(check_id, ev)
            seen[first] = seen.get(first, 0) + 1
            ev = replace(ev, id=finding_id(check_id, ev, seen[first]))
        out.append(ev)
    return tuple(out)


def findings_of(check_id: str, failing: bool, evidence: tuple[Any, ...],
                hint: str | None) -> tuple[Finding, ...]:
    """The findings among a result's evidence, as values (``Finding``), in evidence order."""
    if not failing:
        return ()
    return tuple(Finding(ev.id or finding_id(check_id, ev), check_id, ev.message, ev.file,
                         ev.line, hint, ev.kind, crash_site(ev))
                 for ev in with_finding_ids(check_id, failing, evidence) if ev.file)
