"""The diagnosis: what a run's results mean along the Five Whys chain.

This module owns the reading of results as a causal chain: the chain order (WHY #1..#5,
then the end-to-end checks, then anything else; within a level, each check's declared
``order``), the symptom, the failing links, the root-cause candidate, which checks could
not decide, and the post-fix checklist. It is pure: results and the checks' metadata (what
``@check`` declared, as ``RunReport.checks`` carries it) in, a ``Diagnosis`` out, no I/O and
no fixed prose that could disagree with the results. It names no particular check: every
check-specific phrase is declared by the check itself (``netra_diag.phrasing``).

The root-cause candidate (``root_cause``) is the earliest failing link: the first to fix,
not the cause of everything. One defect, one owner (README "The harness and the target"):
a check fails only on a finding of its own link; a check whose set-up another link's defect
broke is ``skip`` ("blocked by", see ``blocking``), never ``fail``. So the diagnosis counts
distinct root causes (``root_causes``: failing checks that share a located finding are one
cause), and its reasoning never claims independent fixes for failures that share one. The
symptom comes from the check that describes it (it declares a ``pass`` symptom phrase) and
the other failing end-to-end checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from .diagnosis import (
    Blocked,
    Cause,
    Caveat,
    ChecklistItem,
    Diagnosis,
    Link,
    RootCause,
    Skipped,
)
from .model import CheckResult, Status, Why
from .phrasing import fields_of, guard_holds, render
from .registry import UNORDERED

__all__ = [
    "chain_order",
    "chain_rank",
    "diagnose",
    "why_label",
    "why_tag",
]

_E2E_RANK = 6
_OTHER_RANK = 7
Meta = Mapping[str, Mapping[str, Any]]
T = TypeVar("T")


def chain_rank(why: Why) -> int:
    """1..5 for the five whys, 6 for ``"e2e"``, 7 for anything else."""
    if isinstance(why, int) and not isinstance(why, bool) and 1 <= why <= 5:
        return why
    return _E2E_RANK if why == "e2e" else _OTHER_RANK


def _as_order(order: Any) -> int:
    return order if isinstance(order, int) and not isinstance(order, bool) else UNORDERED


def _declared_order(item: Any, checks: Meta) -> int:
    return _as_order(getattr(item, "order", None) if hasattr(item, "order") else
                     (checks.get(item.id) or {}).get("order"))


def chain_order(items: Iterable[T], checks: Meta | None = None) -> list[T]:
    """Results (or specs) along the chain, independent of the order in which checks
    finished: by level (``why``), then by each check's declared ``order`` (a spec's own, or
    ``checks[id]["order"]`` for a result), then by id."""
    meta = checks or {}
    return sorted(items, key=lambda item: (chain_rank(item.why),  # type: ignore[attr-defined]
                                           _declared_order(item, meta),
                                           item.id))  # type: ignore[attr-defined]


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


def _and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _symptom_source(ordered: Sequence[CheckResult], checks: Meta) -> CheckResult | None:
    """The check that describes the symptom whatever its status (it declares a ``pass``
    symptom phrase): the first such check along the chain."""
    return next((r for r in ordered if "pass" in _symptoms(checks, r.id)), None)


def _symptoms(checks: Meta, check_id: str) -> Mapping[str, Sequence[str]]:
    declared = (checks.get(check_id) or {}).get("symptom")
    return declared if isinstance(declared, dict) else {}


def _symptom_checks(ordered: Sequence[CheckResult], checks: Meta) -> list[CheckResult]:
    """The failing end-to-end checks other than the symptom's source: they describe it too."""
    source = _symptom_source(ordered, checks)
    return [r for r in ordered if r.status is Status.FAIL and chain_rank(r.why) == _E2E_RANK
            and r is not source]


def _phrase(result: CheckResult, checks: Meta) -> str:
    """How a failing end-to-end check describes the symptom (its declared ``fail`` phrase)."""
    said = render(_symptoms(checks, result.id).get("fail") or (), fields_of(result))
    return said or f"fail {result.title or result.id} ({result.id}: {result.summary})"


def _symptom(ordered: Sequence[CheckResult], checks: Meta) -> str | None:
    source = _symptom_source(ordered, checks)
    others = _symptom_checks(ordered, checks)
    tail = _and([_phrase(r, checks) for r in others]) if others else ""
    if source is None:
        return f"events {tail}" if tail else None
    phrases = _symptoms(checks, source.id)
    fields = fields_of(source)
    status = source.status.value
    alone = render(phrases.get(status) or (), fields) or f"{source.id}: {source.summary}"
    if not tail:
        return alone
    joined = render(phrases.get(f"{status}+others") or (),
                    {**fields, "symptom": alone, "others": tail})
    return joined or f"{alone}; events {tail}"


def _name(result: CheckResult) -> str:
    return why_tag(result.why) if chain_rank(result.why) <= 5 else result.title or result.id


def _first_location(result: CheckResult) -> str | None:
    located = [ev for ev in result.evidence if ev.file]
    preferred = [ev for ev in located if ev.kind == "location"] or located
    return preferred[0].location if preferred else None


def _ref(result: CheckResult) -> str:
    return (f"{why_tag(result.why)} ({result.id})" if chain_rank(result.why) <= 5
            else result.id)


def _reasoning(root: CheckResult, ordered: Sequence[CheckResult], checks: Meta) -> str:
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
    symptom = _symptom_checks(ordered, checks)
    if rank <= 5:
        parts = [head, "it is the earliest failing link of the chain, so it is the first to fix"]
        if later_links:
            causes = root_causes(ordered, checks)
            names = _and([_ref(r) for r in later_links])
            many = len(later_links) > 1
            shared = [r for r in later_links if any(root.id in c.ids and r.id in c.ids
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


def root_causes(ordered: Sequence[CheckResult], checks: Meta | None = None) -> list[Cause]:
    """The distinct root causes among the failing checks: each failing check that locates
    a finding of its own (``location`` evidence), or is a link WHY #1-#5, is a cause; checks
    whose first located finding is the same site share one cause (one defect, one fix), and
    the cause lists the ids of their findings there. In chain order. Symptom-only checks (the
    symptom's source; no finding located, off the five whys) are not causes."""
    meta = checks or {}
    source = _symptom_source(ordered, meta)
    causes: list[Cause] = []
    by_site: dict[str, int] = {}
    for result in ordered:
        if result.status is not Status.FAIL or result is source:
            continue
        site = _first_location(result)
        located = any(ev.kind == "location" and ev.file for ev in result.evidence)
        if not located and chain_rank(result.why) > 5:
            continue
        found = tuple(f.id for f in result.findings if f.location == site)
        if site is not None and site in by_site:
            known = causes[by_site[site]]
            causes[by_site[site]] = Cause((*known.ids, result.id), site, (*known.findings, *found))
            continue
        if site is not None:
            by_site[site] = len(causes)
        causes.append(Cause((result.id,), site, found))
    return causes


def _checklist(ordered: Sequence[CheckResult], checks: Meta) -> list[ChecklistItem]:
    """One box per selected check (``checks``; the results' own ids for a run that carries
    no metadata), in chain order: its declared criterion (else its title) and its status."""
    by_id = {r.id: r for r in ordered}
    ids = list(checks) or list(by_id)
    rows = []
    for check_id in ids:
        meta = checks.get(check_id) or {}
        result = by_id.get(check_id)
        title = str(meta.get("title") or (result.title if result else "") or check_id)
        fields = fields_of(result) if result else {"id": check_id, "title": title}
        text = render(meta.get("criterion") or (), fields) or title
        why = result.why if result else meta.get("why")
        key = (chain_rank(why), _as_order(meta.get("order")), check_id)
        rows.append((key, ChecklistItem(check_id, text,
                                        result.status.value if result else "not run")))
    return [item for _, item in sorted(rows, key=lambda pair: pair[0])]


def _critical(ordered: Sequence[CheckResult], checks: Meta) -> list[str]:
    """Failing checks whose declared ``critical`` guard holds on their own evidence."""
    out = []
    for result in ordered:
        guard = (checks.get(result.id) or {}).get("critical")
        if result.status is Status.FAIL and isinstance(guard, str) and \
                guard_holds(guard, fields_of(result)):
            out.append(result.id)
    return out


def _caveats(ordered: Sequence[CheckResult], checks: Meta, broken: bool) -> list[Caveat]:
    """Passing checks' declared caveats, while the chain is broken."""
    if not broken:
        return []
    return [Caveat(r.id, r.why, r.title, str(text)) for r in ordered
            if r.status is Status.PASS and (text := (checks.get(r.id) or {}).get("caveat"))]


def _headlines(ordered: Sequence[CheckResult], checks: Meta) -> dict[str, str]:
    out = {}
    for result in ordered:
        text = render((checks.get(result.id) or {}).get("headline") or (), fields_of(result))
        if text:
            out[result.id] = text
    return out


def diagnose(results: Sequence[CheckResult], *, checks: Meta | None = None,
             interrupted: bool = False) -> Diagnosis:
    """The diagnosis of a run (stored in ``RunReport.diagnosis``), from its results and what
    each check declared (``checks``: ``RunReport.checks``, keyed by id).

    ``verdict``: ``interrupted`` (the run was stopped before every check finished, so
    whatever the finished checks show, the diagnosis is incomplete and health not proven),
    else ``broken`` (a fail), ``undecided`` (errors but no fail, or nothing ran) or
    ``healthy`` (no fail and no error, at least one result). ``symptom``: from the check
    that describes it and the other failing end-to-end checks (``None`` when none of them
    ran); ``symptom_checks``: ids of those other checks; ``failing_links`` in chain order;
    ``root_cause``: the earliest failing link, the first to fix; ``root_causes``: distinct
    causes with their owner checks and findings (see ``root_causes``); ``blocked``: checks
    blocked by another check's defect; ``undecided`` (ids with ``error``); ``skipped``;
    ``counts``; ``checklist``, ``critical``, ``caveats`` and ``headlines`` from the
    checks' declarations. Every word is derived from the results.
    """
    meta = checks or {}
    ordered = chain_order(results, meta)
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
    return Diagnosis(
        verdict=verdict,
        interrupted=interrupted,
        symptom=_symptom(ordered, meta),
        symptom_checks=tuple(r.id for r in _symptom_checks(ordered, meta)),
        failing_links=tuple(Link(r.id, r.why, r.title, r.summary) for r in failing),
        root_cause=None if root is None else RootCause(
            root.id, root.why, root.title, _first_location(root),
            _reasoning(root, ordered, meta)),
        root_causes=tuple(root_causes(ordered, meta)),
        blocked=tuple(Blocked(r.id, by) for r in ordered
                      if (by := _blocked_by(r)) is not None),
        undecided=tuple(r.id for r in errors),
        skipped=tuple(Skipped(r.id, r.summary) for r in ordered if r.status is Status.SKIP),
        counts=counts,
        checklist=tuple(_checklist(ordered, meta)),
        critical=tuple(_critical(ordered, meta)),
        caveats=tuple(_caveats(ordered, meta, bool(failing))),
        headlines=_headlines(ordered, meta),
    )
