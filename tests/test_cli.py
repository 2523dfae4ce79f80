"""The CLI: commands, options, output streams and every exit code of DESIGN.md."""

import json
import os
import select
import signal
import subprocess
from pathlib import Path

import pytest
from helpers import WAIT_S, netra_diag_cmd, run_subprocess

from netra_diag.exitcodes import ExitCode


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "target" / "netra-diag.yaml"
    path.parent.mkdir()
    path.write_text("name: plugin-target\n")
    return path


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.output.startswith("netra-diag ")


def test_help_lists_the_commands(cli):
    result = cli("--help")
    for command in ("run", "list", "explain", "faults", "report"):
        assert command in result.output


def test_list_json_describes_each_check(cli):
    result = cli("list", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    ids = [r["id"] for r in rows]
    assert ids[:5] == ["import-chain", "emitter-methods", "registry-wiring", "engine-factory",
                       "deprecation-warnings"]
    for row in rows:
        assert {"id", "why", "title", "tags", "depends_on"} <= set(row)


def test_explain_prints_the_explanation(cli):
    result = cli("explain", "import-chain")
    assert result.exit_code == 0
    assert "Why it matters" in result.stdout


def test_explain_unknown_id_suggests(cli):
    result = cli("explain", "import-chian")
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "import-chain" in result.stderr


def test_exit_0_when_everything_passes(cli, profile, plugin_dir):
    folder = plugin_dir("my_check.py")
    result = cli("run", str(profile), "--checks-dir", str(folder), "--only", "my-check",
                 "--format", "json")
    assert result.exit_code == ExitCode.OK
    doc = json.loads(result.stdout)
    assert doc["schema"] == "netra-diag/run/v1"
    assert doc["counts"] == {"pass": 1, "fail": 0, "error": 0, "skip": 0}


def test_exit_1_on_a_failure_and_json_counts_match(cli, profile, plugin_dir):
    folder = plugin_dir("failing.py", "my_check.py")
    result = cli("run", str(profile), "--checks-dir", str(folder), "--format", "json",
                 "--only", "always-fails", "--only", "after-failure", "--only", "my-check")
    assert result.exit_code == ExitCode.FAILED
    doc = json.loads(result.stdout)
    statuses = [r["status"] for r in doc["results"]]
    assert doc["counts"] == {s: statuses.count(s) for s in ("pass", "fail", "error", "skip")}
    assert doc["counts"]["skip"] == 1


def test_exit_3_when_a_check_cannot_decide(cli, profile, plugin_dir):
    folder = plugin_dir("erroring.py")
    result = cli("run", str(profile), "--checks-dir", str(folder), "--only", "needs-setup")
    assert result.exit_code == ExitCode.UNDECIDED
    assert "set build.x.y" in result.stdout


def test_exit_3_for_a_plugin_broken_at_import_while_others_run(cli, profile, plugin_dir):
    folder = plugin_dir("broken_import.py", "my_check.py")
    result = cli("run", str(profile), "--checks-dir", str(folder), "--only", "my-check",
                 "--format", "json")
    assert result.exit_code == ExitCode.UNDECIDED
    doc = json.loads(result.stdout)
    by_status = {r["id"]: r["status"] for r in doc["results"]}
    assert by_status["my-check"] == "pass"
    assert by_status["load-error:broken_import.py"] == "error"


def test_exit_4_for_an_unknown_check_with_suggestions(cli, profile):
    result = cli("run", str(profile), "--only", "nonexistent")
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "unknown check id 'nonexistent'" in result.stderr
    result = cli("run", str(profile), "--only", "event-flwo")
    assert "did you mean event-flow" in result.stderr


def test_exit_4_for_malformed_yaml_naming_the_line(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nroles: [\n")
    result = cli("run", str(bad))
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert f"{bad}:" in result.stderr and "malformed YAML" in result.stderr


def test_exit_4_for_duplicate_ids(cli, profile, plugin_dir):
    result = cli("run", str(profile), "--checks-dir", str(plugin_dir("my_check.py",
                                                                     "duplicate.py")))
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "duplicate check id 'my-check'" in result.stderr


def test_exit_4_for_a_bad_format(cli):
    result = cli("run", "--format", "yaml")
    assert result.exit_code == ExitCode.USAGE_ERROR


def test_exit_5_when_no_check_is_selected(cli, profile):
    result = cli("run", str(profile), "--only", "event-flow", "--skip", "event-flow")
    assert result.exit_code == ExitCode.NO_CHECKS


def test_exit_2_when_the_output_cannot_be_written(cli, profile, plugin_dir, tmp_path):
    folder = plugin_dir("my_check.py")
    target = tmp_path / "no-such-dir" / "out.json"
    result = cli("run", str(profile), "--checks-dir", str(folder), "--only", "my-check",
                 "--format", "json", "--output", str(target))
    assert result.exit_code == ExitCode.INTERRUPTED
    assert "out.json" in result.stderr


def test_json_on_stdout_is_only_the_document(profile, plugin_dir, tmp_path):
    folder = plugin_dir("my_check.py", "broken_import.py")
    proc = run_subprocess("run", str(profile), "--checks-dir", str(folder), "--format", "json",
                          cwd=tmp_path)
    json.loads(proc.stdout)  # nothing but the document
    assert proc.returncode == ExitCode.UNDECIDED


def test_ctrl_c_stops_children_and_keeps_what_finished(profile, plugin_dir, tmp_path):
    """Exit 2 on SIGINT; the finished check is in the written report."""
    folder = plugin_dir("my_check.py", "fifo_hang.py")
    fifo = tmp_path / "started.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "partial.json"
    env = {**os.environ, "NETRA_TEST_FIFO": str(fifo), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [*netra_diag_cmd(), "run", str(profile), "--checks-dir", str(folder), "--jobs", "1",
         "--only", "my-check", "--only", "signals-then-hangs", "--format", "json",
         "--output", str(out)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            ready, _, _ = select.select([fd], [], [], WAIT_S)
            assert ready, "the hanging check never started"
        finally:
            os.close(fd)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=WAIT_S)
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True
    assert [r["id"] for r in doc["results"]] == ["my-check"]
