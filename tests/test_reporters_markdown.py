"""The markdown incident report: parsed with markdown-it, checked against the results."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from report_fixtures import (
    ROOT,
    error_report,
    healthy_report,
    hostile_report,
    incident_report,
    interrupted_report,
    make_report,
)

from netra_diag._version import __version__
from netra_diag.model import Evidence, RunReport, Status
from netra_diag.reporters.markdown import code_span, fence, md_inline, render_markdown, severity

SNAPSHOT = Path(__file__).parent / "data" / "incident-report.md"
CHECK_HEADINGS = [
    "WHY #1: Import Chain - FAIL",
    "WHY #2: User Emitter Methods - FAIL",
    "WHY #3: Registry Wiring - FAIL",
    "WHY #4: Execution Engine Factory - FAIL",
    "WHY #5: Deprecation Warnings - PASS",
    "Complete Event Flow - FAIL",
    "User isolation on the wire - SKIP",
    "Event latency within budget - SKIP",
]
_md = MarkdownIt("commonmark")


def headings(text: str) -> list[tuple[int, str]]:
    tokens = _md.parse(text)
    return [(int(tok.tag[1]), tokens[i + 1].content)
            for i, tok in enumerate(tokens) if tok.type == "heading_open"]


def fences(text: str) -> list[tuple[str, str]]:
    return [(tok.info.strip(), tok.content) for tok in _md.parse(text) if tok.type == "fence"]


def section(text: str, title: str) -> str:
    """The markdown between the ``## title`` heading and the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


def checklist(text: str) -> dict[str, bool]:
    """``{item text: ticked}`` for the validation checklist, as parsed list items."""
    tokens = _md.parse(section(text, "Post-Fix Validation Checklist"))
    items = {}
    for tok in tokens:
        if tok.type == "inline" and re.match(r"\[( |x)\] ", tok.content):
            items[tok.content[4:]] = tok.content.startswith("[x]")
    return items


def test_sections_in_the_incident_documents_order() -> None:
    text = render_markdown(incident_report())
    assert headings(text) == [
        (1, "Agent Event Pipeline Failure - Five Whys Analysis and Fix Plan"),
        (2, "Executive Summary"),
        (2, "Evidence-Based Root Cause Analysis"),
        (3, "Test Results Summary"),
        *((3, h) for h in CHECK_HEADINGS),
        (2, "Causal Chain"),
        (2, "Fix Plan"),
        (3, "Phase 1: WHY #1: Import Chain"),
        (3, "Phase 2: WHY #2: User Emitter Methods"),
        (3, "Phase 3: WHY #3: Registry Wiring"),
        (3, "Phase 4: WHY #4: Execution Engine Factory"),
        (3, "Phase 5: Complete Event Flow"),
        (2, "Success Criteria"),
        (2, "Post-Fix Validation Checklist"),
        (2, "Environment and Reproduction"),
        (2, "Conclusion"),
    ]


def test_results_summary_block() -> None:
    text = render_markdown(incident_report())
    block = next(body for info, body in fences(text) if body.startswith("FAIL WHY #1"))
    lines = block.splitlines()
    assert lines[:6] == [
        "FAIL WHY #1: Import Chain - the wiring path uses the deprecated singleton WebSocket "
        "manager",
        "FAIL WHY #2: User Emitter Methods - the user emitter lacks 5 critical notify methods",
        "FAIL WHY #3: Registry Wiring - AgentRegistry cannot be built the way the application "
        "builds it",
        "FAIL WHY #4: Execution Engine Factory - ExecutionEngine can be constructed directly, "
        "without a user emitter",
        "PASS WHY #5: Deprecation Warnings - 2 deprecated entry points warn and name their "
        "replacement",
        "FAIL Complete Event Flow - 0/5 critical events delivered",
    ]
    assert lines[6:] == [
        "SKIP User isolation on the wire - depends on event-flow, which did not pass",
        "SKIP Event latency within budget - depends on event-flow, which did not pass"]


def test_header_is_derived() -> None:
    text = render_markdown(incident_report())
    assert "**Date:** 2025-01-02\\" in text
    assert "**Severity:** CRITICAL\\" in text
    assert "**Status:** BROKEN: 5 failing checks; FIRST TO FIX: WHY #1: Import Chain" in text
    assert "ROOT CAUSE" not in text
    healthy = render_markdown(healthy_report())
    assert headings(healthy)[0] == (1, "Agent Event Pipeline Healthy - Five Whys Diagnosis")
    assert "**Severity:** NONE\\" in healthy and "**Status:** HEALTHY: 8 passed" in healthy
    undecided = render_markdown(error_report())
    assert "**Severity:** MEDIUM\\" in undecided
    assert "**Status:** NOT PROVEN: 2 checks could not decide" in undecided
    assert "check(s)" not in undecided
    one = [dataclasses.replace(r, status=Status.PASS) if r.id == "event-flow" else r
           for r in error_report().results]
    assert "**Status:** NOT PROVEN: 1 check could not decide" in render_markdown(
        make_report(one))
    only = [r for r in healthy_report().results if r.id == "import-chain"]
    assert "1 of 1 check pass" in render_markdown(make_report(only))


def test_severity() -> None:
    assert severity(incident_report()) == "CRITICAL"
    assert severity(healthy_report()) == "NONE"
    assert severity(error_report()) == "MEDIUM"
    partial = [dataclasses.replace(r, status=Status.FAIL, summary="3/5 critical events")
               if r.id == "event-flow" else r for r in healthy_report().results]
    for i, r in enumerate(partial):
        if r.id == "event-flow":
            partial[i] = dataclasses.replace(r, evidence=())
    assert severity(make_report(partial)) == "HIGH"
    leak = [dataclasses.replace(r, status=Status.FAIL) if r.id == "user-isolation" else r
            for r in healthy_report().results]
    assert severity(make_report(leak)) == "CRITICAL"
    interrupted = "UNKNOWN (run interrupted: incomplete)"
    assert severity(make_report(healthy_report().results, interrupted=True)) == interrupted
    assert severity(interrupted_report()) == interrupted  # errors from the cut: not MEDIUM
    assert severity(make_report(incident_report().results, interrupted=True)) == \
        "CRITICAL (run interrupted: incomplete)"


def test_executive_summary_comes_from_the_diagnosis() -> None:
    text = section(render_markdown(incident_report()), "Executive Summary")
    assert "0/5 critical events reached the client" in text
    assert "**First to fix:** WHY #1: Import Chain at " \
           "`netra_backend/app/dependencies.py:16`" in text
    assert "consequence" not in text and "Root-cause candidate" not in text
    assert "it is the earliest failing link of the chain, so it is the first to fix" in text
    assert ("the later links WHY #2 (emitter-methods), WHY #3 (registry-wiring) and WHY #4 "
            "(engine-factory) failed on findings of their own") in text
    assert "4 distinct root causes in all; only after fixing them does event-flow show what " \
           "remains." in text
    # WHY #1 passing: the report names the next link, not a fixed text.
    results = [dataclasses.replace(r, status=Status.PASS, evidence=())
               if r.id == "import-chain" else r for r in incident_report().results]
    moved = render_markdown(make_report(results))
    assert "**Status:** BROKEN: 4 failing checks; FIRST TO FIX: WHY #2: User Emitter " \
           "Methods" in moved
    assert "Phase 1: WHY #2: User Emitter Methods" in [h for _, h in headings(moved)]


def test_why_sections_carry_evidence_locations_tracebacks_and_fixes() -> None:
    text = render_markdown(incident_report())
    why1 = text.split("### WHY #1: Import Chain - FAIL", 1)[1].split("### ", 1)[0]
    assert "**Property:** The application's wiring path obtains per-user" in why1
    assert "- `netra_backend/app/dependencies.py:16`: imports deprecated " \
           "get\\_websocket\\_manager" not in why1  # intraword underscores stay readable
    assert "- `netra_backend/app/dependencies.py:16`: imports deprecated " \
           "get_websocket_manager" in why1
    assert "**Fix hint:** import create" in why1
    tracebacks = [body for info, body in fences(text) if info == "pytb"]
    assert len(tracebacks) == 1
    assert tracebacks[0].rstrip().endswith(
        "TypeError: AgentRegistry.__init__() missing 1 required positional argument: "
        "'llm_manager'")
    flow = text.split("### Complete Event Flow - FAIL", 1)[1].split("### ", 1)[0]
    assert "delivered: 0" in flow and "expected: agent_started, agent_thinking" in flow


CHECKLIST_IDS = ["import-chain", "emitter-methods", "registry-wiring", "engine-factory",
                 "deprecation-warnings", "event-flow", "user-isolation", "event-latency"]


@pytest.mark.parametrize("report", [incident_report, healthy_report, error_report])
def test_checklist_boxes_follow_the_results_in_chain_order(report) -> None:
    run = report()
    items = checklist(render_markdown(run))
    texts = list(items)
    # one box per built-in check, in chain order (as in every format), then the whole run
    assert [re.search(r"\(`([\w-]+)`: ", t).group(1) for t in texts[:-1]] == CHECKLIST_IDS
    assert list(items.values())[:-1] == [run.result(i).status is Status.PASS
                                         for i in CHECKLIST_IDS]
    assert texts[0].startswith("No deprecated entry point on the production path")
    assert re.match(r"User emitter created \(awaited\) with (all 5 critical notify methods|"
                    r"a notify method for every critical event), each emitting", texts[1])
    assert texts[2].startswith("Agent registry builds and wires the WebSocket bridge to "
                               "every agent")
    assert re.match(r"All (5 )?critical events delivered end to end", texts[5])
    assert texts[6].startswith("No cross-user event leakage (`user-isolation`")
    assert texts[7].startswith("Event latency within")
    assert texts[-1].startswith("All checks pass")
    assert items[texts[-1]] is (report is healthy_report)


def test_checklist_uses_the_latency_budget_and_marks_checks_not_run() -> None:
    items = checklist(render_markdown(healthy_report()))
    assert any(t.startswith("Event latency within the 50 ms budget") for t in items)
    subset = [r for r in healthy_report().results if r.id == "import-chain"]
    items = checklist(render_markdown(make_report(subset)))
    assert any("(`event-flow`: not run)" in t for t in items)
    assert list(items.values()) == [True, *[False] * 7, True]


def test_success_criteria_are_one_line_each_title_and_verdict() -> None:
    text = section(render_markdown(incident_report()), "Success Criteria")
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[:2] == ["- ❌ **WHY #1: Import Chain:** FAIL",
                         "- ❌ **WHY #2: User Emitter Methods:** FAIL"]
    assert "- ✅ **WHY #5: Deprecation Warnings:** PASS" in lines
    assert "- ⏭️ **Event latency within budget:** SKIP" in lines
    assert len(lines) == len(incident_report().results)
    assert "Verifies" not in text and "wiring path obtains" not in text  # no Property text


def test_evidence_data_that_only_repeats_the_message_is_not_printed_again() -> None:
    missing = ["notify_agent_started", "notify_agent_thinking"]
    results = [dataclasses.replace(r, evidence=(
        Evidence("observed", f"UnifiedWebSocketEmitter is missing the critical methods "
                 f"{missing}", data={"missing": missing, "class": "UnifiedWebSocketEmitter",
                                     "module": "netra_backend.app.websocket_core"}),
        Evidence("observed", "bare list", data=missing),
    )) if r.id == "emitter-methods" else r for r in incident_report().results]
    text = render_markdown(make_report(results))
    why2 = text.split("### WHY #2: User Emitter Methods - FAIL", 1)[1].split("### ", 1)[0]
    assert "missing: notify_agent_started" not in why2  # the message already lists them
    assert "class: UnifiedWebSocketEmitter" not in why2  # named in the message
    assert "module: netra_backend.app.websocket_core" in why2  # new information stays
    assert '["notify_agent_started", "notify_agent_thinking"]' in why2  # not in its message
    # data that adds to the message is still shown (the events' expected list)
    flow = text.split("### Complete Event Flow - FAIL", 1)[1].split("### ", 1)[0]
    assert "expected: agent_started, agent_thinking" in flow and "delivered: 0" in flow


def test_mermaid_chain_coloured_by_verdict() -> None:
    text = render_markdown(incident_report())
    (diagram,) = [body for info, body in fences(text) if info == "mermaid"]
    lines = [line.strip() for line in diagram.splitlines()]
    assert lines[0] == "flowchart LR"
    assert 'n_import_chain["WHY #1: Import Chain<br/>FAIL"]' in lines
    for edge in ("n_import_chain --> n_emitter_methods", "n_emitter_methods --> "
                 "n_registry_wiring", "n_registry_wiring --> n_engine_factory",
                 "n_engine_factory --> n_event_flow",
                 "n_event_flow --> n_user_isolation", "n_event_flow --> n_event_latency"):
        assert edge in lines
    # WHY #5 is not a pipeline stage: it hangs off the chain, guarding the deprecated entry
    # points (WHY #1), and no solid link enters or leaves it
    assert "n_deprecation_warnings -. guards .-> n_import_chain" in lines
    assert not [line for line in lines if "-->" in line and "n_deprecation_warnings" in line]
    assert ("class n_import_chain,n_emitter_methods,n_registry_wiring,n_engine_factory,"
            "n_event_flow fail") in lines
    assert "class n_deprecation_warnings pass" in lines
    for status in ("pass", "fail", "error", "skip"):
        assert any(line.startswith(f"classDef {status} fill:") for line in lines)


def test_mermaid_without_the_guarded_link_or_without_why_5() -> None:
    def diagram(ids: set[str]) -> list[str]:
        report = make_report([r for r in incident_report().results if r.id in ids])
        (body,) = [b for info, b in fences(render_markdown(report)) if info == "mermaid"]
        return [line.strip() for line in body.splitlines()]

    alone = diagram({"deprecation-warnings", "event-flow"})
    assert not [line for line in alone if "-." in line or "-->" in line]
    chain = diagram({"import-chain", "engine-factory", "event-flow"})
    assert "n_import_chain --> n_engine_factory" in chain
    assert "n_engine_factory --> n_event_flow" in chain


def test_an_interrupted_run_never_reads_as_healthy() -> None:
    report = interrupted_report()
    text = render_markdown(report)
    title = headings(text)[0]
    assert title == (1, "Agent Event Pipeline Diagnosis Interrupted - Incomplete Five Whys "
                        "Analysis")
    assert "Healthy" not in title[1] and "HEALTHY" not in text
    assert "**Severity:** UNKNOWN (run interrupted: incomplete)\\" in text
    assert ("**Status:** INTERRUPTED: the run did not finish, so the results are incomplete "
            "and health is not proven") in text
    summary = section(text, "Executive Summary")
    assert "was interrupted and is incomplete" in summary
    assert "does not prove the pipeline healthy" in summary
    items = checklist(text)
    *_, all_pass, completed = items.items()
    assert completed == ("The run completed (it was interrupted: the results are incomplete)",
                         False)
    assert all_pass[0].startswith("All checks pass") and all_pass[1] is False
    assert "re-run to completion" in section(text, "Conclusion")
    # a stale stored diagnosis (say, from an older tool) cannot make it healthy
    stale = dataclasses.replace(report, diagnosis={"verdict": "healthy"})
    assert render_markdown(stale) == text
    # every check that finished passed and the cut ones were dropped: still interrupted
    finished = [r for r in report.results if r.status is Status.PASS]
    partial = render_markdown(make_report(finished, interrupted=True))
    assert headings(partial)[0][1].startswith("Agent Event Pipeline Diagnosis Interrupted")
    assert "**Severity:** NONE" not in partial


def test_an_interrupted_run_with_failures_keeps_its_root_cause() -> None:
    report = make_report(incident_report().results, interrupted=True)
    text = render_markdown(report)
    assert headings(text)[0][1].startswith("Agent Event Pipeline Diagnosis Interrupted")
    assert "; FIRST TO FIX so far: WHY #1: Import Chain" in text
    assert "(the checks that finished already show it broken)" in text
    assert "Phase 1: WHY #1: Import Chain" in [h for _, h in headings(text)]


def test_fix_plan_and_conclusion_for_healthy_and_undecided_runs() -> None:
    healthy = render_markdown(healthy_report())
    assert "No fix needed: no check fails or errors." in section(healthy, "Fix Plan")
    assert "No action needed" in section(healthy, "Conclusion")
    undecided = render_markdown(error_report())
    plan = section(undecided, "Fix Plan")
    assert "### Set-up repairs (checks that could not decide)" in plan
    assert "add build.agent\\_registry.llm\\_manager to the profile" not in plan
    assert "add build.agent_registry.llm_manager to the profile" in plan


def test_environment_and_exact_command() -> None:
    report = dataclasses.replace(incident_report(), command=(
        "netra-diag", "run", "--scenario", "incident", "--report", "markdown=my report.md"))
    text = section(render_markdown(report), "Environment and Reproduction")
    assert f"- **Tool:** netra-diag {md_inline(__version__)}" in text
    assert "- **Python:** 3.11.7 on Linux-6.1-x86\\_64" in text or \
           "- **Python:** 3.11.7 on Linux-6.1-x86_64" in text
    (command,) = [body for info, body in fences(text) if info == "bash"]
    assert command.strip() == ("netra-diag run --scenario incident --report "
                               "'markdown=my report.md'")


def test_before_after_section_with_a_baseline() -> None:
    text = render_markdown(healthy_report(), baseline=incident_report())
    assert [h for _, h in headings(text)][-3:] == [
        "Before/After", "Environment and Reproduction", "Conclusion"]
    before_after = section(text, "Before/After")
    assert "**Fixed 5, regressed 0" in before_after
    # the comparison is stated up front too: title, status and executive summary
    assert headings(text)[0][1] == ("Agent Event Pipeline Healthy - Five Whys Diagnosis "
                                    "(against the baseline: fixed 5, regressed 0, still "
                                    "failing 0)")
    assert "**Status:** HEALTHY: 8 passed, 0 skipped; against the baseline: Fixed 5, " \
           "regressed 0, still failing 0" in text
    summary = section(text, "Executive Summary")
    assert summary.lstrip().startswith("**Compared with the baseline:** Fixed 5, regressed 0, "
                                       "still failing 0 (see Before/After).")
    worse = render_markdown(incident_report(), baseline=healthy_report())
    assert "against the baseline: Fixed 0, regressed 5, still failing 0" in worse
    assert "| fixed | WHY #1: Import Chain (`import-chain`) | FAIL | PASS |" in before_after
    assert "## Before/After" not in render_markdown(healthy_report())


def test_hostile_evidence_cannot_break_the_document() -> None:
    text = render_markdown(hostile_report())
    assert [h for _, h in headings(text)] == [h for _, h in headings(
        render_markdown(incident_report()))]
    assert "<script>" not in text.replace("```", "").split("**Test Evidence:**")[0]
    why1 = text.split("### WHY #1: Import Chain - FAIL", 1)[1].split("\n### ", 1)[0]
    assert "\\<summary\\> \\& \"quotes\" \\| pipes" in why1
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]", text)


def test_a_stale_stored_diagnosis_cannot_disagree_with_the_results() -> None:
    stale = dataclasses.replace(incident_report(), diagnosis={"verdict": "healthy"})
    assert render_markdown(stale) == render_markdown(incident_report())


def test_render_is_deterministic() -> None:
    assert render_markdown(incident_report()) == render_markdown(incident_report())


def test_primitives() -> None:
    assert code_span("a`b") == "``a`b``"
    assert fence("x\n```\ny").startswith("````\n")
    assert md_inline("a\nb *c* <d>") == "a b \\*c\\* \\<d\\>"
    assert md_inline("get_websocket_manager _x_") == "get_websocket_manager \\_x\\_"
    # balanced code spans are kept verbatim (nothing is interpreted inside them)
    assert md_inline("calls `get_x()` <b>") == "calls `get_x()` \\<b\\>"
    assert md_inline("odd ` tick_") == "odd \\` tick\\_"


def _normalise(text: str, report: RunReport) -> str:
    text = text.replace(ROOT, "<ROOT>")
    text = text.replace(f"netra-diag {md_inline(report.tool_version)}", "netra-diag <VERSION>")
    text = re.sub(r"\*\*duration:\*\* [0-9.]+ s", "**duration:** <DURATION> s", text)
    return text


def test_snapshot_of_the_incident_report() -> None:
    report = incident_report()
    text = _normalise(render_markdown(report), report)
    if os.environ.get("NETRA_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(text, encoding="utf-8")
        if os.environ.get("NETRA_UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"snapshot {SNAPSHOT.name} was missing and has been written; re-run")
    assert text == SNAPSHOT.read_text(encoding="utf-8"), (
        "the incident report changed; review the diff and re-run with NETRA_UPDATE_SNAPSHOTS=1")
