"""DEPRECATED: the pre-bridge notifier. Use ``AgentWebSocketBridge`` instead.

Constructing a ``WebSocketNotifier`` warns (``DeprecationWarning``, pointing at the caller).
It still works as code: it forwards to whatever manager it was given, so old call sites keep
running while they are migrated. No production module imports it.
"""

from __future__ import annotations

import warnings
from typing import Any

from netra_backend.app.websocket_core.events import build_event

__all__ = ["WebSocketNotifier"]


class WebSocketNotifier:
    """Sends agent events through a manager, without per-run sequencing guarantees."""

    def __init__(self, websocket_manager: Any = None) -> None:
        warnings.warn(
            "WebSocketNotifier is deprecated. Use AgentWebSocketBridge instead",
            DeprecationWarning,
            stacklevel=2,
        )
        self.websocket_manager = websocket_manager
        self._seq = 0

    async def send_agent_event(
        self,
        event_type: str,
        user_id: str,
        thread_id: str,
        run_id: str,
        data: dict[str, Any] | None = None,
    ) -> int:
        if self.websocket_manager is None:
            return 0
        self._seq += 1
        event = build_event(
            event_type,
            user_id=user_id,
            thread_id=thread_id,
            run_id=run_id,
            seq=self._seq,
            data=data,
        )
        return await self.websocket_manager.send_to_user(event)
