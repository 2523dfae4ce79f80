"""The markdown incident report: parsed with markdown-it, checked against the results."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from report_fixtures import (
    CHECKS,
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
from netra_diag.reporters.markdown import (
    code_span,
    fence,
    md_inline,
    render_markdown,
    severity,
    verify_command,
)

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
        (2, "Root Cause"),
        (2, "Test Results Summary"),
        *((3, h) for h in CHECK_HEADINGS),
        (2, "Causal Chain"),
        (2, "Post-Fix Validation Checklist"),
        (2, "Environment and Reproduction"),
    ]


def test_results_summary_block() -> None:
    text = render_markdown(incident_report())
    block = next(body for info, body in fences(text) if body.startswith("FAIL WHY #1"))
    # the incident's block: status and link; each finding is said once, in its section
    assert block.splitlines() == [
        "FAIL WHY #1: Import Chain", "FAIL WHY #2: User Emitter Methods",
        "FAIL WHY #3: Registry Wiring", "FAIL WHY #4: Execution Engine Factory",
        "PASS WHY #5: Deprecation Warnings",
        "FAIL Complete Event Flow - 0/5 critical events delivered",
        "SKIP User isolation on the wire", "SKIP Event latency within budget"]


def test_header_is_derived() -> None:
    text = render_markdown(incident_report())
    assert "**Date:** 2025-01-02\\" in text
    assert "**Severity:** CRITICAL\\" in text
    assert "**Status:** BROKEN: 5 failing checks; first to fix: WHY #1: Import Chain" in text
    assert "**Target:** reference (scenario incident)\\" in text
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
    assert "**Status:** HEALTHY: 1 passed, 0 skipped" in render_markdown(make_report(only))


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


def test_the_root_cause_story_comes_from_the_diagnosis() -> None:
    text = section(render_markdown(incident_report()), "Root Cause")
    paragraphs = [p for p in text.strip().split("\n\n") if p]
    assert len(paragraphs) == 1  # one paragraph
    story = paragraphs[0]
    assert story.startswith("**Symptom:** 0/5 critical events reached the client.")
    assert ("The chain breaks first at WHY #1: Import Chain (`import-chain`) at "
            "`netra_backend/app/dependencies.py:16`: fix it first.") in story
    assert ("WHY #2: User Emitter Methods (`emitter-methods`), WHY #3: Registry Wiring "
            "(`registry-wiring`) and WHY #4: Execution Engine Factory (`engine-factory`) also "
            "fail, each on its own evidence") in story
    assert "still importable and usable" in story  # WHY #5 passes, the old code remains
    # it names the findings; their text is in their sections only
    for result in incident_report().results:
        assert result.summary not in story
    # WHY #1 passing: the story names the next link, not a fixed text.
    results = [dataclasses.replace(r, status=Status.PASS, evidence=())
               if r.id == "import-chain" else r for r in incident_report().results]
    moved = render_markdown(make_report(results))
    assert "**Status:** BROKEN: 4 failing checks; first to fix: WHY #2: User Emitter " \
           "Methods" in moved
    assert "breaks first at WHY #2: User Emitter Methods" in section(moved, "Root Cause")


def test_why_sections_carry_the_finding_location_code_fix_and_verify_command() -> None:
    report = dataclasses.replace(incident_report(), sources={
        "netra_backend/app/dependencies.py:16": {
            "file": "netra_backend/app/dependencies.py", "line": 16, "start": 15,
            "lines": ["import os", "from netra_backend.app.websocket_core import "
                      "get_websocket_manager", ""]}})
    text = render_markdown(report)
    why1 = text.split("### WHY #1: Import Chain - FAIL", 1)[1].split("### ", 1)[0]
    assert why1.count("the wiring path uses the deprecated singleton WebSocket manager") == 1
    assert "**At `netra_backend/app/dependencies.py:16`:** imports deprecated " \
           "get_websocket_manager" in why1  # intraword underscores stay readable
    code = [body for info, body in fences(why1) if info == "python"]
    assert code == ["import os\nfrom netra_backend.app.websocket_core import "
                    "get_websocket_manager  # <- line 16\n"]
    assert "**Fix:** import create" in why1
    assert "**Verify:** `netra-diag run --scenario incident --only import-chain`" in why1
    flow = text.split("### Complete Event Flow - FAIL", 1)[1].split("### ", 1)[0]
    assert "delivered: 0" in flow and "expected: agent_started, agent_thinking" in flow
    why5 = text.split("### WHY #5: Deprecation Warnings - PASS", 1)[1].split("### ", 1)[0]
    assert "**Verify:**" not in why5 and "**Fix:**" not in why5


def test_the_verify_command_keeps_the_target_and_drops_outputs() -> None:
    report = dataclasses.replace(incident_report(), command=(
        "netra-diag", "run", "my profile.yaml", "-f", "json", "--output=x.json", "--only",
        "a,b", "-q", "--report", "junit:r.xml", "--static"))
    assert verify_command(report, "import-chain") == (
        "netra-diag run 'my profile.yaml' --static --only import-chain")


CHECKLIST_IDS = ["import-chain", "emitter-methods", "registry-wiring", "engine-factory",
                 "deprecation-warnings", "event-flow", "user-isolation", "event-latency"]


@pytest.mark.parametrize("report", [incident_report, healthy_report, error_report])
def test_checklist_boxes_follow_the_results_in_chain_order(report) -> None:
    run = report()
    items = checklist(render_markdown(run))
    texts = list(items)
    # one box per built-in check, in chain order (as in every format), then the whole run
    assert [re.search(r"\(`([\w-]+)`: ", t).group(1) for t in texts[:-1]] == CHECKLIST_IDS
    for text in texts[:-1]:  # the verdict, not the finding again
        assert re.search(r"`: (PASS|FAIL|ERROR|SKIP|not run)\)$", text), text
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
    items = checklist(render_markdown(make_report(subset, selected=list(CHECKS))))
    assert any("(`event-flow`: not run)" in t for t in items)
    assert list(items.values()) == [True, *[False] * 7, True]


def test_the_incident_report_is_at_most_one_and_a_half_times_the_hand_written_one() -> None:
    words = len(render_markdown(incident_report()).split())
    assert words <= 1.5 * 1103, words


def test_evidence_data_that_only_repeats_the_message_is_not_printed_again() -> None:
    missing = ["notify_agent_started", "notify_agent_thinking"]
    results = [dataclasses.replace(r, evidence=(
        Evidence("observed", f"UnifiedWebSocketEmitter is missing the critical methods "
                 f"{missing}", data={"missing": missing, "class": "UnifiedWebSocketEmitter",
                                     "module": "netra_backend.app.websocket_core"}),
        Evidence("observed", "bare list", data=missing),
    )) if r.id == "emitter-methods" else r for r in incident_report().results]
    text = render_markdown(make_report(results))
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
    assert ("**Status:** INTERRUPTED: the results are incomplete and health is not proven"
            ) in text
    story = section(text, "Root Cause")
    assert "The run was interrupted" in story and "re-run it to completion" in story
    items = checklist(text)
    *_, all_pass, completed = items.items()
    assert completed == ("The run completed (it was interrupted: the results are incomplete)",
                         False)
    assert all_pass[0].startswith("All checks pass") and all_pass[1] is False
    # every check that finished passed and the cut ones were dropped: still interrupted
    finished = [r for r in report.results if r.status is Status.PASS]
    partial = render_markdown(make_report(finished, interrupted=True))
    assert headings(partial)[0][1].startswith("Agent Event Pipeline Diagnosis Interrupted")
    assert "**Severity:** NONE" not in partial


def test_an_interrupted_run_with_failures_keeps_its_root_cause() -> None:
    report = make_report(incident_report().results, interrupted=True)
    text = render_markdown(report)
    assert headings(text)[0][1].startswith("Agent Event Pipeline Diagnosis Interrupted")
    assert "; first to fix so far: WHY #1: Import Chain" in text
    assert "The chain breaks first at WHY #1: Import Chain" in section(text, "Root Cause")


def test_the_story_for_healthy_and_undecided_runs() -> None:
    healthy = section(render_markdown(healthy_report()), "Root Cause")
    assert "all 5 critical events delivered" in healthy.lower()
    assert "still importable" not in healthy  # nothing is broken: no warning to give
    undecided = render_markdown(error_report())
    assert "could not decide (a set-up problem, not a finding about the target)" in section(
        undecided, "Root Cause")
    why3 = undecided.split("### WHY #3: Registry Wiring - ERROR", 1)[1].split("### ", 1)[0]
    assert "add build.agent_registry.llm_manager to the profile" in why3
    assert "**Verify:**" in why3


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
    assert [h for _, h in headings(text)][-2:] == [
        "Before/After", "Environment and Reproduction"]
    before_after = section(text, "Before/After")
    assert "**Fixed 5, regressed 0" in before_after
    # the comparison is stated up front too: title, status and executive summary
    assert headings(text)[0][1] == ("Agent Event Pipeline Healthy - Five Whys Diagnosis "
                                    "(against the baseline: fixed 5, regressed 0, still "
                                    "failing 0)")
    worse = render_markdown(incident_report(), baseline=healthy_report())
    assert "(against the baseline: fixed 0, regressed 5, still failing 0)" in worse
    rows = [" ".join(line.split()) for line in before_after.splitlines()]
    assert any(row.startswith("| fixed | WHY #1: Import Chain (`import-chain`) | FAIL | PASS |")
               for row in rows)
    assert "## Before/After" not in render_markdown(healthy_report())


def test_hostile_evidence_cannot_break_the_document() -> None:
    text = render_markdown(hostile_report())
    assert [h for _, h in headings(text)] == [h for _, h in headings(
        render_markdown(incident_report()))]
    tokens = _md.parse(text)
    html = [t for t in tokens if t.type.startswith("html")] + [
        c for t in tokens if t.children for c in t.children if c.type.startswith("html")]
    assert html == []  # the target's text never becomes markup
    why1 = text.split("### WHY #1: Import Chain - FAIL", 1)[1].split("\n### ", 1)[0]
    assert "\\<summary> & \"quotes\" | pipes" in why1
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]", text)


def test_a_run_saved_before_the_typed_diagnosis_is_diagnosed_again(tmp_path: Path) -> None:
    # an older tool wrote a diagnosis without the checklist (and a stale verdict): the
    # loader diagnoses it again from its results, so it renders as a fresh run does
    from netra_diag.outputs import load_saved

    raw = incident_report().to_dict()
    raw["diagnosis"] = {"verdict": "healthy"}
    saved = tmp_path / "old.json"
    saved.write_text(json.dumps(raw), encoding="utf-8")
    assert render_markdown(load_saved(saved)) == render_markdown(incident_report())


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


def test_a_probe_never_claims_the_server_has_no_faults() -> None:
    import io

    from rich.console import Console

    from netra_diag.reporters.terminal import render_report

    probe = {"name": "live endpoint ws://127.0.0.1:9/ws", "url": "ws://127.0.0.1:9/ws",
             "root": None, "builtin": False, "probe": True, "faults": []}
    report = dataclasses.replace(healthy_report(), target=probe)
    text = render_markdown(report)
    assert "Faults" not in text and "faults" not in text.lower().split("## causal chain")[0]
    buf = io.StringIO()
    render_report(report, Console(file=buf, width=120, no_color=True))
    assert "faults:" not in buf.getvalue()
    reference = render_markdown(dataclasses.replace(healthy_report(), target={
        **healthy_report().target, "builtin": True}))
    assert "- **Faults:** none" in reference  # the reference as shipped: that is known
