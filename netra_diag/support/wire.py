"""The client side of the agent WebSocket protocol: connect, authenticate, start a run, listen.

The only module of the tool that opens client sockets (it imports ``websockets`` lazily).
Protocol (the reference endpoint's; DESIGN.md "Events on the wire"):

* connect with ``Authorization: Bearer <token>``; the server answers ``{"type": "auth_ok",
  "user_id": ...}`` or closes with 1008 (policy violation);
* send ``{"type": "start_agent", "request_id", "thread_id", "message", "agent"}``; the server
  answers ``{"type": "run_accepted", "run_id", ...}``, then the run's events, then
  ``{"type": "run_finished", "run_id", "status"}`` once the run is over server-side (so a
  client need not wait out a timeout for events that will never come), or an
  ``{"type": "error", "code", "message"}`` frame.

Every wait is bounded by one deadline; whatever happens (refused, TLS failure, garbage,
silence, a close mid-run) ends as a ``Capture`` describing it, never an exception. The token
is never stored in a ``Capture``, nor in any message it carries.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Capture", "drive_run"]


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

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames
                if f.get("type") not in ("auth_ok", "run_accepted", "run_finished", "error")]


def _redact(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text


async def drive_run(url: str, token: str, *, timeout: float, message: str = "netra-diag probe",
                    agent: str = "demo", last_event: str = "agent_completed",
                    ssl: Any = None) -> Capture:
    """Run one agent request over ``url`` and capture everything, within ``timeout`` s."""
    cap = Capture(url, request_id=f"netra-diag-{uuid.uuid4().hex[:12]}",
                  thread_id=f"netra-diag-thread-{uuid.uuid4().hex[:8]}")
    try:
        await asyncio.wait_for(_drive(cap, token, message=message, agent=agent,
                                      last_event=last_event, ssl=ssl, timeout=timeout), timeout)
    except TimeoutError:
        cap.timed_out = True
        if not cap.connected:
            cap.failure = f"could not connect within {timeout:g} s"
        elif cap.user_id is None and not cap.frames:
            cap.failure = f"the server sent nothing within {timeout:g} s"
        else:
            cap.failure = f"the run did not finish within {timeout:g} s"
    return cap


async def _drive(cap: Capture, token: str, *, message: str, agent: str, last_event: str,
                 ssl: Any, timeout: float) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

    url = cap.url
    kwargs: dict[str, Any] = {"additional_headers": {"Authorization": f"Bearer {token}"},
                              "open_timeout": timeout, "close_timeout": 2,
                              "max_size": 1 << 20, "user_agent_header": "netra-diag"}
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
    except OSError as exc:
        cap.failure = _describe_os_error(exc, url)
        return
    cap.connected = True
    try:
        async with ws:
            await _converse(ws, cap, message, agent, last_event)
    except ConnectionClosed as exc:
        rcvd = exc.rcvd
        cap.close_code = rcvd.code if rcvd else None
        cap.close_reason = _redact(rcvd.reason if rcvd else "", token)
        if cap.close_code == 1008:
            cap.auth_refused = cap.user_id is None
        if not cap.completed:
            what = f"code {cap.close_code}" if cap.close_code else "no close frame"
            cap.failure = (f"the server closed the connection ({what}"
                           f"{': ' + cap.close_reason if cap.close_reason else ''})")
    except OSError as exc:
        cap.failure = _describe_os_error(exc, url)


async def _converse(ws: Any, cap: Capture, message: str, agent: str, last_event: str) -> None:
    first = await _next_frame(ws, cap)
    if first is not None and first.get("type") == "auth_ok":
        cap.user_id = first.get("user_id")
    elif first is not None:
        _keep(cap, first)
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


async def _next_frame(ws: Any, cap: Capture) -> dict[str, Any] | None:
    raw = await ws.recv()
    now = time.time()
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        cap.garbage.append(raw[:200] if isinstance(raw, str) else repr(raw[:200]))
        return None
    if not isinstance(value, dict):
        cap.garbage.append(str(raw)[:200])
        return None
    value.setdefault("_received_at", now)
    return value


def _keep(cap: Capture, frame: dict[str, Any]) -> None:
    received = frame.pop("_received_at", time.time())
    if frame.get("type") == "error":
        cap.error_frames.append(frame)
    cap.frames.append(frame)
    cap.received_at.append(received)


def _describe_os_error(exc: OSError, url: str) -> str:
    import ssl

    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return f"TLS failed for {url}: {exc.__class__.__name__}: {getattr(exc, 'reason', exc)}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused: nothing listens at {url}"
    return f"cannot connect to {url}: {exc.strerror or exc}"
