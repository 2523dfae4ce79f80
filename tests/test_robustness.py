"""What a real user throws at the tool: noisy or stuck plugins, stray files, bad inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import run_subprocess

from netra_diag.exitcodes import ExitCode
from netra_diag.faults import copy_reference


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "target" / "netra-diag.yaml"
    path.parent.mkdir()
    path.write_text("name: plugin-target\n")
    return path


def test_a_plugin_printing_at_import_cannot_corrupt_the_json(profile, plugin_dir, tmp_path):
    folder = plugin_dir("prints_at_import.py")
    proc = run_subprocess("run", str(profile), "--checks-dir", str(folder), "--only",
                          "noisy-import", "--format", "json", cwd=tmp_path)
    assert json.loads(proc.stdout)["counts"]["pass"] == 1
    assert "noise from a plugin" in proc.stderr


def test_a_plugin_stuck_or_exiting_at_import_is_an_error_and_others_run(profile, plugin_dir,
                                                                         tmp_path):
    folder = plugin_dir("sleeps_at_import.py", "exits_at_import.py", "os_exits_at_import.py",
                        "my_check.py")
    proc = run_subprocess("run", str(profile), "--checks-dir", str(folder), "--only",
                          "my-check", "--timeout", "1", "--format", "json", cwd=tmp_path)
    assert proc.returncode == ExitCode.UNDECIDED, proc.stderr
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
    assert results["my-check"]["status"] == "pass"
    assert "within 1 s" in results["load-error:sleeps_at_import.py"]["summary"]
    assert "sys.exit" in results["load-error:exits_at_import.py"]["summary"]
    assert "exit code 7" in results["load-error:os_exits_at_import.py"]["summary"]


def test_malformed_verdicts_are_errors_naming_the_problem(profile, plugin_dir, tmp_path):
    folder = plugin_dir("malformed_verdicts.py")
    proc = run_subprocess("run", str(profile), "--checks-dir", str(folder), "--only",
                          "string-evidence", "--only", "string-status", "--format", "json",
                          cwd=tmp_path)
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
    assert "not Evidence" in results["string-evidence"]["summary"]
    assert "unknown status 'broken'" in results["string-status"]["summary"]
    assert {r["status"] for r in results.values()} == {"error"}


def test_the_working_directory_never_shadows_the_checks(tmp_path):
    """A stray module in the current folder must not be importable by the checks."""
    (tmp_path / "secrets.py").write_text("raise SystemExit('shadowed')\n")
    (tmp_path / "json.py").write_text("raise SystemExit('shadowed')\n")
    proc = run_subprocess("run", "--only", "event-flow", "--format", "json", cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stdout + proc.stderr


def test_the_same_checks_folder_twice_is_not_a_duplicate(profile, plugin_dir, tmp_path):
    folder = plugin_dir("my_check.py")
    proc = run_subprocess("run", str(profile), "--checks-dir", str(folder), "--checks-dir",
                          f"{folder}/", "--only", "my-check", cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stderr


def test_output_through_a_symlink_keeps_the_link(profile, plugin_dir, tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    proc = run_subprocess("run", str(profile), "--checks-dir", str(plugin_dir("my_check.py")),
                          "--only", "my-check", "--format", "json", "-o", str(link),
                          cwd=tmp_path)
    assert proc.returncode == ExitCode.OK
    assert link.is_symlink()
    assert json.loads(real.read_text())["counts"]["pass"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nroles: {}\nroles: {}\n", "appears twice (first on line 2)"),
        ("name: x\nmethods:\n  create_user_emiter: make\n", "did you mean 'create_user_emitter'"),
        ("name: x\nbudgets:\n  event_latency: 10\n", "did you mean 'event_latency_ms'"),
        ("name: x\nchecks_dirs: [nowhere]\n", "key 'checks_dirs.0': expected a folder"),
        ("name: x\nevents:\n  methods:\n    agent_startd: notify_agent_started\n",
         "key 'events.methods.agent_startd': expected one of the critical events"),
    ],
)
def test_profile_mistakes_exit_4_with_the_line(tmp_path, text, message):
    path = tmp_path / "netra-diag.yaml"
    path.write_text(text)
    proc = run_subprocess("run", str(path), cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE_ERROR
    assert message in proc.stderr
    assert f"{path}:" in proc.stderr


def _reference_copy_profile(tmp_path: Path, extra: str = "") -> Path:
    from netra_diag.profile import reference_profile_path

    copy_reference(tmp_path / "src")
    text = reference_profile_path().read_text().replace("name: reference", "name: copy")
    path = tmp_path / "netra-diag.yaml"
    path.write_text(text + extra)
    return path


def test_a_profile_factory_that_raises_is_a_setup_error(tmp_path):
    profile = _reference_copy_profile(tmp_path)
    text = profile.read_text().replace(
        'llm_manager: {factory: "netra_backend.app.llm.llm_manager:ScriptedLLMManager"}',
        'llm_manager: {factory: "netra_backend.app.llm.llm_manager:ScriptedLLMManager", '
        'args: {no_such_argument: 1}}', 1)
    profile.write_text(text)
    os.remove(tmp_path / "src" / "netra_backend" / "app" / "dependencies.py")
    (tmp_path / "src" / "netra_backend" / "app" / "dependencies.py").write_text("")
    data = profile.read_text().replace(
        "  wiring_entry: netra_backend.app.dependencies:get_supervisor\n", "")
    profile.write_text(data)
    proc = run_subprocess("run", str(profile), "--only", "registry-wiring", "--format", "json",
                          cwd=tmp_path)
    [result] = json.loads(proc.stdout)["results"]
    assert result["status"] == "error", result
    assert "build.registry.llm_manager" in result["summary"] + (result["fix"] or "")


def test_a_missing_module_imported_by_the_target_is_an_import_chain_fail_at_its_line(tmp_path):
    profile = _reference_copy_profile(tmp_path)
    deps = tmp_path / "src" / "netra_backend" / "app" / "dependencies.py"
    lines = deps.read_text().splitlines(keepends=True)
    lines.insert(9, "from netra_backend.app.helpers_removed import thing  # noqa\n")
    deps.write_text("".join(lines))
    proc = run_subprocess("run", str(profile), "--only", "import-chain", "--format", "json",
                          cwd=tmp_path)
    [result] = json.loads(proc.stdout)["results"]
    assert result["status"] == "fail", result
    assert "the import chain is broken at the source" in result["summary"]
    located = [(e["file"], e["line"]) for e in result["evidence"] if e["kind"] == "location"]
    assert located[0] == ("netra_backend/app/dependencies.py", 10)
    assert "helpers_removed" in json.dumps(result["evidence"])


def test_report_on_a_malformed_run_exits_4(tmp_path):
    bad = tmp_path / "run.json"
    bad.write_text(json.dumps({"schema": "netra-diag/run/v1", "target": {"faults": 5},
                               "results": []}))
    proc = run_subprocess("report", str(bad), cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE_ERROR
    assert "faults" in proc.stderr and "Traceback" not in proc.stderr


def test_a_scenario_means_the_reference_even_beside_a_local_profile(tmp_path):
    (tmp_path / "netra-diag.yaml").write_text("name: mine\n")
    proc = run_subprocess("run", "--scenario", "incident", "--only", "import-chain",
                          "--format", "json", cwd=tmp_path)
    assert proc.returncode == ExitCode.FAILED, proc.stderr
    assert json.loads(proc.stdout)["target"]["builtin"] is True


def test_a_self_referencing_alias_is_a_usage_error(tmp_path):
    path = tmp_path / "netra-diag.yaml"
    path.write_text("name: x\nx: &a [*a]\n")
    proc = run_subprocess("run", str(path), cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE_ERROR
    assert "alias refers to itself" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("doc", [
    {"schema": "netra-diag/run/v1", "target": {"faults": []}, "results": [
        {"id": "x", "status": "fail", "summary": "s",
         "evidence": [{"kind": "location", "message": "m", "file": 5}]}]},
    "[" * 100000,
])
def test_report_refuses_malformed_or_absurd_documents(tmp_path, doc):
    bad = tmp_path / "run.json"
    bad.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    proc = run_subprocess("report", str(bad), "--format", "github", cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE_ERROR, proc.stderr
    assert "Traceback" not in proc.stderr


def test_output_to_dev_stdout_works_when_stdout_is_a_pipe(tmp_path):
    proc = run_subprocess("run", "--only", "import-chain", "--format", "json", "-o",
                          "/dev/stdout", cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert json.loads(proc.stdout)["counts"]["pass"] == 1
