"""Every fault is caught by the checks it declares; the healthy reference passes everything.

This is the proof that each check can fail: if a check stops detecting its fault, or starts
failing on healthy code, this file says which.
"""

from __future__ import annotations

import functools

import pytest

from netra_diag.blocking import mark_blocked
from netra_diag.faults import FAULTS
from netra_diag.model import CONTINUED, Status
from netra_diag.registry import Registry
from netra_diag.runner import Runner
from netra_diag.target import open_target

FLEET_CHECKS = {"cross-instance-delivery", "backplane-isolation", "backplane-resilience"}


def run_reference(*faults: str, scenario: str | None = None) -> dict:
    """The results as a run reports them (blocked checks named, see ``mark_blocked``); a run
    with the same faults is made once per test process (results are frozen values)."""
    return dict(_run_reference(faults, scenario))


@functools.cache
def _run_reference(faults: tuple[str, ...], scenario: str | None) -> dict:
    registry = Registry()
    registry.load_builtin()
    with open_target(None, inject=faults, scenario=scenario) as target:
        outcome = Runner(target.profile, timeout_s=30).run(registry.specs)
    return {r.id: r for r in mark_blocked(outcome.results)}


def describe(results: dict) -> str:
    return "\n".join(f"{r.id}: {r.status.value}: {r.full_summary}" for r in results.values())


def test_healthy_reference_passes_every_check():
    results = run_reference()
    registry = Registry()
    registry.load_builtin()
    assert set(results) == {s.id for s in registry.specs}
    single = {k: r for k, r in results.items() if k not in FLEET_CHECKS}
    assert all(r.status is Status.PASS for r in single.values()), describe(results)
    # the fleet is opt-in: without a backplane its checks are skipped, never errors
    for check_id in FLEET_CHECKS:
        assert results[check_id].status is Status.SKIP, describe(results)
        assert "no fleet configured" in results[check_id].full_summary
    flow = results["event-flow"]
    [events] = [e for e in flow.evidence if e.kind == "events"]
    assert events.data["received"] == ["agent_started", "agent_thinking", "tool_executing",
                                       "tool_completed", "agent_completed"]


# the fleet's faults (they need a backplane) are proven in test_fault_matrix_fleet.py, a
# file of its own so that the two halves of the matrix run on the two test workers at once
SINGLE_PROCESS_FAULTS = sorted(f for f in FAULTS if "backplane" not in FAULTS[f].needs)


@pytest.mark.parametrize("fault", SINGLE_PROCESS_FAULTS)
def test_each_fault_is_caught_by_its_declared_checks(fault):
    results = run_reference(fault)
    for check_id in FAULTS[fault].detected_by:
        assert results[check_id].status is Status.FAIL, describe(results)
    # one defect, one owner: no other check fails on it, and none could not decide
    others = [r for r in results.values() if r.status is Status.FAIL
              and r.id not in FAULTS[fault].detected_by]
    assert not others, describe(results)
    errors = [r for r in results.values() if r.status is Status.ERROR]
    assert not errors, describe(results)


# -- the incident report as the on-call engineer reads it: one located finding per defect --


def run_reference_reading(*faults: str, scenario: str | None = None
                          ) -> tuple[dict, dict[str, list[str]]]:
    """``run_reference``, and the lines of every module the evidence points at (read from
    the target while it exists, faults injected)."""
    registry = Registry()
    registry.load_builtin()
    with open_target(None, inject=faults, scenario=scenario) as target:
        outcome = Runner(target.profile, timeout_s=30).run(registry.specs)
        root = target.profile.root
        files = {e.file for r in outcome.results for e in r.evidence if e.file}
        lines = {f: (root / f).read_text(encoding="utf-8").splitlines() for f in files
                 if (root / f).is_file()}
    return {r.id: r for r in outcome.results}, lines


def line_of(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines, 1) if line.lstrip().startswith(text))


@pytest.fixture(scope="module")
def incident():
    return run_reference_reading(scenario="incident")


def locations(result) -> list[str]:
    return [e.location for e in result.evidence if e.kind == "location"]


EMITTER = "netra_backend/app/websocket_core/unified_emitter.py"
FACTORY = "netra_backend/app/agents/supervisor/execution_factory.py"


def test_incident_missing_notify_methods_are_located_at_the_emitter_class(incident):
    results, lines = incident
    result = results["emitter-methods"]
    class_line = line_of(lines[EMITTER], "class UnifiedWebSocketEmitter")
    [lacks] = [e for e in result.evidence if e.location == f"{EMITTER}:{class_line}"]
    assert lacks.kind == "location"
    assert lacks.message.startswith("UnifiedWebSocketEmitter lacks notify_agent_started, ")
    # besides the un-awaited call site, and the list of methods said once, not twice
    assert f"{FACTORY}:29" in locations(result)
    assert not [e for e in result.evidence if isinstance(e.data, dict) and "missing" in e.data]
    assert sum("notify_tool_completed" in e.message for e in result.evidence
               if not e.message.startswith(CONTINUED)) == 1  # the summary's rest aside


def test_incident_engine_factory_leads_with_its_own_finding_located_where_it_builds(incident):
    results, lines = incident
    result = results["engine-factory"]
    assert result.full_summary.startswith("the first user's engine: ")
    assert "has no emitter bound" in result.full_summary
    assert "create_user_emitter() without await" not in result.full_summary
    build_line = line_of(lines[FACTORY], "async def create_for_user(")
    assert locations(result) == [f"{FACTORY}:{build_line}"]
    # the un-awaited call (WHY #2's located finding) is observed here, not located again
    assert not [e for e in result.evidence if e.location == f"{FACTORY}:29"]
    [unawaited] = [e for e in result.evidence if "without await" in e.message]
    assert unawaited.kind == "observed" and f"{FACTORY}:29" in unawaited.message


def test_an_unawaited_emitter_alone_fails_its_owner_and_blocks_engine_factory():
    results = run_reference("unawaited-user-emitter")
    result = results["engine-factory"]
    assert result.status is Status.SKIP, describe(results)
    assert result.full_summary.startswith(f"blocked by emitter-methods: the defect at {FACTORY}:29")
    assert "is a coroutine, not an emitter" in messages(result)
    assert locations(results["emitter-methods"]) == [f"{FACTORY}:29"]


def messages(result) -> str:
    return "\n".join(e.message for e in result.evidence)


def test_incident_registry_crash_at_its_static_finding_is_one_finding(incident):
    results, _ = incident
    result = results["registry-wiring"]
    assert [e.location for e in result.evidence if e.file] == \
        ["netra_backend/app/dependencies.py:26"]
    [located] = [e for e in result.evidence if e.kind == "location"]
    assert "calls AgentRegistry() without the required argument 'llm_manager'" in \
        located.message
    assert result.full_summary.startswith("netra_backend/app/dependencies.py:26 calls "
                                     "AgentRegistry() without")
    assert "TypeError" in result.full_summary
    assert "more finding" not in result.full_summary
    assert any(e.kind == "traceback" for e in result.evidence)
    assert any(e.kind == "observed" and "raised TypeError" in e.message
               for e in result.evidence)


def test_incident_crash_is_located_only_by_the_check_that_owns_it(incident):
    results, _ = incident
    for check_id in ("import-chain", "event-flow", "context-identity", "engine-factory",
                     "emitter-methods"):
        raised = [e for e in results[check_id].evidence
                  if e.kind == "location" and "raised here" in e.message]
        assert not raised, (check_id, raised)


def test_a_healthy_pass_carries_no_located_context_in_registry_wiring():
    result = run_reference()["registry-wiring"]
    assert result.status is Status.PASS
    [requires] = [e for e in result.evidence if "requires" in e.message]
    assert requires.kind == "observed" and requires.file is None
    assert "agent_registry.py:" in requires.message
    assert not [e for e in result.evidence if e.file]
