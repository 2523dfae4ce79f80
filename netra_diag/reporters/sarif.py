"""The ``sarif`` format: SARIF 2.1.0 findings with file and line, for code scanning.

One rule per check in the run (title, explain text, fix hint); one result per located
piece of evidence of a non-passing check (``fail`` -> ``error``, ``error`` -> ``warning``);
a non-passing check without any located evidence (``event-flow`` seeing no event) still gets
one result, located at the profile file, or at the endpoint's URL for a probe (the embedded
reference has neither: a logical location names the check). ``pass`` and ``skip`` produce
none. Checks that could not decide are also listed as tool execution notifications. URIs are
relative to the repository root (``%SRCROOT%``), as GitHub code scanning resolves them
against the checkout: the evidence's path (relative to the target root) behind the run's
``target.source_prefix``. ``partialFingerprints`` hash the finding's id (``Evidence.id``:
check, kind, file and symbol; never the message nor the line), so a finding is tracked across
line shifts and rewordings.
Interrupted runs say so (``executionSuccessful`` false, a notification, the verdict).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import shlex
from pathlib import Path, PureWindowsPath
from typing import Any
from urllib.parse import quote

from netra_diag.analysis import chain_order, why_label
from netra_diag.finding import Finding
from netra_diag.model import CheckResult, RunReport, Status

from .common import headline, primary_findings, repository_path, repository_root

__all__ = ["FINGERPRINT_KEY", "SARIF_SCHEMA_URI", "render_sarif"]

SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "netraDiagFinding/v1"
_LEVEL = {Status.FAIL: "error", Status.ERROR: "warning"}


def _rule_name(check_id: str) -> str:
    return "".join(part.capitalize() for part in check_id.split("-"))


def _first_paragraph(text: str) -> str:
    return text.strip().split("\n\n", 1)[0].strip()


def _rule(result: CheckResult, meta: dict[str, Any]) -> dict[str, Any]:
    title = str(meta.get("title") or result.title or result.id)
    explain = str(meta.get("explain") or "").strip() or title
    fix = meta.get("fix") or result.fix
    text = explain + (f"\n\nFix: {fix}" if fix else "")
    markdown = explain + (f"\n\n**Fix:** {fix}" if fix else "")
    rule: dict[str, Any] = {
        "id": result.id,
        "name": _rule_name(result.id),
        "shortDescription": {"text": title},
        "fullDescription": {"text": _first_paragraph(explain)},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": "error"},
        "properties": {"why": result.why if result.why is not None else "unknown"},
    }
    tags = [str(t) for t in meta.get("tags") or ()]
    if tags:
        rule["properties"]["tags"] = tags
    return rule


def _artifact(file: str, target: dict[str, Any]) -> tuple[dict[str, Any], str]:
    rel = repository_path(file, target)
    if rel is None:
        uri = Path(file).as_uri() if Path(file).is_absolute() else quote(file, safe="/:")
        return {"uri": uri}, file
    return {"uri": quote(rel, safe="/"), "uriBaseId": SRCROOT}, rel


def _fingerprint(finding: str) -> str:
    return hashlib.sha256(finding.encode()).hexdigest()[:32]


def _result(result: CheckResult, ev: Finding, rule_index: int,
            target: dict[str, Any]) -> dict[str, Any]:
    """One SARIF result per finding, fingerprinted by the finding's stable id."""
    artifact, _path = _artifact(str(ev.file), target)
    verdict = "failed" if result.status is Status.FAIL else "could not be evaluated"
    title = headline(ev).rstrip(".")
    text = f"{title}. {why_label(result.why, result.title)} {verdict}: {result.summary}"
    if len(ev.message.splitlines()) > 1:
        text += "\n\n" + ev.message
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if isinstance(ev.line, int) and ev.line >= 1:
        physical["region"] = {"startLine": ev.line}
    return {
        "ruleId": result.id,
        "ruleIndex": rule_index,
        "level": _LEVEL[result.status],
        "message": {"text": text},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(ev.id)},
    }


def _check_location(result: CheckResult, target: dict[str, Any]) -> dict[str, Any]:
    """Where a finding without a file is shown: the profile file, the probed URL, or (the
    embedded reference) a logical location naming the check."""
    profile = str(target.get("profile") or "")
    if target.get("url"):
        return {"physicalLocation": {"artifactLocation": {"uri": str(target["url"])}}}
    if profile and not target.get("builtin") and not profile.startswith("<") and \
            not target.get("probe"):
        artifact, _path = _artifact(profile, target)
        return {"physicalLocation": {"artifactLocation": artifact}}
    return {"logicalLocations": [{"name": result.id, "kind": "module",
                                  "fullyQualifiedName": f"netra-diag/{result.id}"}]}


def _check_result(result: CheckResult, rule_index: int,
                  target: dict[str, Any]) -> dict[str, Any]:
    """The one result of a non-passing check that located nothing."""
    verdict = "failed" if result.status is Status.FAIL else "could not be evaluated"
    return {
        "ruleId": result.id,
        "ruleIndex": rule_index,
        "level": _LEVEL[result.status],
        "message": {"text": f"{why_label(result.why, result.title)} {verdict}: "
                            f"{result.summary}"},
        "locations": [_check_location(result, target)],
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(f"{result.id}:check")},
    }


def _results_of(result: CheckResult, rule_index: int,
                target: dict[str, Any]) -> list[dict[str, Any]]:
    # findings carry their ids (computed the same way for runs saved before evidence had them)
    located = primary_findings(result)
    if not located:
        return [_check_result(result, rule_index, target)]
    return [_result(result, ev, rule_index, target) for ev in located]


def _start_time(started_at: str) -> str | None:
    try:
        moment = _dt.datetime.fromisoformat(started_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _invocation(report: RunReport, rule_index: dict[str, int]) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": not report.interrupted}
    if report.command:
        invocation["commandLine"] = shlex.join(report.command)
    start = _start_time(report.started_at)
    if start:
        invocation["startTimeUtc"] = start
    notes = [
        {"level": "warning",
         "message": {"text": f"{r.id} could not be evaluated: {r.summary}"},
         "associatedRule": {"id": r.id, "index": rule_index[r.id]}}
        for r in chain_order(report.results, report.checks) if r.status is Status.ERROR
    ]
    if report.interrupted:
        notes.append({"level": "error", "message": {
            "text": "the run was interrupted before every check finished: the results are "
                    "incomplete and prove nothing about the checks that did not finish"}})
    if notes:
        invocation["toolExecutionNotifications"] = notes
    return invocation


def render_sarif(report: RunReport) -> str:
    """The run as a SARIF 2.1.0 log (one run), pretty-printed JSON."""
    ordered = chain_order(report.results, report.checks)
    rules = [_rule(r, report.checks.get(r.id) or {}) for r in ordered]
    rule_index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [
        item for r in ordered if r.status in _LEVEL
        for item in _results_of(r, rule_index[r.id], report.target)
    ]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "netra-diag",
            "version": report.tool_version,
            "rules": rules,
        }},
        "originalUriBaseIds": {SRCROOT: _base(report.target)},
        "invocations": [_invocation(report, rule_index)],
        "results": results,
        "properties": {
            "target": str(report.target.get("name", "")),
            "faults": [str(f) for f in report.target.get("faults") or ()],
            "counts": report.counts,
            "verdict": report.diagnosis.verdict,
            "interrupted": report.interrupted,
        },
    }
    log = {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _base(target: dict[str, Any]) -> dict[str, Any]:
    """``%SRCROOT%``: the repository root (the target root without its source prefix; the
    target root itself when there is no repository), with its ``file:`` URI when known."""
    base: dict[str, Any] = {"description": {
        "text": "the root of the repository holding the diagnosed target (its source root "
                "when it is not in a repository)"}}
    root = repository_root(target)
    if root is not None:
        path = PureWindowsPath(root) if PureWindowsPath(root).drive else Path(root)
        base["uri"] = path.as_uri().rstrip("/") + "/"
    return base
