"""JUnit XML, read back with junitparser (a real consumer's parser)."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from report_fixtures import (
    error_report,
    healthy_report,
    hostile_report,
    incident_report,
    interrupted_report,
)

from netra_diag.reporters.junit import render_junit, xml_safe


def parse(text: str, tmp_path: Path) -> JUnitXml:
    path = tmp_path / "report.xml"
    path.write_text(text, encoding="utf-8")
    return JUnitXml.fromfile(str(path))


def suite_of(xml: JUnitXml):
    (suite,) = list(xml)
    return suite


def kinds(case) -> list[type]:
    return [type(r) for r in case.result]


@pytest.mark.parametrize(("report", "counts"), [
    (incident_report, (8, 5, 0, 2)),
    (healthy_report, (8, 0, 0, 0)),
    (error_report, (8, 0, 2, 2)),
])
def test_counts_on_the_suite_match_the_children(report, counts, tmp_path: Path) -> None:
    xml = parse(render_junit(report()), tmp_path)
    suite = suite_of(xml)
    assert suite.name == "netra-diag"
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == counts
    cases = list(suite)
    assert len(cases) == counts[0]
    assert sum(Failure in kinds(c) for c in cases) == counts[1]
    assert sum(Error in kinds(c) for c in cases) == counts[2]
    assert sum(Skipped in kinds(c) for c in cases) == counts[3]
    root = ET.fromstring(render_junit(report()).encode())
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) \
        == tuple(str(n) for n in counts)


def test_result_types_and_text(tmp_path: Path) -> None:
    cases = {c.name: c for c in suite_of(parse(render_junit(incident_report()), tmp_path))}
    first = cases["import-chain Import Chain"]
    assert first.classname == "netra-diag.reference"
    (failure,) = first.result
    assert isinstance(failure, Failure) and failure.type == "FAIL"
    assert failure.message == "the wiring path uses the deprecated singleton WebSocket manager"
    assert ("[location] netra_backend/app/dependencies.py:16: imports deprecated "
            "get_websocket_manager") in failure.text
    registry = cases["registry-wiring Registry Wiring"].result[0]
    assert "missing 1 required positional argument: 'llm_manager'" in registry.text
    assert cases["deprecation-warnings Deprecation Warnings"].result == []  # bare testcase
    (skipped,) = cases["user-isolation User isolation on the wire"].result
    assert isinstance(skipped, Skipped)
    assert skipped.message == "depends on event-flow, which did not pass"
    assert cases["event-flow Complete Event Flow"].time == pytest.approx(5.4)


def test_errors_say_the_property_was_not_evaluated(tmp_path: Path) -> None:
    cases = {c.name: c for c in suite_of(parse(render_junit(error_report()), tmp_path))}
    (error,) = cases["registry-wiring Registry Wiring"].result
    assert isinstance(error, Error) and error.type == "ERROR"
    assert error.message.startswith("not evaluated: ")
    assert error.text.startswith("The property was not evaluated")
    assert "fix: add build.agent_registry.llm_manager to the profile" in error.text


def test_suite_properties(tmp_path: Path) -> None:
    suite = suite_of(parse(render_junit(incident_report()), tmp_path))
    props = {p.name: p.value for p in suite.properties()}
    assert props["target.name"] == "reference"
    assert props["target.scenario"] == "incident"
    assert props["target.faults"].split(",")[0] == "deprecated-singleton-import"
    assert props["netra-diag.version"]
    assert props["interrupted"] == "false"
    assert props["diagnosis.verdict"] == "broken"
    assert "interrupted.note" not in props


def test_an_interrupted_run_says_so_in_the_suite_properties(tmp_path: Path) -> None:
    suite = suite_of(parse(render_junit(interrupted_report()), tmp_path))
    props = {p.name: p.value for p in suite.properties()}
    assert props["interrupted"] == "true"
    assert props["diagnosis.verdict"] == "interrupted"
    assert props["interrupted.note"].startswith("the run was interrupted before every check "
                                                "finished: the results are incomplete")
    assert (suite.tests, suite.errors, suite.skipped) == (8, 2, 3)


def test_test_cases_follow_the_chain_order(tmp_path: Path) -> None:
    report = incident_report()
    shuffled = dataclasses.replace(report, results=tuple(reversed(report.results)))
    names = [c.name.split()[0] for c in suite_of(parse(render_junit(shuffled), tmp_path))]
    assert names == [r.id for r in report.results]


def test_hostile_text_is_escaped_and_illegal_characters_stripped(tmp_path: Path) -> None:
    text = render_junit(hostile_report())
    assert "\x00" not in text and "\x1b" not in text and "\x0b" not in text
    cases = {c.name: c for c in suite_of(parse(text, tmp_path))}
    failure = cases["import-chain Import Chain"].result[0]
    assert failure.message == 'bad <summary> & "quotes" | pipes 100% [31mred[0m'
    assert "<script>&amp;" in failure.text


def test_xml_safe() -> None:
    assert xml_safe("a\x00b\x08c\td\ne\ud800f\ufffeg😀") == "abc\td\nefg😀"


def test_failing_cases_carry_file_and_line_from_their_first_finding() -> None:
    import junitparser
    from report_fixtures import incident_report as _incident

    from netra_diag.reporters.junit import render_junit as _render

    xml = junitparser.JUnitXml.fromstring(_render(_incident()).encode())
    cases = {c.name.split()[0]: c for suite in xml for c in suite}
    first = cases["import-chain"]
    assert (first._elem.get("file"), first._elem.get("line")) == (
        "netra_backend/app/dependencies.py", "16")
    # a pass, and a failure that located nothing, carry neither
    assert cases["deprecation-warnings"]._elem.get("file") is None
    assert cases["event-flow"]._elem.get("file") is None
