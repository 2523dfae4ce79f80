"""The rich terminal view: chain order, the shared labels, no control characters, and an
interrupted run that says so."""

from __future__ import annotations

import dataclasses
import re
from io import StringIO

from report_fixtures import healthy_report, hostile_report, incident_report, interrupted_report
from rich.console import Console

from netra_diag.analysis import chain_order, why_label
from netra_diag.model import Evidence
from netra_diag.reporters import terminal
from netra_diag.reporters.terminal import render_report

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def rendered(report, **kwargs) -> str:
    buf = StringIO()
    render_report(report, Console(file=buf, no_color=True, width=200, color_system=None),
                  **kwargs)
    return buf.getvalue()


def test_evidence_control_characters_are_stripped_but_newlines_and_tabs_kept() -> None:
    report = hostile_report()
    results = list(report.results)
    results[1] = dataclasses.replace(results[1], evidence=(
        Evidence("observed", "col1\tcol2\nsecond \x1b]0;title\x07line\x00 end\r\nthird"),))
    text = rendered(dataclasses.replace(report, results=tuple(results)),
                    comparison="baseline \x1b[2Jcleared")
    assert not _CONTROLS.search(text.replace("\t", "")), repr(_CONTROLS.search(text))
    assert "\x1b" not in text and "\x00" not in text and "\r" not in text
    assert re.search(r"col1 +col2", text)  # the tab survives (rich expands it)
    lines = text.splitlines()
    assert any(line.strip() == "second ]0;titleline end" for line in lines)  # ESC, BEL, NUL
    assert any(line.strip() == "third" for line in lines)  # CR LF became a newline
    assert "[31mred[0m" in text  # the summary's escape sequence lost its ESC
    assert "baseline [2Jcleared" in text


def test_results_in_chain_order_with_the_shared_why_label() -> None:
    report = incident_report()
    shuffled = dataclasses.replace(report, results=tuple(reversed(report.results)))
    text = rendered(shuffled)
    ids = [r.id for r in chain_order(report.results)]
    positions = [text.index(f" {check_id} ") for check_id in ids]
    assert positions == sorted(positions)
    assert terminal.why_label is why_label  # one definition, in analysis
    assert why_label(1) == "#1" and why_label("e2e") == "e2e" and why_label(None) == "-"


def test_an_interrupted_run_shows_the_interrupted_verdict() -> None:
    text = rendered(interrupted_report())
    assert "Diagnosis: INTERRUPTED" in text
    assert "HEALTHY" not in text
    assert "interrupted: the run is incomplete" in text
    # even when the stored diagnosis is stale (an older tool's run)
    stale = dataclasses.replace(interrupted_report(), diagnosis={"verdict": "healthy"})
    assert "Diagnosis: INTERRUPTED" in rendered(stale)
    assert "Diagnosis: HEALTHY" in rendered(healthy_report())
