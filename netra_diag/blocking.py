"""One defect, one owner: a check blocked by another check's defect says so.

A check that could not set up a step outside its own property (the target crashed there)
returns ``error`` with an ``observed`` evidence item whose ``data.blocked_at`` is the
crash's site (``path:line``), see ``checks._calling.set_up``. Once every result is in, this
module looks for the check that *owns* that defect: a failing check whose own located
finding (``location`` evidence) is that site. The blocked result becomes ``skip``, naming
the owner and its finding, so the defect is reported once, by the link it breaks. A set-up
crash that no failing check owns stays ``error`` (the tool could not find out).

Pure: results in, results out. It works on findings (``CheckResult.findings``: sites and the
``crash`` mark as data), never on message text, and knows nothing of particular checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .finding import COROUTINE_FROM, Finding, crash_site
from .model import CheckResult, Evidence, Status

__all__ = ["RULES", "blocked_at", "mark_blocked"]

#: The harness/target boundary, as every check applies it (printed by ``explain``).
RULES = """\
How its statuses are decided (the harness and the target):
- fail: only on evidence about this check's own link, in your code's behaviour.
- error: a crash on an object netra-diag made (its recording connection, an invented
  argument, a user context it built), or a method it assumed by name that your code lacks;
  the message names the hook or profile key ('hooks:', 'methods.<key>', 'build.<...>') that
  supplies the real thing.
- skip "blocked by <check>": a set-up step outside this check's property crashed on a
  defect that <check> reports as its own (one defect, one owner); fix it there.
- Each check builds only what its own property needs."""


def blocked_at(result: CheckResult) -> str | None:
    """The site (``path:line``) of the set-up crash that stopped ``result``, if any."""
    for ev in result.evidence:
        if isinstance(ev.data, dict) and isinstance(ev.data.get("blocked_at"), str):
            return ev.data["blocked_at"]
    return None


def _made_at(result: CheckResult) -> list[str]:
    """Where a coroutine the crash used was made (``finding.COROUTINE_FROM``): the
    un-awaited call behind the crash, which another check may own."""
    return [ev.data[COROUTINE_FROM] for ev in result.evidence
            if isinstance(ev.data, dict) and isinstance(ev.data.get(COROUTINE_FROM), str)]


def _sites(result: CheckResult) -> list[Finding]:
    """A result's findings that locate a line (``location`` findings with a line)."""
    return [f for f in result.findings if f.kind == "location" and f.line]


def _owners(results: Sequence[CheckResult]) -> dict[str, CheckResult]:
    """Findings of failing checks, by site (the first owner wins). A crash's site (a finding
    marked ``crash``: where the target raised) is not a finding about the check's link: a
    check whose only located evidence is a crash owns nothing, and a symptom-only check
    locates nothing."""
    owners: dict[str, CheckResult] = {}
    for result in results:
        if result.status is Status.FAIL:
            for finding in _sites(result):
                if not finding.crash:
                    owners.setdefault(finding.location, result)
    return owners


def _crash_site(result: CheckResult) -> str | None:
    """The site of a failure that is only a crash: every located finding is a crash."""
    sites = _sites(result) if result.status is Status.FAIL else []
    if sites and all(f.crash for f in sites):
        return sites[0].location
    return None


def mark_blocked(results: Sequence[CheckResult],
                 checks: Mapping[str, Mapping[str, Any]] | None = None) -> list[CheckResult]:
    """``results`` with each check stopped by another check's defect turned into ``skip``
    ("blocked by <owner>"): a set-up error whose crash site another failing check locates,
    or a failure that is only a crash at such a site (the same defect, seen from a link
    that does not own it). A dependant skipped because "X (status)" did not pass follows
    X's new status: its declared ``depends_on`` (``checks``, a run report's metadata; every
    changed check when none is given) names X, the old status is known; nothing is parsed."""
    owners = _owners(results)
    out: list[CheckResult] = []
    for result in results:
        site = blocked_at(result) if result.status is Status.ERROR else _crash_site(result)
        owner = owners.get(site) if site else None
        if site and owner is None:  # the crash used a coroutine made by an owned defect
            site = next((made for made in _made_at(result) if made in owners), site)
            owner = owners.get(site)
        if owner is None or owner.id == result.id:
            out.append(result)
            continue
        note = Evidence("note", f"blocked: a step of this check crashed at {site}, the defect "
                        f"that {owner.id} reports ({owner.summary}); fix it there and re-run",
                        data={"blocked_by": owner.id, "blocked_at": site})
        kept = tuple(_unlocate(ev) for ev in result.evidence)
        out.append(replace(result, status=Status.SKIP,
                           summary=f"blocked by {owner.id}: the defect at {site} stops this "
                           "check's set-up", evidence=(note, *kept), fix=None))
    changed = {new.id: (old.status, new.status) for old, new in zip(results, out, strict=True)
               if old.status is not new.status}
    return [_follow_dependencies(r, changed, checks) for r in out]


def _unlocate(ev: Evidence) -> Evidence:
    """A blocked check's crash site is the owner's finding, not this check's: observed."""
    if ev.kind == "location" and crash_site(ev):
        return Evidence("observed", f"{ev.message} at {ev.location}", data=ev.data)
    return ev


def _follow_dependencies(result: CheckResult, changed: dict[str, tuple[Status, Status]],
                         checks: Mapping[str, Mapping[str, Any]] | None) -> CheckResult:
    """A skipped dependant's "X (fail)" said again with X's new status ("X (blocked)")."""
    if result.status is not Status.SKIP or not changed:
        return result
    declared = (checks.get(result.id) or {}).get("depends_on") if checks is not None else None
    summary = result.summary
    for dep in (declared or ()) if checks is not None else changed:
        if dep in changed:
            old, now = changed[dep]
            said = "blocked" if now is Status.SKIP else now.value
            summary = summary.replace(f"{dep} ({old.value})", f"{dep} ({said})", 1)
    return result if summary == result.summary else replace(result, summary=summary)
