"""The client side of the agent WebSocket protocol: connect, authenticate, start a run, listen.

The only module of the tool that opens client sockets (it imports ``websockets`` lazily).
Protocol (the reference endpoint's; DESIGN.md "Events on the wire"):

* connect with ``Authorization: Bearer <token>``; the server answers ``{"type": "auth_ok",
  "user_id": ...}`` or closes with 1008 (policy violation);
* send ``{"type": "start_agent", "request_id", "thread_id", "message", "agent"}``; the server
  answers ``{"type": "run_accepted", "run_id", ...}``, then the run's events, then
  ``{"type": "run_finished", "run_id", "status"}`` once the run is over server-side (so a
  client need not wait out a timeout for events that will never come), or an
  ``{"type": "error", "code", "message"}`` frame;
* optionally send ``{"type": "time"}``; a server that knows it answers ``{"type": "time",
  "server_time": <float>}`` through the same outgoing queue as events (used to estimate the
  clock offset to a remote host, and as a marker that every earlier frame has arrived); one
  that does not answers an ``error`` frame, or nothing, and the client does without it.

``drive_run`` runs one request on one connection; ``drive_runs`` runs one request on each of
several connections at once (all authenticated before any run starts), for isolation and
latency measurements.

Every wait is bounded by one deadline, checked on every frame as well (an endpoint that
floods the connection never gives the event loop a chance to time out, so the client checks
the clock itself); whatever happens (refused, TLS failure, garbage, silence, a close mid-run,
a flood) ends as a ``Capture`` describing it, never an exception. What a ``Capture`` keeps is
bounded: at most ``MAX_KEPT_FRAMES`` frames and ``MAX_KEPT_BYTES`` of them, frames of at most
``MAX_FRAME_BYTES`` (a larger one closes the connection with 1009), ``MAX_KEPT_GARBAGE``
samples of garbage; an endpoint that sends more than that for one run is *flooding*: the
client stops reading, says so in ``failure`` and counts what it did not keep.

Credentials in the URL (``ws://user:secret@host/``) are stripped before connecting (the
client would otherwise send them as a second ``Authorization`` header beside the bearer
token) and never appear in a ``Capture``. The token is never stored in a ``Capture``, nor in
any message it carries.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Capture", "drive_run", "drive_runs", "is_loopback", "public_url"]

#: Clock samples per connection when ``sync_clock`` is on (the one with the least RTT wins).
CLOCK_SAMPLES = 5
#: How long a silent connection is read after the runs ended, when the server does not
#: answer the ``time`` marker (only servers without the exchange pay it).
QUIET_S = 0.3
#: Bounds of what one ``Capture`` keeps (see the module doc); beyond them the endpoint is
#: flooding the connection.
MAX_KEPT_FRAMES = 2000
MAX_KEPT_BYTES = 8 << 20
MAX_FRAME_BYTES = 1 << 20
MAX_KEPT_GARBAGE = 20


@dataclass
class Capture:
    """What one client saw during one run."""

    url: str
    connected: bool = False
    user_id: str | None = None
    request_id: str = ""
    thread_id: str = ""
    run_id: str | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    garbage: list[str] = field(default_factory=list)
    error_frames: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    failure: str | None = None  # why the run could not be observed (set-up / transport)
    auth_refused: bool = False
    timed_out: bool = False
    completed: bool = False  # the last critical event arrived
    finished: bool = False  # the server said the run is over (run_finished)
    sent_at: float = 0.0
    label: str = ""  # who this client is, for ``drive_runs`` (never the token)
    clock_offset_s: float | None = None  # server clock minus client clock, when estimated
    clock_rtt_s: float | None = None  # round trip of the sample the offset came from
    deadline: float = field(default=float("inf"), repr=False)  # time.monotonic() bound
    frames_seen: int = 0  # every frame received, kept or not
    bytes_seen: int = 0
    kept_bytes: int = 0
    frames_dropped: int = 0  # received but not kept (beyond the bounds)
    garbage_seen: int = 0
    flooded: bool = False  # the endpoint sent more than the bounds allow for one run

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames
                if f.get("type") not in ("auth_ok", "run_accepted", "run_finished", "error")]


def _redact(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text


def public_url(url: str) -> str:
    """``url`` without credentials (``user:password@``): what is connected to and shown."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class _Flooded(Exception):
    """The endpoint sent more than a ``Capture`` keeps for one run."""


def is_loopback(url: str) -> bool:
    """True when ``url``'s host is this machine (so both ends read the same clock)."""
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _new_capture(url: str, timeout: float, label: str = "") -> Capture:
    return Capture(public_url(url), request_id=f"netra-diag-{uuid.uuid4().hex[:12]}",
                   thread_id=f"netra-diag-thread-{uuid.uuid4().hex[:8]}", label=label,
                   deadline=time.monotonic() + timeout)


async def drive_run(url: str, token: str, *, timeout: float, message: str = "netra-diag probe",
                    agent: str = "demo", last_event: str = "agent_completed",
                    ssl: Any = None) -> Capture:
    """Run one agent request over ``url`` and capture everything, within ``timeout`` s."""
    cap = _new_capture(url, timeout)

    async def body(ws: Any) -> None:
        await _await_auth(ws, cap)
        await _start_and_follow(ws, cap, message, agent, last_event)

    await _bounded(cap, _guarded(cap, url, token, ssl, timeout, body), timeout)
    return cap


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
    caps = [_new_capture(url, timeout, label) for label, _ in members]

    async def member(cap: Capture, token: str) -> None:
        joined = finished = False

        async def body(ws: Any) -> None:
            nonlocal joined, finished
            await _await_auth(ws, cap)
            if sync_clock:
                await _sync_clock(ws, cap, wait=min(2.0, timeout / 4))
            joined = True
            sync.arrive()
            await _read_until(ws, cap, sync.all_in)
            await _start_and_follow(ws, cap, message, agent, last_event)
            finished = True
            sync.finish()
            await _read_until(ws, cap, sync.all_done)
            if flush:
                await _flush(ws, cap)

        try:
            await _bounded(cap, _guarded(cap, url, token, ssl, timeout, body), timeout)
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


async def _bounded(cap: Capture, work: Any, timeout: float) -> None:
    """Await ``work`` within ``timeout`` s; a time-out is described in ``cap``."""
    try:
        await asyncio.wait_for(work, timeout)
    except TimeoutError:
        cap.timed_out = True
        if not cap.connected:
            cap.failure = f"could not connect within {timeout:g} s"
        elif cap.user_id is None and not cap.frames and cap.garbage:
            cap.failure = (f"the server sent {len(cap.garbage)} frame(s) that are not JSON "
                           f"objects, and nothing else, within {timeout:g} s")
        elif cap.user_id is None and not cap.frames:
            cap.failure = f"the server sent nothing within {timeout:g} s"
        elif cap.completed or cap.finished:
            cap.timed_out = False  # this run ended; only the others, or the close, were slow
        else:
            cap.failure = (f"the run did not finish within {timeout:g} s (received "
                           f"{cap.frames_seen} frame(s), {_size(cap.bytes_seen)})")


def _size(count: int) -> str:
    return f"{count / (1 << 20):.1f} MiB" if count >= 1 << 20 else f"{count} bytes"


async def _guarded(cap: Capture, raw_url: str, token: str, ssl: Any, timeout: float,
                   body: Any) -> None:
    """Connect with the token, run ``body(ws)``, close; transport problems end up in ``cap``.

    A body cut short (the deadline passed, or the endpoint flooded) aborts the connection
    instead of waiting for a closing handshake the server may never answer, so the deadline
    holds. ``raw_url`` may carry credentials: they are stripped (``public_url``), so only
    the bearer token authenticates and nothing secret reaches ``cap``.
    """
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

    url = cap.url  # public_url(raw_url): no user-info, so no second Authorization header
    kwargs: dict[str, Any] = {"additional_headers": {"Authorization": f"Bearer {token}"},
                              "open_timeout": timeout, "close_timeout": 2,
                              "max_size": MAX_FRAME_BYTES, "max_queue": 16,
                              "user_agent_header": "netra-diag"}
    if ssl is not None:
        kwargs["ssl"] = ssl
    try:
        ws = await connect(url, **kwargs)
    except InvalidURI as exc:
        cap.failure = f"not a WebSocket URL: {_redact(str(exc), token)}"
        return
    except InvalidHandshake as exc:
        cap.failure = f"the WebSocket handshake failed: {_redact(str(exc), token)}"
        cap.auth_refused = "401" in str(exc) or "403" in str(exc)
        return
    except TimeoutError:
        raise  # the deadline: described by _bounded
    except OSError as exc:
        cap.failure = _describe_os_error(exc, url, connecting=True)
        return
    cap.connected = True
    try:
        try:
            await body(ws)
        except (asyncio.CancelledError, TimeoutError, _Flooded):
            ws.transport.abort()
            raise
        await ws.close()
    except _Flooded:
        cap.flooded = True
        elapsed = max(0.0, timeout - (cap.deadline - time.monotonic()))
        cap.failure = (f"the endpoint flooded the connection: {cap.frames_seen} frame(s), "
                       f"{_size(cap.bytes_seen)} in {elapsed:.1f} s for one run (more than "
                       f"the {MAX_KEPT_FRAMES} frames / {_size(MAX_KEPT_BYTES)} a run may "
                       f"send); the client stopped reading and kept the first "
                       f"{len(cap.frames)} frame(s)")
    except ConnectionClosed as exc:
        rcvd, sent = exc.rcvd, exc.sent
        cap.close_code = rcvd.code if rcvd else None
        cap.close_reason = _redact(rcvd.reason if rcvd else "", token)
        if cap.close_code == 1008:
            cap.auth_refused = cap.user_id is None
        if rcvd is None and sent is not None and sent.code == 1009:
            cap.failure = (f"the endpoint sent a frame larger than {_size(MAX_FRAME_BYTES)} "
                           "(the client's limit): the client closed the connection (1009)")
        elif not (cap.completed or cap.finished):
            what = f"code {cap.close_code}" if cap.close_code else "no close frame"
            cap.failure = (f"the server closed the connection ({what}"
                           f"{': ' + cap.close_reason if cap.close_reason else ''})")
    except TimeoutError:
        raise
    except OSError as exc:
        cap.failure = _describe_os_error(exc, url)
    except Exception as exc:  # noqa: BLE001 - the contract: a Capture, never an exception
        cap.failure = _redact(f"the client failed: {type(exc).__name__}: {exc}", token)


async def _await_auth(ws: Any, cap: Capture) -> None:
    first = await _next_frame(ws, cap)
    if first is not None and first.get("type") == "auth_ok":
        cap.user_id = first.get("user_id")
    elif first is not None:
        _keep(cap, first)


async def _start_and_follow(ws: Any, cap: Capture, message: str, agent: str,
                            last_event: str) -> None:
    """Send ``start_agent`` and read until this run ends (finished, failed or complete)."""
    cap.sent_at = time.time()
    await ws.send(json.dumps({"type": "start_agent", "request_id": cap.request_id,
                              "thread_id": cap.thread_id, "message": message, "agent": agent}))
    while True:
        frame = await _next_frame(ws, cap)
        if frame is None:
            continue
        _keep(cap, frame)
        kind = frame.get("type")
        if kind == "run_accepted" and frame.get("request_id") in (None, cap.request_id):
            cap.run_id = frame.get("run_id")
        elif kind == "error":
            if cap.run_id is None or frame.get("run_id") in (None, cap.run_id):
                return
        elif kind == "run_finished" and frame.get("run_id") in (None, cap.run_id):
            cap.finished = True
            return
        elif kind == last_event and (cap.run_id is None or frame.get("run_id") == cap.run_id):
            cap.completed = True
            return


async def _read_until(ws: Any, cap: Capture, event: asyncio.Event) -> None:
    """Keep reading (and capturing) frames until ``event`` is set."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        while not event.is_set():
            reader = asyncio.ensure_future(_next_frame(ws, cap))
            done, _ = await asyncio.wait({reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                frame = reader.result()
                if frame is not None:
                    _keep(cap, frame)
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
            frame = await asyncio.wait_for(_next_frame(ws, cap), wait)
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
        _keep(cap, frame)


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
                frame = await asyncio.wait_for(_next_frame(ws, cap), QUIET_S)
            except TimeoutError:
                return
            if frame is not None:
                _keep(cap, frame)


async def _next_frame(ws: Any, cap: Capture) -> dict[str, Any] | None:
    """The next frame as a JSON object (``None`` for garbage, which is counted). Raises
    ``TimeoutError`` past the capture's deadline and ``_Flooded`` beyond its bounds, checked
    on every frame: a flooding endpoint keeps ``recv()`` from ever waiting."""
    if time.monotonic() >= cap.deadline:
        raise TimeoutError
    raw = await ws.recv()
    now = time.time()
    size = len(raw)
    cap.frames_seen += 1
    cap.bytes_seen += size
    if time.monotonic() >= cap.deadline:
        raise TimeoutError
    if len(cap.frames) >= MAX_KEPT_FRAMES or cap.kept_bytes + size > MAX_KEPT_BYTES or \
            cap.garbage_seen >= MAX_KEPT_FRAMES:
        cap.frames_dropped += 1
        raise _Flooded
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        _garbage(cap, raw[:200] if isinstance(raw, str) else repr(raw[:200]))
        return None
    if not isinstance(value, dict):
        _garbage(cap, str(raw)[:200])
        return None
    value.setdefault("_received_at", now)
    value["_size"] = size
    return value


def _garbage(cap: Capture, sample: str) -> None:
    cap.garbage_seen += 1
    if len(cap.garbage) < MAX_KEPT_GARBAGE:
        cap.garbage.append(sample)


def _keep(cap: Capture, frame: dict[str, Any]) -> None:
    received = frame.pop("_received_at", time.time())
    cap.kept_bytes += frame.pop("_size", 0)
    if frame.get("type") == "error":
        cap.error_frames.append(frame)
    cap.frames.append(frame)
    cap.received_at.append(received)


def _describe_os_error(exc: OSError, url: str, *, connecting: bool = False) -> str:
    import ssl

    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return f"TLS failed for {url}: {exc.__class__.__name__}: {getattr(exc, 'reason', exc)}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused: nothing listens at {url}"
    if connecting and url.startswith("wss:") and isinstance(exc, ConnectionError):
        # a plain server answers a TLS hello with an HTTP error and hangs up
        return (f"TLS failed for {url}: the server {_verb(exc)} the connection during the "
                "TLS handshake (does it serve plain ws:// rather than wss://?)")
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot connect to {url}: {reason}"


def _verb(exc: OSError) -> str:
    return "reset" if isinstance(exc, ConnectionResetError) else "closed"
