"""Issue 11, untrusted input: profiles, saved runs and numbers that must not exhaust the
machine or pass as valid. Every case goes through the real CLI in a subprocess and must end
at once with exit 4 and a one-line message (never a traceback, never a hang)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import run_subprocess

USAGE = 4

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def assert_usage_error(proc, *words: str) -> None:
    assert proc.returncode == USAGE, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


def test_billion_laughs_profile_is_refused_at_once(tmp_path: Path) -> None:
    profile = tmp_path / "netra-diag.yaml"
    profile.write_text(BILLION_LAUGHS, encoding="utf-8")
    started = time.monotonic()
    proc = run_subprocess("run", str(profile), "--format", "json", cwd=tmp_path)
    assert_usage_error(proc, "aliases", str(profile))
    assert time.monotonic() - started < 15  # the safety net; it takes well under a second


def test_oversized_profile_is_refused(cli, tmp_path: Path) -> None:
    profile = tmp_path / "netra-diag.yaml"
    profile.write_text("name: big\n" + "# padding\n" * 200_000, encoding="utf-8")
    result = cli("run", str(profile))
    assert result.exit_code == USAGE and "bytes allowed" in result.stderr


@pytest.mark.parametrize("command", ["run", "report"])
def test_dev_zero_is_refused_without_reading_it(tmp_path: Path, command: str) -> None:
    proc = run_subprocess(command, "/dev/zero", cwd=tmp_path)
    assert_usage_error(proc, "/dev/zero", "regular file")


def test_baseline_from_a_device_is_refused(tmp_path: Path) -> None:
    proc = run_subprocess("run", "--baseline", "/dev/zero", "--only", "import-chain",
                          cwd=tmp_path)
    assert_usage_error(proc, "regular file")


@pytest.mark.parametrize("command", ["run", "report"])
def test_fifo_is_refused_instead_of_waiting_for_a_writer(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "netra-diag.yaml"
    os.mkfifo(fifo)
    proc = run_subprocess(command, str(fifo), cwd=tmp_path)
    assert_usage_error(proc, "FIFO")


@pytest.mark.parametrize("value", ["inf", "1e10", "nan"])
def test_timeout_must_be_finite_and_bounded(tmp_path: Path, value: str) -> None:
    proc = run_subprocess("run", "--timeout", value, "--only", "import-chain", cwd=tmp_path)
    assert_usage_error(proc, "--timeout")


@pytest.mark.parametrize("value", ["1e10"])
def test_probe_timeout_must_be_finite_and_bounded(tmp_path: Path, value: str) -> None:
    proc = run_subprocess("probe", "ws://127.0.0.1:9/ws", "--token", "abcdefgh",
                          "--timeout", value, cwd=tmp_path)
    assert_usage_error(proc, "--timeout", "finite")


@pytest.mark.parametrize("value", ["nan", "inf", "0"])
def test_latency_budget_option_must_be_finite_and_positive(tmp_path: Path, value: str) -> None:
    proc = run_subprocess("probe", "ws://127.0.0.1:9/ws", "--token", "abcdefgh",
                          "--latency-budget-ms", value, cwd=tmp_path)
    assert_usage_error(proc, "--latency-budget-ms")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1e12"])
def test_profile_budget_must_be_finite_and_bounded(cli, tmp_path: Path, value: str) -> None:
    profile = tmp_path / "netra-diag.yaml"
    profile.write_text(f"name: t\nbudgets:\n  event_latency_ms: {value}\n", encoding="utf-8")
    result = cli("run", str(profile))
    assert result.exit_code == USAGE, result.output
    for word in ("budgets.event_latency_ms", "finite", f"{profile}:3"):
        assert word in result.stderr


def test_probe_profile_budget_nan_is_refused(cli, tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("budgets: {event_latency_ms: .nan}\n", encoding="utf-8")
    result = cli("probe", "ws://127.0.0.1:9/ws", "--token", "abcdefgh", "--profile",
                 str(profile))
    assert result.exit_code == USAGE and "budgets.event_latency_ms" in result.stderr


@pytest.mark.parametrize("outputs", [
    ("--report", "json:x", "--report", "junit:x"),
    ("-o", "x", "--report", "junit:x"),
    ("-o", "sub/../x", "--report", "sarif:x"),
])
def test_two_outputs_to_one_path_are_a_usage_error(cli, tmp_path: Path, outputs) -> None:
    result = cli("run", "--only", "import-chain", "--format", "json", *outputs)
    assert result.exit_code == USAGE and "same file" in result.stderr
    assert not (tmp_path / "x").exists()  # nothing ran, nothing was written
