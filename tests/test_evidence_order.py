"""Evidence that leads with what matters: the wiring path's locations first, capped views."""

from __future__ import annotations

from io import StringIO

from report_fixtures import make_report

from netra_diag.model import CheckResult, Evidence, Status
from netra_diag.reporters import SHOWN_LOCATIONS, render, shown_evidence
from netra_diag.reporters.markdown import render_markdown
from netra_diag.reporters.terminal import make_console, render_report


def _many_locations(n: int) -> CheckResult:
    evidence = tuple(Evidence("location", f"imports the singleton ({i})", f"app/m{i}.py", i + 1)
                     for i in range(n))
    return CheckResult("import-chain", 1, "Import Chain", Status.FAIL, "uses the singleton",
                       evidence)


def test_views_show_the_first_locations_and_count_the_rest():
    result = _many_locations(SHOWN_LOCATIONS + 7)
    shown, more = shown_evidence(list(result.evidence))
    assert [e.file for e in shown] == [f"app/m{i}.py" for i in range(SHOWN_LOCATIONS)]
    assert more == 7
    report = make_report([result])
    text = render_markdown(report)
    assert "app/m0.py" in text and f"app/m{SHOWN_LOCATIONS}.py" not in text
    assert "... and 7 more" in text
    out = StringIO()
    render_report(report, make_console(out))
    assert "... and 7 more locations" in out.getvalue()
    assert f"app/m{SHOWN_LOCATIONS + 6}.py" not in out.getvalue()


def test_machine_formats_keep_every_location():
    report = make_report([_many_locations(SHOWN_LOCATIONS + 7)])
    for fmt in ("json", "sarif", "github"):
        assert f"app/m{SHOWN_LOCATIONS + 6}.py" in render(report, fmt), fmt
