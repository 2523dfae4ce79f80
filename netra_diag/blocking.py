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

import re
from collections.abc import Sequence
from dataclasses import replace

from .finding import Finding, crash_site
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


_DEPENDS_RE = re.compile(r"^depends on (\S+) \((\w+)\)")


def mark_blocked(results: Sequence[CheckResult]) -> list[CheckResult]:
    """``results`` with each check stopped by another check's defect turned into ``skip``
    ("blocked by <owner>"): a set-up error whose crash site another failing check locates,
    or a failure that is only a crash at such a site (the same defect, seen from a link
    that does not own it). Dependents' "depends on X (status)" follows the new status."""
    owners = _owners(results)
    out: list[CheckResult] = []
    for result in results:
        site = blocked_at(result) if result.status is Status.ERROR else _crash_site(result)
        owner = owners.get(site) if site else None
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
    status = {r.id: r.status for r in out}
    return [_follow_dependency(r, status) for r in out]


def _unlocate(ev: Evidence) -> Evidence:
    """A blocked check's crash site is the owner's finding, not this check's: observed."""
    if ev.kind == "location" and crash_site(ev):
        return Evidence("observed", f"{ev.message} at {ev.location}", data=ev.data)
    return ev


def _follow_dependency(result: CheckResult, status: dict[str, Status]) -> CheckResult:
    match = _DEPENDS_RE.match(result.summary) if result.status is Status.SKIP else None
    if match is None or match.group(1) not in status:
        return result
    now = status[match.group(1)].value
    if now == match.group(2):
        return result
    said = "blocked" if now == "skip" else now
    return replace(result, summary=result.summary.replace(f"({match.group(2)})",
                                                          f"({said})", 1))
