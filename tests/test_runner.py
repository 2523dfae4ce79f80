"""The runner: isolation, timeouts, crashes, dependencies, parallelism."""

from pathlib import Path

import pytest

from netra_diag.model import Status
from netra_diag.profile import Profile
from netra_diag.registry import Registry
from netra_diag.runner import Runner


def run_plugins(folder: Path, tmp_path: Path, **options):
    registry = Registry()
    registry.load_dir(folder)
    profile = Profile(name="t", root=tmp_path, source="test")
    streamed = []
    outcome = Runner(profile, on_result=streamed.append, **options).run(registry.specs)
    assert [r.id for r in streamed] == [r.id for r in outcome.results]
    return {r.id: r for r in outcome.results}


def test_a_hanging_check_is_killed_and_the_others_finish(plugin_dir, tmp_path):
    results = run_plugins(plugin_dir("sleepy.py", "my_check.py"), tmp_path, timeout_s=1.0)
    hung = results["sleeps-forever"]
    assert hung.status is Status.ERROR
    assert hung.summary == "timed out after 1 s"
    assert hung.duration_s < 1.0 + 2.0
    assert results["my-check"].status is Status.PASS


def test_os_exit_is_an_error_naming_the_exit_code(plugin_dir, tmp_path):
    result = run_plugins(plugin_dir("exits.py"), tmp_path)["exits-nine"]
    assert result.status is Status.ERROR
    assert "exit code 9" in result.summary
    assert "about to exit" in result.evidence[0].message


def test_a_signal_is_an_error_naming_the_signal(plugin_dir, tmp_path):
    result = run_plugins(plugin_dir("signals.py"), tmp_path)["killed-by-signal"]
    assert result.status is Status.ERROR
    assert "SIGKILL" in result.summary


def test_dependants_of_a_failed_check_are_skipped_naming_it(plugin_dir, tmp_path):
    results = run_plugins(plugin_dir("failing.py"), tmp_path)
    assert results["always-fails"].status is Status.FAIL
    skipped = results["after-failure"]
    assert skipped.status is Status.SKIP
    assert "always-fails" in skipped.summary


def test_setup_error_is_error_not_fail(plugin_dir, tmp_path):
    result = run_plugins(plugin_dir("erroring.py"), tmp_path)["needs-setup"]
    assert result.status is Status.ERROR
    assert result.fix == "set build.x.y"


def test_minimal_plugin_returning_none_passes(plugin_dir, tmp_path):
    assert run_plugins(plugin_dir("my_check.py"), tmp_path)["my-check"].status is Status.PASS


def test_independent_checks_run_in_parallel(plugin_dir, tmp_path, monkeypatch):
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    monkeypatch.setenv("NETRA_TEST_RENDEZVOUS", str(meeting))
    results = run_plugins(plugin_dir("rendezvous.py"), tmp_path, jobs=2)
    assert {r.status for r in results.values()} == {Status.PASS}


@pytest.mark.parametrize("jobs", [1])
def test_jobs_one_runs_checks_one_at_a_time(plugin_dir, tmp_path, monkeypatch, jobs):
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    monkeypatch.setenv("NETRA_TEST_RENDEZVOUS", str(meeting))
    registry = Registry()
    registry.load_dir(plugin_dir("rendezvous.py"))
    profile = Profile(name="t", root=tmp_path, source="test")
    # each waits up to 10 s for the other; with one job the first cannot meet the second
    outcome = Runner(profile, jobs=jobs, timeout_s=0.5).run(registry.specs)
    assert outcome.results[0].status is Status.ERROR


@pytest.mark.parametrize("isolation", ["process", "interpreter"])
def test_under_static_a_check_only_a_run_can_judge_is_skipped_without_being_called(
        plugin_dir, tmp_path, isolation):
    folder = plugin_dir("static_skipper.py")
    results = run_plugins(folder, tmp_path, static=True, isolation=isolation)
    skip = results["only-a-run"]
    assert skip.status is Status.SKIP
    assert skip.summary == "--static: only a run shows it; run without --static to judge it"
    assert skip.evidence == () and skip.fix is None
    assert not (tmp_path / "called").exists()  # never called, in no process
    assert results["after-it"].status is Status.PASS  # a --static skip blocks nothing


def test_without_static_the_same_check_runs(plugin_dir, tmp_path):
    folder = plugin_dir("static_skipper.py")
    results = run_plugins(folder, tmp_path)
    assert results["only-a-run"].status is Status.ERROR  # it was called, and raised
    assert (tmp_path / "called").read_text() == "called"
    assert results["after-it"].status is Status.SKIP


def test_the_worker_honours_static_skip_too(plugin_dir, tmp_path):
    """A check run by the worker itself under --static (any caller but the runner) gives
    the same skip without being called."""
    from netra_diag.context import CheckContext
    from netra_diag.worker import run_spec

    folder = plugin_dir("static_skipper.py")
    registry = Registry()
    registry.load_dir(folder)
    profile = Profile(name="t", root=tmp_path, source="test")
    ctx = CheckContext(profile=profile, check_id="only-a-run", timeout_s=5.0, static=True)
    verdict = run_spec(registry.get("only-a-run"), ctx)
    assert (verdict.status, verdict.summary) == (
        Status.SKIP, "--static: only a run shows it; run without --static to judge it")
    assert not (tmp_path / "called").exists()

