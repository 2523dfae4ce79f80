"""Issue 11, hostile endpoints (R1, R2, R3): through ``netra-diag probe`` against tiny servers
on 127.0.0.1. A redirect is reported, never followed; a frame too large or bytes that are no
WebSocket frame are named at once; impossible or non-finite timestamps fail the checks
instead of passing them."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import struct
import time
from http import HTTPStatus
from typing import Any

import pytest
from helpers import run_subprocess
from test_probe import background, ws_server
from websockets.asyncio.server import ServerConnection, serve

from netra_diag.exitcodes import ExitCode
from netra_diag.model import full_summary


def said(row: dict) -> str:
    """A JSON result's whole summary (a cut one joined with its continuation)."""
    return full_summary(row["summary"], row["evidence"])

TOKEN = "wire-hostile-token-0042"
#: A safety net only: each case ends in about a second; the deadline must not be what ends it.
TIMEOUT_S = 20.0
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def probe(url: str, tmp_path, *only: str) -> tuple[Any, dict[str, Any]]:
    selection = [arg for check in only for arg in ("--only", check)]
    proc = run_subprocess("probe", url, "--token-env", "T", *selection, "--timeout",
                          str(TIMEOUT_S), "--format", "json", cwd=tmp_path, env={"T": TOKEN},
                          timeout=TIMEOUT_S + 30)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    return proc, {r["id"]: r for r in json.loads(proc.stdout)["results"]}


def raw_upgrade(payload: bytes):
    """A server that completes the WebSocket handshake by hand, then writes ``payload`` and
    stays silent (never closes)."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key"))
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        writer.write(payload)
        await writer.drain()
        with contextlib.suppress(ConnectionError):
            await reader.read()  # until the client hangs up
        writer.close()

    async def start() -> Any:
        return await asyncio.start_server(handle, "127.0.0.1", 0)

    return start


def test_a_frame_announcing_100_mib_is_named_at_once(tmp_path) -> None:
    header = b"\x81\x7f" + struct.pack("!Q", 100 << 20) + b"x" * 64
    with background({"big": raw_upgrade(header)}) as ports:
        started = time.monotonic()
        proc, results = probe(f"ws://127.0.0.1:{ports['big']}/ws", tmp_path, "event-flow")
        elapsed = time.monotonic() - started
    flow = results["event-flow"]
    assert "frame too large" in said(flow) and "1009" in said(flow), flow
    assert "did not finish" not in said(flow)
    assert elapsed < TIMEOUT_S  # it did not wait out the deadline (the message says why)
    assert proc.returncode in (ExitCode.FAILED, ExitCode.UNDECIDED)


def test_bytes_that_are_no_websocket_frame_are_shown(tmp_path) -> None:
    junk = b"SSH-2.0-OpenSSH_9.6\r\nhello there\r\n"
    with background({"junk": raw_upgrade(junk)}) as ports:
        _, results = probe(f"ws://127.0.0.1:{ports['junk']}/ws", tmp_path, "event-flow")
    flow = results["event-flow"]
    assert "sent nothing" not in said(flow), flow
    assert "not a valid WebSocket frame" in said(flow) and "SSH-2.0" in said(flow)


def redirecting_to(location: str):
    """A server whose every handshake answers 302 with ``Location: location``."""
    def redirect(connection: ServerConnection, request: Any) -> Any:
        response = connection.respond(HTTPStatus.FOUND, "moved\n")
        response.headers["Location"] = location
        return response

    async def start() -> Any:
        return await serve(lambda ws: None, "127.0.0.1", 0, process_request=redirect)

    return start


def test_a_redirect_is_reported_as_an_error_and_not_followed(tmp_path) -> None:
    followed: list[str] = []

    async def other_endpoint(ws: ServerConnection) -> None:
        followed.append("connected")
        await ws.close()

    with background({"other": ws_server(other_endpoint)}) as other_ports:
        other = f"ws://127.0.0.1:{other_ports['other']}/elsewhere"
        with background({"r": redirecting_to(other)}) as ports:
            proc, results = probe(f"ws://127.0.0.1:{ports['r']}/ws", tmp_path, "event-flow")
    flow = results["event-flow"]
    assert flow["status"] == "error", flow
    assert "redirected (HTTP 302)" in said(flow) and other in said(flow)
    assert followed == []  # the other endpoint was never contacted
    assert proc.returncode == ExitCode.UNDECIDED


def impossible_stamps(stamp: float):
    """A server that runs one agent by the protocol but stamps every event ``stamp``."""
    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "auth_ok", "user_id": "u"}))
        async for raw in ws:
            request = json.loads(raw)
            if request.get("type") != "start_agent":
                await ws.send(json.dumps({"type": "error", "code": "unknown"}))
                continue
            await ws.send(json.dumps({"type": "run_accepted", "run_id": "r",
                                      "request_id": request["request_id"],
                                      "thread_id": request["thread_id"]}))
            for seq, kind in enumerate(("agent_started", "agent_thinking", "tool_executing",
                                        "tool_completed", "agent_completed"), start=1):
                frame = {"type": kind, "user_id": "u", "thread_id": request["thread_id"],
                         "run_id": "r", "seq": seq, "timestamp": stamp,
                         "data": {"tool_name": "t"}}
                await ws.send(json.dumps(frame))
            await ws.send(json.dumps({"type": "run_finished", "run_id": "r", "status": "ok"}))

    return handler


@pytest.mark.parametrize("when", ["future", "nan"])
def test_impossible_timestamps_fail_flow_and_latency(tmp_path, when: str) -> None:
    stamp = {"future": time.time() + 3600, "nan": float("nan")}[when]
    with background({"s": ws_server(impossible_stamps(stamp))}) as ports:
        url = f"ws://127.0.0.1:{ports['s']}/ws"
        proc, flow = probe(url, tmp_path, "event-flow")
        _, latency = probe(url, tmp_path, "event-latency")
    assert flow["event-flow"]["status"] == "fail", flow
    assert "timestamp" in said(flow["event-flow"]) + json.dumps(flow["event-flow"])
    assert latency["event-latency"]["status"] == "fail", latency
    assert "timestamp" in said(latency["event-latency"])
    assert proc.returncode == ExitCode.FAILED


@pytest.mark.parametrize("stamp", [-5.0, 0, float("inf"), float("nan"), "soon"])
def test_the_event_schema_refuses_impossible_timestamps(stamp: Any) -> None:
    from netra_diag.support.judge import judge_run

    frames = [{"type": kind, "user_id": "u", "thread_id": "t", "run_id": "r", "seq": seq,
               "timestamp": stamp, "data": {}}
              for seq, kind in enumerate(("agent_started", "agent_completed"), start=1)]
    judgement = judge_run(frames, critical=["agent_started", "agent_completed"],
                          user_id="u", thread_id="t", run_id="r")
    assert not judgement.ok and "timestamp" in " ".join(judgement.problems)


def test_the_event_schema_refuses_a_timestamp_after_receipt_only_beyond_tolerance() -> None:
    from netra_diag.support.judge import judge_run

    now = time.time()
    frames = [{"type": "agent_started", "user_id": "u", "thread_id": "t", "run_id": "r",
               "seq": 1, "timestamp": now + 0.5, "data": {}},
              {"type": "agent_completed", "user_id": "u", "thread_id": "t", "run_id": "r",
               "seq": 2, "timestamp": now + 30, "data": {}}]
    kwargs = {"critical": ["agent_started", "agent_completed"], "user_id": "u",
              "thread_id": "t", "run_id": "r", "received_at": [now, now]}
    judged = judge_run(frames, clock_offset_s=0.0, **kwargs)
    assert judged.problems == ["1 event(s) carry an impossible timestamp: stamped up to "
                               "30.0 s after they were received"]
    assert judge_run(frames, clock_offset_s=None, **kwargs).ok  # no clock to compare with
