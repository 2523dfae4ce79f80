"""The diagnosis: what a run's results mean along the Five Whys chain.

This module owns the reading of results as a causal chain: the chain order (WHY #1..#5,
then the end-to-end checks, then anything else), the symptom (derived from ``event-flow``),
the failing links, the root-cause candidate and which checks could not decide. It is pure:
results in, JSON-able data out, no I/O and no fixed prose that could disagree with the
results. It must not know about checks' code, faults or reporters.

The root-cause candidate (``root_cause``) is the earliest failing link: the first to fix,
not the cause of everything. One defect, one owner (README "The harness and the target"):
a check fails only on a finding of its own link; a check whose set-up another link's defect
broke is ``skip`` ("blocked by", see ``blocking``), never ``fail``. So the diagnosis counts
distinct root causes (``root_causes``: failing checks that share a located finding are one
cause), and its reasoning never claims independent fixes for failures that share one; the
symptom comes from ``event-flow`` and the other failing end-to-end checks.
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
    "in_process",
    "missing_events",
    "why_label",
    "why_tag",
]

#: The built-in checks in chain order (contract ids: docs/architecture.md).
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


def in_process(result: CheckResult) -> bool:
    """True when ``event-flow`` ran in-process: its events evidence says the wire was not
    exercised (``wire: false``), or its summary says so."""
    data = _events_data(result)
    if data is not None and data.get("wire") is False:
        return True
    return "in-process" in result.summary


def _latency_phrase(result: CheckResult) -> str:
    for ev in result.evidence:
        data = ev.data if isinstance(ev.data, dict) else {}
        if "p95_ms" in data and "budget_ms" in data:
            try:
                p95, budget = float(data["p95_ms"]), float(data["budget_ms"])
            except (TypeError, ValueError):
                break
            return (f"arrive late ({result.id}: p95 {p95:.1f} ms over the {budget:g} ms "
                    "budget)")
    return f"arrive late ({result.id}: {result.summary})"


def _e2e_phrase(result: CheckResult) -> str:
    if result.id == "user-isolation":
        return f"leak to other users ({result.id})"
    if result.id == "event-latency":
        return _latency_phrase(result)
    return f"fail {result.title or result.id} ({result.id}: {result.summary})"


def _and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _symptom_checks(ordered: Sequence[CheckResult]) -> list[CheckResult]:
    """The failing end-to-end checks other than ``event-flow``: they describe the symptom."""
    return [r for r in ordered if r.status is Status.FAIL and chain_rank(r.why) == _E2E_RANK
            and r.id != EVENT_FLOW]


def _symptom(ordered: Sequence[CheckResult]) -> str | None:
    flow = next((r for r in ordered if r.id == EVENT_FLOW), None)
    others = _symptom_checks(ordered)
    tail = f"{_and([_e2e_phrase(r) for r in others])}" if others else ""
    if flow is None:
        return f"events {tail}" if tail else None
    delivery = event_delivery(flow)
    local = in_process(flow)
    reached = ("were emitted to the user's connection (in-process, the wire was not "
               "exercised)" if local else "reached the client")
    if flow.status is Status.PASS:
        if tail:
            what = "events emitted (in-process, the wire was not exercised)" if local \
                else "events delivered"
            return f"{what}, but they {tail}"
        if delivery and delivery[0] == delivery[1]:
            if local:
                return f"all {delivery[1]} critical events {reached}"
            return f"all {delivery[1]} critical events delivered"
        return f"event flow passes: {flow.summary}"
    if flow.status is Status.FAIL:
        if delivery and delivery[0] < delivery[1]:
            text = f"{delivery[0]}/{delivery[1]} critical events {reached}"
        else:
            text = f"event flow fails: {flow.summary}"
        return f"{text}; events also {tail}" if tail else text
    if flow.status is Status.ERROR:
        text = f"event flow could not be evaluated: {flow.summary}"
    else:
        text = f"event flow not checked: {flow.summary}"
    return f"{text}; events {tail}" if tail else text


def _link(result: CheckResult) -> dict[str, Any]:
    return {"id": result.id, "why": result.why, "title": result.title, "summary": result.summary}


def _name(result: CheckResult) -> str:
    return why_tag(result.why) if chain_rank(result.why) <= 5 else result.title or result.id


def _first_location(result: CheckResult) -> str | None:
    located = [ev for ev in result.evidence if ev.file]
    preferred = [ev for ev in located if ev.kind == "location"] or located
    return preferred[0].location if preferred else None


def _ref(result: CheckResult) -> str:
    return (f"{why_tag(result.why)} ({result.id})" if chain_rank(result.why) <= 5
            else result.id)


def _reasoning(root: CheckResult, ordered: Sequence[CheckResult]) -> str:
    """Why ``root`` is the first to fix, and what the other failures mean. The checks are
    independent (each judges its own link on its own evidence), so several failing links
    usually mean several defects: never claim that later failures follow from ``root``."""
    rank = chain_rank(root.why)
    # the location is ``root_cause.location``, shown by the reporters next to the link: not
    # repeated here (the summary may name a different line of its own)
    head = f"{_name(root)} fails: {root.summary}"
    failing = [r for r in ordered if r.status is Status.FAIL]
    later_links = [r for r in failing if r is not root and chain_rank(r.why) <= 5]
    e2e = [r for r in failing if r is not root and chain_rank(r.why) == _E2E_RANK]
    symptom = _symptom_checks(ordered)
    if rank <= 5:
        parts = [head, "it is the earliest failing link of the chain, so it is the first to fix"]
        if later_links:
            causes = root_causes(ordered)
            names = _and([_ref(r) for r in later_links])
            many = len(later_links) > 1
            shared = [r for r in later_links if any(root.id in c["ids"] and r.id in c["ids"]
                                                    for c in causes)]
            if shared:
                parts.append(f"{_and([_ref(r) for r in shared])} "
                             f"fail{'' if len(shared) > 1 else 's'} at the same location: "
                             "one defect, one fix")
            own = [r for r in later_links if r not in shared]
            if own:
                many = len(own) > 1
                names = _and([_ref(r) for r in own])
                parts.append(f"the later link{'s' if many else ''} {names} "
                             f"failed on {'findings' if many else 'a finding'} of "
                             f"{'their' if many else 'its'} own")
            parts.append(f"{len(causes)} distinct root cause{'s' * (len(causes) != 1)} "
                         "in all")
        if symptom:
            many = len(symptom) > 1
            links = [root, *later_links]
            parts.append(f"the symptom is described by the failing end-to-end "
                         f"check{'s' if many else ''} {_and([r.id for r in symptom])}; the "
                         f"failing link{'s' if len(links) > 1 else ''} "
                         f"{_and([_ref(r) for r in links])} may explain part of it, not as a "
                         f"single cause: {'they were' if many else 'it was'} judged on "
                         f"{'their' if many else 'its'} own evidence and may need "
                         f"{'fixes' if many else 'a fix'} of {'their' if many else 'its'} own")
        watched = [r.id for r in e2e]
        fixed = "them" if later_links else "it"
        if watched:
            verb = "does" if len(watched) == 1 else "do"
            parts.append(f"only after fixing {fixed} {verb} {_and(watched)} show what remains")
        elif later_links:
            parts.append(f"re-run after fixing {fixed} to see what remains")
        else:
            parts.append("no later link fails")
        text = "; ".join(parts)
    else:
        run_whys = {r.why for r in ordered if chain_rank(r.why) <= 5}
        text = f"{head}; no link WHY #1-#5 fails"
        absent = [f"#{n}" for n in range(1, 6) if n not in run_whys]
        if absent:
            text += f" (WHY {', '.join(absent)} not run)"
        text += ", so the cause lies outside what the five whys check"
        others = [r for r in failing if r is not root]
        if others:
            many = len(others) > 1
            text += (f"; {_and([r.id for r in others])} also failed on "
                     f"{'their' if many else 'its'} own evidence and "
                     f"need{'' if many else 's'} {'their' if many else 'its'} own fix")
    earlier_errors = [r for r in ordered if r.status is Status.ERROR
                      and chain_rank(r.why) <= rank and r is not root]
    if earlier_errors:
        ids = ", ".join(r.id for r in earlier_errors)
        text += f"; {ids} could not be evaluated, so an earlier cause is not excluded"
    return text + "."


def _blocked_by(result: CheckResult) -> str | None:
    for ev in result.evidence:
        if isinstance(ev.data, dict) and isinstance(ev.data.get("blocked_by"), str):
            return ev.data["blocked_by"]
    return None


def root_causes(ordered: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """The distinct root causes among the failing checks: each failing check that locates
    a finding of its own (``location`` evidence), or is a link WHY #1-#5, is a cause; checks
    whose first located finding is the same site share one cause (one defect, one fix).
    ``{ids, location}`` in chain order. Symptom-only checks (no finding located, off the
    five whys) are not causes."""
    causes: list[dict[str, Any]] = []
    by_site: dict[str, dict[str, Any]] = {}
    for result in ordered:
        if result.status is not Status.FAIL or result.id == EVENT_FLOW:
            continue
        site = _first_location(result)
        located = any(ev.kind == "location" and ev.file for ev in result.evidence)
        if not located and chain_rank(result.why) > 5:
            continue
        if site is not None and site in by_site:
            by_site[site]["ids"].append(result.id)
            continue
        cause = {"ids": [result.id], "location": site}
        causes.append(cause)
        if site is not None:
            by_site[site] = cause
    return causes


def diagnose(results: Sequence[CheckResult], *, interrupted: bool = False) -> dict[str, Any]:
    """The diagnosis of a run, as JSON-able data (stored in ``RunReport.diagnosis``).

    Keys: ``verdict`` (``interrupted``: the run was stopped before every check finished, so
    whatever the finished checks show, the diagnosis is incomplete and health not proven;
    otherwise ``broken``: a fail; ``undecided``: errors but no fail, or nothing ran;
    ``healthy``: no fail and no error, at least one result), ``interrupted``, ``symptom`` (from
    ``event-flow`` and the other failing end-to-end checks; ``None`` when none of them ran),
    ``symptom_checks`` (ids of the failing end-to-end checks other than ``event-flow``),
    ``failing_links`` (``{id, why, title, summary}`` in chain order), ``root_cause`` (the
    earliest failing link, the first to fix: ``{id, why, title, location, reasoning}`` or
    ``None``), ``root_causes`` (``{ids, location}``: distinct causes, see ``root_causes``),
    ``blocked`` (``{id, by}``: checks blocked by another check's defect), ``undecided`` (ids
    with ``error``), ``skipped`` (``{id, reason}``) and
    ``counts``. Every word is derived from the results.
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
        "symptom": _symptom(ordered),
        "symptom_checks": [r.id for r in _symptom_checks(ordered)],
        "failing_links": [_link(r) for r in failing],
        "root_cause": None if root is None else {
            "id": root.id,
            "why": root.why,
            "title": root.title,
            "location": _first_location(root),
            "reasoning": _reasoning(root, ordered),
        },
        "root_causes": root_causes(ordered),
        "blocked": [{"id": r.id, "by": by} for r in ordered
                    if (by := _blocked_by(r)) is not None],
        "undecided": [r.id for r in errors],
        "skipped": [{"id": r.id, "reason": r.summary} for r in ordered
                    if r.status is Status.SKIP],
        "counts": counts,
    }
