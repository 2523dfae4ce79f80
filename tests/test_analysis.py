"""The diagnosis: derived from the results, in chain order, JSON-able, never fixed text."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from report_fixtures import (
    BUILTIN,
    error_results,
    healthy_results,
    incident_results,
)

from netra_diag import analysis
from netra_diag.analysis import chain_order, why_label, why_tag
from netra_diag.model import CheckResult, Evidence, Status


def diagnose(results: Sequence[CheckResult], *, interrupted: bool = False) -> dict[str, Any]:
    """The diagnosis with the built-in checks' declarations, as its JSON form."""
    return analysis.diagnose(results, checks=BUILTIN, interrupted=interrupted).to_dict()

INCIDENT_FAILING = ["import-chain", "emitter-methods", "registry-wiring", "engine-factory",
                    "event-flow"]


def _with(results: list[CheckResult], check_id: str, **changes: object) -> list[CheckResult]:
    return [dataclasses.replace(r, **changes) if r.id == check_id else r for r in results]


def test_incident_diagnosis() -> None:
    d = diagnose(incident_results())
    assert d["verdict"] == "broken"
    assert d["symptom"] == "0/5 critical events reached the client"
    assert [link["id"] for link in d["failing_links"]] == INCIDENT_FAILING
    assert d["failing_links"][0] == {
        "id": "import-chain", "why": 1, "title": "Import Chain",
        "summary": "the wiring path uses the deprecated singleton WebSocket manager"}
    root = d["root_cause"]
    assert root["id"] == "import-chain" and root["why"] == 1 and root["title"] == "Import Chain"
    assert root["location"] == "netra_backend/app/dependencies.py:16"
    assert root["reasoning"].startswith(
        "WHY #1 fails: the wiring path uses the deprecated singleton WebSocket manager")
    assert root["reasoning"] == (
        "WHY #1 fails: the wiring path uses the deprecated singleton WebSocket manager; it is "
        "the earliest failing link of the chain, so it is the first to fix; the later links "
        "WHY #2 (emitter-methods), WHY #3 (registry-wiring) and WHY #4 (engine-factory) failed "
        "on findings of their own; 4 distinct root causes in all; only after fixing them does "
        "event-flow show what remains.")
    assert "consequence" not in root["reasoning"]
    assert d["symptom_checks"] == []
    assert d["undecided"] == []
    assert d["skipped"] == [
        {"id": "user-isolation", "reason": "depends on event-flow, which did not pass"},
        {"id": "event-latency", "reason": "depends on event-flow, which did not pass"},
    ]
    assert d["counts"] == {"pass": 1, "fail": 5, "error": 0, "skip": 2}


def test_healthy_diagnosis() -> None:
    d = diagnose(healthy_results())
    assert d["verdict"] == "healthy"
    assert d["symptom"] == "all 5 critical events delivered"
    assert d["failing_links"] == [] and d["root_cause"] is None
    assert d["undecided"] == [] and d["skipped"] == []


def test_errors_make_the_run_undecided_never_broken() -> None:
    d = diagnose(error_results())
    assert d["verdict"] == "undecided"
    assert d["undecided"] == ["registry-wiring", "event-flow"]
    assert d["root_cause"] is None and d["failing_links"] == []
    assert d["symptom"] == ("event flow could not be evaluated: timed out after 60.0 s "
                            "waiting for the check")


def test_an_interrupted_run_has_its_own_verdict() -> None:
    # what the runner records on Ctrl-C: finished checks, cut ones error, unstarted skip
    results = _with(healthy_results(), "engine-factory", status=Status.ERROR,
                    summary="interrupted before it finished", evidence=())
    for check_id in ("event-flow", "user-isolation", "event-latency"):
        results = _with(results, check_id, status=Status.SKIP,
                        summary="not run: the run was interrupted", evidence=())
    d = diagnose(results, interrupted=True)
    assert d["verdict"] == "interrupted" and d["interrupted"] is True
    assert diagnose(results)["verdict"] == "undecided"
    # only passes so far: still never healthy
    passes = [r for r in healthy_results() if r.id in ("import-chain", "emitter-methods")]
    assert diagnose(passes, interrupted=True)["verdict"] == "interrupted"
    assert diagnose(passes)["verdict"] == "healthy"
    # failures found before the interrupt are kept: the root cause is still named
    broken = diagnose(incident_results(), interrupted=True)
    assert broken["verdict"] == "interrupted"
    assert broken["root_cause"]["id"] == "import-chain"
    assert diagnose([], interrupted=True)["verdict"] == "interrupted"


def test_the_session_passes_the_interrupt_and_orders_results_along_the_chain() -> None:
    from netra_diag.registry import Registry
    from netra_diag.session import assemble_report

    registry = Registry()
    registry.load_builtin()
    results = list(reversed(healthy_results()))
    report = assemble_report(target={"name": "t", "faults": []}, results=results,
                             started_at="2025-01-02T09:30:00+00:00", duration_s=1.0,
                             interrupted=True, command=(), specs=registry.specs)
    assert report.diagnosis.verdict == "interrupted"
    assert [r.id for r in report.results] == [r.id for r in chain_order(results, BUILTIN)]


def test_nothing_ran_is_undecided() -> None:
    d = diagnose([])
    assert d["verdict"] == "undecided" and d["symptom"] is None


def test_diagnosis_is_json_and_independent_of_completion_order() -> None:
    results = incident_results()
    d = diagnose(results)
    assert json.loads(json.dumps(d)) == d
    assert diagnose(list(reversed(results))) == d


def test_root_cause_follows_the_results() -> None:
    # WHY #1 fixed: the earliest failing link is now WHY #2, and its own summary explains it.
    results = _with(incident_results(), "import-chain", status=Status.PASS,
                    summary="per-user managers", evidence=())
    root = diagnose(results)["root_cause"]
    assert root["id"] == "emitter-methods"
    assert root["reasoning"].startswith("WHY #2 fails: the user emitter lacks 5 critical "
                                        "notify methods")
    assert root["location"] == "netra_backend/app/agents/supervisor/execution_factory.py:88"


def test_root_cause_without_later_failures() -> None:
    results = [r for r in healthy_results()]
    results = _with(results, "engine-factory", status=Status.FAIL, summary="direct construction")
    d = diagnose(results)
    assert d["root_cause"]["id"] == "engine-factory"
    assert "no later link fails" in d["root_cause"]["reasoning"]
    assert d["symptom"] == "all 5 critical events delivered"


def test_end_to_end_failure_with_every_why_passing() -> None:
    events = Evidence("events", "events received in order: 3", data={"delivered": 3, "total": 5})
    results = _with(healthy_results(), "event-flow", status=Status.FAIL,
                    summary="3/5 critical events delivered", evidence=(events,))
    d = diagnose(results)
    assert d["symptom"] == "3/5 critical events reached the client"
    # the diagnosis reads the check's data, never its summary text
    bare = diagnose(_with(results, "event-flow", evidence=()))
    assert bare["symptom"] == "event flow fails: 3/5 critical events delivered"
    assert d["root_cause"]["id"] == "event-flow"
    assert "no link WHY #1-#5 fails" in d["root_cause"]["reasoning"]


def test_an_earlier_undecided_link_is_named() -> None:
    results = _with(healthy_results(), "registry-wiring", status=Status.ERROR,
                    summary="no llm_manager in the profile")
    results = _with(results, "engine-factory", status=Status.FAIL, summary="direct construction")
    reasoning = diagnose(results)["root_cause"]["reasoning"]
    assert "registry-wiring could not be evaluated" in reasoning


def test_absent_links_are_named_for_an_end_to_end_root_cause() -> None:
    results = [r for r in healthy_results() if r.id in ("import-chain", "event-flow")]
    results = _with(results, "event-flow", status=Status.FAIL, summary="wrong order")
    reasoning = diagnose(results)["root_cause"]["reasoning"]
    assert "(WHY #2, #3, #4, #5 not run)" in reasoning


def test_symptom_absent_without_event_flow() -> None:
    results = [r for r in incident_results() if r.id != "event-flow"]
    assert diagnose(results)["symptom"] is None


def test_chain_order_places_plugins_after_the_chain() -> None:
    plugin = CheckResult("load-test", None, "Load", Status.PASS, "ok")
    extra = CheckResult("extra-wiring", 3, "Extra", Status.PASS, "ok")
    ordered = chain_order([plugin, *reversed(incident_results()), extra], BUILTIN)
    # within a level, the declared order; a check that declares none comes after the others
    assert [r.id for r in ordered] == [
        "import-chain", "emitter-methods", "registry-wiring", "extra-wiring", "engine-factory",
        "deprecation-warnings", "event-flow", "user-isolation", "event-latency", "load-test"]


def test_chain_order_follows_the_declared_order_not_the_ids() -> None:
    late = CheckResult("a-late-check", "e2e", "Late", Status.PASS, "ok")
    checks = {**BUILTIN, "a-late-check": {"order": 85}}
    ordered = chain_order([late, *incident_results()], checks)
    assert [r.id for r in ordered][-3:] == ["user-isolation", "a-late-check", "event-latency"]
    # without the metadata (a foreign report) the ids break the ties
    assert [r.id for r in chain_order([late, *incident_results()])][5] == "a-late-check"


def test_a_symptom_without_the_event_data_falls_back_to_the_summary() -> None:
    bare = CheckResult("event-flow", "e2e", "Flow", Status.FAIL, "2/5 critical events ...",
                       (Evidence("note", "n"),))
    assert diagnose([bare])["symptom"] == "event flow fails: 2/5 critical events ..."


def test_labels() -> None:
    assert why_label(1, "Import Chain") == "WHY #1: Import Chain"
    assert why_label("e2e", "Complete Event Flow") == "Complete Event Flow"
    # without a title: the bare level, for table columns (terminal, `list`, `explain`)
    assert why_label(1) == "#1" and why_label("e2e") == "e2e" and why_label(None) == "-"
    assert why_tag(3) == "WHY #3" and why_tag("e2e") == "E2E" and why_tag(None) == "-"


def test_reasoning_never_repeats_the_location() -> None:
    # the summary names a line of its own: the first location is not appended after it
    results = _with(incident_results(), "import-chain",
                    summary="get_supervisor() called get_websocket_manager() at "
                            "netra_backend/app/dependencies.py:25")
    root = diagnose(results)["root_cause"]
    assert root["location"] == "netra_backend/app/dependencies.py:16"
    assert "dependencies.py:16" not in root["reasoning"]
    assert root["reasoning"].count("dependencies.py:25") == 1


def _latency(p95: float) -> Evidence:
    return Evidence("latency", f"p50 {p95 - 1} ms, p95 {p95} ms", data={
        "p50_ms": p95 - 1, "p95_ms": p95, "max_ms": p95 + 1, "budget_ms": 50.0})


def test_symptom_from_failing_end_to_end_checks_when_event_flow_passes() -> None:
    results = _with(healthy_results(), "user-isolation", status=Status.FAIL,
                    summary="280 event(s) reached the wrong user")
    results = _with(results, "event-latency", status=Status.FAIL,
                    summary="events take too long to arrive", evidence=(_latency(122.3),))
    d = diagnose(results)
    assert d["verdict"] == "broken"
    assert d["symptom"] == ("events delivered, but they leak to other users (user-isolation) "
                            "and arrive late (event-latency: p95 122.3 ms over the 50 ms "
                            "budget)")
    assert "all 5 critical events delivered" not in d["symptom"]
    assert d["symptom_checks"] == ["user-isolation", "event-latency"]
    # a failing link as well (broadcast-events): it may explain part of it, not all of it
    results = _with(results, "engine-factory", status=Status.FAIL,
                    summary="an event sent through engine.emitter reached another user")
    root = diagnose(results)["root_cause"]
    assert root["id"] == "engine-factory"
    assert ("the symptom is described by the failing end-to-end checks user-isolation and "
            "event-latency; the failing link WHY #4 (engine-factory) may explain part of it, "
            "not as a single cause") in root["reasoning"]
    assert "may need fixes of their own" in root["reasoning"]
    assert root["reasoning"].endswith(
        "only after fixing it do user-isolation and event-latency show what remains.")


def test_in_process_event_flow_never_claims_the_client() -> None:
    flow = next(r for r in incident_results() if r.id == "event-flow")
    events = dataclasses.replace(flow.evidence[0], data={**flow.evidence[0].data,
                                                         "wire": False})
    results = _with(incident_results(), "event-flow",
                    summary="0/5 critical events delivered in-process: no emitter",
                    evidence=(events,))
    d = diagnose(results)
    assert d["symptom"] == ("0/5 critical events were emitted to the user's connection "
                            "(in-process, the wire was not exercised)")
    assert "reached the client" not in d["symptom"]
    # without the events data, the summary is quoted, never parsed into a claim
    results = _with(incident_results(), "event-flow", evidence=(),
                    summary="3/5 critical events delivered in-process: missing agent_thinking")
    assert "reached the client" not in diagnose(results)["symptom"]
    flow = next(r for r in healthy_results() if r.id == "event-flow")
    passing = _with(healthy_results(), "event-flow", evidence=(dataclasses.replace(
        flow.evidence[0], data={**flow.evidence[0].data, "wire": False}),),
                    summary="5/5 critical events delivered in order, in-process (the wire was "
                            "not exercised)")
    assert diagnose(passing)["symptom"] == (
        "all 5 critical events were emitted to the user's connection (in-process, the wire "
        "was not exercised)")


def test_symptom_from_end_to_end_checks_without_event_flow() -> None:
    results = [r for r in healthy_results() if r.id != "event-flow"]
    results = _with(results, "user-isolation", status=Status.FAIL, summary="leaks")
    assert diagnose(results)["symptom"] == "events leak to other users (user-isolation)"
    results = _with(results, "event-latency", status=Status.FAIL, summary="slow", evidence=())
    assert diagnose(results)["symptom"] == ("events leak to other users (user-isolation) and "
                                            "arrive late (event-latency: slow)")


def test_failures_sharing_one_located_finding_are_one_root_cause() -> None:
    # one defect, one owner: two links that locate the same site are one cause, and the
    # reasoning says so instead of claiming independent fixes
    site = Evidence("location", "raised here: TypeError: bad context", "app/wiring.py", 12)
    results = [
        CheckResult("emitter-methods", 2, "User Emitter Methods", Status.FAIL, "it crashes",
                    (site,)),
        CheckResult("registry-wiring", 3, "Registry Wiring", Status.FAIL, "it crashes too",
                    (site,)),
        CheckResult("engine-factory", 4, "Execution Engine Factory", Status.FAIL, "unbound",
                    (Evidence("location", "builds the engine here", "app/engine.py", 30),)),
    ]
    d = diagnose(results)
    assert d["root_causes"] == [
        {"ids": ["emitter-methods", "registry-wiring"], "location": "app/wiring.py:12",
         "findings": ["emitter-methods:location:app/wiring.py",
                      "registry-wiring:location:app/wiring.py"]},
        {"ids": ["engine-factory"], "location": "app/engine.py:30",
         "findings": ["engine-factory:location:app/engine.py"]},
    ]
    reasoning = d["root_cause"]["reasoning"]
    assert "WHY #3 (registry-wiring) fails at the same location: one defect, one fix" in reasoning
    assert "2 distinct root causes in all" in reasoning
    assert "each needs its own fix" not in reasoning


def test_a_blocked_check_is_listed_with_its_owner() -> None:
    blocked = CheckResult("deprecation-warnings", 5, "Deprecation Warnings", Status.SKIP,
                          "blocked by context-identity: ...",
                          (Evidence("note", "blocked", data={"blocked_by": "context-identity",
                                                             "blocked_at": "a.py:1"}),))
    assert diagnose([blocked])["blocked"] == [{"id": "deprecation-warnings",
                                               "by": "context-identity"}]
