"""The ``markdown`` format: the incident report, in the shape of the hand-written one.

Sections, in order: title and header (date, severity, target, status); Root Cause (one
paragraph: the symptom, where the chain breaks first, what else fails on its own evidence,
what still stands); Test Results Summary (a block in the incident's style); one section per
check along the chain (the finding, each location with the code around it read during the
run, the fix, and the command that verifies it); Causal Chain (a Mermaid flowchart coloured
by verdict); Post-Fix Validation Checklist; Before/After (with a baseline); Environment and
Reproduction. Each finding's text appears once: the story names links, the block gives a
short phrase, the check's section says it. The output is lint-clean (``mdformat --check``).

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

from . import evidence_text, headline, located_evidence, located_text, strip_controls

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


def _target_line(report: RunReport) -> str:
    """The target's name, and for the reference its scenario (faults: under Environment)."""
    target = report.target
    text = md_inline(str(target.get("name", "target")))
    if target.get("builtin") or target.get("faults"):  # faults exist only for the reference
        scenario = target.get("scenario")
        text += (f" (scenario {md_inline(str(scenario))})" if scenario else
                 f" ({plural(len(target.get('faults') or ()), 'fault')} injected)")
    return text


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
        status = "INTERRUPTED: the results are incomplete and health is not proven"
        if root:
            status += f"; first to fix so far: {md_inline(why_label(root['why'], root['title']))}"
    elif verdict == "broken":
        status = (f"BROKEN: {plural(len(d['failing_links']), 'failing check')}; first to fix: "
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
    return [
        f"# {title}",
        "",
        f"**Date:** {md_inline(_date(report.started_at))}\\",
        f"**Severity:** {severity(report)}\\",
        f"**Target:** {_target_line(report)}\\",
        f"**Status:** {status}",
    ]


def _ref(link: dict[str, Any]) -> str:
    return f"{md_inline(why_label(link['why'], link['title']))} ({code_span(link['id'])})"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _story(report: RunReport, d: dict[str, Any]) -> list[str]:
    """The root cause in one paragraph, from the diagnosis and the checks that own each
    failing link: the symptom, where the chain breaks first, what else fails on its own
    evidence, and what still stands. It names the findings; their text is in their
    sections (said once)."""
    parts: list[str] = []
    if d["symptom"]:
        symptom = md_inline(d["symptom"])
        parts.append(f"**Symptom:** {symptom[0].upper()}{symptom[1:]}.")
    root = d["root_cause"]
    links = d["failing_links"]
    chain = [link for link in links if chain_rank(link["why"]) <= 5]
    if root:
        where = f" at {code_span(root['location'])}" if root.get("location") else ""
        parts.append(f"The chain breaks first at {_ref(root)}{where}: fix it first.")
        later = [link for link in chain if link["id"] != root["id"]]
        if later:
            parts.append(f"{_and([_ref(link) for link in later])} also "
                         f"fail{'' if len(later) > 1 else 's'}, each on its own evidence (the "
                         "checks are independent), so each needs its own fix.")
        e2e = [link for link in links if chain_rank(link["why"]) > 5 and link["id"] != root["id"]]
        if e2e and chain:
            parts.append(f"{_and([code_span(link['id']) for link in e2e])} show"
                         f"{'s' if len(e2e) == 1 else ''} the symptom on the wire; re-run "
                         "after the fixes to see what remains.")
    guard = report.result("deprecation-warnings")
    if guard is not None and guard.status is Status.PASS and links:
        parts.append(f"{md_inline(why_label(guard.why, guard.title))} passes: the deprecated "
                     "entry points warn, but they are still importable and usable, so nothing "
                     "stops code from calling them.")
    if d["undecided"]:
        parts.append(f"{_and([code_span(i) for i in d['undecided']])} could not decide "
                     "(a set-up problem, not a finding about the target): health is not "
                     "proven until they do.")
    if report.interrupted:
        parts.append("The run was interrupted: checks cut short count as could not decide, "
                     "checks never started as skipped; re-run it to completion.")
    if not parts:
        parts.append("Every check that ran passed." if report.results else "No check ran.")
    return ["## Root Cause", "", " ".join(parts)]


def _headline(result: CheckResult) -> str:
    """The block's phrase for an end-to-end delivery (``0/5 critical events delivered``);
    the other findings are said in their sections, once."""
    delivery = event_delivery(result) if result.id == EVENT_FLOW else None
    return f" - {delivery[0]}/{delivery[1]} critical events delivered" if delivery else ""


def _summary_block(ordered: list[CheckResult]) -> list[str]:
    rows = [f"{r.status.value.upper()} {why_label(r.why, r.title or r.id)}{_headline(r)}"
            for r in ordered]
    return ["## Test Results Summary", "", fence("\n".join(rows) or "(no check ran)", "text")]


def verify_command(report: RunReport, check_id: str) -> str:
    """The command that re-judges one check on the same target: the run's own command
    without its output and selection options, with ``--only ID``."""
    drop_with_value = {"--only", "--skip", "--report", "-o", "--output", "-f", "--format",
                       "--baseline", "-j", "--jobs", "--color"}
    drop = {"-q", "--quiet", "-v", "--verbose"}
    words, skip_next = [], False
    for word in report.command or ("netra-diag", "run"):
        if skip_next:
            skip_next = False
            continue
        name = word.split("=", 1)[0]
        if name in drop_with_value:
            skip_next = "=" not in word
            continue
        if word not in drop:
            words.append(word)
    return shlex.join([*words, "--only", check_id])


def _code(report: RunReport, ev: Evidence) -> list[str]:
    """The lines around a finding, read during the run, the finding's line marked."""
    snippet = report.sources.get(f"{ev.file}:{ev.line}")
    if not snippet:
        return []
    start, lines = int(snippet["start"]), [str(line) for line in snippet["lines"]]
    marked = [f"{line}  # <- line {ev.line}" if start + i == ev.line else line
              for i, line in enumerate(lines)]
    lang = "python" if str(ev.file).endswith(".py") else "text"  # every fence names one
    return ["", fence("\n".join(marked), lang)]


#: Observations shown under a located finding (the JSON run and ``run -v`` have them all).
MAX_OBSERVED = 4


def _new_clauses(text: str, said: str, code: list[str]) -> str:
    """``text`` without the clauses already said (in ``said``) or shown (a code span of a
    line in ``code``): a location's message often restates the summary."""
    kept = []
    for clause in re.split(r": (?=\S)", " ".join(text.split())):
        span = clause.strip("`") if clause.startswith("`") and clause.endswith("`") else None
        if clause in said or (span is not None and any(span.strip() == line.strip()
                                                         for line in code)):
            continue
        kept.append(clause)
    return ": ".join(kept)


def _observed(result: CheckResult, located: list[Evidence], said: str) -> list[str]:
    """What else was observed (not located, not a traceback), each said once."""
    shown, seen = [], said
    for ev in result.evidence:
        text = " ".join(ev.message.split())
        if ev in located or ev.kind == "traceback" or not text or text in seen:
            continue
        seen += " " + text
        shown.append(ev)
    lines = [f"- {md_inline(headline(ev) if ev.kind == 'traceback' else ev.message)}"
             for ev in shown[:MAX_OBSERVED]]
    if len(shown) > MAX_OBSERVED:
        lines.append(f"- ... and {len(shown) - MAX_OBSERVED} more (the JSON run, or "
                     "`run -v`)")
    return ["", "**Also observed:**", "", *lines] if lines else []


def _check_section(report: RunReport, result: CheckResult) -> list[str]:
    status = result.status.value.upper()
    lines = [f"### {_label(result)} - {status}", ""]
    failing = result.status in (Status.FAIL, Status.ERROR)
    if not failing:
        return [*lines, md_inline(result.summary)]
    lines.append(f"**Finding:** {md_inline(result.summary)}")
    located = located_evidence(result)
    said = " ".join(result.summary.split())
    for ev in located:
        snippet = report.sources.get(f"{ev.file}:{ev.line}") or {}
        text = _new_clauses(located_text(ev), said, [str(x) for x in snippet.get("lines", ())])
        said += " " + " ".join(located_text(ev).split())
        lines += ["", f"**At {_where(ev)}:**" + (f" {md_inline(text)}" if text else "")]
        lines += _code(report, ev)
    if located:
        lines += _observed(result, located, said)
    else:  # what was observed is the finding's only support
        shown = [ev for ev in result.evidence if " ".join(ev.message.split()) not in said]
        if shown:
            lines += ["", fence("\n".join(evidence_text(ev) for ev in shown), "text")]
    hint = _fix_hint(report, result)
    if hint:
        lines += ["", f"**Fix:** {md_inline(hint)}"]
    lines += ["", f"**Verify:** {code_span(verify_command(report, result.id))}"]
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
    if target.get("builtin") or target.get("faults"):  # a live endpoint's faults are unknown
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
        _story(report, d),
        _summary_block(ordered),
        *(_check_section(report, r) for r in ordered),
        _mermaid(report, ordered),
        _checklist(report),
    ]
    if comparison is not None:
        sections.append(["## Before/After", "", comparison.to_markdown().rstrip()])
    sections.append(_environment(report))
    return lint_clean(strip_controls("\n\n".join("\n".join(lines) for lines in sections)
                                     + "\n"))


def lint_clean(text: str) -> str:
    """``text`` as mdformat writes it (CommonMark, GFM tables), so ``mdformat --check``
    passes on every report: escapes only where needed, blank lines around blocks."""
    import mdformat

    return mdformat.text(text, extensions={"tables"})
