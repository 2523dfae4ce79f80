"""The JSON Schemas of run/v1 and profile/v1: shipped, printed, valid, and true to the code.

Every scenario's real JSON run (and every report fixture, a baseline comparison included)
validates against the run schema; every sample profile in the repository (the reference's,
the test backends', the README's example, what ``init`` writes) validates against the
profile schema, and profiles the validator refuses for their shape are refused by the schema
too. The validator's top-level keys equal the schema's (the drift test).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from helpers import run_subprocess, shared_run
from report_fixtures import (
    error_report,
    healthy_report,
    hostile_report,
    incident_report,
    interrupted_report,
)
from test_outputs_cli import INCIDENT_ENV, INCIDENT_RUN

from netra_diag import profile as profile_mod
from netra_diag.errors import ConfigError
from netra_diag.exitcodes import ExitCode
from netra_diag.faults import SCENARIOS
from netra_diag.reporters import render
from netra_diag.schemas import SCHEMAS, schema_path, schema_text, schema_uri

REPO = Path(__file__).resolve().parents[1]
Validator = jsonschema.Draft202012Validator


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = SCHEMAS[name]
    Validator.check_schema(schema)
    return Validator(schema, format_checker=Validator.FORMAT_CHECKER)


def problems(name: str, document: object) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}"
            for e in validator(name).iter_errors(document)]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_shipped_file_is_the_schema_and_the_cli_prints_it(name, tmp_path):
    assert schema_path(name).read_text(encoding="utf-8") == schema_text(name), (
        f"regenerate: netra-diag schema {name} > {schema_path(name)}")
    assert schema_uri(name).startswith("file://")
    proc = run_subprocess("schema", name, cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert json.loads(proc.stdout) == SCHEMAS[name]


def test_an_unknown_schema_name_is_a_usage_error(tmp_path):
    proc = run_subprocess("schema", "runs", cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE_ERROR
    assert "run, profile" in proc.stderr and proc.stdout == ""


# -- run/v1 --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scenario_runs(tmp_path_factory, shared_runs) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("runs")
    docs = {}
    for scenario in SCENARIOS:
        path = out / f"{scenario}.json"
        if scenario == "incident":  # the run test_outputs_cli.py reads, made once
            proc, folder = shared_run(shared_runs, *INCIDENT_RUN, env=INCIDENT_ENV)
            path.write_bytes((folder / "incident.json").read_bytes())
        else:
            proc = run_subprocess("run", "--scenario", scenario, "--format", "json", "-o",
                                  str(path), cwd=out)
        assert proc.returncode in (ExitCode.OK, ExitCode.FAILED), proc.stderr
        docs[scenario] = json.loads(path.read_text(encoding="utf-8"))
    baseline = out / "compared.json"
    proc = run_subprocess("report", str(out / "incident.json"), "--format", "json",
                          "--baseline", str(out / "healthy.json"), "-o", str(baseline), cwd=out)
    assert proc.returncode == ExitCode.OK, proc.stderr
    docs["incident-vs-healthy"] = json.loads(baseline.read_text(encoding="utf-8"))
    return docs


def test_every_scenarios_json_run_validates(scenario_runs):
    assert set(SCENARIOS) <= set(scenario_runs)
    for name, doc in scenario_runs.items():
        assert problems("run", doc) == [], name
    assert "comparison" in scenario_runs["incident-vs-healthy"]
    ids = [ev["id"] for r in scenario_runs["incident"]["results"] for ev in r["evidence"]
           if "id" in ev]
    assert "import-chain:location:netra_backend/app/dependencies.py" in ids


@pytest.mark.parametrize("report", [incident_report, healthy_report, error_report,
                                    hostile_report, interrupted_report])
def test_every_report_fixture_validates(report):
    assert problems("run", json.loads(render(report(), "json"))) == []


def test_the_run_schema_refuses_what_the_reader_refuses():
    doc = json.loads(render(incident_report(), "json"))
    for broken in ({**doc, "schema": "netra-diag/run/v2"},
                   {**doc, "results": [{**doc["results"][0], "status": "passed"}]},
                   {**doc, "counts": {"pass": 1}}):
        assert problems("run", broken)


# -- profile/v1 ----------------------------------------------------------------------------

def sample_profiles() -> list[Path]:
    found = [REPO / "netra_diag" / "reference" / "profile.yaml"]
    for folder in ("tests", "samples", "examples"):
        found += sorted((REPO / folder).rglob("netra-diag.yaml")) if (REPO / folder).is_dir() \
            else []
    return found


def readme_profile() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    return next(b for b in blocks if b.startswith("schema: netra-diag/profile/v1"))


def test_the_top_level_keys_are_the_validators():
    schema_keys = set(SCHEMAS["profile"]["properties"])
    assert schema_keys == set(profile_mod._TOP_KEYS), (
        "profile.py and schemas.py disagree on the top-level keys: update PROFILE_SCHEMA_DOC")
    sections = SCHEMAS["profile"]["properties"]
    assert set(sections["roles"]["properties"]) == set(profile_mod.ROLES)
    assert set(sections["methods"]["properties"]) == set(profile_mod.DEFAULT_METHODS)
    assert set(sections["budgets"]["properties"]) == set(profile_mod.DEFAULT_BUDGETS)


@pytest.mark.parametrize("path", sample_profiles(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_sample_profile_validates(path):
    profile_mod.load_profile(path)  # the validator accepts it...
    assert problems("profile", yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_the_readme_profile_validates():
    assert problems("profile", yaml.safe_load(readme_profile())) == []


def test_what_init_writes_validates_and_points_editors_at_the_schema(tmp_path):
    import shutil

    shutil.copytree(REPO / "netra_diag" / "reference" / "src", tmp_path / "src")
    proc = run_subprocess("init", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stderr
    text = (tmp_path / "netra-diag.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# yaml-language-server: $schema={schema_uri('profile')}"
    assert problems("profile", yaml.safe_load(text)) == []


@pytest.mark.parametrize("text", [
    "nmae: typo\n",
    "roles: {emiter: a.b:C}\n",
    "roles: {emitter: not-an-import}\n",
    "methods: {create_engin: x}\n",
    "budgets: {event_latency_ms: -1}\n",
    "deprecated: [{entry: a.b:c}]\n",
    "events: {critical: []}\n",
    "exclude: tests\n",
    "build: {registry: {llm: {factory: a.b:C, import: a.b:D}}}\n",
])
def test_profiles_the_validator_refuses_the_schema_refuses(text, tmp_path):
    path = tmp_path / "netra-diag.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        profile_mod.load_profile(path)
    assert problems("profile", yaml.safe_load(text))


# -- the markdown report of every scenario is lint-clean ------------------------------------

def test_every_scenarios_markdown_report_passes_mdformat_check(scenario_runs, tmp_path):
    import shutil
    import sys

    mdformat = shutil.which("mdformat", path=str(Path(sys.executable).parent)) or "mdformat"
    paths = []
    for name, doc in scenario_runs.items():
        saved = tmp_path / f"{name}.json"
        saved.write_text(json.dumps(doc), encoding="utf-8")
        out = tmp_path / f"{name}.md"
        proc = run_subprocess("report", str(saved), "-f", "markdown", "-o", str(out),
                              cwd=tmp_path)
        assert proc.returncode == ExitCode.OK, proc.stderr
        paths.append(out)
    for report in (incident_report, healthy_report, error_report, hostile_report,
                   interrupted_report):
        out = tmp_path / f"fixture-{report.__name__}.md"
        out.write_text(render(report(), "markdown"), encoding="utf-8")
        paths.append(out)
    proc = subprocess.run([mdformat, "--check", *map(str, paths)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    words = len((tmp_path / "incident.md").read_text(encoding="utf-8").split())
    assert words <= 1.5 * 1103, f"the incident report has {words} words"
