"""A connection that records what a pipeline sends, standing in for a client socket.

It speaks the usual WebSocket send interfaces: ``websockets``' ``send(text)``,
Starlette/FastAPI's ``send_text(text)`` and ``send_json(obj)``. Frames are kept in order, at
most ``MAX_FRAMES`` of them (a pipeline that floods its connection cannot exhaust memory; the
rest are counted in ``dropped``); ``wait_for(n, timeout)`` awaits the n-th frame with a
timeout (no sleeping).
"""

from __future__ import annotations

import json
import time
from typing import Any

__all__ = ["MAX_FRAMES", "RecordingConnection"]

#: Frames one recording connection keeps.
MAX_FRAMES = 10_000


class RecordingConnection:
    """Records frames sent to it; ``events()`` decodes the JSON ones."""

    def __init__(self, label: str = "recorder", *, user_id: str | None = None,
                 connection_id: str | None = None) -> None:
        self.label = label
        #: for code that reads them off a connection (hooks may wrap it in their own record)
        self.user_id = user_id
        self.connection_id = connection_id or f"netra-diag-{label}"
        #: what a ``connect`` hook returned, handed back to ``disconnect``
        self.handle: Any = None
        self.frames: list[tuple[float, Any]] = []
        self.dropped = 0
        import asyncio  # here, not at import: the static checks import this module, no loop

        self._changed = asyncio.Event()
        self.closed = False

    def _record(self, frame: Any) -> None:
        if len(self.frames) >= MAX_FRAMES:
            self.dropped += 1
            return
        self.frames.append((time.time(), frame))
        self._changed.set()

    async def send(self, message: Any) -> None:
        self._record(message)

    async def send_text(self, data: str) -> None:
        self._record(data)

    async def send_json(self, data: Any, mode: str = "text") -> None:
        self._record(json.dumps(data))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = True

    def events(self) -> list[dict[str, Any]]:
        out = []
        for _, frame in self.frames:
            try:
                value = json.loads(frame) if isinstance(frame, str | bytes) else frame
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
        return out

    async def wait_for(self, count: int, timeout: float) -> bool:
        """True once ``count`` frames arrived; False when ``timeout`` passes first."""
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.frames) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return len(self.frames) >= count
        return True
