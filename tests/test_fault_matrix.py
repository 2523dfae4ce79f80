"""Every fault is caught by the checks it declares; the healthy reference passes everything.

This is the proof that each check can fail: if a check stops detecting its fault, or starts
failing on healthy code, this file says which.
"""

from __future__ import annotations

import pytest

from netra_diag.faults import FAULTS, SCENARIOS
from netra_diag.model import Status
from netra_diag.registry import Registry
from netra_diag.runner import Runner
from netra_diag.target import open_target


def run_reference(*faults: str, scenario: str | None = None) -> dict:
    registry = Registry()
    registry.load_builtin()
    with open_target(None, inject=faults, scenario=scenario) as target:
        outcome = Runner(target.profile, timeout_s=30).run(registry.specs)
    return {r.id: r for r in outcome.results}


def describe(results: dict) -> str:
    return "\n".join(f"{r.id}: {r.status.value}: {r.summary}" for r in results.values())


def test_healthy_reference_passes_every_check():
    results = run_reference()
    registry = Registry()
    registry.load_builtin()
    assert set(results) == {s.id for s in registry.specs}
    assert all(r.status is Status.PASS for r in results.values()), describe(results)
    flow = results["event-flow"]
    [events] = [e for e in flow.evidence if e.kind == "events"]
    assert events.data["received"] == ["agent_started", "agent_thinking", "tool_executing",
                                       "tool_completed", "agent_completed"]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_caught_by_its_declared_checks(fault):
    results = run_reference(fault)
    for check_id in FAULTS[fault].detected_by:
        assert results[check_id].status is Status.FAIL, describe(results)
    errors = [r for r in results.values() if r.status is Status.ERROR]
    assert not errors, describe(results)


def test_incident_scenario_reproduces_the_incident_table():
    results = run_reference(scenario="incident")
    expected = {
        "import-chain": Status.FAIL,
        "emitter-methods": Status.FAIL,
        "registry-wiring": Status.FAIL,
        "engine-factory": Status.FAIL,
        "deprecation-warnings": Status.PASS,
        "event-flow": Status.FAIL,
    }
    assert {k: results[k].status for k in expected} == expected, describe(results)
    assert results["event-flow"].summary.startswith("0/5 critical events")
    locations = [e.location for e in results["import-chain"].evidence if e.kind == "location"]
    assert "netra_backend/app/dependencies.py:16" in locations
    assert SCENARIOS["incident"]
