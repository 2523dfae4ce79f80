"""The ``markdown`` format: the incident report, in the shape of the hand-written one.

Sections, in order: title and header (date, severity, target, status); Root Cause (one
paragraph: the symptom, where the chain breaks first, what else fails on its own evidence,
what still stands); Test Results Summary (a block in the incident's style); one section per
check along the chain (the finding, each location with the code around it read during the
run, the fix, and the command that verifies it); Causal Chain (a Mermaid flowchart coloured
by verdict); Post-Fix Validation Checklist; Before/After (with a baseline); Environment and
Reproduction. Each finding's text appears once: the story names links, the block gives a
short phrase, the check's section says it. The output is lint-clean (``mdformat --check``).

Every sentence is derived from the ``RunReport`` (its diagnosis, computed once from the
results, and what each check declared): no fixed verdicts, no current time, no
randomness; the same report renders to the same text. Text from the target is escaped (or
fenced) so it cannot break the document.
"""

from __future__ import annotations

import datetime as _dt
import re
import shlex
from typing import Any

from netra_diag.analysis import chain_order, chain_rank, why_label
from netra_diag.diagnosis import Diagnosis, Link, RootCause
from netra_diag.model import CheckResult, Evidence, RunReport, Status

from .common import (
    evidence_text,
    headline,
    located_evidence,
    located_text,
    shown_evidence,
    strip_controls,
)
from .comparison import Comparison, compare
from .markdown_chain import checklist, mermaid
from .markdown_text import code_span, fence, lint_clean, md_inline, plural

__all__ = ["code_span", "fence", "md_inline", "render_markdown", "severity", "verify_command"]

# -- derived facts -----------------------------------------------------------------------

def severity(report: RunReport) -> str:
    """CRITICAL when a failure is critical (the diagnosis's ``critical``, from each check's
    declared guard: no critical event reaches the client, events leak across users); HIGH
    for any other failure; MEDIUM when checks could not decide; NONE when healthy. An
    interrupted run without a failure so far is UNKNOWN (never NONE), and every level of an
    interrupted run says so."""
    statuses = {r.status for r in report.results}
    if Status.FAIL in statuses:
        level = "CRITICAL" if report.diagnosis.critical else "HIGH"
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


def _fix_hint(report: RunReport, result: CheckResult) -> str | None:
    return result.fix or _meta(report, result).get("fix") or None


def _label(result: CheckResult) -> str:
    return md_inline(why_label(result.why, result.title or result.id))


def _where(ev: Evidence) -> str:
    return code_span(ev.location or "")


def _faults(report: RunReport) -> str:
    return ", ".join(str(f) for f in report.target.get("faults") or ()) or "none"


# -- sections ----------------------------------------------------------------------------

def _comparison_line(comparison: Comparison) -> str:
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


def _header(report: RunReport, d: Diagnosis, comparison: Comparison | None = None
            ) -> list[str]:
    verdict = d.verdict
    title = {
        "broken": "Agent Event Pipeline Failure - Five Whys Analysis and Fix Plan",
        "healthy": "Agent Event Pipeline Healthy - Five Whys Diagnosis",
        "undecided": "Agent Event Pipeline Not Proven Healthy - Five Whys Diagnosis",
        "interrupted": "Agent Event Pipeline Diagnosis Interrupted - Incomplete Five Whys "
                       "Analysis",
    }.get(verdict, "Agent Event Pipeline - Five Whys Diagnosis")
    counts = report.counts
    root = d.root_cause
    if verdict == "interrupted":
        status = "INTERRUPTED: the results are incomplete and health is not proven"
        if root:
            status += f"; first to fix so far: {md_inline(why_label(root.why, root.title))}"
    elif verdict == "broken" and root is not None:
        status = (f"BROKEN: {plural(len(d.failing_links), 'failing check')}; first to fix: "
                  f"{md_inline(why_label(root.why, root.title))}")
    elif verdict == "healthy":
        status = f"HEALTHY: {counts['pass']} passed, {counts['skip']} skipped"
    elif counts["error"]:
        status = f"NOT PROVEN: {plural(counts['error'], 'check')} could not decide"
    elif report.results:
        status = f"NOT PROVEN: every check was skipped ({counts['skip']}): nothing was judged"
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


def _ref(link: Link | RootCause) -> str:
    return f"{md_inline(why_label(link.why, link.title))} ({code_span(link.id)})"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _off_the_wire(result: CheckResult) -> bool:
    """Whether an end-to-end result was observed in-process: its events evidence says the
    wire was not exercised (``data.wire: false``)."""
    return any(ev.kind == "events" and isinstance(ev.data, dict) and ev.data.get("wire") is False
               for ev in result.evidence)


def _story(report: RunReport, d: Diagnosis) -> list[str]:
    """The root cause in one paragraph, from the diagnosis and the checks that own each
    failing link: the symptom, where the chain breaks first, what else fails on its own
    evidence, and what still stands. It names the findings; their text is in their
    sections (said once)."""
    parts: list[str] = []
    if d.symptom:
        symptom = md_inline(d.symptom)
        parts.append(f"**Symptom:** {symptom[0].upper()}{symptom[1:]}.")
    root = d.root_cause
    links = d.failing_links
    chain = [link for link in links if chain_rank(link.why) <= 5]
    if root:
        where = f" at {code_span(root.location)}" if root.location else ""
        parts.append(f"The chain breaks first at {_ref(root)}{where}: fix it first.")
        later = [link for link in chain if link.id != root.id]
        if later:
            parts.append(f"{_and([_ref(link) for link in later])} also "
                         f"fail{'' if len(later) > 1 else 's'}, each on its own evidence (the "
                         "checks are independent), so each needs its own fix.")
        e2e = [link for link in links if chain_rank(link.why) > 5 and link.id != root.id]
        if e2e and chain:
            ids = {link.id for link in e2e}
            where = "end to end (in-process)" if any(
                _off_the_wire(r) for r in report.results if r.id in ids) else "on the wire"
            parts.append(f"{_and([code_span(link.id) for link in e2e])} show"
                         f"{'s' if len(e2e) == 1 else ''} the symptom {where}; re-run "
                         "after the fixes to see what remains.")
    for caveat in d.caveats:  # what a passing check does not prove, declared by it
        parts.append(f"{md_inline(why_label(caveat.why, caveat.title))} passes: "
                     f"{md_inline(caveat.text)}")
    if d.undecided:
        parts.append(f"{_and([code_span(i) for i in d.undecided])} could not decide "
                     "(a set-up problem, not a finding about the target): health is not "
                     "proven until they do.")
    if report.interrupted:
        parts.append("The run was interrupted: checks cut short count as could not decide, "
                     "checks never started as skipped; re-run it to completion.")
    if not parts:
        judged = any(r.status is Status.PASS for r in report.results)
        parts.append("Every check that ran passed." if judged else
                     "Every check was skipped: nothing was judged (see why each was skipped)."
                     if report.results else "No check ran.")
    return ["## Root Cause", "", " ".join(parts)]


def _summary_block(ordered: list[CheckResult], d: Diagnosis) -> list[str]:
    """One row per check; a check's declared headline (``0/5 critical events delivered``)
    after it, the other findings said in their sections, once."""
    rows = [f"{r.status.value.upper()} {why_label(r.why, r.title or r.id)}"
            + (f" - {d.headlines[r.id]}" if r.id in d.headlines else "") for r in ordered]
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
        if ev in located or (ev.file and ev.kind == "location") or ev.kind == "traceback" \
                or not text or text in seen:
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
    located, more = shown_evidence(located_evidence(result))
    said = " ".join(result.summary.split())
    for ev in located:
        snippet = report.sources.get(f"{ev.file}:{ev.line}") or {}
        text = _new_clauses(located_text(ev), said, [str(x) for x in snippet.get("lines", ())])
        said += " " + " ".join(located_text(ev).split())
        lines += ["", f"**At {_where(ev)}:**" + (f" {md_inline(text)}" if text else "")]
        lines += _code(report, ev)
    if more:
        lines += ["", f"... and {more} more (every location is in the JSON, SARIF and GitHub "
                  "reports)"]
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
    d = report.diagnosis
    ordered = chain_order(report.results, report.checks)
    comparison = None
    if baseline is not None:
        comparison = compare(baseline, report)
    sections = [
        _header(report, d, comparison),
        _story(report, d),
        _summary_block(ordered, d),
        *(_check_section(report, r) for r in ordered),
        mermaid(report, ordered),
        checklist(report, d),
    ]
    if comparison is not None:
        sections.append(["## Before/After", "", comparison.to_markdown().rstrip()])
    sections.append(_environment(report))
    return lint_clean(strip_controls("\n\n".join("\n".join(lines) for lines in sections)
                                     + "\n"))
