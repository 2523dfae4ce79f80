"""``event-latency``: percentiles, the p95 rule, clock methods (pure), and the reference's
``time`` exchange measured over a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
from collections.abc import Sequence

from netra_diag_checks._endpoint import percentile
from netra_diag_checks.event_latency import EXPLAIN, judge_latency

from netra_diag.faults import copy_reference
from netra_diag.model import Status
from netra_diag.support.capture import Capture, is_loopback
from netra_diag.support.wire_group import drive_runs

CRITICAL = ["agent_started", "agent_thinking", "tool_executing", "tool_completed",
            "agent_completed"]
LOCAL, REMOTE = "ws://127.0.0.1:1/ws", "wss://staging.example.com/ws"


def run_capture(delays_ms: Sequence[float], *, url: str = LOCAL, skew_s: float = 0.0,
                offset_s: float | None = None, run_id: str = "r1") -> Capture:
    """A client whose own run's events arrived ``delays_ms`` after emission; the server's
    clock is ``skew_s`` ahead of the client's (events are stamped with the server clock)."""
    cap = Capture(url, connected=True, user_id="u", run_id=run_id, label="u",
                  clock_offset_s=offset_s, clock_rtt_s=0.002 if offset_s is not None else None)
    base = 1_700_000_000.0
    cap.frames = [{"type": "run_accepted", "run_id": run_id}]
    cap.received_at = [base]
    for i, delay in enumerate(delays_ms):
        emitted = base + i
        cap.frames.append({"type": CRITICAL[i % 5], "user_id": "u", "run_id": run_id,
                           "seq": i + 1, "timestamp": emitted + skew_s, "data": {}})
        cap.received_at.append(emitted + delay / 1000)
    return cap


def latency_data(verdict) -> dict:
    [evidence] = [e for e in verdict.evidence if e.kind == "latency"]
    return evidence.data


def test_percentile_is_nearest_rank():
    values = sorted(float(v) for v in range(1, 21))
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 1.0)) == (
        10.0, 19.0, 20.0)
    assert percentile([7.0], 0.95) == 7.0


def test_fast_events_pass_and_one_outlier_does_not_fail():
    caps = [run_capture([1.0] * 5, run_id=f"r{i}") for i in range(3)]
    caps.append(run_capture([1.0, 1.0, 1.0, 1.0, 400.0], run_id="r9"))  # one hiccup in 20
    verdict = judge_latency(caps, LOCAL, 50)
    assert verdict.status is Status.PASS, verdict.summary
    data = latency_data(verdict)
    assert set(data) >= {"p50_ms", "p95_ms", "max_ms", "budget_ms", "samples"}
    assert data["samples"] == 20 and data["max_ms"] == 400.0 and data["p95_ms"] == 1.0
    assert data["method"].startswith("same-host clock")


def test_slow_emission_fails_with_p95_over_budget():
    caps = [run_capture([121.0, 122.0, 120.5, 121.5, 123.0], run_id=f"r{i}") for i in range(4)]
    verdict = judge_latency(caps, LOCAL, 50)
    assert verdict.status is Status.FAIL
    assert "exceeds the 50 ms budget" in verdict.summary
    assert latency_data(verdict)["p95_ms"] >= 120


def test_only_each_clients_own_run_is_timed():
    cap = run_capture([1.0] * 5)
    cap.frames.append({"type": "agent_started", "user_id": "u", "run_id": "other",
                       "seq": 1, "timestamp": 0.0, "data": {}})  # someone else's, very old
    cap.received_at.append(1_800_000_000.0)
    assert judge_latency([cap], LOCAL, 50).status is Status.PASS


def test_remote_clocks_are_corrected_by_the_measured_offset():
    skewed = run_capture([5.0] * 5, url=REMOTE, skew_s=30.0, offset_s=30.0)
    verdict = judge_latency([skewed], REMOTE, 50)
    assert verdict.status is Status.PASS
    data = latency_data(verdict)
    assert abs(data["p95_ms"] - 5.0) < 1e-6
    assert data["method"].startswith("round-trip clock sync: server clock +30000.0 ms")


def test_remote_without_the_clock_exchange_is_an_error_not_a_guess():
    verdict = judge_latency([run_capture([5.0] * 5, url=REMOTE, skew_s=30.0)], REMOTE, 50)
    assert verdict.status is Status.ERROR
    assert '{"type": "time"}' in verdict.summary and "same host" in verdict.fix


def test_no_events_skip_naming_event_flow_and_untimed_events_skip():
    empty = Capture(LOCAL, connected=True, user_id="u", run_id="r1")
    assert judge_latency([empty], LOCAL, 50).status is Status.SKIP
    assert "event-flow" in judge_latency([empty], LOCAL, 50).summary
    untimed = run_capture([1.0] * 5)
    for frame in untimed.frames[1:]:
        del frame["timestamp"]
    verdict = judge_latency([untimed], LOCAL, 50)
    assert verdict.status is Status.SKIP and "timestamp" in verdict.summary


def test_is_loopback():
    assert is_loopback("ws://127.0.0.1:8/ws") and is_loopback("ws://localhost/ws")
    assert is_loopback("ws://[::1]:8/ws")
    assert not is_loopback("wss://staging.example.com/ws")
    assert not is_loopback("ws://10.0.0.5/ws")


def test_explain_says_it_judges_p95_and_how_clocks_are_compared():
    for part in ("p95", "single worst event", "midpoint", "Typical causes", "How to fix"):
        assert part in EXPLAIN


def test_the_time_exchange_estimates_a_near_zero_offset_on_loopback(tmp_path):
    root = copy_reference(tmp_path / "src")
    sys.path.insert(0, str(root))
    try:
        server_mod = importlib.import_module("netra_backend.app.routes.websocket_server")

        async def scenario() -> list[Capture]:
            server = await server_mod.start_server(users={"u1": "tok-1", "u2": "tok-2"})
            try:
                return await drive_runs(server.url, [("u1", "tok-1"), ("u2", "tok-2")],
                                        timeout=5, sync_clock=True)
            finally:
                await asyncio.wait_for(server.close(), 5)

        caps = asyncio.run(scenario())
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] == "netra_backend"]:
            del sys.modules[name]
    for cap in caps:
        assert cap.clock_offset_s is not None and cap.clock_rtt_s is not None
        # one clock: the estimate is within its own error bound (half the round trip)
        assert abs(cap.clock_offset_s) <= cap.clock_rtt_s / 2 + 1e-3
        assert [f["type"] for f in cap.frames if f["type"] in CRITICAL] == CRITICAL
        assert not any(f["type"] == "time" for f in cap.frames)  # replies are not events
    verdict = judge_latency(caps, "ws://127.0.0.1:1/ws", 50)
    assert verdict.status is Status.PASS, verdict.summary


def test_a_server_without_the_time_exchange_still_runs_and_keeps_no_offset():
    import json
    import time

    from websockets.asyncio.server import serve

    async def handler(ws) -> None:
        await ws.send(json.dumps({"type": "auth_ok", "user_id": "u"}))
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "time":  # an older server: it does not know the exchange
                await ws.send(json.dumps({"type": "error", "code": "unknown_type",
                                          "message": "unknown frame type 'time'"}))
                continue
            ids = {"request_id": frame["request_id"], "thread_id": frame["thread_id"],
                   "run_id": "r1"}
            await ws.send(json.dumps({"type": "run_accepted", **ids}))
            for seq, kind in enumerate(CRITICAL, 1):
                await ws.send(json.dumps({"type": kind, "user_id": "u", "thread_id":
                                          frame["thread_id"], "run_id": "r1", "seq": seq,
                                          "timestamp": time.time(), "data": {}}))
            await ws.send(json.dumps({"type": "run_finished", **ids}))

    async def scenario() -> list[Capture]:
        async with serve(handler, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ws"
            return await drive_runs(url, [("u", "tok-1")], timeout=5, sync_clock=True)

    [cap] = asyncio.run(scenario())
    assert cap.clock_offset_s is None and cap.completed and not cap.error_frames
    assert [f["type"] for f in cap.frames if f["type"] in CRITICAL] == CRITICAL
    assert judge_latency([cap], REMOTE, 50).status is Status.ERROR  # remote: cannot guess
