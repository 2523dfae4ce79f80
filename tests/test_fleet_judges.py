"""The fleet checks' verdicts from recorded frames (pure: no socket, no Redis)."""

from __future__ import annotations

import pytest

from netra_diag.model import Status
from netra_diag.support.fleet_client import Socket

CRITICAL = ("agent_started", "agent_thinking", "tool_executing", "tool_completed",
            "agent_completed")


@pytest.fixture
def checks():
    from netra_diag_checks import _fleet, backplane_isolation, backplane_resilience
    from netra_diag_checks import cross_instance_delivery as delivery

    return _fleet, delivery, backplane_isolation, backplane_resilience


def events(user: str, run_id: str, *, seqs=(1, 2, 3, 4, 5), thread: str = "t") -> list[dict]:
    return [{"type": CRITICAL[s - 1], "user_id": user, "thread_id": thread, "run_id": run_id,
             "seq": s, "timestamp": 1.0, "data": {}} for s in seqs]


def sock(user: str, *frames: list[dict]) -> Socket:
    s = Socket("ws://127.0.0.1:1/ws", "secret-token", user, deadline=0.0)
    s.user_id = user
    s.frames = [f for group in frames for f in group]
    return s


def fleet(checks, n: int = 2):
    return checks[0].FleetEndpoint([f"ws://127.0.0.1:{i + 1}/ws" for i in range(n)],
                                   (("u", "secret-token"),), False, 5.0)


def test_delivery_passes_when_every_socket_gets_every_run_once_in_order(checks):
    a, b = sock("u", events("u", "r1"), events("u", "r2")), sock("u", events("u", "r1"),
                                                                   events("u", "r2"))
    verdict = checks[1].judge_delivery(fleet(checks), [a, b], [(0, "r1"), (1, "r2")], CRITICAL)
    assert verdict.status is Status.PASS, verdict


def test_delivery_fails_on_loss_across_instances_and_on_a_local_echo(checks):
    lost = sock("u", events("u", "r1"))  # instance A never gets B's run r2
    echo = sock("u", events("u", "r1"), events("u", "r2"), events("u", "r2"))  # twice at B
    verdict = checks[1].judge_delivery(fleet(checks), [lost, echo], [(0, "r1"), (1, "r2")],
                                       CRITICAL)
    assert verdict.status is Status.FAIL, verdict
    text = " ".join(e.message for e in verdict.evidence)
    assert "0/5 critical events" in text and "arrived 2 times" in text


def test_delivery_is_skipped_when_even_the_runs_own_instance_gets_nothing(checks):
    a, b = sock("u"), sock("u")
    verdict = checks[1].judge_delivery(fleet(checks), [a, b], [(0, "r1"), (1, "r2")], CRITICAL)
    assert verdict.status is Status.SKIP and "event-flow" in verdict.summary


def test_isolation_fails_with_one_leak_evidence_per_receiver_and_owner(checks):
    w1, r1 = sock("u1", events("u1", "a", thread="main"), events("u2", "b", thread="main")), \
        sock("u1", events("u1", "a", thread="main"))
    w2, r2 = sock("u2", events("u2", "b", thread="main")), sock("u2", events("u2", "b"))
    pairs = [(w1, r1, 1, 0), (w2, r2, 0, 1)]
    verdict = checks[2].judge_isolation(fleet(checks), pairs, {"a": "u1", "b": "u2"})
    assert verdict.status is Status.FAIL, verdict
    [leak] = [e for e in verdict.evidence if e.kind == "leak"]
    assert leak.data == {"receiver": "u1", "owner": "u2", "count": 5}


def test_isolation_is_skipped_when_nothing_crossed_instances(checks):
    pairs = [(sock("u1"), sock("u1", events("u1", "a")), 1, 0),
             (sock("u2"), sock("u2", events("u2", "b")), 0, 1)]
    verdict = checks[2].judge_isolation(fleet(checks), pairs, {"a": "u1", "b": "u2"})
    assert verdict.status is Status.SKIP and "cross-instance-delivery" in verdict.summary


def resilience(checks, watcher, runner, recovered):
    runs = [("before the drop", "r0"), ("in flight when the connection dropped", "r1"),
            ("during recovery", "r2"), ("after recovery", "r3")]
    return checks[3].judge_resilience(fleet(checks), watcher, runner, runs, CRITICAL,
                                      recovered, 5.0)


def test_resilience_reports_what_was_lost_against_the_expectation_and_passes(checks):
    runner = sock("u", *(events("u", r) for r in ("r0", "r1", "r2", "r3")))
    watcher = sock("u", events("u", "r0"), events("u", "r1", seqs=(1,)), events("u", "r2"),
                   events("u", "r3"))
    verdict = resilience(checks, watcher, runner, 0.12)
    assert verdict.status is Status.PASS, verdict
    assert "4 event(s) lost while disconnected" in verdict.summary
    assert any("does not replay" in e.message for e in verdict.evidence)


def test_resilience_is_skipped_when_the_first_run_was_not_clean_before_any_drop(checks):
    runner = sock("u", *(events("u", r) for r in ("r0", "r0", "r1", "r2", "r3")))  # an echo
    watcher = sock("u", *(events("u", r) for r in ("r0", "r1", "r2", "r3")))
    verdict = resilience(checks, watcher, runner, 0.1)
    assert verdict.status is Status.SKIP and "cross-instance-delivery" in verdict.summary


@pytest.mark.parametrize(("watcher_runs", "recovered", "expected"), [
    ((("r0", (1, 2, 3, 4, 5)), ("r1", (1, 2, 2, 3))), 0.1, "received events twice"),
    ((("r0", (1, 2, 3, 4, 5)),), None, "did not subscribe again"),
    ((("r0", (1, 2, 3, 4, 5)), ("r3", (1, 2, 3))), 0.1, "run after recovery"),
])
def test_resilience_fails_on_duplicates_no_recovery_or_an_incomplete_run_after(
        checks, watcher_runs, recovered, expected):
    runner = sock("u", *(events("u", r) for r in ("r0", "r1", "r2", "r3")))
    watcher = sock("u", *(events("u", r, seqs=s) for r, s in watcher_runs))
    verdict = resilience(checks, watcher, runner, recovered)
    assert verdict.status is Status.FAIL, verdict
    assert expected in verdict.summary
