"""Several users on the wire at once: one run per member, each on its own connection.

``drive_runs`` connects and authenticates every member first and starts the runs together
(for isolation and latency measurements); optionally it estimates each connection's clock
offset first and flushes late frames after (the ``time`` exchange of the protocol, see
``support.wire``). It opens no socket itself: each member is a ``support.wire`` client
(``guarded``, ``bounded``), and everything it sees ends in that member's ``Capture``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from .capture import Capture, keep, new_capture, next_frame
from .wire import await_auth, bounded, guarded, start_and_follow

__all__ = ["drive_runs"]

#: Clock samples per connection when ``sync_clock`` is on (the one with the least RTT wins).
CLOCK_SAMPLES = 5
#: How long a silent connection is read after the runs ended, when the server does not
#: answer the ``time`` marker (only servers without the exchange pay it).
QUIET_S = 0.3


async def drive_runs(url: str, members: Sequence[tuple[str, str]], *, timeout: float,
                     message: str = "netra-diag probe", agent: str = "demo",
                     last_event: str = "agent_completed", ssl: Any = None,
                     sync_clock: bool = False, flush: bool = False) -> list[Capture]:
    """One run per member ``(label, token)``, each on its own connection, all at once.

    Every member connects and authenticates first; the runs start together once all are in
    (or have failed), so a defect that sends one user's events to every connected client
    has every other client there to reach. ``sync_clock`` estimates each connection's clock
    offset first (``Capture.clock_offset_s``). ``flush``: after every run has ended, each
    client keeps reading until the server answers a ``time`` marker (or stays quiet for
    ``QUIET_S``), so frames other runs sent it late are captured too. One deadline,
    ``timeout`` s, bounds everything; a member that fails never blocks the others.
    """
    sync = _Sync(len(members))
    caps = [new_capture(url, timeout, label) for label, _ in members]

    async def member(cap: Capture, token: str) -> None:
        joined = finished = False

        async def body(ws: Any) -> None:
            nonlocal joined, finished
            await await_auth(ws, cap)
            if sync_clock:
                await _sync_clock(ws, cap, wait=min(2.0, timeout / 4))
            joined = True
            sync.arrive()
            await _read_until(ws, cap, sync.all_in)
            await start_and_follow(ws, cap, message, agent, last_event)
            finished = True
            sync.finish()
            await _read_until(ws, cap, sync.all_done)
            if flush:
                await _flush(ws, cap)

        try:
            await bounded(cap, guarded(cap, url, token, ssl, timeout, body), timeout)
        finally:
            if not joined:
                sync.arrive()
            if not finished:
                sync.finish()

    await asyncio.gather(*(member(cap, token) for cap, (_, token) in zip(caps, members,
                                                                           strict=True)))
    return caps


class _Sync:
    """Two countdowns shared by the members of ``drive_runs``."""

    def __init__(self, count: int) -> None:
        self._in = self._running = count
        self.all_in, self.all_done = asyncio.Event(), asyncio.Event()
        if count == 0:
            self.all_in.set()
            self.all_done.set()

    def arrive(self) -> None:
        self._in -= 1
        if self._in <= 0:
            self.all_in.set()

    def finish(self) -> None:
        self._running -= 1
        if self._running <= 0:
            self.all_done.set()


async def _read_until(ws: Any, cap: Capture, event: asyncio.Event) -> None:
    """Keep reading (and capturing) frames until ``event`` is set."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        while not event.is_set():
            reader = asyncio.ensure_future(next_frame(ws, cap))
            done, _ = await asyncio.wait({reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                frame = reader.result()
                if frame is not None:
                    keep(cap, frame)
            else:
                reader.cancel()  # cancelling recv() is safe: no frame is lost
                await asyncio.gather(reader, return_exceptions=True)
    finally:
        waiter.cancel()


async def _ask_time(ws: Any, cap: Capture, request_id: str, wait: float) -> dict[str, Any] | None:
    """Send a ``time`` request; its reply, or None when the server has no such exchange.

    Frames arriving meanwhile are captured as usual; the reply itself is not (it is not an
    agent event)."""
    await ws.send(json.dumps({"type": "time", "request_id": request_id}))
    while True:
        try:
            frame = await asyncio.wait_for(next_frame(ws, cap), wait)
        except TimeoutError:
            return None
        if frame is None:
            continue
        kind = frame.get("type")
        if kind == "time" and frame.get("request_id") in (None, request_id):
            frame.pop("_received_at", None)
            frame.pop("_size", None)
            return frame
        if kind == "error" and frame.get("run_id") is None and frame.get("request_id") in (
                None, request_id):
            return None  # the server does not know the exchange
        keep(cap, frame)


async def _sync_clock(ws: Any, cap: Capture, wait: float) -> None:
    """Estimate the server's clock offset from ``CLOCK_SAMPLES`` round trips (NTP midpoint:
    offset = server_time - (sent + received) / 2, error within +/- rtt / 2). A server that
    does not answer within ``wait`` s has no such exchange: the capture keeps no offset."""
    best: tuple[float, float] | None = None
    for i in range(CLOCK_SAMPLES):
        sent = time.time()
        reply = await _ask_time(ws, cap, f"netra-diag-clock-{i}", wait=wait)
        received = time.time()
        server_time = reply.get("server_time") if reply else None
        if not isinstance(server_time, int | float) or isinstance(server_time, bool):
            break  # no (more) answers: keep what the earlier samples gave, if anything
        rtt = received - sent
        if best is None or rtt < best[1]:
            best = (server_time - (sent + received) / 2, rtt)
    if best is not None:
        cap.clock_offset_s, cap.clock_rtt_s = best


async def _flush(ws: Any, cap: Capture) -> None:
    """Read until the server answers a ``time`` marker: every frame queued for this client
    before it has then arrived (one writer per connection). Without the exchange, read until
    ``QUIET_S`` of silence."""
    reply = await _ask_time(ws, cap, "netra-diag-flush", wait=QUIET_S)
    if reply is None:
        while True:
            try:
                frame = await asyncio.wait_for(next_frame(ws, cap), QUIET_S)
            except TimeoutError:
                return
            if frame is not None:
                keep(cap, frame)
