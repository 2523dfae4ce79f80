"""Before/after: how a run's verdicts changed against a baseline run.

``compare(baseline, current)`` sorts every check id into exactly one bucket:

* ``fixed``: was fail/error, now pass;
* ``regressed``: was pass/skip, now fail/error;
* ``still_failing``: fail/error in both;
* ``new``: absent from the baseline; ``removed``: absent from the current run;
* ``other``: in both and none of the above (pass->pass, skip->pass, fail->skip, ...).

Within a check, the findings are compared by their stable ids (``CheckResult.findings``),
never by their text: ``gone`` were in the baseline only, ``added`` are in the current run
only, so a check still failing on other defects says so.

Renders as a markdown section (used by the markdown report) and as short text (terminal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from netra_diag.analysis import chain_order, why_label
from netra_diag.model import CheckResult, RunReport, Status, Why

from .markdown_text import md_inline

__all__ = ["Change", "Comparison", "compare"]

_BAD = (Status.FAIL, Status.ERROR)
_GOOD = (Status.PASS, Status.SKIP)


@dataclass(frozen=True)
class Change:
    """One check's verdict before and after (``None`` where the run lacks it)."""

    id: str
    why: Why
    title: str
    before: Status | None
    after: Status | None
    summary: str
    #: ids of the findings in the baseline only (fixed) and in the current run only (new)
    gone: tuple[str, ...] = ()
    added: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return why_label(self.why, self.title)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "why": self.why, "title": self.title,
                "before": self.before.value if self.before else None,
                "after": self.after.value if self.after else None, "summary": self.summary,
                "findings_gone": list(self.gone), "findings_added": list(self.added)}


@dataclass(frozen=True)
class Comparison:
    """Every check of either run in one bucket (see the module docstring)."""

    baseline_label: str
    current_label: str
    fixed: tuple[Change, ...] = ()
    regressed: tuple[Change, ...] = ()
    still_failing: tuple[Change, ...] = ()
    new: tuple[Change, ...] = ()
    removed: tuple[Change, ...] = ()
    other: tuple[Change, ...] = ()

    BUCKETS = ("regressed", "still_failing", "fixed", "new", "removed", "other")

    @property
    def improved(self) -> bool:
        """Something was fixed and nothing regressed."""
        return bool(self.fixed) and not self.regressed

    def buckets(self) -> list[tuple[str, tuple[Change, ...]]]:
        return [(name, getattr(self, name)) for name in self.BUCKETS]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"baseline": self.baseline_label, "current": self.current_label}
        out.update({name: [c.to_dict() for c in changes] for name, changes in self.buckets()})
        return out

    def headline(self) -> str:
        return (f"fixed {len(self.fixed)}, regressed {len(self.regressed)}, still failing "
                f"{len(self.still_failing)}, new {len(self.new)}, removed {len(self.removed)}")

    def to_text(self) -> str:
        """A few lines for the terminal."""
        lines = [f"baseline: {self.baseline_label}", f"current:  {self.current_label}",
                 self.headline()]
        for name, changes in self.buckets():
            if name == "other":
                continue
            for change in changes:
                moved = (f" ({len(change.gone)} finding(s) gone, {len(change.added)} new)"
                         if name == "still_failing" and (change.gone or change.added) else "")
                lines.append(f"  {name.replace('_', ' '):<14} {change.id}: "
                             f"{_status(change.before)} -> {_status(change.after)}{moved}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """A markdown section body: the runs compared, a headline and a table of every check."""
        lines = [f"- **Baseline:** {_cell(self.baseline_label)}",
                 f"- **Current:** {_cell(self.current_label)}", "",
                 f"**{self.headline().capitalize()}.**", "",
                 "| change | check | before | after | now |",
                 "| --- | --- | --- | --- | --- |"]
        for name, changes in self.buckets():
            for change in changes:
                kind = name.replace("_", " ")
                if name == "other":
                    kind = "unchanged" if change.before is change.after else "changed"
                lines.append(
                    f"| {kind} | {_cell(change.label)} (`{change.id}`) | "
                    f"{_status(change.before)} | {_status(change.after)} | "
                    f"{_cell(change.summary)} |")
        return "\n".join(lines) + "\n"


def _status(status: Status | None) -> str:
    return status.value.upper() if status else "-"


def _cell(text: str) -> str:
    """Text safe inside a GFM table cell: inline-safe, and every pipe escaped (GFM splits
    cells on a pipe even inside a code span, unless it is backslash-escaped)."""
    return re.sub(r"(?<!\\)\|", r"\\|", md_inline(text))


def _label(report: RunReport) -> str:
    faults = ", ".join(str(f) for f in report.target.get("faults") or ()) or "no faults"
    if not (report.target.get("builtin") or report.target.get("faults")):
        return f"{report.target.get('name', 'target')} at {report.started_at}"  # not the reference
    return f"{report.target.get('name', 'target')} ({faults}) at {report.started_at}"


def _change(before: CheckResult | None, after: CheckResult | None) -> Change:
    ref = after or before
    assert ref is not None
    old = [f.id for f in before.findings] if before else []
    now = [f.id for f in after.findings] if after else []
    return Change(ref.id, ref.why, ref.title, before.status if before else None,
                  after.status if after else None, ref.summary,
                  tuple(i for i in old if i not in now), tuple(i for i in now if i not in old))


def compare(baseline: RunReport, current: RunReport) -> Comparison:
    """Sort every check of either run into one bucket, in chain order."""
    old = {r.id: r for r in baseline.results}
    now = {r.id: r for r in current.results}
    buckets: dict[str, list[Change]] = {name: [] for name in Comparison.BUCKETS}
    everything = chain_order([*current.results, *(r for r in baseline.results
                                                  if r.id not in now)],
                             {**baseline.checks, **current.checks})
    for result in everything:
        before, after = old.get(result.id), now.get(result.id)
        change = _change(before, after)
        if before is None:
            buckets["new"].append(change)
        elif after is None:
            buckets["removed"].append(change)
        elif before.status in _BAD and after.status is Status.PASS:
            buckets["fixed"].append(change)
        elif before.status in _GOOD and after.status in _BAD:
            buckets["regressed"].append(change)
        elif before.status in _BAD and after.status in _BAD:
            buckets["still_failing"].append(change)
        else:
            buckets["other"].append(change)
    return Comparison(_label(baseline), _label(current),
                      **{name: tuple(changes) for name, changes in buckets.items()})
