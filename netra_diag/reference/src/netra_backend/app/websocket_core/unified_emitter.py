"""The user emitter: how agents report their progress to the user who asked.

Rules:

* One emitter per run, bound to one ``UserExecutionContext`` and one WebSocket manager
  (anything with ``async send_to_user(event) -> int``). Every event carries the context's
  user, thread and run ids, ``seq`` 1, 2, 3... in emission order, and ``timestamp`` taken
  at emission.
* Each ``notify_*`` method sends exactly its one event through ``send_event``; nothing
  else sends. ``send_event`` returns how many connections the event reached.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

from netra_backend.app.services.user_execution_context import UserExecutionContext
from netra_backend.app.websocket_core.events import build_event

__all__ = ["EventSink", "UnifiedWebSocketEmitter"]


class EventSink(Protocol):
    """What an emitter sends through: a WebSocket manager."""

    async def send_to_user(self, event: dict[str, Any]) -> int: ...


class UnifiedWebSocketEmitter:
    """Stamps and sends one run's events for one user."""

    def __init__(self, websocket_manager: EventSink, user_context: UserExecutionContext) -> None:
        if websocket_manager is None:
            raise ValueError("UnifiedWebSocketEmitter needs a websocket_manager")
        self.websocket_manager = websocket_manager
        self.user_context = user_context
        self._seq = itertools.count(1)

    async def send_event(self, event_type: str, data: dict[str, Any] | None = None) -> int:
        """Stamp ``event_type`` with ids, the next seq and the time, then send it."""
        ctx = self.user_context
        event = build_event(
            event_type,
            user_id=ctx.user_id,
            thread_id=ctx.thread_id,
            run_id=ctx.run_id,
            seq=next(self._seq),
            data=dict(data or {}),
        )
        return await self.websocket_manager.send_to_user(event)

    async def notify_agent_started(
        self, agent_name: str, metadata: dict[str, Any] | None = None
    ) -> int:
        return await self.send_event(
            "agent_started", {"agent_name": agent_name, "metadata": metadata or {}}
        )

    async def notify_agent_thinking(
        self, thought: str, metadata: dict[str, Any] | None = None
    ) -> int:
        return await self.send_event(
            "agent_thinking", {"thought": thought, "metadata": metadata or {}}
        )

    async def notify_tool_executing(
        self, tool_name: str, metadata: dict[str, Any] | None = None
    ) -> int:
        return await self.send_event(
            "tool_executing", {"tool_name": tool_name, "metadata": metadata or {}}
        )

    async def notify_tool_completed(
        self, tool_name: str, result: Any = None, metadata: dict[str, Any] | None = None
    ) -> int:
        return await self.send_event(
            "tool_completed",
            {"tool_name": tool_name, "result": result, "metadata": metadata or {}},
        )

    async def notify_agent_completed(
        self, agent_name: str, result: Any = None, metadata: dict[str, Any] | None = None
    ) -> int:
        return await self.send_event(
            "agent_completed",
            {"agent_name": agent_name, "result": result, "metadata": metadata or {}},
        )
