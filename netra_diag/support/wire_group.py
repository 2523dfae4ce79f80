"""Several users on the wire at once: one run per member, each on its own connection.

``drive_runs`` connects and authenticates every member first and starts the runs together
(for isolation and latency measurements); optionally it estimates each connection's clock
offset first and flushes late frames after (the ``time`` exchange of the protocol, see
``support.wire``). It opens no socket itself: each member is a ``support.wire`` client
(``guarded``, ``bounded``), and everything it sees ends in that member's ``Capture``.

Wire checks sharing one endpoint take turns: under ``probe`` every check talks to the same
server as the same users, so the runs of one check (latency's, say) would reach the clients
of another (isolation's) and be counted there. ``drive_runs`` therefore holds an exclusive
lock per endpoint URL (a ``flock`` on a file in the temporary folder, shared by the checks'
interpreters) for as long as its runs last; waiting for it counts against the deadline.
Under ``run`` each check serves its own endpoint on its own port, so nobody waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from .capture import Capture, keep, new_capture, next_frame
from .wire import await_auth, bounded, drive_run, guarded, start_and_follow

__all__ = ["drive_run_in_turn", "drive_runs", "endpoint_turn"]

#: Clock samples per connection when ``sync_clock`` is on (the one with the least RTT wins).
CLOCK_SAMPLES = 5
#: How long a silent connection is read after the runs ended, when the server does not
#: answer the ``time`` marker (only servers without the exchange pay it).
QUIET_S = 0.3


async def drive_runs(url: str, members: Sequence[tuple[str, str]], *, timeout: float,
                     message: str = "netra-diag probe", agent: str = "demo",
                     last_event: str = "agent_completed", ssl: Any = None,
                     sync_clock: bool = False, flush: bool = False,
                     warm_up: bool = False) -> list[Capture]:
    """One run per member ``(label, token)``, each on its own connection, all at once.

    Every member connects and authenticates first; the runs start together once all are in
    (or have failed), so a defect that sends one user's events to every connected client
    has every other client there to reach. ``sync_clock`` estimates each connection's clock
    offset first (``Capture.clock_offset_s``). ``flush``: after every run has ended, each
    client keeps reading until the server answers a ``time`` marker (or stays quiet for
    ``QUIET_S``), so frames other runs sent it late are captured too. ``warm_up``: each
    member first runs one agent run of its own, not captured (a server may register a
    connection for delivery only when it starts a run), and every member flushes what it
    received; only then do the observed runs start together, so every member can be reached
    by every observed run and cross-user counts do not depend on who started first. One
    deadline,
    ``timeout`` s, bounds everything; a member that fails never blocks the others.
    """
    started = time.monotonic()
    async with endpoint_turn(url, timeout) as held:
        remaining = max(timeout - (time.monotonic() - started), 0.001)
        caps = [new_capture(url, remaining, label) for label, _ in members]
        if not held:
            for cap in caps:
                cap.failure = _busy(cap, timeout)
            return caps
        await _drive(url, members, caps, remaining, message, agent, last_event, ssl,
                     sync_clock, flush, warm_up)
    return caps


async def drive_run_in_turn(url: str, token: str, *, timeout: float) -> Capture:
    """``wire.drive_run`` in the endpoint's turn (see ``endpoint_turn``): on a live endpoint
    shared by several wire checks, another check's runs of the same user never arrive on
    this run's connection. A turn not had within ``timeout`` s is a capture that never
    connected, saying why (an ``error`` of the check, never its ``fail``)."""
    started = time.monotonic()
    async with endpoint_turn(url, timeout) as held:
        remaining = max(timeout - (time.monotonic() - started), 0.001)
        if not held:
            cap = new_capture(url, remaining)
            cap.failure = _busy(cap, timeout)
            return cap
        return await drive_run(url, token, timeout=remaining)


def _busy(cap: Capture, timeout: float) -> str:
    """Why a run never started: no turn on the endpoint within ``timeout`` s."""
    return (f"another netra-diag wire check kept {cap.url} busy for the whole {timeout:g} s; "
            "raise --timeout")


#: How often a check waiting for its turn on an endpoint tries the lock again.
TURN_POLL_S = 0.02


@contextlib.asynccontextmanager
async def endpoint_turn(url: str, timeout: float) -> AsyncIterator[bool]:
    """Hold the endpoint's lock (yields True), or give up after ``timeout`` s (False).

    Without ``fcntl`` (Windows) the checks are not serialised and this yields True."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield True
        return
    folder = Path(tempfile.gettempdir()) / f"netra-diag-wire-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    name = hashlib.sha256(url.encode()).hexdigest()[:24]
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                await asyncio.sleep(TURN_POLL_S)
        yield True  # the lock goes with the descriptor, closed below (also on a crash)
    finally:
        os.close(fd)


async def _drive(url: str, members: Sequence[tuple[str, str]], caps: list[Capture],
                 timeout: float, message: str, agent: str, last_event: str, ssl: Any,
                 sync_clock: bool, flush: bool, warm_up: bool) -> None:
    sync, warm = _Sync(len(members)), _Sync(len(members) if warm_up else 0)
    warm_runs: set[str] = set()

    async def member(cap: Capture, token: str) -> None:
        warmed = joined = finished = False

        async def body(ws: Any) -> None:
            nonlocal warmed, joined, finished
            await await_auth(ws, cap)
            if sync_clock:
                await _sync_clock(ws, cap, wait=min(2.0, timeout / 4))
            if warm_up:
                scratch = new_capture(url, timeout, cap.label)
                scratch.deadline = cap.deadline
                await start_and_follow(ws, scratch, message, agent, last_event)
                if scratch.run_id is not None:
                    warm_runs.add(scratch.run_id)
                warmed = True
                warm.arrive()
                await _read_until(ws, scratch, warm.all_in)
                await _flush(ws, scratch)  # every warm-up frame sent to it has arrived
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
            if warm_up and not warmed:
                warm.arrive()
            if not joined:
                sync.arrive()
            if not finished:
                sync.finish()

    await asyncio.gather(*(member(cap, token) for cap, (_, token) in zip(caps, members,
                                                                           strict=True)))
    for cap in caps:  # a warm-up frame that arrived late is still no part of the observation
        kept = [i for i, f in enumerate(cap.frames) if f.get("run_id") not in warm_runs]
        if len(kept) < len(cap.frames):
            cap.frames = [cap.frames[i] for i in kept]
            cap.received_at = [cap.received_at[i] for i in kept]
            cap.error_frames = [f for f in cap.error_frames if f.get("run_id") not in warm_runs]


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
