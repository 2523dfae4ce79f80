"""Adding a check is one file: a plugin (``tests/data/new-check/audit_trail.py``, loaded with
``--checks-dir``) appears in every view, at the place it declares, with the words it declares,
without a line of the tool changed for it.

One real run (``--static``: the plugin decides from its own code, and a static run is the
cheapest real one) writes the JSON; every other format is rendered from that saved run
in this process, which never imports the plugin: the report carries what the views need.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from helpers import run_subprocess
from rich.console import Console

from netra_diag.outputs import load_saved
from netra_diag.reporters import render
from netra_diag.reporters.sarif import FINGERPRINT_KEY
from netra_diag.reporters.terminal import render_report

PLUGIN_DIR = Path(__file__).parent / "data" / "new-check"
NEW = "audit-trail"
SITE = "netra_backend/app/agents/supervisor/supervisor.py"
FINDING = f"{NEW}:location:{SITE}:Supervisor.run"
#: where it declares it sits (order=75): after event-flow (70), before user-isolation (80)
BEFORE, AFTER = "event-flow", "user-isolation"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("new-check")
    run = folder / "run.json"
    proc = run_subprocess("run", "--static", "--checks-dir", str(PLUGIN_DIR), "-f", "json",
                          "-o", str(run), cwd=folder)
    assert proc.returncode == 1, proc.stderr  # a failing check: the run is broken
    return run


@pytest.fixture(scope="module")
def doc(saved: Path) -> dict[str, Any]:
    return json.loads(saved.read_text(encoding="utf-8"))


def _between(ids: list[str]) -> None:
    assert ids.index(BEFORE) < ids.index(NEW) < ids.index(AFTER), ids


def test_it_sits_where_it_declares_in_the_run_and_in_list(doc: dict[str, Any],
                                                           tmp_path: Path) -> None:
    _between([r["id"] for r in doc["results"]])
    assert doc["checks"][NEW]["order"] == 75
    proc = run_subprocess("list", "--checks-dir", str(PLUGIN_DIR), "-f", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    _between([row["id"] for row in rows])
    assert next(row for row in rows if row["id"] == NEW)["order"] == 75


def test_the_diagnosis_uses_its_declaration(doc: dict[str, Any]) -> None:
    d = doc["diagnosis"]
    assert d["root_cause"]["id"] == NEW and d["root_cause"]["location"] == f"{SITE}:1"
    assert {"ids": [NEW], "location": f"{SITE}:1", "findings": [FINDING]} in d["root_causes"]
    assert d["symptom"].endswith("events leave no audit record (audit-trail: 2 run(s) "
                                 "unrecorded)")
    assert d["symptom_checks"] == [NEW]
    assert d["critical"] == [NEW] and d["headlines"][NEW] == "2 run(s) unrecorded"
    box = next(item for item in d["checklist"] if item["id"] == NEW)
    assert box == {"id": NEW, "text": "Every agent run leaves an audit record", "status": "fail"}
    _between([item["id"] for item in d["checklist"]])
    result = next(r for r in doc["results"] if r["id"] == NEW)
    assert result["findings"] == [{
        "id": FINDING, "check": NEW, "message": "the run ends here without writing an audit "
        "record", "file": SITE, "line": 1,
        "hint": "write the audit record in the run's finally block"}]


def test_every_format_shows_it_rendered_from_the_saved_run_alone(saved: Path) -> None:
    report = load_saved(saved)
    plugin = str((PLUGIN_DIR / "audit_trail.py").resolve())
    assert not any(getattr(m, "__file__", None) == plugin for m in list(sys.modules.values()))

    buf = io.StringIO()
    render_report(report, Console(file=buf, width=200, no_color=True, color_system=None))
    terminal = buf.getvalue()
    rows = [line.split()[1] for line in terminal.splitlines()
            if line[:5].strip() in {"#1", "#2", "#3", "#4", "#5", "e2e"} and len(line.split()) > 2]
    _between(rows)
    assert f"first to fix: {NEW} at {SITE}:1" in terminal

    markdown = render(report, "markdown")
    assert "**Severity:** CRITICAL\\" in markdown
    assert "FAIL Audit Trail - 2 run(s) unrecorded" in markdown
    assert "### Audit Trail - FAIL" in markdown
    assert "- [ ] Every agent run leaves an audit record (`audit-trail`: FAIL)" in markdown
    assert markdown.index("Complete Event Flow - SKIP") < markdown.index(
        "### Audit Trail - FAIL") < markdown.index("### User isolation on the wire")

    suite = ET.fromstring(render(report, "junit"))
    cases = [case.get("name", "").split()[0] for case in suite.iter("testcase")]
    _between(cases)
    case = next(c for c in suite.iter("testcase") if c.get("name", "").startswith(NEW))
    assert case.find("failure") is not None

    sarif = json.loads(render(report, "sarif"))
    run = sarif["runs"][0]
    assert NEW in [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    found = [r for r in run["results"] if r["ruleId"] == NEW]
    assert len(found) == 1
    digest = hashlib.sha256(FINDING.encode()).hexdigest()[:32]
    assert found[0]["partialFingerprints"][FINGERPRINT_KEY] == digest

    github = render(report, "github")
    assert any(line.startswith("::error ") and f"file={SITE}" in line and "Audit Trail" in line
               for line in github.splitlines())
