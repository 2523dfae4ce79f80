"""The ``junit`` format: one JUnit XML suite, one test case per check result.

Follows the subset CI consumers agree on (docs/ci-formats.md): pass is a bare ``<testcase/>``;
fail is ``<failure type="FAIL">``, error is ``<error type="ERROR">`` saying the property was
not evaluated, skip is ``<skipped>``; the evidence goes in the element *text* (GitLab ignores
``message``); suite-level ``<properties>`` only; counts on the suite elements match the
children; characters illegal in XML 1.0 are stripped. Test cases follow the chain order;
the suite properties carry the diagnosis verdict and, for an interrupted run,
``interrupted=true`` with a note that the results are incomplete. A failing (or undecided)
case carries ``file`` and ``line`` attributes (pytest's ``xunit1`` family) from its first
located finding, the path relative to the repository root like SARIF's.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from netra_diag.analysis import chain_order
from netra_diag.model import CheckResult, RunReport, Status

from .common import located_evidence, repository_path, result_text

__all__ = ["render_junit", "xml_safe"]

SUITE_NAME = "netra-diag"
_INTERRUPTED_NOTE = ("the run was interrupted before every check finished: the results are "
                     "incomplete and do not prove the pipeline healthy")
# Everything outside XML 1.0's Char production (control characters from captured output,
# lone surrogates, U+FFFE/U+FFFF).
_ILLEGAL_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (escaping is ElementTree's)."""
    return _ILLEGAL_XML.sub("", text)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _properties(report: RunReport) -> list[tuple[str, str]]:
    target = report.target
    props = [("netra-diag.version", report.tool_version),
             ("target.name", str(target.get("name", "")))]
    for key in ("root", "scenario", "profile"):
        if target.get(key):
            props.append((f"target.{key}", str(target[key])))
    props.append(("target.faults", ",".join(str(f) for f in target.get("faults") or ())))
    for key in ("python", "platform"):
        if report.environment.get(key):
            props.append((key, str(report.environment[key])))
    props.append(("interrupted", "true" if report.interrupted else "false"))
    verdict = report.diagnosis.verdict
    props.append(("diagnosis.verdict", verdict))
    if report.interrupted:
        props.append(("interrupted.note", _INTERRUPTED_NOTE))
    return props


def _testcase(parent: ET.Element, result: CheckResult, classname: str,
              target: dict[str, Any]) -> None:
    case = ET.SubElement(parent, "testcase", {
        "classname": xml_safe(classname),
        "name": xml_safe(f"{result.id} {result.title}".strip()),
        "time": _seconds(result.duration_s),
    })
    located = located_evidence(result) if result.status in (Status.FAIL, Status.ERROR) else []
    if located:
        path = repository_path(str(located[0].file), target) or str(located[0].file)
        case.set("file", xml_safe(path))
        if isinstance(located[0].line, int) and located[0].line >= 1:
            case.set("line", str(located[0].line))
    summary = xml_safe(result.summary)
    if result.status is Status.FAIL:
        child = ET.SubElement(case, "failure", {"message": summary, "type": "FAIL"})
        child.text = xml_safe(result_text(result))
    elif result.status is Status.ERROR:
        child = ET.SubElement(case, "error", {
            "message": f"not evaluated: {summary}", "type": "ERROR"})
        child.text = xml_safe(
            "The property was not evaluated: the check could not decide, which says nothing "
            "about the target. Fix the set-up and re-run.\n" + result_text(result))
    elif result.status is Status.SKIP:
        child = ET.SubElement(case, "skipped", {"message": summary})
        child.text = summary


def render_junit(report: RunReport) -> str:
    """The run as a JUnit XML document (``<testsuites>`` with one ``<testsuite>``)."""
    counts = report.counts
    attrs = {
        "name": SUITE_NAME,
        "tests": str(len(report.results)),
        "failures": str(counts["fail"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skip"]),
        "time": _seconds(report.duration_s),
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", {**attrs, "timestamp": xml_safe(report.started_at)})
    props = ET.SubElement(suite, "properties")
    for name, value in _properties(report):
        ET.SubElement(props, "property", {"name": name, "value": xml_safe(value)})
    classname = f"{SUITE_NAME}.{report.target.get('name', 'target')}"
    for result in chain_order(report.results, report.checks):
        _testcase(suite, result, classname, report.target)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
