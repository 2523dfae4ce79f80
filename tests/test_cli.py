"""The CLI: commands, options, output streams and every exit code of docs/exit-codes.md."""

import json
import os
import select
import signal
import subprocess
import sys
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
    assert "How its statuses are decided (the harness and the target)" in result.stdout
    assert 'skip "blocked by <check>"' in result.stdout


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


def test_exit_6_when_the_output_cannot_be_written(cli, profile, plugin_dir, tmp_path):
    folder = plugin_dir("my_check.py")
    target = tmp_path / "no-such-dir" / "out.json"
    result = cli("run", str(profile), "--checks-dir", str(folder), "--only", "my-check",
                 "--format", "json", "--output", str(target))
    assert result.exit_code == ExitCode.OUTPUT_ERROR
    assert "out.json" in result.stderr


def test_json_on_stdout_is_only_the_document(profile, plugin_dir, tmp_path):
    folder = plugin_dir("my_check.py", "broken_import.py")
    proc = run_subprocess("run", str(profile), "--checks-dir", str(folder), "--format", "json",
                          cwd=tmp_path)
    json.loads(proc.stdout)  # nothing but the document
    assert proc.returncode == ExitCode.UNDECIDED


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_children_and_keeps_what_finished(profile, plugin_dir, tmp_path, signum):
    """Exit 2 on SIGINT (Ctrl-C) or SIGTERM (a cancelled CI job); what finished is written."""
    folder = plugin_dir("my_check.py", "fifo_hang.py", "sleepy.py")
    fifo = tmp_path / "started.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "partial.json"
    env = {**os.environ, "NETRA_TEST_FIFO": str(fifo), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [*netra_diag_cmd(), "run", str(profile), "--checks-dir", str(folder), "--jobs", "1",
         "--only", "my-check", "--only", "signals-then-hangs", "--only", "sleeps-forever",
         "--format", "json",
         "--output", str(out)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            ready, _, _ = select.select([fd], [], [], WAIT_S)
            assert ready, "the hanging check never started"
        finally:
            os.close(fd)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=WAIT_S)
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True
    statuses = {r["id"]: (r["status"], r["summary"]) for r in doc["results"]}
    assert statuses["my-check"][0] == "pass"
    assert statuses["signals-then-hangs"] == ("error", "interrupted before it finished")
    assert statuses["sleeps-forever"] == ("skip", "not run: the run was interrupted")


def test_faults_json_lists_name_description_and_detectors(cli):
    result = cli("faults", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert {"name", "description", "detected_by"} <= set(rows[0])
    names = {r["name"] for r in rows}
    assert "deprecated-singleton-import" in names


def test_an_unknown_fault_exits_4_with_suggestions(cli):
    result = cli("run", "--inject", "broadcast-event")
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "broadcast-events" in result.stderr


def test_faults_apply_only_to_the_reference(cli, profile):
    result = cli("run", str(profile), "--scenario", "incident")
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "reference" in result.stderr


def test_rich_output_has_no_colour_when_not_a_terminal(profile, plugin_dir, tmp_path):
    folder = plugin_dir("failing.py")
    proc = run_subprocess("run", str(profile), "--checks-dir", str(folder), "--only",
                          "always-fails", cwd=tmp_path, env={"NO_COLOR": ""})
    assert proc.returncode == ExitCode.FAILED
    assert "\x1b[" not in proc.stdout
    assert "always-fails" in proc.stdout and "app.py:3" in proc.stdout


def test_python_dash_m_runs_the_same_cli(tmp_path):
    import sys

    proc = subprocess.run([sys.executable, "-m", "netra_diag", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=WAIT_S, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("netra-diag ")


def test_profile_checks_dirs_are_discovered(cli, tmp_path, plugin_dir):
    folder = plugin_dir("my_check.py")
    path = tmp_path / "with-dirs.yaml"
    path.write_text(f"name: t\nchecks_dirs: [{folder}]\n")
    result = cli("run", str(path), "--only", "my-check", "--format", "json")
    assert result.exit_code == ExitCode.OK
    assert json.loads(result.stdout)["results"][0]["id"] == "my-check"


def test_entry_point_plugins_are_discovered(tmp_path):
    """A third-party package publishing checks in the netra_diag.checks group."""
    site = tmp_path / "site"
    (site / "thirdparty_checks.py").parent.mkdir()
    (site / "thirdparty_checks.py").write_text(
        "from netra_diag import check, passed\n\n"
        "@check(id='third-party', why='e2e', title='From an entry point')\n"
        "def third(ctx):\n    return passed('loaded through an entry point')\n")
    dist = site / "thirdparty-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[netra_diag.checks]\nthird = thirdparty_checks\n")
    target = tmp_path / "netra-diag.yaml"
    target.write_text("name: t\n")
    proc = run_subprocess("run", str(target), "--only", "third-party", "--format", "json",
                          cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert proc.returncode == ExitCode.OK, proc.stderr
    [result] = json.loads(proc.stdout)["results"]
    assert result["summary"] == "loaded through an entry point"


def test_one_unwritable_report_does_not_lose_the_others(cli, profile, plugin_dir, tmp_path):
    folder = plugin_dir("my_check.py")
    good = tmp_path / "good.json"
    result = cli("run", str(profile), "--checks-dir", str(folder), "--only", "my-check",
                 "--report", f"junit:{tmp_path / 'missing-dir' / 'x.xml'}",
                 "--report", f"json:{good}")
    assert result.exit_code == ExitCode.OUTPUT_ERROR
    assert "x.xml" in result.stderr
    assert json.loads(good.read_text())["counts"]["pass"] == 1
    assert "my-check" in result.stdout


@pytest.mark.parametrize("args", [("run", "--jobs", "0"), ("run", "--no-such-option"),
                                  ("explain",), ("serve", "--port", "abc")])
def test_usage_errors_exit_4_not_clicks_2(tmp_path, args):
    proc = run_subprocess(*args, cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE_ERROR, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_plugin_folders_static_skip_travels_from_discovery_to_the_run(cli, profile, plugin_dir,
                                                                      tmp_path):
    """Plugins are discovered in a child interpreter: their ``static_skip`` reaches the
    parent's runner, which reports it without calling the check."""
    folder = plugin_dir("static_skipper.py")
    result = cli("run", str(profile), "--static", "--checks-dir", str(folder), "--only",
                 "only-a-run", "--format", "json")
    [only] = json.loads(result.stdout)["results"]
    assert (only["status"], only["summary"]) == (
        "skip", "--static: only a run shows it; run without --static to judge it")
    assert not list(tmp_path.rglob("called"))


def test_entry_points_are_looked_up_only_where_a_distribution_may_declare_one(tmp_path,
                                                                              monkeypatch):
    """The parent skips importing importlib.metadata when no metadata folder on sys.path
    mentions the group; anything it cannot read cheaply (an egg, a zip) is a maybe."""
    from netra_diag.loader import may_declare_entry_points

    site = tmp_path / "site"
    other = site / "other-1.0.dist-info"
    other.mkdir(parents=True)
    (other / "entry_points.txt").write_text("[console_scripts]\nother = other:main\n")
    (site / "bare-1.0.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / "missing")])
    assert may_declare_entry_points("netra_diag.checks") is False
    assert may_declare_entry_points("console_scripts") is True
    declaring = site / "thirdparty-1.0.dist-info"
    declaring.mkdir()
    (declaring / "entry_points.txt").write_text("[netra_diag.checks]\nthird = third\n")
    assert may_declare_entry_points("netra_diag.checks") is True
    eggs = tmp_path / "eggs"
    eggs.mkdir()
    (eggs / "old-1.0.egg").mkdir()
    monkeypatch.setattr(sys, "path", [str(eggs)])
    assert may_declare_entry_points("netra_diag.checks") is True
    (tmp_path / "bundle.zip").write_bytes(b"")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "bundle.zip")])
    assert may_declare_entry_points("netra_diag.checks") is True
