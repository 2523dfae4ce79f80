import json

from netra_diag.model import (
    SCHEMA,
    CheckResult,
    Evidence,
    RunReport,
    Status,
    failed,
    passed,
)


def sample_report() -> RunReport:
    results = (
        CheckResult.from_verdict(id="import-chain", why=1, title="Import Chain",
                                 verdict=failed("uses the singleton",
                                                Evidence("location", "imports it", "a.py", 16)),
                                 duration_s=0.25, fix="use the factory"),
        CheckResult.from_verdict(id="event-flow", why="e2e", title="Complete Event Flow",
                                 verdict=passed("5/5"), duration_s=0.5, fix="ignored on pass"),
    )
    return RunReport(tool_version="1", target={"name": "t", "faults": []},
                     started_at="2026-01-01T00:00:00+00:00", duration_s=1.0, results=results)


def test_json_round_trip_keeps_every_field():
    report = sample_report()
    raw = json.loads(json.dumps(report.to_dict()))
    assert raw["schema"] == SCHEMA
    again = RunReport.from_dict(raw)
    assert again.to_dict() == report.to_dict()
    assert again.results[0].evidence[0].location == "a.py:16"


def test_counts_are_derived_from_results():
    counts = sample_report().to_dict()["counts"]
    assert counts == {"pass": 1, "fail": 1, "error": 0, "skip": 0}


def test_fix_hint_attaches_only_to_fail_and_error():
    report = sample_report()
    assert report.results[0].fix == "use the factory"
    assert report.results[1].fix is None


def test_foreign_document_is_refused():
    import pytest

    with pytest.raises(ValueError, match="schema"):
        RunReport.from_dict({"schema": "something/else"})


def test_status_values_are_the_contract():
    assert [s.value for s in Status] == ["pass", "fail", "error", "skip"]


def test_findings_get_stable_distinct_ids_without_line_or_message():
    from netra_diag.model import CheckResult, Evidence, failed, passed

    evidence = (Evidence("location", "import", "a/deps.py", 16),
                Evidence("location", "call", "a/deps.py", 25),
                Evidence("location", "named", "a/deps.py", 30, {"symbol": "get_manager"}),
                Evidence("observed", "no file"))
    result = CheckResult.from_verdict(id="import-chain", why=1, title="t",
                                      verdict=failed("s", *evidence), duration_s=0)
    assert [e.id for e in result.evidence] == [
        "import-chain:location:a/deps.py", "import-chain:location:a/deps.py#2",
        "import-chain:location:a/deps.py:get_manager", None]
    assert CheckResult.from_dict(result.to_dict()) == result
    # a pass has no findings
    ok = CheckResult.from_verdict(id="import-chain", why=1, title="t",
                                  verdict=passed("s", *evidence), duration_s=0)
    assert all(e.id is None for e in ok.evidence)


def test_a_summary_is_cut_outside_parentheses_when_it_can_and_json_keeps_it_whole():
    from netra_diag.model import CheckResult, Status
    from netra_diag.summary_text import concise

    said = ("the run after a drop was delivered within 5 s (40 events, 0 duplicates, "
            "recovered in 210 ms; 5 event(s) lost): the expectation holds for pub/sub")
    shown, rest, mark = concise(said)
    assert shown.endswith("5 event(s) lost) (...)") and rest == "the expectation holds for "\
        "pub/sub" and mark == ": "
    result = CheckResult.from_verdict(id="x", why="e2e", title="x",
                                      verdict=__import__("netra_diag").passed(said),
                                      duration_s=0.0)
    assert result.status is Status.PASS and result.summary != said
    assert result.to_dict()["full_summary"] == said
