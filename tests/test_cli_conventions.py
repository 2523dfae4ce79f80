"""The conventions pytest, ruff, InSpec and goss users already know, through the real CLI:
-h, -V, -q/-v, --color, completion, ids/tags/comma lists, upward profile discovery (and
[tool.netra-diag]), the first line naming the target, one default format, a stderr line per
file written, readable metavars, the real terminal width."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

import pytest
from helpers import WAIT_S, netra_diag_cmd, run_subprocess

from netra_diag.exitcodes import ExitCode

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def project(tmp_path: Path, plugin_dir) -> Path:
    """A git work tree whose root holds the profile, with a plugin check, and a subfolder."""
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "src" / "pkg" / "deep").mkdir(parents=True)
    folder = plugin_dir("my_check.py")
    (root / "netra-diag.yaml").write_text(f"name: upward\nchecks_dirs: [{folder}]\n")
    return root


def test_short_help_and_version(cli):
    assert cli("-h").exit_code == 0 and "Usage" in cli("-h").output
    assert "--only ID|TAG[,...]" in cli("run", "-h").output
    assert cli("-V").output.startswith("netra-diag ")


def test_help_has_no_type_metavars(cli):
    for command in ("run", "probe", "report", "serve", "list", "init"):
        text = cli(command, "--help").output
        assert "list[" not in text, (command, text)
    assert "two generated demo users" in " ".join(cli("serve", "--help").output.split())


def test_shell_completion_is_enabled(tmp_path):
    proc = run_subprocess("--show-completion", "bash", cwd=tmp_path,
                          env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "_NETRA_DIAG_COMPLETE" in proc.stdout
    assert "--install-completion" in run_subprocess("--help", cwd=tmp_path).stdout
    # what the installed script asks: the completions of a partial command line
    done = run_subprocess(cwd=tmp_path, env={"_NETRA_DIAG_COMPLETE": "complete_bash",
                                             "COMP_WORDS": "netra-diag run --sc",
                                             "COMP_CWORD": "2"})
    assert done.returncode == 0 and done.stdout.split() == ["--scenario"]


def test_quiet_prints_the_verdict_line_and_verbose_every_evidence(project):
    sub = project / "src" / "pkg"
    quiet = run_subprocess("run", "-q", "--only", "my-check", cwd=sub)
    assert quiet.returncode == ExitCode.OK, quiet.stderr
    assert quiet.stdout.strip().splitlines() == [quiet.stdout.strip()]
    assert quiet.stdout.startswith("Diagnosis: HEALTHY") and quiet.stderr == ""
    reference = project.parent  # no profile there: the embedded reference
    wide = {"COLUMNS": "120"}
    normal = run_subprocess("run", "--only", "deprecation-warnings", cwd=reference, env=wide)
    verbose = run_subprocess("run", "-v", "--only", "deprecation-warnings", cwd=reference,
                             env=wide)
    assert "PASS deprecation-warnings" not in normal.stdout.splitlines()
    assert "PASS deprecation-warnings" in verbose.stdout.splitlines()
    assert "[warning]" in verbose.stdout and "[warning]" not in normal.stdout
    both = run_subprocess("run", "-q", "-v", cwd=sub)
    assert both.returncode == ExitCode.USAGE_ERROR and "exclude each other" in both.stderr


def test_color_always_never_and_auto(project):
    always = run_subprocess("run", "--color", "always", "--only", "my-check", cwd=project)
    assert ANSI.search(always.stdout)
    for args in (("--color", "never"), ()):  # auto: stdout is a pipe here
        assert not ANSI.search(run_subprocess("run", *args, "--only", "my-check",
                                              cwd=project).stdout)
    bad = run_subprocess("run", "--color", "sometimes", cwd=project)
    assert bad.returncode == ExitCode.USAGE_ERROR and "auto, always, never" in bad.stderr


def test_profile_discovery_walks_up_to_the_repository_root(project):
    proc = run_subprocess("run", "--format", "json", "--only", "my-check",
                          cwd=project / "src" / "pkg" / "deep")
    assert proc.returncode == ExitCode.OK, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["target"]["name"] == "upward"
    first = proc.stderr.splitlines()[0]
    assert first.startswith("netra-diag: target: upward: profile ")
    assert str(project / "netra-diag.yaml") in first and "found walking up from" in first
    assert doc["target"]["origin"] in first


def test_discovery_stops_at_the_repository_root(tmp_path, plugin_dir):
    (tmp_path / "netra-diag.yaml").write_text("name: outside\n")  # above the repository
    inner = tmp_path / "repo"
    (inner / ".git").mkdir(parents=True)
    loud = run_subprocess("run", "--only", "deprecation-warnings", "-f", "json", cwd=inner)
    assert json.loads(loud.stdout)["target"]["name"] == "reference"
    assert loud.stderr.splitlines()[0].startswith(
        "netra-diag: target: reference: no profile found")
    assert "the embedded reference" in loud.stderr.splitlines()[0]


@pytest.mark.parametrize("inline", [True, False])
def test_pyproject_tool_table_inline_or_naming_a_file(project, inline):
    (project / "netra-diag.yaml").rename(project / "ci.yaml")
    text = (project / "ci.yaml").read_text()
    if inline:
        folder = re.search(r"\[(.*)\]", text).group(1)
        table = f'[tool.netra-diag]\nname = "from-pyproject"\nchecks_dirs = ["{folder}"]\n'
    else:
        table = '[tool.netra-diag]\nprofile = "ci.yaml"\n'
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n\n' + table)
    proc = run_subprocess("run", "-f", "json", "--only", "my-check", cwd=project / "src")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert json.loads(proc.stdout)["target"]["name"] == ("from-pyproject" if inline else "upward")
    assert "[tool.netra-diag]" in proc.stderr.splitlines()[0]


def test_a_bad_pyproject_table_is_a_usage_error_naming_it(project):
    (project / "netra-diag.yaml").unlink()
    (project / "pyproject.toml").write_text('[tool.netra-diag]\nroles = {emiter = "a.b:C"}\n')
    proc = run_subprocess("run", cwd=project)
    assert proc.returncode == ExitCode.USAGE_ERROR
    assert "pyproject.toml [tool.netra-diag]" in proc.stderr and "roles.emiter" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_only_and_skip_take_tags_and_comma_lists(tmp_path):
    proc = run_subprocess("run", "--only", "wire", "--skip", "event-latency,user-isolation",
                          "-f", "json", cwd=tmp_path)
    assert [r["id"] for r in json.loads(proc.stdout)["results"]] == ["event-flow"]
    proc = run_subprocess("run", "--only", "import-chain,deprecation-warnings", "-f", "json",
                          cwd=tmp_path)
    assert [r["id"] for r in json.loads(proc.stdout)["results"]] == [
        "import-chain", "deprecation-warnings"]
    bad = run_subprocess("run", "--only", "wires", cwd=tmp_path)
    assert bad.returncode == ExitCode.USAGE_ERROR and "did you mean wire" in bad.stderr


def test_list_uses_the_order_of_run(cli, tmp_path):
    listed = [row["id"] for row in json.loads(cli("list", "-f", "json").stdout)]
    proc = run_subprocess("run", "--static", "-f", "json", cwd=tmp_path)
    assert listed == [r["id"] for r in json.loads(proc.stdout)["results"]]


def test_report_defaults_to_the_rich_view_and_files_are_named_on_stderr(project, tmp_path):
    out = tmp_path / "run.json"
    proc = run_subprocess("run", "-f", "json", "-o", str(out), "--report",
                          f"junit:{tmp_path / 'r.xml'}", "--only", "my-check", cwd=project)
    assert proc.stdout == ""
    wrote = [line for line in proc.stderr.splitlines() if line.startswith("netra-diag: wrote")]
    assert wrote == [f"netra-diag: wrote junit report to {tmp_path / 'r.xml'}",
                     f"netra-diag: wrote json report to {out}"]
    shown = run_subprocess("report", str(out), cwd=tmp_path)
    assert shown.returncode == ExitCode.OK and shown.stdout.startswith("netra-diag ")
    assert "Diagnosis: HEALTHY" in shown.stdout
    quiet = run_subprocess("run", "-q", "-f", "json", "-o", str(out), "--only", "my-check",
                           cwd=project)
    assert quiet.stderr == ""


def _run_on_a_terminal(args: list[str], cwd: Path, columns: int, env: dict[str, str]) -> str:
    """Run the CLI with stdout on a pseudo-terminal ``columns`` wide; what it printed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "CI")}
    proc = subprocess.Popen([*netra_diag_cmd(), *args], cwd=cwd, stdout=follower,
                            stderr=subprocess.DEVNULL, env={**full_env, **env})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=WAIT_S)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"CI": "true"}])
def test_no_color_and_ci_keep_the_real_terminal_width(project, env):
    text = _run_on_a_terminal(["run", "-v", "--scenario", "incident", "--only", "import-chain"],
                              project, 80, env)
    lines = [ANSI.sub("", line) for line in text.replace("\r", "").splitlines()]
    assert lines and max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert not ANSI.search(text)
