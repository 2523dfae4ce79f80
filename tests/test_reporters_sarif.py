"""SARIF 2.1.0, validated against the official OASIS schema shipped in tests/data."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest
from report_fixtures import (
    error_report,
    healthy_report,
    hostile_report,
    incident_report,
    interrupted_report,
)

from netra_diag.model import CheckResult, Evidence, Status, failed
from netra_diag.reporters.sarif import FINGERPRINT_KEY, SARIF_SCHEMA_URI, render_sarif

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"  # see SOURCE


def test_the_schema_is_the_official_file() -> None:
    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() == SCHEMA_SHA256
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["id"] == SARIF_SCHEMA_URI
    assert len(schema["definitions"]) == 52


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def render(report) -> dict:
    return json.loads(render_sarif(report))


@pytest.mark.parametrize("report", [incident_report, healthy_report, error_report,
                                    hostile_report, interrupted_report])
def test_valid_against_the_official_schema(report, validator) -> None:
    log = render(report())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert log["$schema"] == SARIF_SCHEMA_URI and log["version"] == "2.1.0"


def test_rules_one_per_check() -> None:
    run = render(incident_report())["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "netra-diag" and driver["version"]
    rules = {r["id"]: r for r in driver["rules"]}
    assert list(rules) == ["import-chain", "emitter-methods", "registry-wiring",
                           "engine-factory", "deprecation-warnings", "event-flow",
                           "user-isolation", "event-latency"]
    rule = rules["import-chain"]
    assert rule["name"] == "ImportChain"
    assert rule["shortDescription"]["text"] == "Import Chain"
    assert rule["fullDescription"]["text"].startswith("The application's wiring path")
    assert "A singleton manager mixes" not in rule["fullDescription"]["text"]
    assert "A singleton manager mixes" in rule["help"]["text"]
    assert "**Fix:** import create_websocket_manager" in rule["help"]["markdown"]
    assert rule["defaultConfiguration"]["level"] == "error"


def test_incident_finding_at_dependencies_line_16() -> None:
    run = render(incident_report())["runs"][0]
    results = run["results"]
    first = results[0]
    assert first["ruleId"] == "import-chain" and first["level"] == "error"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "netra_backend/app/dependencies.py",
                                            "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 16}
    assert first["message"]["text"].startswith("imports deprecated get_websocket_manager. ")
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
    # one result per located evidence of a non-passing check; passes and skips give none
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
            for r in results[:4]] == [("import-chain", 16), ("emitter-methods", 88),
                                      ("registry-wiring", 41), ("engine-factory", 131)]
    # event-flow located nothing: it still has its result, at the profile (here: none, the
    # embedded reference, so a logical location naming the check)
    flow = results[4]
    assert flow["ruleId"] == "event-flow" and flow["level"] == "error"
    assert flow["locations"] == [{"logicalLocations": [{
        "name": "event-flow", "kind": "module", "fullyQualifiedName": "netra-diag/event-flow"}]}]
    assert flow["message"]["text"].startswith("Complete Event Flow failed: 0/5")
    assert len(results) == 5
    registry = results[2]
    assert registry["message"]["text"].startswith("TypeError: AgentRegistry.__init__()")


def test_no_results_for_a_healthy_run() -> None:
    assert render(healthy_report())["runs"][0]["results"] == []


def test_errors_are_warnings_and_notifications() -> None:
    report = error_report()
    run = render(report)["runs"][0]
    # no file: one result per check, at the check (here the embedded reference's)
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [
        ("registry-wiring", "warning"), ("event-flow", "warning")]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["associatedRule"]["id"] for n in notes] == ["registry-wiring", "event-flow"]
    located = [dataclasses.replace(r, evidence=(Evidence("location", "profile key", "p.yaml", 3),))
               if r.id == "registry-wiring" else r for r in report.results]
    run = render(dataclasses.replace(report, results=tuple(located)))["runs"][0]
    result = run["results"][0]
    assert result["level"] == "warning" and result["ruleId"] == "registry-wiring"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "p.yaml"


def test_a_check_without_location_points_at_the_profile_or_the_endpoint(validator) -> None:
    report = error_report()
    target = {**report.target, "root": "/repo/src", "source_prefix": "src",
              "profile": "/repo/src/netra-diag.yaml", "builtin": False}
    log = render(dataclasses.replace(report, target=target))
    assert not list(validator.iter_errors(log))
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"]
                 for r in log["runs"][0]["results"]]
    assert locations == [{"uri": "src/netra-diag.yaml", "uriBaseId": "%SRCROOT%"}] * 2
    probe = {"name": "live endpoint ws://127.0.0.1:9/ws", "url": "ws://127.0.0.1:9/ws",
             "root": None, "probe": True, "faults": []}
    log = render(dataclasses.replace(report, target=probe))
    assert not list(validator.iter_errors(log))
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"]} == {"ws://127.0.0.1:9/ws"}


def test_fingerprints_come_from_finding_ids_not_lines_nor_messages() -> None:
    def fingerprint(line: int, message: str = "imports deprecated get_websocket_manager",
                    file: str = "netra_backend/app/dependencies.py", data=None) -> str:
        report = incident_report()
        results = [dataclasses.replace(r, evidence=(Evidence(
            "location", message, file, line, data),))
            if r.id == "import-chain" else r for r in report.results]
        run = render(dataclasses.replace(report, results=tuple(results)))["runs"][0]
        return run["results"][0]["partialFingerprints"][FINGERPRINT_KEY]

    assert fingerprint(16) == fingerprint(40)
    assert fingerprint(16) == fingerprint(16, "reworded: the deprecated singleton")
    assert fingerprint(16) != fingerprint(16, file="netra_backend/app/other.py")
    assert fingerprint(16) != fingerprint(16, data={"symbol": "get_websocket_manager"})
    # the fingerprint is the hash of the id the JSON run carries
    ev = Evidence("location", "m", "netra_backend/app/dependencies.py", 16)
    result = CheckResult.from_verdict(id="import-chain", why=1, title="t",
                                      verdict=failed("s", ev), duration_s=0)
    assert result.evidence[0].id == "import-chain:location:netra_backend/app/dependencies.py"
    assert fingerprint(16) == hashlib.sha256(result.evidence[0].id.encode()).hexdigest()[:32]


def test_paths_are_posix_relative_and_uri_encoded() -> None:
    report = incident_report()
    root = report.target["root"]
    results = [dataclasses.replace(r, evidence=(
        Evidence("location", "absolute inside", f"{root}/pkg/a b.py", 2),
        Evidence("location", "windows style", "pkg\\win.py", 3),
        Evidence("location", "outside", "/usr/lib/python3/x.py", 4),
    )) if r.id == "import-chain" else r for r in report.results]
    run = render(dataclasses.replace(report, results=tuple(results)))["runs"][0]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"][:3]]
    assert uris == [{"uri": "pkg/a%20b.py", "uriBaseId": "%SRCROOT%"},
                    {"uri": "pkg/win.py", "uriBaseId": "%SRCROOT%"},
                    {"uri": "file:///usr/lib/python3/x.py"}]


def test_skip_and_pass_produce_no_results_even_with_locations() -> None:
    report = incident_report()
    results = [dataclasses.replace(r, evidence=(Evidence("location", "x", "a.py", 1),))
               if r.status in (Status.PASS, Status.SKIP) else r for r in report.results]
    run = render(dataclasses.replace(report, results=tuple(results)))["runs"][0]
    assert {r["ruleId"] for r in run["results"]} == {"import-chain", "emitter-methods",
                                                     "registry-wiring", "engine-factory",
                                                     "event-flow"}


def test_uris_are_relative_to_the_repository_root(validator) -> None:
    # a profile with `root: src` in services/api of a repository: evidence files are
    # relative to the target root, code scanning resolves URIs against the checkout
    report = incident_report()
    target = {**report.target, "root": "/repo/services/api/src",
              "source_prefix": "services/api/src"}
    results = [dataclasses.replace(r, evidence=(
        *r.evidence, Evidence("location", "absolute, elsewhere in the repository",
                              "/repo/services/api/conftest.py", 2)))
        if r.id == "import-chain" else r for r in report.results]
    log = render(dataclasses.replace(report, target=target, results=tuple(results)))
    assert not list(validator.iter_errors(log))
    run = log["runs"][0]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]
            if "physicalLocation" in r["locations"][0]]
    assert uris[0] == {"uri": "services/api/src/netra_backend/app/dependencies.py",
                       "uriBaseId": "%SRCROOT%"}
    assert {"uri": "services/api/conftest.py", "uriBaseId": "%SRCROOT%"} in uris
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///repo/"


def test_an_interrupted_run_is_not_a_successful_execution() -> None:
    run = render(interrupted_report())["runs"][0]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert any(t.startswith("the run was interrupted before every check finished") for t in texts)
    assert run["properties"]["verdict"] == "interrupted" and run["properties"]["interrupted"]
    assert render(incident_report())["runs"][0]["properties"]["verdict"] == "broken"
