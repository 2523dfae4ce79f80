"""Messages that say what happened: multi-finding summaries, init's path errors."""

from __future__ import annotations

from netra_diag_checks._dynamic import first_failures

from netra_diag.exitcodes import ExitCode


def test_a_multi_finding_summary_says_how_many_more_findings_there_are():
    assert first_failures(["lacks X", "lacks X", "calls y() without await"]) == \
        "lacks X; calls y() without await"
    assert first_failures(["a", "b", "c"], limit=1) == \
        "a; and 2 more findings (see the evidence)"
    assert first_failures(["a", "b", "c"]) == "a; b; and 1 more finding (see the evidence)"


def test_init_on_a_file_says_it_takes_a_folder(cli, tmp_path):
    (tmp_path / "some_file.py").write_text("x = 1\n")
    result = cli("init", "some_file.py")
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "some_file.py is a file: init takes a folder" in result.stderr
    assert "no such folder" not in result.stderr
