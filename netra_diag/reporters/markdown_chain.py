"""The markdown report's views of the whole chain: the Mermaid diagram and the checklist.

Both read the results in chain order and say nothing a check's own section says: the
diagram colours each link by its verdict, the checklist ticks each property that passed.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from netra_diag.analysis import chain_rank, why_label
from netra_diag.diagnosis import Diagnosis
from netra_diag.model import CheckResult, RunReport, Status

from .markdown_text import code_span, fence, md_inline

_STATUSES = {s.value for s in Status}

__all__ = ["checklist", "mermaid"]

_CLASS_DEFS = (
    "classDef pass fill:#d4edda,stroke:#2e7d32,color:#1b5e20",
    "classDef fail fill:#f8d7da,stroke:#c62828,color:#7f0000",
    "classDef error fill:#fff3cd,stroke:#f9a825,color:#6d4c00",
    "classDef skip fill:#e9ecef,stroke:#6c757d,color:#343a40",
)


def _meta(report: RunReport, result: CheckResult) -> dict[str, Any]:
    return report.checks.get(result.id) or {}


def _node(check_id: str) -> str:
    return "n_" + re.sub(r"\W", "_", check_id)


def _mermaid_label(result: CheckResult) -> str:
    text = why_label(result.why, result.title or result.id)
    for char, entity in (('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, entity)
    return f"{text}<br/>{result.status.value.upper()}"


#: WHY #5 guards the deprecated entry points: it is not a stage events pass through.
_GUARD_RANK = 5
_GUARDED_RANK = 1  # WHY #1: the deprecated entry points on the wiring path


def mermaid(report: RunReport, ordered: list[CheckResult]) -> list[str]:
    """The pipeline stages (WHY #1-#4) as a chain, the end-to-end checks after its last
    stage (or after the checks they depend on), and WHY #5 off the chain: a dotted link to
    the deprecated-entry check it guards (WHY #1)."""
    body = ["flowchart LR"]
    body += [f'    {_node(r.id)}["{_mermaid_label(r)}"]' for r in ordered]
    levels: dict[int, list[str]] = {}
    for r in ordered:
        if chain_rank(r.why) < _GUARD_RANK:
            levels.setdefault(chain_rank(r.why), []).append(r.id)
    ranks = sorted(levels)
    for before, after in itertools.pairwise(ranks):
        body += [f"    {_node(a)} --> {_node(b)}" for a in levels[before] for b in levels[after]]
    guarded = levels.get(_GUARDED_RANK, [])
    for r in ordered:
        if chain_rank(r.why) == _GUARD_RANK:
            body += [f"    {_node(r.id)} -. guards .-> {_node(g)}" for g in guarded]
    present = {r.id for r in ordered}
    last = levels[ranks[-1]] if ranks else []
    for r in ordered:
        if chain_rank(r.why) <= _GUARD_RANK:
            continue
        deps = [d for d in _meta(report, r).get("depends_on") or () if d in present]
        sources = deps or (last if chain_rank(r.why) == 6 else [])
        body += [f"    {_node(s)} --> {_node(r.id)}" for s in sources]
    for status in Status:
        ids = [_node(r.id) for r in ordered if r.status is status]
        if ids:
            body.append(f"    class {','.join(ids)} {status.value}")
    body += [f"    {line}" for line in _CLASS_DEFS]
    return ["## Causal Chain", "",
            "Green pass, red fail, amber could not decide, grey skipped; WHY #5 guards the "
            "deprecated entry points (dotted), it is not a stage.", "",
            fence("\n".join(body), "mermaid")]


def _state(status: str) -> str:
    """``PASS``, ``FAIL``, ... as in the results; ``not run`` as it is."""
    return status.upper() if status in _STATUSES else status


def checklist(report: RunReport, d: Diagnosis) -> list[str]:
    """One box per selected check, in chain order, with the criterion it declared (the
    diagnosis's ``checklist``), then one for the whole run."""
    passed = sum(1 for r in report.results if r.status is Status.PASS)
    all_pass = bool(report.results) and passed == len(report.results) and not report.interrupted
    lines = ["## Post-Fix Validation Checklist", ""]
    lines += [f"- [{'x' if item.ticked else ' '}] {md_inline(item.text)} "
              f"({code_span(item.id)}: {_state(item.status)})" for item in d.checklist]
    lines.append(f"- [{'x' if all_pass else ' '}] All checks pass ({passed}/{len(report.results)} "
                 "pass)")
    if report.interrupted:
        lines.append("- [ ] The run completed (it was interrupted: the results are incomplete)")
    return lines
