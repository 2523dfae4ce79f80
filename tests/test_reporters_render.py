"""The reporter interface: formats, dispatch, lazy imports, shared evidence text."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from report_fixtures import healthy_report, incident_report

import netra_diag.reporters as reporters
from netra_diag.model import Evidence, RunReport
from netra_diag.reporters import FORMATS, evidence_text, render, repository_path


def test_formats() -> None:
    assert FORMATS == ("rich", "json", "markdown", "junit", "sarif", "github")
    assert not hasattr(reporters, "SUFFIXES")  # unused, and documented a non-existent option


@pytest.mark.parametrize(("fmt", "start"), [
    ("markdown", "# Agent Event Pipeline Failure"),
    ("junit", '<?xml version="1.0" encoding="UTF-8"?>'),
    ("sarif", "{"),
    ("github", "::error "),
])
def test_render_dispatches(fmt: str, start: str) -> None:
    text = render(incident_report(), fmt)
    assert text.startswith(start) and text.endswith("\n")


def test_render_json_uses_the_json_reporter() -> None:
    pytest.importorskip("netra_diag.reporters.json_report")
    data = json.loads(render(incident_report(), "json"))
    assert data["schema"] == "netra-diag/run/v1"


def test_render_json_with_a_baseline_adds_the_comparison() -> None:
    plain = json.loads(render(incident_report(), "json"))
    assert "comparison" not in plain
    data = json.loads(render(incident_report(), "json", baseline=healthy_report()))
    comparison = data["comparison"]
    assert [c["id"] for c in comparison["regressed"]] == [
        "import-chain", "emitter-methods", "registry-wiring", "engine-factory", "event-flow"]
    assert set(comparison) == {"baseline", "current", "regressed", "still_failing", "fixed",
                               "new", "removed", "other"}
    # an added field of netra-diag/run/v1: a reader of the schema ignores it
    again = RunReport.from_dict(data)
    assert again.results == incident_report().results
    assert json.loads(render(again, "json")) == plain


def test_render_markdown_with_baseline() -> None:
    text = render(incident_report(), "markdown", baseline=incident_report())
    assert "## Before/After" in text


def test_render_refuses_rich_and_unknown_formats() -> None:
    with pytest.raises(ValueError, match="terminal"):
        render(incident_report(), "rich")
    with pytest.raises(ValueError, match="unknown format 'html'"):
        render(incident_report(), "html")


def test_importing_the_package_loads_no_renderer() -> None:
    code = ("import sys, netra_diag.reporters, netra_diag.analysis; "
            "print(sorted(m for m in sys.modules if m.startswith('netra_diag.reporters.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    # only the helpers every renderer shares, never a renderer
    assert out.strip() == "['netra_diag.reporters.common']"


def test_evidence_text() -> None:
    ev = Evidence("events", "received 0 event(s)", data={"expected": ["a", "b"],
                                                          "received": [], "total": 2})
    assert evidence_text(ev) == ("[events] received 0 event(s)\n    expected: a, b\n"
                                 "    received: (none)\n    total: 2")
    located = Evidence("location", "line one\nline two", "pkg/m.py", 3)
    assert evidence_text(located) == "[location] pkg/m.py:3: line one\n    line two"


@pytest.mark.parametrize(("file", "target", "expected"), [
    # relative to the target root, behind the target's place in the repository
    ("beacon/app/wiring.py", {"root": "/r/x/src", "source_prefix": "x/src"},
     "x/src/beacon/app/wiring.py"),
    ("./pkg\\win.py", {"root": "/r/x/src", "source_prefix": "x/src"}, "x/src/pkg/win.py"),
    ("../tests/t.py", {"root": "/r/x/src", "source_prefix": "x/src"}, "x/tests/t.py"),
    # the target root is the repository root, or there is no repository (older runs too)
    ("pkg/m.py", {"root": "/r", "source_prefix": ""}, "pkg/m.py"),
    ("pkg/m.py", {"root": "<embedded reference>"}, "pkg/m.py"),
    # absolute paths: relative to the repository root, None outside it
    ("/r/x/src/pkg/m.py", {"root": "/r/x/src", "source_prefix": "x/src"}, "x/src/pkg/m.py"),
    ("/r/docs/conf.py", {"root": "/r/x/src", "source_prefix": "x/src"}, "docs/conf.py"),
    ("/usr/lib/python3/x.py", {"root": "/r/x/src", "source_prefix": "x/src"}, None),
    ("/tmp/a.py", {"root": "<embedded reference>", "source_prefix": ""}, None),
    ("../../top.py", {"root": "/r/x/src", "source_prefix": "x/src"}, "top.py"),
    ("../../../outside.py", {"root": "/r/x/src", "source_prefix": "x/src"}, None),
])
def test_repository_path(file: str, target: dict, expected: str | None) -> None:
    assert repository_path(file, target) == expected
