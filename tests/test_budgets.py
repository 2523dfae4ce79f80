"""``Budgets``: the profile's budgets and ``--timeout``, bounded once for every check; and
``ctx.endpoint``, the live endpoint a probe hands to its checks."""

from __future__ import annotations

from pathlib import Path

from netra_diag.budgets import Budgets
from netra_diag.context import CheckContext, LiveEndpoint
from netra_diag.profile import Profile
from netra_diag.registry import Registry
from netra_diag.runner import Runner


def test_defaults_come_from_the_profile_schema():
    b = Budgets.of({}, 60.0)
    assert (b.run_timeout_s, b.event_latency_ms, b.latency_runs, b.isolation_users,
            b.backplane_users, b.backplane_recovery_s) == (10.0, 50.0, 4, 8, 4, 5.0)


def test_time_budgets_stay_inside_the_timeout():
    roomy = Budgets.of({"run_timeout_s": 10.0}, 60.0)
    assert (roomy.async_s, roomy.run_s, roomy.wire_s, roomy.fleet_start_s) == (
        59.0, 10.0, 10.0, 15.0)
    tight = Budgets.of({"run_timeout_s": 10.0}, 2.5)
    assert (tight.async_s, tight.run_s, tight.wire_s, tight.fleet_start_s) == (
        1.5, 1.0, 1.0, 5.0)
    assert Budgets.of({"run_timeout_s": 0.2}, 60.0).wire_s == 1.0  # at least a second
    live = Budgets.of({"run_timeout_s": 10.0}, 30.0, live=True)
    assert live.wire_s == 28.5  # a live endpoint is not bounded by the run budget


def test_counts_are_whole_and_bounded():
    b = Budgets.of({"isolation_users": 1.0, "latency_runs": 0.5, "backplane_users": 9.7}, 60)
    assert (b.isolation_users, b.isolation_users_in_process, b.latency_runs,
            b.backplane_users) == (2, 2, 1, 9)
    assert Budgets.of({"isolation_users": 8.0}, 60).isolation_users_in_process == 4


def test_the_context_reads_its_budgets_and_knows_when_it_is_live(tmp_path: Path):
    profile = Profile(name="t", root=tmp_path, source="test", budgets={"run_timeout_s": 3.0})
    ctx = CheckContext(profile=profile, check_id="x", timeout_s=30.0)
    assert ctx.endpoint is None and ctx.budgets.run_s == 3.0 and ctx.budgets.wire_s == 3.0
    live = CheckContext(profile=profile, check_id="x", timeout_s=30.0,
                        endpoint=LiveEndpoint("ws://h/ws", {"token": "VAR"}))
    assert live.budgets.wire_s == 28.5


def test_the_endpoint_travels_in_the_job_and_reaches_the_check(tmp_path: Path):
    """A real runner and check interpreter: ``ctx.endpoint`` arrives whole, with token
    variable names only, and ``ctx.options`` no longer carries the URL."""
    plugin = tmp_path / "seen.py"
    plugin.write_text(
        "from netra_diag import Evidence, passed, check\n\n"
        "@check(id='sees-endpoint', why='e2e', title='t')\n"
        "def sees(ctx):\n"
        "    e = ctx.endpoint\n"
        "    return passed('seen', Evidence('observed', 'x', data={\n"
        "        'url': e.url, 'envs': e.token_envs, 'fleet': list(e.fleet),\n"
        "        'options': sorted(ctx.options)}))\n")
    registry = Registry()
    registry.load_file(plugin)
    endpoint = LiveEndpoint("ws://127.0.0.1:9/ws", {"token": "SOME_VAR"},
                            ("ws://127.0.0.1:9/ws", "ws://127.0.0.1:10/ws"))
    runner = Runner(Profile(name="t", root=tmp_path, source="test"), timeout_s=30,
                    endpoint=endpoint, isolation="interpreter")
    assert runner._job(registry.get("sees-endpoint"))["endpoint"] == endpoint.to_dict()
    [result] = runner.run(registry.specs).results
    assert result.status.value == "pass", result
    assert result.evidence[0].data == {"url": "ws://127.0.0.1:9/ws", "envs": {"token": "SOME_VAR"},
                                       "fleet": ["ws://127.0.0.1:9/ws", "ws://127.0.0.1:10/ws"],
                                       "options": []}
