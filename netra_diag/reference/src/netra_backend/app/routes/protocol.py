"""The WebSocket route's wire protocol as plain code: parsing, validation, frame builders.

No I/O here: ``websocket_server`` feeds text in and sends the frames built here out. The
protocol itself is documented in ``websocket_server``'s module docstring.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netra_backend.app.services.user_execution_context import UserExecutionContext
from netra_backend.app.websocket_core.events import decode

__all__ = [
    "MAX_ID_LENGTH",
    "AuthThrottle",
    "ProtocolError",
    "StartAgent",
    "TokenTable",
    "auth_ok",
    "bearer_token",
    "error_frame",
    "parse_auth",
    "parse_frame",
    "parse_start_agent",
    "parse_subscribe",
    "run_accepted",
    "run_finished",
    "subscribed",
    "time_reply",
]

MAX_ID_LENGTH = 256


class ProtocolError(Exception):
    """A client frame the server refuses; becomes an ``error`` frame with ``code``."""

    def __init__(self, code: str, message: str, **ids: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ids = {k: v for k, v in ids.items() if isinstance(v, str)}

    def frame(self) -> dict[str, Any]:
        return error_frame(self.code, self.message, **self.ids)


@dataclass(frozen=True)
class StartAgent:
    """A validated ``start_agent`` request."""

    request_id: str
    thread_id: str
    message: str
    agent: str

    def context_for(self, user_id: str) -> UserExecutionContext:
        """The run's context for the *authenticated* user (``bad_request`` if invalid)."""
        try:
            return UserExecutionContext(
                user_id=user_id, request_id=self.request_id, thread_id=self.thread_id
            )
        except ValueError as exc:
            raise ProtocolError("bad_request", str(exc), request_id=self.request_id) from None


class TokenTable:
    """Maps bearer tokens to user ids; comparisons are constant-time."""

    def __init__(self, users: Mapping[str, str]) -> None:
        seen: set[str] = set()
        for user_id, token in users.items():
            if not isinstance(user_id, str) or not user_id.strip():
                raise ValueError(f"user ids must be non-empty strings (got {user_id!r})")
            if not isinstance(token, str) or not token.strip():
                raise ValueError(f"user {user_id!r} needs a non-empty string token")
            if token in seen:
                raise ValueError(f"user {user_id!r} shares its token with another user")
            seen.add(token)
        self._users = dict(users)

    def user_for(self, token: str | None) -> str | None:
        if not token:
            return None
        found = None
        for user_id, known in self._users.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = user_id
        return found


class AuthThrottle:
    """Slows down failed authentication per client address (plain code; the clock is given).

    Each address may fail ``free`` times within ``window_s`` seconds; after that, every
    attempt from it waits ``base_delay_s`` doubled per further failure (at most
    ``max_delay_s``) before its token is even checked. A success clears the address. At most
    ``max_addresses`` addresses are remembered (the oldest is forgotten first), so the table
    itself cannot be used to exhaust memory.
    """

    def __init__(self, *, free: int = 5, window_s: float = 60.0, base_delay_s: float = 0.25,
                 max_delay_s: float = 4.0, max_addresses: int = 10_000) -> None:
        self.free = free
        self.window_s = window_s
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.max_addresses = max_addresses
        self._failures: dict[str, list[float]] = {}

    def delay_for(self, address: str, now: float) -> float:
        """Seconds an attempt from ``address`` must wait before its token is checked."""
        recent = [t for t in self._failures.get(address, ()) if now - t < self.window_s]
        if recent:
            self._failures[address] = recent
        else:
            self._failures.pop(address, None)
        extra = len(recent) - self.free
        if extra < 0:
            return 0.0
        return min(self.max_delay_s, self.base_delay_s * (2 ** min(extra, 32)))

    def failed(self, address: str, now: float) -> None:
        self._failures.setdefault(address, []).append(now)
        del self._failures[address][:-(self.free + 64)]  # bounded per address too
        while len(self._failures) > self.max_addresses:
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def parse_frame(raw: str | bytes) -> dict[str, Any]:
    """A client frame as a JSON object with a string ``type``."""
    if isinstance(raw, bytes):
        raise ProtocolError("bad_json", "binary frames are not accepted: send JSON text")
    try:
        frame = decode(raw)
    except ValueError as exc:
        raise ProtocolError("bad_json", f"malformed JSON: {exc.args[0]}") from None
    except RecursionError:  # '[' * 60000 fits in a frame: refused like any malformed JSON
        raise ProtocolError("bad_json", "malformed JSON: nested too deeply") from None
    if not isinstance(frame, dict):
        raise ProtocolError("bad_json", "a frame must be a JSON object")
    if not isinstance(frame.get("type"), str):
        raise ProtocolError("unknown_type", "a frame needs a string 'type'")
    return frame


def parse_auth(frame: dict[str, Any]) -> str:
    """The token of an ``auth`` frame (``ProtocolError`` when it is not one)."""
    token = frame.get("token")
    if frame.get("type") != "auth" or not isinstance(token, str) or not token:
        raise ProtocolError("auth_required", 'first frame must be {"type":"auth","token":...}')
    return token


def parse_start_agent(frame: dict[str, Any], user_id: str) -> StartAgent:
    """Validate a ``start_agent`` frame sent by the authenticated ``user_id``."""
    request_id = frame.get("request_id")
    rid = request_id if isinstance(request_id, str) else None
    claimed = frame.get("user_id")
    if claimed is not None and claimed != user_id:
        raise ProtocolError(
            "forbidden",
            "a run can only be started for the authenticated user",
            request_id=rid or "",
        )
    values = {}
    for key in ("request_id", "thread_id"):
        value = frame.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH:
            raise ProtocolError(
                "bad_request",
                f"'{key}' must be a non-empty string of at most {MAX_ID_LENGTH} characters",
                request_id=rid or "",
            )
        values[key] = value
    message = frame.get("message")
    if not isinstance(message, str):
        raise ProtocolError("bad_request", "'message' must be a string", request_id=rid or "")
    agent = frame.get("agent", "demo")
    if not isinstance(agent, str) or not agent.strip():
        raise ProtocolError(
            "bad_request", "'agent' must be a non-empty string", request_id=rid or ""
        )
    return StartAgent(values["request_id"], values["thread_id"], message, agent)


def parse_subscribe(frame: dict[str, Any], user_id: str) -> StartAgent:
    """Validate a ``subscribe`` frame of ``user_id`` (its ``request_id``, ``thread_id``)."""
    fields = dict(frame, message="", type="start_agent")
    fields.setdefault("request_id", "subscribe")
    return parse_start_agent(fields, user_id)


def subscribed(ctx: UserExecutionContext) -> dict[str, Any]:
    return {"type": "subscribed", "request_id": ctx.request_id, "thread_id": ctx.thread_id}


def auth_ok(user_id: str) -> dict[str, Any]:
    return {"type": "auth_ok", "user_id": user_id}


def run_accepted(ctx: UserExecutionContext) -> dict[str, Any]:
    return {
        "type": "run_accepted",
        "request_id": ctx.request_id,
        "thread_id": ctx.thread_id,
        "run_id": ctx.run_id,
    }


def run_finished(ctx: UserExecutionContext) -> dict[str, Any]:
    return {
        "type": "run_finished",
        "request_id": ctx.request_id,
        "thread_id": ctx.thread_id,
        "run_id": ctx.run_id,
    }


def error_frame(code: str, message: str, **ids: str) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    frame.update({k: v for k, v in ids.items() if v})
    return frame


def time_reply(frame: dict[str, Any]) -> dict[str, Any]:
    """The answer to ``{"type": "time"}``: the server's clock, for clock-offset estimates.

    ``request_id`` is echoed when the request carries a string one (so a client can match
    replies to the requests it timed)."""
    reply: dict[str, Any] = {"type": "time", "server_time": time.time()}
    request_id = frame.get("request_id")
    if isinstance(request_id, str) and 0 < len(request_id) <= MAX_ID_LENGTH:
        reply["request_id"] = request_id
    return reply
