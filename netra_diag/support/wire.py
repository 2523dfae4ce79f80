"""The client side of the agent WebSocket protocol: connect, authenticate, start a run, listen.

The tool's client sockets live here (it imports ``websockets`` lazily), and in its fleet
counterpart ``support.fleet_client`` (watching sockets on several instances).
Protocol (the reference endpoint's; docs/wire-protocol.md):

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

``drive_run`` runs one request on one connection; the steps it is made of (``guarded``,
``bounded``, ``await_auth``, ``start_and_follow``) also serve ``support.wire_group``, which
runs one request on each of several connections at once.

Every wait is bounded by one deadline, checked on every frame as well (``support.capture``);
whatever happens (refused, TLS failure, garbage, silence, a close mid-run, a flood) ends as
a ``Capture`` describing it, never an exception.

Credentials in the URL (``ws://user:secret@host/``) are stripped before connecting (the
client would otherwise send them as a second ``Authorization`` header beside the bearer
token) and never appear in a ``Capture``. The token is never stored in a ``Capture``, nor in
any message it carries.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from ..redaction import public_url, redact
from .capture import (
    MAX_FRAME_BYTES,
    Capture,
    Flooded,
    flood_failure,
    human_size,
    keep,
    new_capture,
    next_frame,
)

__all__ = ["await_auth", "bounded", "drive_run", "guarded", "start_and_follow"]


def _redact(text: str, token: str) -> str:
    return redact(text, [token], min_len=1)


async def drive_run(url: str, token: str, *, timeout: float, message: str = "netra-diag probe",
                    agent: str = "demo", last_event: str = "agent_completed",
                    ssl: Any = None) -> Capture:
    """Run one agent request over ``url`` and capture everything, within ``timeout`` s."""
    cap = new_capture(url, timeout)

    async def body(ws: Any) -> None:
        await await_auth(ws, cap)
        await start_and_follow(ws, cap, message, agent, last_event)

    await bounded(cap, guarded(cap, url, token, ssl, timeout, body), timeout)
    return cap


async def bounded(cap: Capture, work: Any, timeout: float) -> None:
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
                           f"{cap.frames_seen} frame(s), {human_size(cap.bytes_seen)})")


async def guarded(cap: Capture, raw_url: str, token: str, ssl: Any, timeout: float,
                   body: Any) -> None:
    """Connect with the token, run ``body(ws)``, close; transport problems end up in ``cap``.

    A body cut short (the deadline passed, or the endpoint flooded) aborts the connection
    instead of waiting for a closing handshake the server may never answer, so the deadline
    holds. ``raw_url`` may carry credentials: they are stripped (``connect_url``), so only
    the bearer token authenticates and nothing secret reaches ``cap``.
    """
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

    url = cap.url  # connect_url(raw_url): no user-info, so no second Authorization header
    kwargs: dict[str, Any] = {"additional_headers": {"Authorization": f"Bearer {token}"},
                              "open_timeout": timeout, "close_timeout": 2,
                              "max_size": MAX_FRAME_BYTES, "max_queue": 16,
                              "user_agent_header": "netra-diag",
                              "create_connection": _connection_class()}
    if ssl is not None:
        kwargs["ssl"] = ssl
    try:
        ws = await _no_redirect_connect()(url, **kwargs)
    except InvalidURI as exc:
        cap.failure = f"not a WebSocket URL: {_redact(str(exc), token)}"
        return
    except InvalidStatus as exc:
        response = exc.response
        location = response.headers.get("Location")
        if 300 <= response.status_code < 400 and location:
            cap.failure = (f"the endpoint redirected (HTTP {response.status_code}) to "
                           f"{_redact(public_url(location), token)}: netra-diag does not follow "
                           "redirects (the report would judge another endpoint than the one "
                           "asked for); probe that URL directly if it is the right one")
            return
        cap.failure = f"the WebSocket handshake failed: {_redact(str(exc), token)}"
        cap.auth_refused = response.status_code in (401, 403)
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
        except (asyncio.CancelledError, TimeoutError, Flooded):
            ws.transport.abort()
            raise
        await ws.close()
    except Flooded:
        cap.flooded = True
        cap.failure = flood_failure(cap, timeout)
    except ConnectionClosed as exc:
        rcvd, sent = exc.rcvd, exc.sent
        cap.close_code = rcvd.code if rcvd else None
        cap.close_reason = _redact(rcvd.reason if rcvd else "", token)
        if cap.close_code == 1008:
            cap.auth_refused = cap.user_id is None
        if rcvd is None and sent is not None and sent.code == 1009:
            cap.failure = (f"frame too large: the endpoint announced a frame larger than "
                           f"{human_size(MAX_FRAME_BYTES)} (the client's limit): the client "
                           "closed the connection (1009)")
        elif rcvd is None and sent is not None and sent.code in (1002, 1007):
            seen = getattr(ws, "failed_on", b"")
            cap.failure = (f"the endpoint sent bytes that are not a valid WebSocket frame "
                           f"({sent.reason or 'protocol error'}): the client closed the "
                           f"connection ({sent.code}); received: "
                           f"{_redact(repr(seen[:80]), token)}")
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


#: After the client fails the connection (a frame too large, bytes that are no frame), how
#: long the server has to close TCP before the client aborts it: a hostile server that stays
#: silent must not hold the client until its deadline.
FAILED_CLOSE_GRACE_S = 0.2


def _connection_class() -> Any:
    """A ``ClientConnection`` that aborts the transport soon after it failed the protocol,
    and remembers the bytes that made it fail (``failed_on``) to say what was received."""
    from websockets.asyncio.client import ClientConnection

    class BoundedClientConnection(ClientConnection):
        failed_on: bytes = b""
        _abort_timer: Any = None

        def data_received(self, data: bytes) -> None:
            failed_before = self.protocol.close_sent is not None
            super().data_received(data)
            proto = self.protocol
            if failed_before or proto.close_sent is None or proto.close_rcvd is not None:
                return
            head, sep, rest = data.partition(b"\r\n\r\n")
            self.failed_on = rest if sep and head.startswith(b"HTTP/") else data
            if self._abort_timer is None:
                self._abort_timer = self.loop.call_later(FAILED_CLOSE_GRACE_S,
                                                         self.transport.abort)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._abort_timer is not None:
                self._abort_timer.cancel()
            super().connection_lost(exc)

    return BoundedClientConnection


def _no_redirect_connect() -> Any:
    """``websockets``' ``connect`` without following redirects: a redirect is reported
    (where it pointed), never followed silently."""
    from websockets.asyncio.client import connect

    class connect_no_redirect(connect):
        def process_redirect(self, exc: Exception) -> Exception | str:
            return exc

    return connect_no_redirect


async def await_auth(ws: Any, cap: Capture) -> None:
    first = await next_frame(ws, cap)
    if first is not None and first.get("type") == "auth_ok":
        cap.user_id = first.get("user_id")
    elif first is not None:
        keep(cap, first)


async def start_and_follow(ws: Any, cap: Capture, message: str, agent: str,
                            last_event: str) -> None:
    """Send ``start_agent`` and read until this run ends (finished, failed or complete)."""
    cap.sent_at = time.time()
    await ws.send(json.dumps({"type": "start_agent", "request_id": cap.request_id,
                              "thread_id": cap.thread_id, "message": message, "agent": agent}))
    while True:
        frame = await next_frame(ws, cap)
        if frame is None:
            continue
        keep(cap, frame)
        kind = frame.get("type")
        if kind == "run_accepted" and frame.get("request_id") in (None, cap.request_id):
            cap.run_id = frame.get("run_id")
        elif kind == "error":
            if cap.run_id is None or frame.get("run_id") in (None, cap.run_id):
                return
        elif kind == "run_finished" and frame.get("run_id") in (None, cap.run_id):
            cap.finished = True
            return
        elif kind == last_event and (frame.get("run_id") == cap.run_id if cap.run_id else
                                     frame.get("user_id") in (None, cap.user_id)):
            # before run_accepted, another user's run (a broadcast) must not end this one
            cap.completed = True
            return


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
