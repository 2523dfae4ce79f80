"""The rich terminal view: chain order, the shared labels, no control characters, and an
interrupted run that says so."""

from __future__ import annotations

import dataclasses
import re
from io import StringIO

from report_fixtures import (
    error_report,
    healthy_report,
    hostile_report,
    incident_report,
    interrupted_report,
    make_report,
)
from rich.console import Console

from netra_diag.analysis import chain_order, why_label
from netra_diag.model import Evidence, Status
from netra_diag.reporters import terminal
from netra_diag.reporters.terminal import render_report

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def rendered(report, width: int = 200, **kwargs) -> str:
    buf = StringIO()
    render_report(report, Console(file=buf, no_color=True, width=width, color_system=None),
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
    ids = [r.id for r in chain_order(report.results, report.checks)]
    positions = [text.index(f" {check_id} ") for check_id in ids]
    assert positions == sorted(positions)
    assert terminal.why_label is why_label  # one definition, in analysis
    assert why_label(1) == "#1" and why_label("e2e") == "e2e" and why_label(None) == "-"


def test_an_interrupted_run_shows_the_interrupted_verdict() -> None:
    text = rendered(interrupted_report())
    assert "Diagnosis: INTERRUPTED" in text
    assert "HEALTHY" not in text
    assert "interrupted: the run is incomplete" in text
    assert "Diagnosis: HEALTHY" in rendered(healthy_report())


LONG_PATH = "netra_backend/app/agents/supervisor/execution_factory.py:29"


def _long_report():
    long = (f"{LONG_PATH} calls async create_user_emitter() without await: the result is a "
            "coroutine, not its value, and the engine it builds has no emitter bound at all")
    results = [dataclasses.replace(
        r, summary=long, evidence=(Evidence("observed", long + " " + long),),
        fix="build engines only through the per-user factory, with the user's awaited "
            "emitter, and never construct ExecutionEngine directly anywhere")
        if r.id == "engine-factory" else r for r in incident_report().results]
    return make_report(results, faults=["deprecated-singleton-import", "unawaited-user-emitter",
                                        "emitter-missing-notify", "registry-missing-llm-manager",
                                        "engine-factory-no-emitter"])


def _block(text: str, start: str) -> list[str]:
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    end = next((i for i in range(first + 1, len(lines))
                if not lines[i].startswith(" ") or lines[i].startswith("  - ")), len(lines))
    return lines[first:end]


def test_wrapped_evidence_keeps_a_hanging_indent() -> None:
    text = rendered(_long_report(), width=80)
    lines = text.splitlines()
    bullet = next(i for i, line in enumerate(lines)
                  if line.startswith("  - [observed] netra_backend/app/agents"))
    following = lines[bullet + 1:bullet + 3]
    assert following and all(line.startswith("    ") and line[4] != " " for line in following)
    fix = next(i for i, line in enumerate(lines) if line.startswith("  fix: build engines"))
    assert lines[fix + 1].startswith("       ") and lines[fix + 1][7] != " "
    # the block is headed by the check alone: its summary is in the table (said once)
    assert "FAIL engine-factory" in lines and not any(
        line.startswith("FAIL engine-factory: ") for line in lines)
    # the diagnosis lines hang under their label too; "why" does not restate the summary
    why = next(i for i, line in enumerate(lines) if line.startswith("  why: It is the earliest"))
    assert lines[why + 1].startswith("       ") and lines[why + 1][7] != " "


def test_narrow_widths_give_the_summary_the_space_and_keep_paths_whole() -> None:
    for width in (80, 100):
        text = rendered(_long_report(), width=width)
        assert LONG_PATH in text, width  # not folded mid-word
        assert all(len(line.rstrip()) <= width for line in text.splitlines())
    # narrower than the path itself: folding is the last resort, nothing overflows
    text = rendered(_long_report(), width=50)
    assert all(len(line.rstrip()) <= 50 for line in text.splitlines())
    narrow = rendered(_long_report(), width=80).splitlines()
    # stacked: the check's line, then its summary indented under it at nearly full width
    row = narrow.index(" #4 engine-factory FAIL")
    assert narrow[row + 1].startswith(f"    {LONG_PATH} calls")
    wide = rendered(_long_report(), width=160)
    row_line = next(line for line in wide.splitlines() if " engine-factory " in line)
    assert re.match(r"^\s*#4\s+engine-factory\s+FAIL\s+netra_backend/", row_line)
    # the check column is no wider than the longest id
    check_at = row_line.index("engine-factory")
    assert row_line.index("FAIL") - check_at <= len("deprecation-warnings") + 3


def test_the_fault_list_wraps_under_its_label() -> None:
    lines = rendered(_long_report(), width=60).splitlines()
    assert lines[0].startswith("netra-diag ") and "faults" not in lines[0]
    assert lines[1].startswith("faults: deprecated-singleton-import,")
    end = next(i for i, line in enumerate(lines[2:], 2) if not line.startswith("        "))
    assert end > 2 and all(line[8] != " " for line in lines[2:end])  # hanging under the list
    names = " ".join(line.strip() for line in lines[1:end]).split(", ")
    assert names[0] == "faults: deprecated-singleton-import"  # no name split mid-word
    assert names[1:] == ["unawaited-user-emitter", "emitter-missing-notify",
                         "registry-missing-llm-manager", "engine-factory-no-emitter"]


def test_counts_are_pluralised() -> None:
    one = [dataclasses.replace(r, status=Status.PASS) if r.id == "event-flow" else r
           for r in error_report().results]
    text = rendered(make_report(one))
    assert "1 error," in text and "1 errors" not in text
    assert "2 errors," in rendered(error_report())
    assert "0 errors," in rendered(healthy_report())


def test_the_console_honours_columns_off_a_terminal(monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert terminal.make_console(StringIO()).width == 120
    monkeypatch.setenv("COLUMNS", "72")
    assert terminal.make_console(StringIO()).width == 72
    for bad in ("", "wide", "0", "-5"):
        monkeypatch.setenv("COLUMNS", bad)
        assert terminal.make_console(StringIO()).width == 120


def test_the_diagnosis_names_the_first_link_to_fix_without_claiming_consequences() -> None:
    text = rendered(incident_report())
    assert "first to fix: import-chain at netra_backend/app/dependencies.py:16" in text
    assert "root-cause candidate" not in text and "consequence" not in text
    assert "4 distinct root causes in all" in " ".join(text.split())


def test_table_summaries_stay_short_and_the_rest_goes_with_the_evidence() -> None:
    from netra_diag.reporters import SUMMARY_LIMIT, short_summary

    long = ("the wiring path uses a deprecated entry point: get_supervisor() called "
            "deprecated get_websocket_manager() at netra_backend/app/dependencies.py:25; "
            "and a second clause the evidence does not say")
    results = [dataclasses.replace(r, summary=long, evidence=()) if r.id == "import-chain"
               else r for r in incident_report().results]
    report = make_report(results)
    short, rest = short_summary(report.result("import-chain"))
    assert len(short) <= SUMMARY_LIMIT and short.endswith(" ...")
    assert long.startswith(short[:-4]) and rest == long[len(short) - 4:].lstrip(": ")
    text = rendered(report)
    row = next(line for line in text.splitlines() if "import-chain" in line and "FAIL" in line)
    assert "a second clause" not in row
    assert f"[summary] {rest}" in " ".join(text.split())
    # a cut the evidence already says is not printed twice
    said = [dataclasses.replace(r, evidence=(Evidence("observed", rest),))
            if r.id == "import-chain" else r for r in results]
    assert short_summary(make_report(said).result("import-chain"))[1] == ""
