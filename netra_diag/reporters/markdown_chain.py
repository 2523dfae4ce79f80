"""The markdown report's views of the whole chain: the Mermaid diagram and the checklist.

Both read the results in chain order and say nothing a check's own section says: the
diagram colours each link by its verdict, the checklist ticks each property that passed.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from netra_diag.analysis import EVENT_FLOW, chain_rank, event_delivery, why_label
from netra_diag.model import CheckResult, RunReport, Status

from .markdown_text import code_span, fence

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
_GUARDED_RANK = 1  # import-chain: the deprecated entry points on the wiring path


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


def _box(report: RunReport, check_id: str, text: str) -> str:
    result = report.result(check_id)
    ticked = "x" if result is not None and result.status is Status.PASS else " "
    state = result.status.value.upper() if result else "not run"
    return f"- [{ticked}] {text} ({code_span(check_id)}: {state})"


def _latency_text(report: RunReport) -> str:
    result = report.result("event-latency")
    for ev in result.evidence if result else ():
        if ev.kind == "latency" and isinstance(ev.data, dict) and "budget_ms" in ev.data:
            return f"Event latency within the {ev.data['budget_ms']} ms budget"
    return "Event latency within budget"


def checklist(report: RunReport) -> list[str]:
    """One box per built-in check, in chain order (like the hand-written checklist), then
    one for the whole run."""
    flow = report.result(EVENT_FLOW)
    delivery = event_delivery(flow) if flow else None
    events = f"All {delivery[1]} critical events" if delivery else "All critical events"
    notify = (f"all {delivery[1]} critical notify methods" if delivery
              else "a notify method for every critical event")
    passed = sum(1 for r in report.results if r.status is Status.PASS)
    all_pass = bool(report.results) and passed == len(report.results) and not report.interrupted
    items = {
        "import-chain": "No deprecated entry point on the production path (per-user factory "
                        "instead of the singleton)",
        "emitter-methods": f"User emitter created (awaited) with {notify}, each emitting "
                           "its event",
        "registry-wiring": "Agent registry builds and wires the WebSocket bridge to every "
                           "agent it hands out",
        "engine-factory": "Execution engines built only per user, each with its user's emitter",
        "deprecation-warnings": "Every deprecated entry point warns and names its replacement",
        EVENT_FLOW: f"{events} delivered end to end, in order",
        "user-isolation": "No cross-user event leakage",
        "event-latency": _latency_text(report),
    }
    lines = ["## Post-Fix Validation Checklist", ""]
    lines += [_box(report, check_id, text) for check_id, text in items.items()]
    lines.append(f"- [{'x' if all_pass else ' '}] All checks pass ({passed}/{len(report.results)} "
                 "pass)")
    if report.interrupted:
        lines.append("- [ ] The run completed (it was interrupted: the results are incomplete)")
    return lines
