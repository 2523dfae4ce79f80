"""The diagnosis: what a run's results mean along the Five Whys chain.

This module owns the reading of results as a causal chain: the chain order (WHY #1..#5,
then the end-to-end checks, then anything else), the symptom (derived from ``event-flow``),
the failing links, the root-cause candidate and which checks could not decide. It is pure:
results in, JSON-able data out, no I/O and no fixed prose that could disagree with the
results. It must not know about checks' code, faults or reporters.

The root-cause candidate is a *candidate*: the checks are independent (DESIGN.md), so a
later failure may be a consequence of an earlier one or a fault of its own. The reasoning
says which, as far as the results allow, and never claims more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from .model import CheckResult, Status, Why

__all__ = [
    "CHAIN_IDS",
    "EVENT_FLOW",
    "chain_order",
    "chain_rank",
    "diagnose",
    "event_delivery",
    "missing_events",
    "why_label",
    "why_tag",
]

#: The built-in checks in chain order (DESIGN.md contract ids).
CHAIN_IDS: tuple[str, ...] = (
    "import-chain",
    "emitter-methods",
    "registry-wiring",
    "engine-factory",
    "deprecation-warnings",
    "event-flow",
    "user-isolation",
    "event-latency",
)
EVENT_FLOW = "event-flow"
_E2E_RANK = 6
_OTHER_RANK = 7
_FRACTION_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\b")


def chain_rank(why: Why) -> int:
    """1..5 for the five whys, 6 for ``"e2e"``, 7 for anything else."""
    if isinstance(why, int) and not isinstance(why, bool) and 1 <= why <= 5:
        return why
    return _E2E_RANK if why == "e2e" else _OTHER_RANK


def _order_key(result: CheckResult) -> tuple[int, int, str]:
    known = CHAIN_IDS.index(result.id) if result.id in CHAIN_IDS else len(CHAIN_IDS)
    return (chain_rank(result.why), known, result.id)


def chain_order(results: Iterable[CheckResult]) -> list[CheckResult]:
    """The results along the chain, independent of the order in which checks finished."""
    return sorted(results, key=_order_key)


def why_tag(why: Why) -> str:
    """``WHY #1`` for a chain link, ``E2E`` for an end-to-end check, ``-`` otherwise."""
    if chain_rank(why) <= 5:
        return f"WHY #{why}"
    return "E2E" if why == "e2e" else "-"


def why_label(why: Why, title: str | None = None) -> str:
    """How a check is named: ``WHY #1: Import Chain`` in prose, or just its title for a check
    off the five whys; without a title, the bare level for a table column (``#1``, ``e2e``,
    ``-`` when unknown)."""
    if title is None:
        if chain_rank(why) <= 5:
            return f"#{why}"
        return "-" if why is None else str(why)
    return f"WHY #{why}: {title}" if chain_rank(why) <= 5 else title


def _events_data(result: CheckResult) -> dict[str, Any] | None:
    for ev in result.evidence:
        if ev.kind == "events" and isinstance(ev.data, dict):
            return ev.data
    return None


def event_delivery(result: CheckResult) -> tuple[int, int] | None:
    """``(delivered, total)`` critical events, from ``events`` evidence or an ``n/t`` summary."""
    data = _events_data(result)
    if data is not None:
        try:
            return int(data["delivered"]), int(data["total"])
        except (KeyError, TypeError, ValueError):
            pass
    match = _FRACTION_RE.match(result.summary)
    if match:
        return int(match.group(1)), int(match.group(2))
    return None


def missing_events(result: CheckResult) -> list[str]:
    """Expected critical events that were never received (empty when unknown)."""
    data = _events_data(result)
    if not data:
        return []
    received = {str(name) for name in data.get("received") or ()}
    return [str(name) for name in data.get("expected") or () if str(name) not in received]


def _symptom(flow: CheckResult | None) -> str | None:
    if flow is None:
        return None
    delivery = event_delivery(flow)
    if flow.status is Status.PASS:
        if delivery and delivery[0] == delivery[1]:
            return f"all {delivery[1]} critical events delivered"
        return f"event flow passes: {flow.summary}"
    if flow.status is Status.FAIL:
        if delivery and delivery[0] < delivery[1]:
            return f"{delivery[0]}/{delivery[1]} critical events reached the client"
        return f"event flow fails: {flow.summary}"
    if flow.status is Status.ERROR:
        return f"event flow could not be evaluated: {flow.summary}"
    return f"event flow not checked: {flow.summary}"


def _link(result: CheckResult) -> dict[str, Any]:
    return {"id": result.id, "why": result.why, "title": result.title, "summary": result.summary}


def _name(result: CheckResult) -> str:
    return why_tag(result.why) if chain_rank(result.why) <= 5 else result.title or result.id


def _first_location(result: CheckResult) -> str | None:
    located = [ev for ev in result.evidence if ev.file]
    preferred = [ev for ev in located if ev.kind == "location"] or located
    return preferred[0].location if preferred else None


def _reasoning(root: CheckResult, ordered: Sequence[CheckResult]) -> str:
    rank = chain_rank(root.why)
    where = _first_location(root)
    head = f"{_name(root)} fails: {root.summary}"
    if where and where not in root.summary:
        head += f" ({where})"
    later = [r for r in ordered if r.status is Status.FAIL and r is not root]
    if rank <= 5:
        text = f"{head}; every later link depends on it"
        if later:
            ids = ", ".join(r.id for r in later)
            text += (f", so the {len(later)} later failure(s) ({ids}) may be consequences of "
                     "it: fix it first and re-run")
        else:
            text += ", and no later link fails"
    else:
        run_whys = {r.why for r in ordered if chain_rank(r.why) <= 5}
        text = f"{head}; no link WHY #1-#5 fails"
        absent = [f"#{n}" for n in range(1, 6) if n not in run_whys]
        if absent:
            text += f" (WHY {', '.join(absent)} not run)"
        text += ", so the cause lies outside what the five whys check"
    earlier_errors = [r for r in ordered if r.status is Status.ERROR
                      and chain_rank(r.why) <= rank and r is not root]
    if earlier_errors:
        ids = ", ".join(r.id for r in earlier_errors)
        text += f"; {ids} could not be evaluated, so an earlier cause is not excluded"
    return text + "."


def diagnose(results: Sequence[CheckResult], *, interrupted: bool = False) -> dict[str, Any]:
    """The diagnosis of a run, as JSON-able data (stored in ``RunReport.diagnosis``).

    Keys: ``verdict`` (``interrupted``: the run was stopped before every check finished, so
    whatever the finished checks show, the diagnosis is incomplete and health not proven;
    otherwise ``broken``: a fail; ``undecided``: errors but no fail, or nothing ran;
    ``healthy``: no fail and no error, at least one result), ``interrupted``, ``symptom`` (from
    ``event-flow``; ``None`` when it did not run), ``failing_links`` (``{id, why, title,
    summary}`` in chain order), ``root_cause`` (the earliest failing link: ``{id, why, title,
    location, reasoning}`` or ``None``), ``undecided`` (ids with ``error``), ``skipped``
    (``{id, reason}``) and ``counts``. Every word is derived from the results.
    """
    ordered = chain_order(results)
    failing = [r for r in ordered if r.status is Status.FAIL]
    errors = [r for r in ordered if r.status is Status.ERROR]
    if interrupted:
        verdict = "interrupted"
    elif failing:
        verdict = "broken"
    elif errors or not ordered:
        verdict = "undecided"
    else:
        verdict = "healthy"
    root = failing[0] if failing else None
    counts = {s.value: 0 for s in Status}
    for result in ordered:
        counts[result.status.value] += 1
    return {
        "verdict": verdict,
        "interrupted": interrupted,
        "symptom": _symptom(next((r for r in ordered if r.id == EVENT_FLOW), None)),
        "failing_links": [_link(r) for r in failing],
        "root_cause": None if root is None else {
            "id": root.id,
            "why": root.why,
            "title": root.title,
            "location": _first_location(root),
            "reasoning": _reasoning(root, ordered),
        },
        "undecided": [r.id for r in errors],
        "skipped": [{"id": r.id, "reason": r.summary} for r in ordered
                    if r.status is Status.SKIP],
        "counts": counts,
    }
