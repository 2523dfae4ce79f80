"""Every output format from real runs of the reference, through the CLI.

One incident run writes JSON, JUnit, SARIF, markdown and GitHub annotations at once (the
``--report FORMAT:PATH`` path) while the terminal shows the rich view; one healthy run is
the baseline. The files are then read by real consumers. The real incident run's markdown
is also kept as a snapshot (``tests/data/incident-run.md``, volatile fields normalised;
rewrite it with ``NETRA_UPDATE_SNAPSHOTS=1`` after reviewing the diff), and a target inside
a git repository shows that SARIF and GitHub paths are relative to the repository root.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import jsonschema
import pytest
from helpers import run_subprocess, shared_run
from junitparser import JUnitXml
from report_fixtures import CHECKS, INCIDENT_FAULTS, incident_report

from netra_diag._version import __version__
from netra_diag.analysis import chain_order
from netra_diag.exitcodes import ExitCode
from netra_diag.model import RunReport

DATA = Path(__file__).parent / "data"
REAL_SNAPSHOT = DATA / "incident-run.md"
BEACON_BROKEN = Path(__file__).parent / "fixtures" / "beacon" / "broken"


#: The incident run writing every format at once (test_schemas.py validates its JSON too:
#: ``shared_run`` makes it once per session); ``{out}`` is the folder it runs in.
INCIDENT_RUN = (
    "run", "--scenario", "incident",
    "--report", "json:{out}/incident.json",
    "--report", "junit:{out}/incident.xml",
    "--report", "sarif:{out}/incident.sarif",
    "--report", "markdown:{out}/incident.md",
    "--report", "github:{out}/incident.github",
)
INCIDENT_ENV = {"GITHUB_STEP_SUMMARY": "{out}/step-summary.md"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, shared_runs: Path) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("outputs")
    healthy = run_subprocess("run", "--format", "json", "--output", str(out / "healthy.json"),
                             cwd=out)
    assert healthy.returncode == ExitCode.OK, healthy.stderr
    incident, folder = shared_run(shared_runs, *INCIDENT_RUN, env=INCIDENT_ENV)
    assert incident.returncode == ExitCode.FAILED, incident.stderr
    (out / "incident.rich").write_text(incident.stdout)
    return {p.name: p for p in [*out.iterdir(), *folder.iterdir()]}


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


def test_json_results_follow_the_chain_order(runs):
    doc = json.loads(runs["incident.json"].read_text())
    ids = [r["id"] for r in doc["results"]]
    assert ids == [r.id for r in chain_order(RunReport.from_dict(doc).results, doc["checks"])]
    assert ids[:7] == ["import-chain", "emitter-methods", "registry-wiring", "engine-factory",
                       "deprecation-warnings", "context-identity", "event-flow"]
    assert doc["target"]["source_prefix"] == ""  # the reference's private copy: no repository


# -- --baseline reaches every format that can show it, and says where it cannot --------------

def test_json_with_a_baseline_carries_the_comparison(runs, tmp_path):
    proc = run_subprocess("report", str(runs["incident.json"]), "--format", "json",
                          "--baseline", str(runs["healthy.json"]), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [c["id"] for c in doc["comparison"]["regressed"]] == [
        "import-chain", "emitter-methods", "registry-wiring", "engine-factory", "event-flow"]
    assert doc["comparison"]["fixed"] == []
    assert proc.stderr == ""
    # the document stays a netra-diag/run/v1 run: it is read back and re-rendered
    saved = tmp_path / "with-comparison.json"
    saved.write_text(proc.stdout)
    again = run_subprocess("report", str(saved), "--format", "json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "comparison" not in json.loads(again.stdout)


@pytest.mark.parametrize("fmt", ["junit", "sarif", "github"])
def test_formats_without_a_comparison_say_the_baseline_does_not_shape_them(runs, tmp_path, fmt):
    proc = run_subprocess("report", str(runs["incident.json"]), "--format", fmt,
                          "--baseline", str(runs["healthy.json"]), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stderr.splitlines() if "--baseline" in line]
    assert notes == [f"netra-diag: note: --baseline shapes only the markdown, json and terminal "
                     f"outputs (and the GitHub step summary), not {fmt}"]
    assert "--baseline" not in proc.stdout  # the document itself stays clean
    if fmt == "sarif":
        json.loads(proc.stdout)


def test_step_summary_carries_the_baseline(runs, tmp_path):
    summary = tmp_path / "summary.md"
    proc = run_subprocess("report", str(runs["incident.json"]), "--format", "github",
                          "--baseline", str(runs["healthy.json"]), cwd=tmp_path,
                          env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stderr
    text = summary.read_text()
    assert "## Before/After" in text and "regressed 5" in text


# -- SARIF and GitHub paths are relative to the repository root ------------------------------

def _git_init(folder: Path) -> None:
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(folder)], check=True, timeout=30,
                       capture_output=True)
    else:  # what the tool looks for: a .git folder
        (folder / ".git").mkdir()


def test_sarif_and_github_paths_are_relative_to_the_repository_root(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(BEACON_BROKEN, repo / "sub")  # sub/netra-diag.yaml with `root: src`
    _git_init(repo)
    out = tmp_path / "out"
    out.mkdir()
    proc = run_subprocess("run", "sub", "--only", "import-chain", "--format", "sarif",
                          "--report", f"github:{out / 'gh.txt'}",
                          "--report", f"json:{out / 'run.json'}", cwd=repo)
    assert proc.returncode == ExitCode.FAILED, proc.stderr
    sarif = json.loads(proc.stdout)
    run = sarif["runs"][0]
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in run["results"] for loc in result["locations"]}
    assert "sub/src/beacon/app/wiring.py" in uris
    assert all(uri.startswith("sub/src/") for uri in uris)
    assert all(loc["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
               for result in run["results"] for loc in result["locations"])
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    errors = [line for line in (out / "gh.txt").read_text().splitlines()
              if line.startswith("::error ")]
    assert errors and all(line.startswith("::error file=sub/src/beacon/") for line in errors)
    assert any(line.startswith("::error file=sub/src/beacon/app/wiring.py,line=")
               for line in errors)
    # the JSON contract is unchanged: evidence files stay relative to the target root
    doc = json.loads((out / "run.json").read_text())
    assert doc["target"]["source_prefix"] == "sub/src"
    files = {ev["file"] for r in doc["results"] for ev in r["evidence"] if ev.get("file")}
    assert "beacon/app/wiring.py" in files


def test_source_prefix_finds_the_enclosing_work_tree(tmp_path):
    from netra_diag.target import Target, open_target, source_prefix

    repo = tmp_path / "repo"
    (repo / "a" / "src").mkdir(parents=True)
    _git_init(repo)
    assert source_prefix(repo / "a" / "src") == "a/src"
    assert source_prefix(repo) == ""
    # a linked work tree or a submodule has a .git *file*
    (repo / "a" / ".git").write_text("gitdir: ../.git/worktrees/a\n")
    assert source_prefix(repo / "a" / "src") == "src"
    hidden = repo / ".hidden" / "src"
    hidden.mkdir(parents=True)
    assert source_prefix(hidden) == ".hidden/src"
    lone = tmp_path / "lone" / "src"
    lone.mkdir(parents=True)
    if not any((p / ".git").exists() for p in lone.parents):  # a temp dir in no repository
        assert source_prefix(lone) == ""
    with open_target(None, cwd=tmp_path) as target:
        assert isinstance(target, Target) and target.describe()["source_prefix"] == ""


# -- the scenario is recorded as given, with the faults actually applied ----------------------

@pytest.mark.parametrize(("scenario", "inject", "label"), [
    (None, (), "healthy"),
    ("healthy", (), "healthy"),
    ("healthy", ("slow-emission",), "healthy+inject"),
    ("incident", ("slow-emission",), "incident+inject"),
    ("incident", ("deprecated-singleton-import",), "incident"),  # already in the scenario
    (None, ("slow-emission",), None),
])
def test_scenario_and_faults_are_recorded_as_run(tmp_path, scenario, inject, label):
    from netra_diag.faults import resolve_faults
    from netra_diag.target import open_target

    with open_target(None, scenario=scenario, inject=inject, cwd=tmp_path) as target:
        described = target.describe()
    assert described["scenario"] == label
    assert described["faults"] == list(resolve_faults(scenario, inject))


# -- the fixtures speak the tool's own names ---------------------------------------------------

def test_report_fixtures_use_the_tools_check_titles_and_fault_names(tmp_path):
    listed = run_subprocess("list", "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    checks = {c["id"]: c for c in json.loads(listed.stdout)}
    for check_id, meta in CHECKS.items():
        assert check_id in checks, check_id
        real = checks[check_id]
        assert (meta["title"], meta["why"], meta["tags"], meta["depends_on"]) == (
            real["title"], real["why"], real["tags"], real["depends_on"]), check_id
    faults = run_subprocess("faults", "--format", "json", cwd=tmp_path)
    assert faults.returncode == 0, faults.stderr
    names = {f["name"] for f in json.loads(faults.stdout)}
    report = incident_report()
    assert set(report.target["faults"]) <= names
    from netra_diag.faults import SCENARIOS

    assert tuple(report.target["faults"]) == INCIDENT_FAULTS == SCENARIOS["incident"]


# -- a snapshot of the real incident report ---------------------------------------------------

_ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?"


def normalise_real_report(text: str, *, extra_paths: tuple[str, ...] = ()) -> str:
    """The real run's markdown without what changes from run to run or machine to machine:
    dates and times, durations and timings, run ids, ports, memory addresses, temporary
    paths, the tool, Python and platform versions."""
    for path in sorted({*extra_paths, tempfile.gettempdir()}, key=len, reverse=True):
        if path:
            text = re.sub(re.escape(path) + r"[/\\][^\s`'\")\]]*", "<TMP>", text)
    text = re.sub(_ISO, "<TIMESTAMP>", text)
    text = re.sub(r"(\*\*Date:\*\*) \d{4}-\d{2}-\d{2}", r"\1 <DATE>", text)
    # measured times are printed with decimals; integral ones ("50 ms by default") are settings
    text = re.sub(r"\b\d+\.\d+ ?(s|ms|µs)\b", r"<T> \1", text)
    text = re.sub(r"\b(run|req|user|thread)_[0-9a-f]{8,}\b", r"\1_<ID>", text)
    text = re.sub(r"\b[0-9a-f]{32}\b", "<HEX>", text)
    text = re.sub(r"\b0x[0-9a-fA-F]{4,}\b", "0x<ADDR>", text)
    text = re.sub(r"(127\.0\.0\.1|localhost|\[::1\]):\d+", r"\1:<PORT>", text)
    text = re.sub(r"\bport \d+\b", "port <PORT>", text)
    text = re.sub(r"(?m)^- \*\*Python:\*\* .*$", "- **Python:** <PYTHON> on <PLATFORM>", text)
    text = re.sub(r"(?m)^- \*\*Tool:\*\* netra-diag .*$", "- **Tool:** netra-diag <VERSION>",
                  text)
    for volatile in {__version__, platform.python_version()}:
        text = re.sub(rf"(?<![\w.]){re.escape(volatile)}(?![\w.])", "<VERSION>", text)
    return text


def test_normalisation_hides_only_volatile_fields():
    a = ("**Date:** 2026-11-27\\\n- **Started:** 2026-11-27T13:02:50+00:00; **duration:** 0.84 s\n"
         "run_id: run_23d4c714790144edb74ebddfbca2740d at ws://127.0.0.1:41234/ws in 12.5 ms\n"
         f"{tempfile.gettempdir()}/netra-diag-reference-ab12/src/x.py <obj at 0x7f3a2b4c>\n"
         f"- **Tool:** netra-diag {__version__}\n- **Python:** 3.11.7 on Linux-6.1\n"
         "0/5 critical events delivered: WHY #1 failed\n")
    b = ("**Date:** 2027-01-01\\\n- **Started:** 2027-01-01T00:00:01+00:00; **duration:** 12.10 s\n"
         "run_id: run_ffffffffffffffffffffffffffffffff at ws://127.0.0.1:5/ws in 3.0 ms\n"
         f"{tempfile.gettempdir()}/netra-diag-reference-zz/src/x.py <obj at 0x1234abcd>\n"
         "- **Tool:** netra-diag 9.9.9\n- **Python:** 3.13.0 on Darwin-24\n"
         "0/5 critical events delivered: WHY #1 failed\n")
    assert normalise_real_report(a) == normalise_real_report(b)
    assert "0/5 critical events delivered: WHY #1 failed" in normalise_real_report(a)
    assert "(50 ms by default)" in normalise_real_report("(50 ms by default)")  # a setting


def test_snapshot_of_the_real_incident_report(tmp_path):
    proc = run_subprocess("run", "--scenario", "incident", "--format", "markdown",
                          cwd=tmp_path)
    assert proc.returncode == ExitCode.FAILED, proc.stderr
    text = normalise_real_report(proc.stdout, extra_paths=(str(tmp_path),))
    assert text.startswith("# Agent Event Pipeline Failure")
    update = os.environ.get("NETRA_UPDATE_SNAPSHOTS") == "1"
    if update or not REAL_SNAPSHOT.exists():
        REAL_SNAPSHOT.write_text(text, encoding="utf-8")
        if not update:
            pytest.fail(f"snapshot {REAL_SNAPSHOT.name} was missing and has been written; re-run")
    assert text == REAL_SNAPSHOT.read_text(encoding="utf-8"), (
        "the real incident report changed (a reporter, a check's wording or the reference): "
        "review the diff and re-run with NETRA_UPDATE_SNAPSHOTS=1")
