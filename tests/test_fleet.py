"""The fleet from the outside: serve --instances, probe URL1 URL2, run --backplane, profiles,
and bad input. A real redis-server on a free loopback port (the ``redis_url`` fixture), real
instance processes, the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from helpers import WAIT_S, netra_diag_cmd, run_subprocess

from netra_diag.errors import ConfigError
from netra_diag.faults import copy_reference
from netra_diag.model import full_summary
from netra_diag.profile import load_profile, reference_profile_path


def said(row: dict) -> str:
    """A JSON result's whole summary (a cut one joined with its continuation)."""
    return full_summary(row["summary"], row["evidence"])

FLEET = ("cross-instance-delivery", "backplane-isolation", "backplane-resilience")


def statuses(doc: dict) -> dict[str, str]:
    return {r["id"]: r["status"] for r in doc["results"]}


class Served:
    """``netra-diag serve --instances N --backplane URL`` as a real process."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {**os.environ, "NO_COLOR": "1", "NETRA_A": "alice-token", "NETRA_B": "bob-token"}
        self.process = subprocess.Popen(
            [*netra_diag_cmd(), "serve", "--user-env", "alice=NETRA_A", "--user-env",
             "bob=NETRA_B", *args], cwd=cwd, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.process.stdout is not None
        self.banner = []
        for _ in range(12):  # the banner is a handful of lines; readline ends at EOF too
            line = self.process.stdout.readline()
            self.banner.append(line)
            if not line or line.startswith("  stop:"):
                break
        self.urls = [line.split(": ", 1)[1].strip() for line in self.banner
                     if line.startswith("  instance ")]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(WAIT_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()


def probe(urls: list[str], cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_subprocess("probe", *urls, "--token-env", "NETRA_A", "--user-token-env",
                          "bob=NETRA_B", "--format", "json", *extra, cwd=cwd,
                          env={"NETRA_A": "alice-token", "NETRA_B": "bob-token"},
                          timeout=60)


def test_probe_of_a_served_fleet_runs_the_fleet_checks_across_its_instances(redis_url,
                                                                             tmp_path):
    served = Served("--instances", "2", "--backplane", redis_url, cwd=tmp_path)
    try:
        assert len(served.urls) == 2, "".join(served.banner)
        assert "probe the fleet:" in "".join(served.banner)
        proc = probe(served.urls, tmp_path)
        # the same fleet named by a profile's fleet: list
        profile = tmp_path / "fleet.yaml"
        profile.write_text("fleet:\n" + "".join(f"  - {u}\n" for u in served.urls))
        by_profile = probe([], tmp_path, "--profile", str(profile), "--only",
                           "cross-instance-delivery")
    finally:
        assert served.stop() == 0
    assert by_profile.returncode == 0, by_profile.stdout + by_profile.stderr
    assert statuses(json.loads(by_profile.stdout)) == {"cross-instance-delivery": "pass"}
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    got = statuses(doc)
    assert got["cross-instance-delivery"] == "pass"
    assert got["backplane-isolation"] == "pass"
    # a live fleet's backplane is never dropped by a probe
    assert got["backplane-resilience"] == "skip"
    assert "alice-token" not in proc.stdout + proc.stderr


def test_probe_of_a_faulted_fleet_fails_its_owner_and_exits_1(redis_url, tmp_path):
    served = Served("--instances", "2", "--backplane", redis_url, "--inject",
                    "local-only-emit", cwd=tmp_path)
    try:
        proc = probe(served.urls, tmp_path, "--only", "cross-instance-delivery")
    finally:
        served.stop()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [result] = json.loads(proc.stdout)["results"]
    assert result["status"] == "fail"
    assert "0/5 critical events" in said(result)


def test_probe_of_one_url_does_not_select_the_fleet_checks(tmp_path):
    proc = run_subprocess("probe", "ws://127.0.0.1:9/ws", "--token-env", "NETRA_A",
                          "--only", "cross-instance-delivery", cwd=tmp_path,
                          env={"NETRA_A": "alice-token"})
    assert proc.returncode == 4
    assert "the fleet checks need two URLs or more" in proc.stderr


def write_profile(tmp_path: Path, extra: str, server: str | None = None) -> Path:
    """The reference's source and profile in ``tmp_path``, with ``extra`` keys appended."""
    copy_reference(tmp_path / "src")
    text = reference_profile_path().read_text(encoding="utf-8")
    if server is not None:
        text = text.replace("netra_backend.app.routes.websocket_server:start_server", server)
    (tmp_path / "netra-diag.yaml").write_text(text + extra, encoding="utf-8")
    return tmp_path


def test_a_profile_names_its_backplane_and_the_fleet_checks_run_on_its_own_instances(
        redis_url, tmp_path):
    """Its server role needs settings that only the hooks' setup() provides: each instance
    runs setup() before it imports the role, as every check interpreter does."""
    folder = write_profile(tmp_path, "\nbackplane:\n  url_env: MY_REDIS\n  instances: 3\n"
                           "hooks: netra_diag_hooks.py\n", server="guarded:start_server")
    (tmp_path / "src" / "guarded.py").write_text(
        "import os\n\nif os.environ.get('GUARD_SETTINGS') != 'loaded':\n"
        "    raise RuntimeError('settings missing: setup() did not run')\n\n"
        "from netra_backend.app.routes.websocket_server import start_server  # noqa: E402\n")
    (tmp_path / "netra_diag_hooks.py").write_text(
        "import os\n\n\ndef setup():\n    os.environ['GUARD_SETTINGS'] = 'loaded'\n")
    proc = run_subprocess("run", str(folder), "--format", "json", *(
        arg for check_id in FLEET for arg in ("--only", check_id)), cwd=tmp_path,
        env={"MY_REDIS": redis_url}, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert set(statuses(doc).values()) == {"pass"}, proc.stdout
    [delivery] = [r for r in doc["results"] if r["id"] == "cross-instance-delivery"]
    assert "on all 3 instances" in said(delivery)


def test_a_server_role_that_cannot_join_a_fleet_is_an_error_naming_the_parameters(
        redis_url, tmp_path):
    folder = write_profile(tmp_path, "", server="lonely:start_server")
    src = tmp_path / "src" / "lonely"
    src.mkdir()
    (src / "__init__.py").write_text(
        "async def start_server(host, port, users):\n"
        "    raise AssertionError('never started: the fleet refuses it first')\n")
    proc = run_subprocess("run", str(folder), "--backplane", redis_url, "--format", "json",
                          "--only", "cross-instance-delivery", cwd=tmp_path, timeout=60)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    [result] = json.loads(proc.stdout)["results"]
    assert result["status"] == "error"
    assert "takes no 'backplane', 'instance_id', 'channel_prefix'" in said(result)


def test_an_unreachable_backplane_is_an_error_and_its_password_never_shows(tmp_path):
    url = "redis://:hunter2-secret@127.0.0.1:1/0"
    proc = run_subprocess("run", "--backplane", url, "--format", "json", "--only",
                          "cross-instance-delivery", cwd=tmp_path, timeout=60)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    [result] = json.loads(proc.stdout)["results"]
    assert result["status"] == "error"
    assert "could not start" in said(result)
    assert "hunter2-secret" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--backplane", "http://127.0.0.1:6379"], "--backplane takes a Redis URL"),
    (["run", "--backplane-env", "NETRA_UNSET_VAR"], "NETRA_UNSET_VAR is not set"),
    (["run", "--backplane", "redis://a:1", "--backplane-env", "X"], "give the backplane once"),
    (["serve", "--instances", "2"], "give --backplane redis://HOST:PORT"),
    (["serve", "--instances", "0", "--backplane", "redis://127.0.0.1:1"],
     "--instances must be between 1 and 16"),
    (["probe", "--token-env", "NETRA_A"], "probe needs a URL"),
])
def test_bad_fleet_options_exit_4_with_a_clear_message(args, message, cli, monkeypatch):
    monkeypatch.setenv("NETRA_A", "alice-token")
    monkeypatch.delenv("NETRA_UNSET_VAR", raising=False)
    result = cli(*args)
    assert result.exit_code == 4, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("extra", "message"), [
    ("\nfleet: [ws://127.0.0.1:1/ws]\n", "two instances' URLs or more"),
    ("\nbackplane: {url: redis://127.0.0.1:1, instances: 1}\n", "an integer from 2 to 8"),
    ("\nbackplane: {url: http://x}\n", "a redis://, rediss:// or unix:// URL"),
    ("\nbackplane: {url: redis://x, url_env: X}\n", "either 'url' or 'url_env'"),
    ("\nbackplane: {urls: redis://x}\n", "a known key"),
])
def test_bad_fleet_profile_keys_are_refused_naming_the_line(extra, message, tmp_path):
    """(A ConfigError is exit 4 through the CLI, as every profile error.)"""
    folder = write_profile(tmp_path, extra)
    with pytest.raises(ConfigError) as caught:
        load_profile(folder)
    assert message in str(caught.value)
    assert "netra-diag.yaml:" in str(caught.value)


def test_the_default_run_never_needs_redis(tmp_path):
    """No backplane: the fleet checks are skipped, and nothing imports redis: a ``redis``
    package that refuses to import shadows the real one in every interpreter of the run."""
    shadow = tmp_path / "shadow" / "redis"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('redis imported without a "
                                        "backplane')\n")
    pythonpath = os.pathsep.join(p for p in (str(shadow.parent), os.environ.get("PYTHONPATH"))
                                 if p)
    proc = run_subprocess("run", "--format", "json", "--only", "event-flow", "--only",
                          "user-isolation", *(a for c in FLEET for a in ("--only", c)),
                          cwd=tmp_path, env={"PYTHONPATH": pythonpath}, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = statuses(json.loads(proc.stdout))
    assert got == {"event-flow": "pass", "user-isolation": "pass",
                   **dict.fromkeys(FLEET, "skip")}
    assert "redis imported" not in proc.stdout + proc.stderr


def test_a_fleet_fault_without_a_backplane_says_how_to_see_it(cli):
    result = cli("run", "--inject", "duplicate-delivery", "--only", "cross-instance-delivery",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    assert "duplicate-delivery acts only between instances: add --backplane" in result.stderr
    assert statuses(json.loads(result.stdout)) == {"cross-instance-delivery": "skip"}
