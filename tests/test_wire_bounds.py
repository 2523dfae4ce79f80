"""The wire client stays bounded against hostile endpoints, and keeps credentials private."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from netra_diag_checks.user_isolation import judge_isolation
from websockets.asyncio.server import ServerConnection, serve

from netra_diag.model import Status
from netra_diag.support import capture
from netra_diag.support.capture import Capture
from netra_diag.support.wire import drive_run

TOKEN = "tok-wire-bounds-1"


async def with_server(handler: Callable[[ServerConnection], Awaitable[None]],
                      client: Callable[[str], Awaitable[Any]]) -> Any:
    async with serve(handler, "127.0.0.1", 0, ping_interval=None, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        return await client(f"ws://127.0.0.1:{port}/ws")


async def flood(ws: ServerConnection) -> None:
    await ws.send(json.dumps({"type": "auth_ok", "user_id": "alice"}))
    await ws.recv()
    frame = json.dumps({"type": "agent_thinking", "data": {"x": "y" * 200}})
    while True:
        for _ in range(20):
            await ws.send(frame)
        await asyncio.sleep(0)  # one loop for server and client here: let the client read


def test_a_flooding_endpoint_is_cut_off_bounded_and_named(monkeypatch):
    monkeypatch.setattr(capture, "MAX_KEPT_FRAMES", 300)
    started = time.monotonic()
    cap = asyncio.run(with_server(flood, lambda url: drive_run(url, TOKEN, timeout=10)))
    assert time.monotonic() - started < 3
    assert cap.flooded and not cap.timed_out
    assert len(cap.frames) == 300 and cap.frames_seen > 300 and cap.frames_dropped >= 1
    assert cap.failure.startswith("the endpoint flooded the connection: ")
    assert "kept the first 300 frame(s)" in cap.failure


def test_the_deadline_holds_while_frames_keep_arriving(monkeypatch):
    """Bounds out of the way: only the per-frame deadline check can end this run."""
    monkeypatch.setattr(capture, "MAX_KEPT_FRAMES", 10**9)
    monkeypatch.setattr(capture, "MAX_KEPT_BYTES", 1 << 40)
    started = time.monotonic()
    cap = asyncio.run(with_server(flood, lambda url: drive_run(url, TOKEN, timeout=0.5)))
    assert time.monotonic() - started < 3
    assert cap.timed_out and not cap.flooded
    assert cap.failure.startswith("the run did not finish within 0.5 s (received ")


def test_credentials_in_the_url_are_never_sent_twice_nor_shown():
    seen: list[list[str]] = []

    async def record(ws: ServerConnection) -> None:
        seen.append(ws.request.headers.get_all("Authorization"))
        await ws.close(1008, "invalid credentials")

    async def client(url: str) -> Capture:
        return await drive_run(url.replace("ws://", "ws://bob:hunter2-secret@"), TOKEN,
                               timeout=5)

    cap = asyncio.run(with_server(record, client))
    assert seen == [[f"Bearer {TOKEN}"]]  # one header: no Basic one from the URL
    assert cap.auth_refused
    assert "hunter2" not in repr(cap) and "bob@" not in cap.url


def _capture(label: str, *, refused: bool = False, user: str | None = None,
             run_id: str | None = None, events: tuple[str, ...] = ()) -> Capture:
    cap = Capture("ws://h/ws", connected=True, label=label, auth_refused=refused,
                  user_id=None if refused else (user or label), run_id=run_id)
    cap.failure = "the server closed the connection (code 1008: invalid credentials)" \
        if refused else None
    cap.frames = [{"type": "agent_started", "run_id": r, "user_id": "?"} for r in events]
    return cap


@pytest.mark.parametrize("leak", [False, True])
def test_a_user_whose_token_was_refused_is_never_dropped_silently(leak):
    a = _capture("a", run_id="ra", events=("ra", "rb") if leak else ("ra",))
    b = _capture("b", run_id="rb", events=("rb",))
    c = _capture("c", refused=True)
    verdict = judge_isolation([a, b, c], "ws://h/ws")
    said = [e for e in verdict.evidence if e.data and e.data.get("user") == "c"]
    assert said and said[0].message.startswith("user 'c' could not authenticate")
    if leak:  # a leak is shown among the users that did run
        assert verdict.status is Status.FAIL
    else:
        assert verdict.status is Status.ERROR
        assert "'c' could not connect or authenticate" in verdict.summary
