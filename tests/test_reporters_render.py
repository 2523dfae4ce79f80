"""The reporter interface: formats, dispatch, lazy imports, shared evidence text."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from report_fixtures import incident_report

from netra_diag.model import Evidence
from netra_diag.reporters import FORMATS, SUFFIXES, evidence_text, render


def test_formats() -> None:
    assert FORMATS == ("rich", "json", "markdown", "junit", "sarif", "github")
    assert set(SUFFIXES) == set(FORMATS)


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
    assert out.strip() == "[]"


def test_evidence_text() -> None:
    ev = Evidence("events", "received 0 event(s)", data={"expected": ["a", "b"],
                                                          "received": [], "total": 2})
    assert evidence_text(ev) == ("[events] received 0 event(s)\n    expected: a, b\n"
                                 "    received: (none)\n    total: 2")
    located = Evidence("location", "line one\nline two", "pkg/m.py", 3)
    assert evidence_text(located) == "[location] pkg/m.py:3: line one\n    line two"
