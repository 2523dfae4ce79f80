"""A fleet's client sockets: one user's connection to one instance, recording every frame.

The counterpart of ``support.wire`` for the fleet checks (it imports ``websockets`` lazily):
the reference protocol plus ``subscribe``, a socket of the user that watches without
starting a run, answered by ``subscribed`` once registered. Every wait is bounded by the
socket's deadline (``time.monotonic()``); whatever happens ends in ``failure`` or in the
recorded frames, never an exception from ``open``; the token never enters a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from typing import Any

from ..redaction import redact
from .capture import connect_url

__all__ = ["Socket"]


class Socket:
    """One client connection of one user to one instance, recording every frame."""

    def __init__(self, url: str, token: str, label: str, deadline: float) -> None:
        self.url, self._token, self.label, self.deadline = url, token, label, deadline
        self.ws: Any = None
        self.user_id: str | None = None
        self.frames: list[dict[str, Any]] = []
        self.failure: str | None = None
        self.closed = False
        self._arrived = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    async def open(self) -> bool:
        """Connect and authenticate; False (with ``failure``) when it cannot."""
        from websockets.asyncio.client import connect

        try:
            self.ws = await asyncio.wait_for(connect(
                connect_url(self.url),
                additional_headers={"Authorization": f"Bearer {self._token}"},
                open_timeout=self.remaining(), close_timeout=1, max_size=1 << 20,
                user_agent_header="netra-diag"), self.remaining())
            first = json.loads(await asyncio.wait_for(self.ws.recv(), self.remaining()))
        except Exception as exc:  # noqa: BLE001 - described, never raised
            self.failure = redact(f"{type(exc).__name__}: {exc}", [self._token], min_len=1)
            return False
        if not isinstance(first, dict) or first.get("type") != "auth_ok":
            self.failure = f"authentication was not acknowledged (got {str(first)[:120]})"
            return False
        self.user_id = first.get("user_id")
        self._reader = asyncio.create_task(self._read())
        return True

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(frame, dict):
                    frame["_at"] = time.time()
                    async with self._arrived:
                        self.frames.append(frame)
                        self._arrived.notify_all()
        except Exception as exc:  # noqa: BLE001 - a closed socket ends the record
            self.failure = self.failure or f"the connection ended: {type(exc).__name__}"
        finally:
            self.closed = True
            async with self._arrived:
                self._arrived.notify_all()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def wait_for(self, predicate: Any, timeout: float) -> dict[str, Any] | None:
        """The first recorded frame matching ``predicate`` (waiting up to ``timeout``)."""
        limit = min(timeout, self.remaining())

        def found() -> dict[str, Any] | None:
            return next((f for f in self.frames if predicate(f)), None)

        try:
            async with self._arrived:
                await asyncio.wait_for(self._arrived.wait_for(
                    lambda: found() is not None or self.closed), limit)
        except TimeoutError:
            return None
        return found()

    async def subscribe(self, thread_id: str) -> str | None:
        """Register as a watching socket; the problem when the instance refuses."""
        request_id = f"sub-{secrets.token_hex(4)}"
        await self.send({"type": "subscribe", "request_id": request_id, "thread_id": thread_id})
        reply = await self.wait_for(
            lambda f: f.get("request_id") == request_id and f.get("type") in (
                "subscribed", "error"), 5.0)
        if reply is None:
            return "no answer to the subscribe frame within 5 s"
        if reply.get("type") == "error":
            return f"the subscribe frame was refused: {reply.get('code')}: {reply.get('message')}"
        return None

    async def start_run(self, thread_id: str) -> str:
        """Send ``start_agent``; returns its request id."""
        request_id = f"run-{secrets.token_hex(6)}"
        await self.send({"type": "start_agent", "request_id": request_id,
                         "thread_id": thread_id, "message": "netra-diag fleet probe",
                         "agent": "demo"})
        return request_id

    async def run_id_of(self, request_id: str, timeout: float) -> str | None:
        frame = await self.wait_for(lambda f: f.get("type") in ("run_accepted", "error")
                                    and f.get("request_id") == request_id, timeout)
        return frame.get("run_id") if frame and frame.get("type") == "run_accepted" else None

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2.0)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
