"""The ``markdown`` format: the incident report, in the shape of the hand-written one.

Sections, in order: title and header (date, severity, target, status), Executive Summary,
Evidence-Based Root Cause Analysis (a results block in the incident's style, then one
section per check along the chain), Causal Chain (a Mermaid flowchart coloured by verdict),
Fix Plan, Success Criteria, Post-Fix Validation Checklist, Before/After (with a baseline),
Environment and Reproduction, Conclusion.

Every sentence is derived from the ``RunReport`` (the diagnosis is recomputed from the
results, so it cannot disagree with them): no fixed verdicts, no current time, no
randomness; the same report renders to the same text. Text from the target is escaped (or
fenced) so it cannot break the document.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
import shlex
from typing import Any

from netra_diag.analysis import (
    EVENT_FLOW,
    chain_order,
    chain_rank,
    diagnose,
    event_delivery,
    why_label,
)
from netra_diag.model import CheckResult, Evidence, RunReport, Status

from . import evidence_text, located_evidence, located_text, shown_evidence, strip_controls

__all__ = ["code_span", "fence", "md_inline", "render_markdown", "severity"]

_MARK = {Status.PASS: "✅", Status.FAIL: "❌", Status.ERROR: "⚠️", Status.SKIP: "⏭️"}
_CLASS_DEFS = (
    "classDef pass fill:#d4edda,stroke:#2e7d32,color:#1b5e20",
    "classDef fail fill:#f8d7da,stroke:#c62828,color:#7f0000",
    "classDef error fill:#fff3cd,stroke:#f9a825,color:#6d4c00",
    "classDef skip fill:#e9ecef,stroke:#6c757d,color:#343a40",
)
_ESCAPED = "\\`*[]<>|&~"
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_LONE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


# -- markdown primitives -----------------------------------------------------------------

def _escape(text: str) -> str:
    for char in _ESCAPED:
        text = text.replace(char, "\\" + char)
    return _LONE_UNDERSCORE.sub(r"\\_", text)


def md_inline(text: str) -> str:
    """Text made safe inline: one line, markup characters backslash-escaped, except inside
    balanced code spans, which are kept as they are (nothing is interpreted in them)."""
    out = " ".join(strip_controls(str(text)).split())
    parts, pos = [], 0
    for match in _CODE_SPAN.finditer(out):
        parts += [_escape(out[pos:match.start()]), match.group(0)]
        pos = match.end()
    parts.append(_escape(out[pos:]))
    return "".join(parts)


def code_span(text: str) -> str:
    """``text`` as an inline code span, whatever backticks it contains."""
    text = " ".join(strip_controls(str(text)).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(body: str, lang: str = "") -> str:
    """``body`` in a fenced code block longer than any backtick run inside it."""
    body = strip_controls(body)
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{body.rstrip(chr(10))}\n{ticks}"


# -- derived facts -----------------------------------------------------------------------

def severity(report: RunReport) -> str:
    """CRITICAL when no critical event reaches the client or events leak across users; HIGH
    for any other failure; MEDIUM when checks could not decide; NONE when healthy. An
    interrupted run without a failure so far is UNKNOWN (never NONE), and every level of an
    interrupted run says so."""
    statuses = {r.status for r in report.results}
    if Status.FAIL in statuses:
        flow = report.result(EVENT_FLOW)
        delivery = event_delivery(flow) if flow and flow.status is Status.FAIL else None
        isolation = report.result("user-isolation")
        critical = (delivery and delivery[0] == 0) or (
            isolation is not None and isolation.status is Status.FAIL)
        level = "CRITICAL" if critical else "HIGH"
    elif report.interrupted:
        level = "UNKNOWN"
    elif Status.ERROR in statuses or not report.results:
        level = "MEDIUM"
    else:
        level = "NONE"
    return f"{level} (run interrupted: incomplete)" if report.interrupted else level


def _date(started_at: str) -> str:
    try:
        return _dt.datetime.fromisoformat(started_at).date().isoformat()
    except ValueError:
        return started_at or "unknown"


def _meta(report: RunReport, result: CheckResult) -> dict[str, Any]:
    return report.checks.get(result.id) or {}


def _property(report: RunReport, result: CheckResult) -> str:
    explain = str(_meta(report, result).get("explain") or "").strip()
    first = explain.split("\n\n", 1)[0] if explain else result.title
    return md_inline(first or result.id)


def _fix_hint(report: RunReport, result: CheckResult) -> str | None:
    return result.fix or _meta(report, result).get("fix") or None


def _label(result: CheckResult) -> str:
    return md_inline(why_label(result.why, result.title or result.id))


def _where(ev: Evidence) -> str:
    return code_span(ev.location or "")


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 check``, ``2 checks`` (``many`` for irregular plurals)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def _faults(report: RunReport) -> str:
    return ", ".join(str(f) for f in report.target.get("faults") or ()) or "none"


# -- sections ----------------------------------------------------------------------------

def _comparison_line(comparison: Any) -> str:
    """``Fixed 5, regressed 0, still failing 0`` (with new/removed when there are any)."""
    text = (f"Fixed {len(comparison.fixed)}, regressed {len(comparison.regressed)}, still "
            f"failing {len(comparison.still_failing)}")
    extra = [f"{len(changes)} {name}" for name, changes in
             (("new", comparison.new), ("removed", comparison.removed)) if changes]
    return text + (f" ({', '.join(extra)})" if extra else "")


def _header(report: RunReport, d: dict[str, Any], comparison: Any = None) -> list[str]:
    verdict = d["verdict"]
    title = {
        "broken": "Agent Event Pipeline Failure - Five Whys Analysis and Fix Plan",
        "healthy": "Agent Event Pipeline Healthy - Five Whys Diagnosis",
        "undecided": "Agent Event Pipeline Not Proven Healthy - Five Whys Diagnosis",
        "interrupted": "Agent Event Pipeline Diagnosis Interrupted - Incomplete Five Whys "
                       "Analysis",
    }.get(verdict, "Agent Event Pipeline - Five Whys Diagnosis")
    counts = d["counts"]
    root = d["root_cause"]
    if verdict == "interrupted":
        status = ("INTERRUPTED: the run did not finish, so the results are incomplete and "
                  "health is not proven")
        if root:
            status += (f"; FIRST TO FIX so far: "
                       f"{md_inline(why_label(root['why'], root['title']))}")
    elif verdict == "broken":
        status = (f"BROKEN: {plural(len(d['failing_links']), 'failing check')}; FIRST TO FIX: "
                  f"{md_inline(why_label(root['why'], root['title']))}")
    elif verdict == "healthy":
        status = f"HEALTHY: {counts['pass']} passed, {counts['skip']} skipped"
    elif report.results:
        status = f"NOT PROVEN: {plural(counts['error'], 'check')} could not decide"
    else:
        status = "NOT PROVEN: no check ran"
    if comparison is not None:
        line = _comparison_line(comparison)
        title += f" (against the baseline: {line[0].lower()}{line[1:]})"
        status += f"; against the baseline: {_comparison_line(comparison)}"
    target = md_inline(str(report.target.get("name", "target")))
    return [
        f"# {title}",
        "",
        f"**Date:** {md_inline(_date(report.started_at))}\\",
        f"**Severity:** {severity(report)}\\",
        f"**Target:** {target} (faults: {md_inline(_faults(report))})\\",
        f"**Status:** {status}",
    ]


def _executive_summary(report: RunReport, d: dict[str, Any],
                       comparison: Any = None) -> list[str]:
    target = md_inline(str(report.target.get("name", "target")))
    counts, total = d["counts"], len(report.results)
    tally = (f"{counts['pass']} of {plural(total, 'check')} pass, {counts['fail']} fail, "
             f"{counts['error']} could not decide, {counts['skip']} skipped.")
    symptom = md_inline(d["symptom"]) if d["symptom"] else None
    if d["verdict"] == "interrupted":
        found = " (the checks that finished already show it broken)" if d["failing_links"] else ""
        lead = (f"The diagnosis of the agent event pipeline of **{target}** was interrupted "
                f"and is incomplete{found}")
    elif d["verdict"] == "broken":
        lead = f"The agent event pipeline of **{target}** is broken"
    elif d["verdict"] == "healthy":
        lead = f"The agent event pipeline of **{target}** is healthy"
    else:
        lead = f"The health of the agent event pipeline of **{target}** is not proven"
    lines = ["## Executive Summary", ""]
    if comparison is not None:
        lines += [f"**Compared with the baseline:** {_comparison_line(comparison)} (see "
                  "Before/After).", ""]
    lines.append(f"{lead}{': ' + symptom if symptom else ''}. {tally}")
    if report.interrupted:
        lines += ["", "**The run was interrupted:** checks cut short are reported as could not "
                  "decide and checks never started as skipped, so this report is incomplete and "
                  "does not prove the pipeline healthy. Re-run it to completion."]
    lines.append("")
    if d["symptom"]:
        lines.append(f"- **Symptom:** {symptom}")
    if d["failing_links"]:
        links = ", ".join(f"{md_inline(why_label(link['why'], link['title']))} "
                          f"({code_span(link['id'])})" for link in d["failing_links"])
        lines.append(f"- **Failing links (chain order):** {links}")
    root = d["root_cause"]
    if root:
        where = f" at {code_span(root['location'])}" if root.get("location") else ""
        lines.append(f"- **First to fix:** "
                     f"{md_inline(why_label(root['why'], root['title']))}{where}. "
                     f"{md_inline(root['reasoning'])}")
    if d["undecided"]:
        ids = ", ".join(code_span(i) for i in d["undecided"])
        lines.append(f"- **Could not decide (set-up, not the target):** {ids}")
    for skip in d["skipped"]:
        lines.append(f"- **Skipped:** {code_span(skip['id'])}: {md_inline(skip['reason'])}")
    if lines[-1] == "":
        lines.pop()
    return lines


def _summary_block(ordered: list[CheckResult]) -> list[str]:
    rows = [f"{r.status.value.upper()} {why_label(r.why, r.title or r.id)} - "
            f"{' '.join(r.summary.split())}" for r in ordered]
    return ["### Test Results Summary", "", fence("\n".join(rows) or "(no check ran)")]


def _check_section(report: RunReport, result: CheckResult) -> list[str]:
    status = result.status.value.upper()
    lines = [f"### {_label(result)} - {status}", "",
             f"**Property:** {_property(report, result)}\\",
             f"**Verdict:** {status} - {md_inline(result.summary)}"]
    located = located_evidence(result)
    tracebacks = [ev for ev in result.evidence if ev.kind == "traceback"]
    others = [ev for ev in result.evidence
              if ev not in located and ev.kind not in ("location", "traceback")]
    if others:
        lines += ["", "**Test Evidence:**", fence("\n".join(evidence_text(ev) for ev in others))]
    for ev in tracebacks:
        where = f" ({_where(ev)})" if ev.file else ""
        lines += ["", f"**Traceback{where}:**", fence(ev.message, "pytb")]
    failing = result.status in (Status.FAIL, Status.ERROR)
    if located:
        lines += ["", "**Fix Location:**" if failing else "**Locations:**"]
        shown, more = shown_evidence(located)
        for ev in shown:
            lines.append(f"- {_where(ev)}: {md_inline(located_text(ev))}")
        if more:
            lines.append(f"- ... and {more} more (every location is in the JSON, SARIF and "
                         "GitHub reports)")
    hint = _fix_hint(report, result) if failing else None
    if hint:
        lines += ["", f"**Fix hint:** {md_inline(hint)}"]
    return lines


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


def _mermaid(report: RunReport, ordered: list[CheckResult]) -> list[str]:
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
            "Each link of the chain, coloured by its verdict (green pass, red fail, amber "
            "could not decide, grey skipped). WHY #5 is not a stage of the pipeline: it "
            "guards the deprecated entry points, so it hangs off the chain (dotted).", "",
            fence("\n".join(body), "mermaid")]


def _fix_plan(report: RunReport, ordered: list[CheckResult]) -> list[str]:
    lines = ["## Fix Plan"]
    failing = [r for r in ordered if r.status is Status.FAIL]
    errors = [r for r in ordered if r.status is Status.ERROR]
    if not failing and not errors:
        return [*lines, "", "No fix needed: no check fails or errors."]
    for n, result in enumerate(failing, 1):
        lines += ["", f"### Phase {n}: {_label(result)}", "",
                  f"- **Problem:** {md_inline(result.summary)}"]
        shown, more = shown_evidence(located_evidence(result))
        for ev in shown:
            lines.append(f"- **Where:** {_where(ev)}: {md_inline(located_text(ev))}")
        if more:
            lines.append(f"- **Where:** ... and {more} more (see the JSON report)")
        hint = _fix_hint(report, result)
        if hint:
            lines.append(f"- **Fix:** {md_inline(hint)}")
        lines.append(f"- **Done when:** {code_span(result.id)} passes")
    if errors:
        lines += ["", "### Set-up repairs (checks that could not decide)", ""]
        for result in errors:
            hint = _fix_hint(report, result)
            lines.append(f"- {_label(result)} ({code_span(result.id)}): "
                         f"{md_inline(result.summary)}"
                         + (f". **Fix:** {md_inline(hint)}" if hint else ""))
    lines += ["", "Fix in this order (the earliest link first), then re-run the command under "
              "Environment and Reproduction."]
    return lines


def _success_criteria(report: RunReport, ordered: list[CheckResult]) -> list[str]:
    lines = ["## Success Criteria", ""]
    for r in ordered:
        lines.append(f"- {_MARK[r.status]} **{_label(r)}:** {r.status.value.upper()}")
    return lines if ordered else [*lines, "No check ran."]


def _box(report: RunReport, check_id: str, text: str) -> str:
    result = report.result(check_id)
    ticked = "x" if result is not None and result.status is Status.PASS else " "
    state = f"{result.status.value.upper()}: {md_inline(result.summary)}" if result else "not run"
    return f"- [{ticked}] {text} ({code_span(check_id)}: {state})"


def _latency_text(report: RunReport) -> str:
    result = report.result("event-latency")
    for ev in result.evidence if result else ():
        if ev.kind == "latency" and isinstance(ev.data, dict) and "budget_ms" in ev.data:
            return f"Event latency within the {ev.data['budget_ms']} ms budget"
    return "Event latency within budget"


def _checklist(report: RunReport) -> list[str]:
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


def _environment(report: RunReport) -> list[str]:
    target, env = report.target, report.environment
    lines = ["## Environment and Reproduction", "",
             f"- **Tool:** netra-diag {md_inline(report.tool_version)}",
             f"- **Target:** {md_inline(str(target.get('name', 'target')))}"
             + (f" at {code_span(str(target['root']))}" if target.get("root") else "")]
    for key in ("scenario", "profile"):
        if target.get(key):
            lines.append(f"- **{key.capitalize()}:** {md_inline(str(target[key]))}")
    lines.append(f"- **Faults:** {md_inline(_faults(report))}")
    if env.get("python"):
        on = f" on {md_inline(str(env['platform']))}" if env.get("platform") else ""
        lines.append(f"- **Python:** {md_inline(str(env['python']))}{on}")
    lines.append(f"- **Started:** {md_inline(report.started_at)}; **duration:** "
                 f"{report.duration_s:.2f} s" + ("; **interrupted**" if report.interrupted else ""))
    lines += ["", "Reproduce this run:", ""]
    if report.command:
        lines.append(fence(shlex.join(report.command), "bash"))
    else:
        lines.append("The run did not record its command.")
    return lines


def _conclusion(report: RunReport, d: dict[str, Any]) -> list[str]:
    root = d["root_cause"]
    if root:
        where = f" at {code_span(root['location'])}" if root.get("location") else ""
        text = (f"**IMMEDIATE ACTION:** fix {md_inline(why_label(root['why'], root['title']))}"
                f"{where} first (Phase 1 of the fix plan)")
        phases = len(d["failing_links"])
        text += (f", then each later failing link (Phases 2-{phases}: each failed on its own "
                 "evidence and needs its own fix), then re-run and compare."
                 if phases > 1 else ", then re-run and compare.")
        if report.interrupted:
            text += " The run was interrupted: re-run it to completion to judge every link."
    elif report.interrupted:
        text = ("**IMMEDIATE ACTION:** re-run to completion: the run was interrupted, no check "
                "failed before that, but health is not proven.")
    elif d["verdict"] == "undecided":
        text = ("**IMMEDIATE ACTION:** repair the set-up of the checks that could not decide, "
                "then re-run: until they decide, health is not proven.")
    else:
        text = "No action needed: every check that ran passed."
    return ["## Conclusion", "", text]


def render_markdown(report: RunReport, baseline: RunReport | None = None) -> str:
    """The incident report for ``report``; ``baseline`` adds a Before/After section."""
    d = diagnose(report.results, interrupted=report.interrupted)
    ordered = chain_order(report.results)
    comparison = None
    if baseline is not None:
        from .comparison import compare

        comparison = compare(baseline, report)
    sections = [
        _header(report, d, comparison),
        _executive_summary(report, d, comparison),
        ["## Evidence-Based Root Cause Analysis"],
        _summary_block(ordered),
        *(_check_section(report, r) for r in ordered),
        _mermaid(report, ordered),
        _fix_plan(report, ordered),
        _success_criteria(report, ordered),
        _checklist(report),
    ]
    if comparison is not None:
        sections.append(["## Before/After", "", comparison.to_markdown().rstrip()])
    sections += [_environment(report), _conclusion(report, d)]
    return strip_controls("\n\n".join("\n".join(lines) for lines in sections) + "\n")

