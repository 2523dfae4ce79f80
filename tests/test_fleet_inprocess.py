"""A backend's own backplane role: the fleet checks run its pipeline in-process.

``tests/fixtures/ferry`` is a sample backend of its own shape (a Redis relay with one topic
per user, no server role): its profile names ``backplane.publish`` and
``backplane.subscribe``. Each test runs the real CLI against a copy (healthy, broken, or
the healthy copy with one defect written into it here), on a real redis-server on loopback
(the ``redis_url`` fixture; skipped when redis-server is not installed), with only the
checks it needs (extra defect variants are marked slow: ``pytest -m slow``). Also here: the
backplane role's profile errors. (That fleet instances of a ``server`` role run the hooks'
``setup()`` first is proven in ``test_fleet.py``.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import run_subprocess

from netra_diag.errors import ConfigError
from netra_diag.model import full_summary
from netra_diag.profile import load_profile

FERRY = Path(__file__).parent / "fixtures" / "ferry"
FLEET = ("cross-instance-delivery", "backplane-isolation", "backplane-resilience")
RELAY = "ferry/relay.py"


def run_fleet(folder: Path, redis_url: str, *checks: str) -> tuple[int, dict[str, dict]]:
    proc = run_subprocess("run", str(folder), "--format", "json",
                          *(a for c in checks for a in ("--only", c)), cwd=folder,
                          env={"FERRY_REDIS": redis_url}, timeout=120)
    assert proc.stdout.startswith("{"), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, {r["id"]: r for r in json.loads(proc.stdout)["results"]}


def said(row: dict) -> str:
    return full_summary(row["summary"], row["evidence"])


def ferry_with(tmp_path: Path, path: str, old: str, new: str) -> Path:
    """A copy of the healthy ferry with ``old`` replaced once by ``new`` in ``src/path``."""
    folder = tmp_path / "ferry"
    shutil.copytree(FERRY / "healthy", folder)
    target = folder / "src" / path
    text = target.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    target.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def test_the_healthy_ferry_passes_every_fleet_check_in_process(redis_url):
    code, rows = run_fleet(FERRY / "healthy", redis_url, *FLEET)
    assert {k: r["status"] for k, r in rows.items()} == dict.fromkeys(FLEET, "pass"), rows
    assert code == 0
    assert "on all 2 instances exactly once, in order" in said(rows["cross-instance-delivery"])
    assert "0 duplicates" in said(rows["backplane-resilience"])
    for row in rows.values():  # the evidence says how the instances ran
        assert any(e["kind"] == "note" and e["message"].startswith("in-process fleet: 2 "
                   "instances of the target's own pipeline") for e in row["evidence"]), row


def test_a_topic_per_thread_leaks_and_only_backplane_isolation_fails(redis_url):
    """(backplane-resilience is left out to keep the suite fast: it judges one user.)"""
    code, rows = run_fleet(FERRY / "broken", redis_url, *FLEET[:2])
    assert {k: r["status"] for k, r in rows.items()} == {
        "cross-instance-delivery": "pass", "backplane-isolation": "fail"}, rows
    assert code == 1
    leaks = [e for e in rows["backplane-isolation"]["evidence"] if e["kind"] == "leak"]
    assert leaks and all(e["data"]["receiver"] != e["data"]["owner"] for e in leaks)


#: Single defects written into the healthy copy: (file, old, new, the fleet's statuses).
DEFECTS = {
    "local-only": ("ferry/lanes.py", "    await relay.publish(scope, event)\n", "", {
        "cross-instance-delivery": "fail", "backplane-isolation": "skip",
        "backplane-resilience": "skip"}),
    "echo": (RELAY, "        if body.get(\"from\") == self.instance_id:\n            return\n",
             "", {"cross-instance-delivery": "fail", "backplane-isolation": "pass",
                  "backplane-resilience": "skip"}),
    "no-resubscribe": (RELAY, "                with contextlib.suppress(Exception):\n"
                       "                    await pubsub.aclose()\n",
                       "                return  # gives up on the relay\n", {
                           "cross-instance-delivery": "pass", "backplane-isolation": "pass",
                           "backplane-resilience": "fail"}),
}


@pytest.mark.slow  # the fault matrix proves these defects on the reference by default
@pytest.mark.parametrize("name", list(DEFECTS))
def test_each_written_defect_fails_its_owner_alone(name, redis_url, tmp_path):
    path, old, new, expected = DEFECTS[name]
    folder = ferry_with(tmp_path, path, old, new)
    profile = folder / "netra-diag.yaml"
    profile.write_text(profile.read_text(encoding="utf-8")
                       + "budgets: {backplane_recovery_s: 1}\n", encoding="utf-8")
    code, rows = run_fleet(folder, redis_url, *FLEET)
    assert {k: r["status"] for k, r in rows.items()} == expected, {
        k: said(r) for k, r in rows.items()}
    assert code == 1
    if name == "no-resubscribe":
        assert "did not subscribe again" in said(rows["backplane-resilience"])
    if name == "local-only":
        assert "0/5 critical events" in said(rows["cross-instance-delivery"])


def test_a_crash_of_the_backends_own_subscribe_fails_its_owner_and_blocks_the_others(
        redis_url, tmp_path):
    folder = ferry_with(tmp_path, RELAY, "    listener = Listener(redis_url, instance_id, "
                        "channel_prefix)\n", "    listener = Listener(redis_url, instance_id, "
                        "channel_prefix.topics)\n")
    code, rows = run_fleet(folder, redis_url, "cross-instance-delivery", "backplane-isolation")
    owner, other = rows["cross-instance-delivery"], rows["backplane-isolation"]
    assert owner["status"] == "fail", said(owner)
    assert "AttributeError" in said(owner)
    assert any(e.get("file") == RELAY for e in owner["evidence"]), owner["evidence"]
    # one defect, one owner: the other fleet check is blocked by it, never a second fail
    assert other["status"] == "skip", said(other)
    assert said(other).startswith(f"blocked by cross-instance-delivery: the defect at "
                                  f"{RELAY}:"), said(other)
    assert code == 1


#: The backplane role as hooks: adapters of the hooks file (by the names the tool offers).
ADAPTERS = """

async def publish(url, instance_id, prefix):
    from ferry.relay import start_publisher
    return await start_publisher(url, instance_id, prefix)


async def subscribe(backplane, instance_id, channel_prefix):
    from ferry.relay import start_listener
    return await start_listener(backplane, instance_id, channel_prefix)
"""


@pytest.mark.slow
def test_the_backplane_role_may_be_the_hooks_publish_and_subscribe(redis_url, tmp_path):
    folder = tmp_path / "ferry"
    shutil.copytree(FERRY / "healthy", folder)
    profile = folder / "netra-diag.yaml"
    profile.write_text(profile.read_text(encoding="utf-8").replace(
        "  publish: ferry.relay:start_publisher\n", "").replace(
        "  subscribe: ferry.relay:start_listener\n", ""), encoding="utf-8")
    with (folder / "netra_diag_hooks.py").open("a", encoding="utf-8") as hooks:
        hooks.write(ADAPTERS)
    code, rows = run_fleet(folder, redis_url, "cross-instance-delivery")
    assert (code, rows["cross-instance-delivery"]["status"]) == (0, "pass"), rows


@pytest.mark.slow
def test_unnamed_connections_are_found_among_the_instances_own_sockets(redis_url, tmp_path):
    """No CLIENT SETNAME: backplane-resilience still drops (and judges) the instances'
    connections, found through their processes' sockets (Linux /proc)."""
    folder = ferry_with(tmp_path, RELAY, "url, client_name=f\"{prefix}{instance_id}\",",
                        "url,")
    code, rows = run_fleet(folder, redis_url, "backplane-resilience")
    row = rows["backplane-resilience"]
    assert (code, row["status"]) == (0, "pass"), said(row)
    assert "recovered in" in said(row)


@pytest.mark.parametrize(("change", "expected"), [
    # a hooks function that crashes in its own code: the user's set-up, an error naming it
    ("hooks", "netra_diag_hooks.subscribe() raised"),
    # a name the profile gives that does not exist: an error naming the key
    pytest.param("name", "backplane.subscribe: 'ferry.relay' has no attribute "
                 "'start_listening'", marks=pytest.mark.slow),
    # a parameter nobody offers: an error naming the build key that supplies it
    pytest.param("param", "needs the parameter 'relay_url'", marks=pytest.mark.slow),
])
def test_the_tools_own_set_up_is_an_error_naming_the_key_or_hook(change, expected, redis_url,
                                                                  tmp_path):
    folder = tmp_path / "ferry"
    shutil.copytree(FERRY / "healthy", folder)
    profile = folder / "netra-diag.yaml"
    text = profile.read_text(encoding="utf-8")
    if change == "hooks":  # the role moves to the hooks file, whose subscribe() is broken
        text = text.replace("  publish: ferry.relay:start_publisher\n", "").replace(
            "  subscribe: ferry.relay:start_listener\n", "")
        with (folder / "netra_diag_hooks.py").open("a", encoding="utf-8") as hooks:
            hooks.write(ADAPTERS.replace("    return await start_listener(backplane, "
                                         "instance_id, channel_prefix)\n",
                                         "    raise LookupError('no relay settings here')\n"))
    elif change == "name":
        text = text.replace("ferry.relay:start_listener", "ferry.relay:start_listening")
    else:
        relay = folder / "src" / RELAY
        relay.write_text(relay.read_text(encoding="utf-8").replace(
            "async def start_listener(redis_url: str,", "async def start_listener(relay_url: str,"),
            encoding="utf-8")
    profile.write_text(text, encoding="utf-8")
    code, rows = run_fleet(folder, redis_url, "cross-instance-delivery")
    row = rows["cross-instance-delivery"]
    assert (code, row["status"]) == (3, "error"), said(row)
    assert expected in said(row)
    if change == "param":
        assert "build.backplane_subscribe.relay_url" in row["fix"]


@pytest.mark.parametrize(("backplane", "message"), [
    ("{publish: ferry.relay:start_publisher}", "'backplane.subscribe' beside it"),
    ("{subscribe: ferry.relay}", "'package.module:attr'"),
    ("{subscribe: 3}", "'package.module:attr'"),
    ("{subscriber: ferry.relay:start_listener}", "did you mean 'subscribe'?"),
])
def test_a_malformed_backplane_role_is_refused_naming_the_key_and_line(backplane, message,
                                                                       tmp_path):
    folder = tmp_path / "ferry"
    shutil.copytree(FERRY / "healthy", folder)
    profile = folder / "netra-diag.yaml"
    text = profile.read_text(encoding="utf-8").split("backplane:")[0]
    profile.write_text(f"{text}backplane: {backplane}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_profile(folder)
    assert message in str(caught.value)
    assert "netra-diag.yaml:" in str(caught.value)


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="Linux /proc only")
def test_local_ports_to_finds_a_processes_own_connection_to_a_port():
    import os
    import socket

    from netra_diag.support.proc_sockets import local_ports_to

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            mine = client.getsockname()[1]
            assert mine in local_ports_to([os.getpid()], port)
            assert mine not in local_ports_to([os.getpid()], port + 1 if port < 65535 else 1)
    assert local_ports_to([2 ** 22 + 12345], port) == set()  # no such process: nothing
