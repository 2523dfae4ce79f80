"""Every output format from real runs of the reference, through the CLI.

One incident run writes JSON, JUnit, SARIF, markdown and GitHub annotations at once (the
``--report FORMAT:PATH`` path) while the terminal shows the rich view; one healthy run is
the baseline. The files are then read by real consumers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from helpers import run_subprocess
from junitparser import JUnitXml

from netra_diag.exitcodes import ExitCode

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("outputs")
    healthy = run_subprocess("run", "--format", "json", "--output", str(out / "healthy.json"),
                             cwd=out)
    assert healthy.returncode == ExitCode.OK, healthy.stderr
    summary = out / "step-summary.md"
    incident = run_subprocess(
        "run", "--scenario", "incident",
        "--report", f"json:{out / 'incident.json'}",
        "--report", f"junit:{out / 'incident.xml'}",
        "--report", f"sarif:{out / 'incident.sarif'}",
        "--report", f"markdown:{out / 'incident.md'}",
        "--report", f"github:{out / 'incident.github'}",
        cwd=out, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert incident.returncode == ExitCode.FAILED, incident.stderr
    (out / "incident.rich").write_text(incident.stdout)
    return {p.name: p for p in out.iterdir()}


def test_the_terminal_still_shows_the_rich_view(runs):
    text = runs["incident.rich"].read_text()
    assert "import-chain" in text and "FAIL" in text and "Diagnosis" in text


def test_report_rebuilds_the_same_markdown_from_the_saved_run(runs, tmp_path):
    again = tmp_path / "again.md"
    proc = run_subprocess("report", str(runs["incident.json"]), "--format", "markdown",
                          "--output", str(again), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert again.read_text() == runs["incident.md"].read_text()


def test_markdown_summary_block_matches_the_incident(runs):
    text = runs["incident.md"].read_text()
    for line in ("FAIL WHY #1: Import Chain", "FAIL WHY #2:", "FAIL WHY #3:", "FAIL WHY #4:",
                 "PASS WHY #5:", "FAIL Complete Event Flow - 0/5 critical events"):
        assert line in text
    assert "netra_backend/app/dependencies.py:16" in text
    assert "```mermaid" in text


def test_baseline_comparison_lists_incident_failures_as_regressed(runs, tmp_path):
    proc = run_subprocess("report", str(runs["incident.json"]), "--format", "json",
                          "--baseline", str(runs["healthy.json"]), cwd=tmp_path)
    assert proc.returncode == 0
    md = run_subprocess("report", str(runs["incident.json"]), "--format", "markdown",
                        "--baseline", str(runs["healthy.json"]), cwd=tmp_path).stdout
    section = md[md.index("Before"):]
    for check_id in ("import-chain", "emitter-methods", "registry-wiring", "engine-factory",
                     "event-flow"):
        assert check_id in section
    assert "regressed" in section.lower()
    back = run_subprocess("report", str(runs["healthy.json"]), "--format", "markdown",
                          "--baseline", str(runs["incident.json"]), cwd=tmp_path).stdout
    assert "fixed" in back[back.index("Before"):].lower()


def test_junit_is_read_by_junitparser_with_the_right_counts(runs):
    doc = json.loads(runs["incident.json"].read_text())
    xml = JUnitXml.fromfile(str(runs["incident.xml"]))
    cases = [case for suite in xml for case in suite]
    assert len(cases) == len(doc["results"])
    assert xml.failures == doc["counts"]["fail"]
    failures = sum(1 for c in cases for r in c.result if r.__class__.__name__ == "Failure")
    assert failures == doc["counts"]["fail"]
    names = {c.name for c in cases}
    assert "import-chain Import Chain" in names


def test_sarif_validates_and_locates_the_deprecated_import(runs):
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    sarif = json.loads(runs["incident.sarif"].read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    hits = [
        (loc["physicalLocation"]["artifactLocation"]["uri"],
         loc["physicalLocation"]["region"]["startLine"])
        for result in sarif["runs"][0]["results"] if result["ruleId"] == "import-chain"
        for loc in result["locations"]
    ]
    assert ("netra_backend/app/dependencies.py", 16) in hits


def test_github_annotations_are_well_formed(runs):
    lines = runs["incident.github"].read_text().splitlines()
    commands = [ln for ln in lines if ln.startswith("::error") or ln.startswith("::warning")]
    assert commands
    pattern = re.compile(r"^::(error|warning)( [a-z]+=[^,:]*(,[a-z]+=[^,:]*)*)?::.+$")
    for line in commands:
        assert pattern.match(line), line
    assert any("file=netra_backend/app/dependencies.py,line=16" in ln for ln in commands)


def test_step_summary_is_appended_when_github_runs_under_actions(tmp_path, runs):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    proc = run_subprocess("report", str(runs["incident.json"]), "--format", "github",
                          cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert "FAIL WHY #1" in text


def test_report_on_a_missing_or_foreign_file_exits_4(tmp_path):
    proc = run_subprocess("report", str(tmp_path / "nope.json"), cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE_ERROR
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other"}')
    proc = run_subprocess("report", str(bad), cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE_ERROR
    assert "netra-diag/run/v1" in proc.stderr


def test_the_run_itself_appended_its_summary(runs):
    assert "FAIL WHY #1" in runs["step-summary.md"].read_text()
