"""Before/after comparison of two runs."""

from __future__ import annotations

import dataclasses
import json

from report_fixtures import error_report, healthy_report, incident_report, make_report

from netra_diag.model import CheckResult, Status
from netra_diag.reporters.comparison import compare

INCIDENT_FAILURES = ["import-chain", "emitter-methods", "registry-wiring", "engine-factory",
                     "event-flow"]


def ids(changes) -> list[str]:
    return [c.id for c in changes]


def test_incident_after_healthy_is_a_regression_of_every_failure() -> None:
    comp = compare(healthy_report(), incident_report())
    assert ids(comp.regressed) == INCIDENT_FAILURES
    assert comp.fixed == () and comp.still_failing == ()
    assert comp.new == () and comp.removed == ()
    # pass -> skip is not a regression, and nothing is silently dropped
    assert ids(comp.other) == ["deprecation-warnings", "user-isolation", "event-latency"]
    assert not comp.improved
    first = comp.regressed[0]
    assert (first.before, first.after) == (Status.PASS, Status.FAIL)


def test_healthy_after_incident_fixes_every_failure() -> None:
    comp = compare(incident_report(), healthy_report())
    assert ids(comp.fixed) == INCIDENT_FAILURES
    assert comp.regressed == () and comp.still_failing == ()
    assert comp.improved


def test_still_failing_new_and_removed() -> None:
    baseline = incident_report()
    kept = [r for r in incident_report().results if r.id != "event-latency"]
    plugin = CheckResult("load-test", None, "Load Test", Status.PASS, "ok")
    current = make_report([*kept, plugin])
    comp = compare(baseline, current)
    assert ids(comp.still_failing) == INCIDENT_FAILURES
    assert ids(comp.new) == ["load-test"] and ids(comp.removed) == ["event-latency"]
    assert comp.removed[0].after is None and comp.new[0].before is None


def test_errors_count_as_not_passing() -> None:
    comp = compare(error_report(), healthy_report())
    assert ids(comp.fixed) == ["registry-wiring", "event-flow"]
    comp = compare(healthy_report(), error_report())
    assert ids(comp.regressed) == ["registry-wiring", "event-flow"]
    failed_to_skip = [dataclasses.replace(r, status=Status.SKIP) if r.id == "event-flow" else r
                      for r in incident_report().results]
    comp = compare(incident_report(), make_report(failed_to_skip))
    assert "event-flow" in ids(comp.other)  # not proven fixed


def test_renderings() -> None:
    comp = compare(incident_report(), healthy_report())
    text = comp.to_text()
    assert "fixed 5, regressed 0, still failing 0, new 0, removed 0" in text
    assert "  fixed          import-chain: FAIL -> PASS" in text
    md = comp.to_markdown()
    assert "| fixed | WHY #1: Import Chain (`import-chain`) | FAIL | PASS |" in md
    assert "| changed | User isolation on the wire (`user-isolation`) | SKIP | PASS |" in md
    assert "| unchanged | WHY #5: Deprecation Warnings" in md
    data = comp.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert [c["id"] for c in data["fixed"]] == INCIDENT_FAILURES


def test_markdown_cells_cannot_break_the_table() -> None:
    results = [dataclasses.replace(r, summary="AgentRegistry.__init__() | `a|b` *x*")
               if r.id == "import-chain" else r for r in healthy_report().results]
    md = compare(incident_report(), make_report(results)).to_markdown()
    row = next(line for line in md.splitlines() if "(`import-chain`)" in line)
    assert row.endswith("AgentRegistry.\\_\\_init\\_\\_() \\| `a\\|b` \\*x\\* |")
    assert row.count("|") - row.count("\\|") == 6


def test_a_check_still_failing_on_other_defects_says_which_findings_moved() -> None:
    from netra_diag.model import Evidence

    def run(*files: str) -> list[CheckResult]:
        return [dataclasses.replace(
            r, evidence=tuple(Evidence("location", f"reworded {n}", f, 3 + n)
                              for n, f in enumerate(files)))
            if r.id == "import-chain" else r for r in incident_report().results]

    before = make_report(run("app/a.py", "app/b.py"))
    after = make_report(run("app/b.py", "app/c.py"))  # a fixed, b moved and reworded, c new
    change = next(c for c in compare(before, after).still_failing if c.id == "import-chain")
    assert change.gone == ("import-chain:location:app/a.py",)
    assert change.added == ("import-chain:location:app/c.py",)
    assert change.to_dict()["findings_added"] == ["import-chain:location:app/c.py"]
    assert "import-chain: FAIL -> FAIL (1 finding(s) gone, 1 new)" in \
        compare(before, after).to_text()
    same = next(c for c in compare(before, before).still_failing if c.id == "import-chain")
    assert same.gone == () and same.added == ()
