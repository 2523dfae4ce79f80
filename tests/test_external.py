"""An external target: the beacon sample backend (tests/fixtures/beacon), not the reference.

beacon is the same pipeline under another package name and module layout: an async manager
factory, sync registry wiring, method names that differ (``emitter_for``, ``engine_for``),
a notify method taking ``(result)``, constructors that need extra dependencies supplied
through the profile's ``build:``, no server (event-flow runs in-process), and a package that
imports ``sqlite3``. ``healthy`` must pass every check; ``broken`` (the incident, plus a
context type split three ways) must fail the incident's checks and ``context-identity``,
with evidence in beacon's own files. Each is run with its hand-written profile and with one
written by ``init``; no check knows beacon.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from netra_diag.blocking import mark_blocked
from netra_diag.exitcodes import ExitCode
from netra_diag.init import write_profile
from netra_diag.model import Status, full_summary
from netra_diag.profile import load_profile
from netra_diag.registry import Registry
from netra_diag.runner import Runner


def said(row: dict) -> str:
    """A JSON result's whole summary (a cut one joined with its continuation)."""
    return full_summary(row["summary"], row["evidence"])

BEACON = Path(__file__).parent / "fixtures" / "beacon"
INCIDENT_FAILS = ("import-chain", "emitter-methods", "registry-wiring", "event-flow",
                  "context-identity")
#: beacon's engine factory calls the async emitter factory without await: emitter-methods
#: owns that defect, and engine-factory says it is blocked by it (one defect, one owner)
BLOCKED = {"engine-factory": "emitter-methods"}
WIRE_ONLY = ("event-latency",)  # user-isolation runs in-process without a server
FLEET = ("cross-instance-delivery", "backplane-isolation", "backplane-resilience")


def run_checks(profile: Path, *, static: bool = False, only: tuple[str, ...] = ()) -> dict:
    registry = Registry()
    registry.load_builtin()
    specs = [s for s in registry.specs if not only or s.id in only]
    outcome = Runner(load_profile(profile), jobs=2, timeout_s=30, static=static).run(specs)
    return {r.id: r for r in mark_blocked(outcome.results)}


def describe(results: dict) -> str:
    return "\n".join(f"{r.id}: {r.status.value}: {r.full_summary}" for r in results.values())


def init_copy(tmp: Path, which: str) -> Path:
    """A copy of beacon ``which`` whose profile is the one ``init`` writes."""
    folder = tmp / which
    shutil.copytree(BEACON / which / "src", folder / "src")
    write_profile(folder)
    return folder / "netra-diag.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("beacon")
    return {
        "healthy/hand": run_checks(BEACON / "healthy" / "netra-diag.yaml"),
        "broken/hand": run_checks(BEACON / "broken" / "netra-diag.yaml"),
        "healthy/init": run_checks(init_copy(tmp, "healthy")),
        "broken/init": run_checks(init_copy(tmp, "broken")),
    }


@pytest.mark.parametrize("profile", ["hand", "init"])
def test_healthy_beacon_passes_everything(runs, profile):
    results = runs[f"healthy/{profile}"]
    for check_id, result in results.items():
        if check_id in WIRE_ONLY:  # no server: judged on the wire only, so not applicable
            assert result.status is Status.SKIP, describe(results)
            assert "no 'server' role" in result.full_summary
        elif check_id in FLEET:  # no backplane given: the fleet is opt-in
            assert result.status is Status.SKIP, describe(results)
            assert "no fleet configured" in result.full_summary
        else:
            assert result.status is Status.PASS, describe(results)
    flow = results["event-flow"]
    [events] = [e for e in flow.evidence if e.kind == "events"]
    assert events.data["received"] == ["agent_started", "agent_thinking", "tool_executing",
                                       "tool_completed", "agent_completed"]
    assert "wire was not exercised" in flow.full_summary
    isolation = results["user-isolation"]
    assert isolation.status is Status.PASS, describe(results)
    assert "the wire was not exercised" in " ".join(e.message for e in isolation.evidence)


@pytest.mark.parametrize("profile", ["hand", "init"])
def test_broken_beacon_fails_like_the_incident_plus_context_identity(runs, profile):
    results = runs[f"broken/{profile}"]
    for check_id in INCIDENT_FAILS:
        assert results[check_id].status is Status.FAIL, describe(results)
    for check_id, owner in BLOCKED.items():
        assert results[check_id].status is Status.SKIP, describe(results)
        assert results[check_id].full_summary.startswith(f"blocked by {owner}: "), describe(results)
    assert results["deprecation-warnings"].status is Status.PASS, describe(results)
    assert not [r for r in results.values() if r.status is Status.ERROR], describe(results)
    assert results["event-flow"].full_summary.startswith("0/5 critical events")


def locations(result) -> list[str]:
    return [e.location for e in result.evidence if e.file]


def test_broken_beacon_evidence_names_its_own_files_and_lines(runs):
    results = runs["broken/hand"]
    for check_id in INCIDENT_FAILS:
        assert all(loc.startswith("beacon/") for loc in locations(results[check_id])), check_id
    assert "beacon/app/wiring.py:11" in locations(results["import-chain"])
    assert "beacon/app/wiring.py:17" in locations(results["import-chain"])  # the call
    emitter = results["emitter-methods"]
    assert "beacon/agents/runtime/factory.py:22" in locations(emitter)  # un-awaited emitter_for
    assert "UserEventEmitter lacks notify_agent_started" in emitter.full_summary
    assert "beacon/app/wiring.py:18" in locations(results["registry-wiring"])
    identity = results["context-identity"]
    for where in ("beacon/core/context.py:14", "beacon/services/bridge.py:14",
                  "beacon/agents/runtime/context.py:9"):
        assert where in locations(identity)
    assert "beacon/testing/fakes.py" not in identity.full_summary  # test code is not production
    assert "bridge.emitter_for() rejects" in identity.full_summary
    assert "beacon/services/bridge.py:36" in locations(identity)  # where it rejects


def test_the_differing_notify_signature_is_called_as_it_is(runs):
    emitter = runs["healthy/hand"]["emitter-methods"]
    messages = [e.message for e in emitter.evidence]
    assert "notify_agent_completed(result) (awaited) emitted agent_completed" in messages
    assert any("emitter_for() is async: awaited it" in m for m in messages)


def test_init_finds_the_roles_of_the_hand_written_profile(tmp_path):
    hand = load_profile(BEACON / "broken" / "netra-diag.yaml")
    written = load_profile(init_copy(tmp_path, "broken"))
    assert written.roles == hand.roles
    assert {(d.entry, d.replacement) for d in written.deprecated} == \
        {(d.entry, d.replacement) for d in hand.deprecated}
    assert written.methods == hand.methods
    text = (tmp_path / "broken" / "netra-diag.yaml").read_text()
    assert "3 classes named like this" in text
    assert "# server: TODO" in text


# -- a dependency that is not installed ------------------------------------------------------


@pytest.fixture
def no_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``sqlite3`` unimportable in the check interpreters, as on a host without the
    driver: a module that raises what a missing module raises, first on their path."""
    shim = tmp_path / "no-sqlite"
    shim.mkdir()
    (shim / "sqlite3.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'sqlite3'\", name='sqlite3')\n")
    existing = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(shim), *filter(None, [existing])]))


DYNAMIC_ONLY = ("deprecation-warnings", "event-flow")


def test_missing_dependency_is_an_error_naming_it_and_static_findings_remain(no_sqlite):
    results = run_checks(BEACON / "broken" / "netra-diag.yaml")
    for check_id in DYNAMIC_ONLY:
        result = results[check_id]
        assert result.status is Status.ERROR, describe(results)
        assert "needs the module 'sqlite3', which is not installed here" in result.full_summary
        assert "--static" in (result.fix or "")
    # where the source alone shows the defect, the static findings still fail the check
    for check_id in ("import-chain", "emitter-methods", "registry-wiring", "context-identity"):
        result = results[check_id]
        assert result.status is Status.FAIL, describe(results)
        assert result.evidence and any(e.file and e.line for e in result.evidence)
        if check_id != "import-chain":
            assert any("sqlite3" in e.message for e in result.evidence if e.kind == "note")


def test_missing_dependency_on_healthy_code_is_undecided_never_pass(no_sqlite, cli):
    result = cli("run", str(BEACON / "healthy"), "--format", "json", "--jobs", "2")
    assert result.exit_code == ExitCode.UNDECIDED
    doc = json.loads(result.stdout)
    for row in doc["results"]:
        if row["id"] in (*WIRE_ONLY, "user-isolation", *FLEET):  # skip: event-flow; no fleet
            continue
        assert row["status"] == "error", row
        assert "sqlite3" in said(row)


def test_static_mode_still_judges_without_the_dependency(no_sqlite, cli):
    result = cli("run", str(BEACON / "broken"), "--static", "--format", "json", "--jobs", "2")
    assert result.exit_code == ExitCode.FAILED
    rows = {row["id"]: row for row in json.loads(result.stdout)["results"]}
    for check_id in ("import-chain", "emitter-methods"):
        assert rows[check_id]["status"] == "fail", rows[check_id]
        located = [f"{e['file']}:{e['line']}" for e in rows[check_id]["evidence"]
                   if e.get("file") and e.get("line")]
        assert located and all(loc.startswith("beacon/") for loc in located)
    assert rows["event-flow"]["status"] == "skip"
    assert not [r for r in rows.values() if r["status"] == "error"], rows
