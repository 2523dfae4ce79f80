"""Findings are values (``netra_diag.finding``): read from a result's located evidence, with
a stable id and their owner check; "one defect, one owner" works on them, never on text."""

from __future__ import annotations

import dataclasses

from netra_diag.blocking import mark_blocked
from netra_diag.model import CheckResult, Evidence, Status

SITE = ("app/catalog.py", 71)


def _result(check_id: str, why: object, status: Status, *evidence: Evidence,
            fix: str | None = "fix it") -> CheckResult:
    return CheckResult(check_id, why, check_id.title(), status, "summary", evidence, fix)


def test_a_failing_results_located_evidence_is_its_findings() -> None:
    located = Evidence("location", "calls Catalog() without 'pulses'", *SITE,
                       data={"symbol": "Catalog"})
    result = _result("registry-wiring", 3, Status.FAIL, Evidence("note", "n"), located,
                     Evidence("observed", "seen at", "app/x.py", 3))
    found = result.findings
    assert [(f.id, f.check, f.file, f.line, f.kind, f.hint) for f in found] == [
        ("registry-wiring:location:app/catalog.py:Catalog", "registry-wiring",
         "app/catalog.py", 71, "location", "fix it"),
        ("registry-wiring:observed:app/x.py", "registry-wiring", "app/x.py", 3, "observed",
         "fix it")]
    assert found[0].location == "app/catalog.py:71"
    # a pass or a skip locates no defect
    assert _result("registry-wiring", 3, Status.PASS, located).findings == ()
    # the id survives a reworded message and a moved line
    moved = dataclasses.replace(located, message="builds Catalog() without pulses", line=90)
    assert _result("registry-wiring", 3, Status.FAIL, moved).findings[0].id == found[0].id


def test_a_crash_is_marked_by_data_never_by_its_wording() -> None:
    finding = Evidence("location", "raised here, by the look of it: a finding", *SITE)
    crash = Evidence("location", "the target stopped", *SITE,
                     data={"crash": True, "exception": "TypeError"})
    owner = _result("registry-wiring", 3, Status.FAIL, finding)
    seen = _result("engine-factory", 4, Status.FAIL, crash)
    assert not owner.findings[0].crash and seen.findings[0].crash
    out = {r.id: r for r in mark_blocked([owner, seen])}
    # the owner's finding (whatever it says) owns the site; the crash there is blocked by it
    assert out["registry-wiring"].status is Status.FAIL
    assert out["engine-factory"].status is Status.SKIP
    assert out["engine-factory"].summary.startswith("blocked by registry-wiring")
    # the same two, with the words swapped but not the data: nothing is blocked
    worded = _result("engine-factory", 4, Status.FAIL,
                     Evidence("location", "raised here: TypeError", *SITE))
    assert {r.id: r.status for r in mark_blocked([owner, worded])} == {
        "registry-wiring": Status.FAIL, "engine-factory": Status.FAIL}


def test_the_json_carries_the_findings_as_values() -> None:
    result = _result("import-chain", 1, Status.FAIL,
                     Evidence("location", "imports the singleton", "app/deps.py", 16))
    assert result.to_dict()["findings"] == [{
        "id": "import-chain:location:app/deps.py", "check": "import-chain",
        "message": "imports the singleton", "file": "app/deps.py", "line": 16,
        "hint": "fix it"}]
    assert CheckResult.from_dict(result.to_dict()).findings == result.findings


def test_a_dependant_follows_its_declared_dependency_once_it_is_blocked() -> None:
    finding = Evidence("location", "calls Catalog() without 'pulses'", *SITE)
    crash = Evidence("location", "raised", *SITE, data={"crash": True})
    results = [_result("registry-wiring", 3, Status.FAIL, finding),
               _result("event-flow", "e2e", Status.FAIL, crash),
               dataclasses.replace(_result("user-isolation", "e2e", Status.SKIP),
                                   summary="depends on event-flow (fail), which did not pass")]
    declared = {"user-isolation": {"depends_on": ["event-flow"]}}
    out = {r.id: r for r in mark_blocked(results, declared)}
    assert out["event-flow"].status is Status.SKIP
    assert out["user-isolation"].summary == ("depends on event-flow (blocked), which did not "
                                             "pass")
    # a check that does not declare the dependency is left as it is
    alone = {r.id: r for r in mark_blocked(results, {"user-isolation": {"depends_on": []}})}
    assert alone["user-isolation"].summary == results[2].summary
