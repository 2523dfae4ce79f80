"""One defect, one owner: a check blocked by another check's defect says so.

A check that could not set up a step outside its own property (the target crashed there)
returns ``error`` with an ``observed`` evidence item whose ``data.blocked_at`` is the
crash's site (``path:line``), see ``checks._calling.set_up``. Once every result is in, this
module looks for the check that *owns* that defect: a failing check whose own located
finding (``location`` evidence) is that site. The blocked result becomes ``skip``, naming
the owner and its finding, so the defect is reported once, by the link it breaks. A set-up
crash that no failing check owns stays ``error`` (the tool could not find out).

Pure: results in, results out. It knows nothing of particular checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

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


def _owners(results: Sequence[CheckResult]) -> dict[str, CheckResult]:
    """Located findings of failing checks, by site (the first owner wins; a symptom-only
    check such as event-flow owns nothing: its locations are observations)."""
    owners: dict[str, CheckResult] = {}
    for result in results:
        if result.status is not Status.FAIL:
            continue
        for ev in result.evidence:
            if ev.kind == "location" and ev.file and ev.line:
                owners.setdefault(f"{ev.file}:{ev.line}", result)
    return owners


def mark_blocked(results: Sequence[CheckResult]) -> list[CheckResult]:
    """``results`` with each set-up error whose crash another failing check owns turned
    into ``skip`` ("blocked by <owner>")."""
    owners = _owners(results)
    out: list[CheckResult] = []
    for result in results:
        site = blocked_at(result) if result.status is Status.ERROR else None
        owner = owners.get(site) if site else None
        if owner is None or owner.id == result.id:
            out.append(result)
            continue
        note = Evidence("note", f"blocked: a set-up step crashed at {site}, the defect that "
                        f"{owner.id} reports ({owner.summary}); fix it there and re-run",
                        data={"blocked_by": owner.id, "blocked_at": site})
        out.append(replace(result, status=Status.SKIP,
                           summary=f"blocked by {owner.id}: the defect at {site} stops this "
                           "check's set-up",
                           evidence=(note, *result.evidence), fix=None))
    return out
