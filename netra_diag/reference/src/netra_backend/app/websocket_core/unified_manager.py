"""DEPRECATED: the process-wide WebSocket manager singleton.

Before the migration to per-user managers, one ``UnifiedWebSocketManager`` served every
user: a security hazard (one shared object routes every user's events). The WebSocket route
now registers connections with per-user managers (``create_websocket_manager``), so nothing
adds connections to this singleton any more: it still works as code, but whatever is sent
through it reaches nobody. It logs and counts every such dropped send, so the failure is
observable, not silent.

``get_websocket_manager()`` warns (``DeprecationWarning``, pointing at its caller) on every
call and returns the singleton. Use ``create_websocket_manager(user_context)`` instead.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from netra_backend.app.websocket_core.connection_hub import deliver
from netra_backend.app.websocket_core.events import encode

__all__ = ["UnifiedWebSocketManager", "get_websocket_manager"]

logger = logging.getLogger(__name__)

#: How many dropped events the singleton remembers (it is shared: keep it bounded).
MAX_DROPPED_RECORDS = 256


class UnifiedWebSocketManager:
    """One manager shared by all users, with its own (now always empty) connection list."""

    def __init__(self) -> None:
        self._connections: dict[str, list[Any]] = {}
        self.dropped_count = 0
        self.dropped: list[dict[str, Any]] = []

    async def add_connection(self, conn: Any, user_id: str) -> None:
        self._connections.setdefault(user_id, []).append(conn)

    async def remove_connection(self, conn: Any, user_id: str) -> None:
        conns = self._connections.get(user_id, [])
        self._connections[user_id] = [c for c in conns if c is not conn]

    def connection_count(self) -> int:
        return sum(len(conns) for conns in self._connections.values())

    async def send_to_user(self, event: dict[str, Any]) -> int:
        """Send to the event's user through the singleton's own list; returns how many."""
        user_id = str(event.get("user_id"))
        conns = list(self._connections.get(user_id, ()))
        if not conns:
            self.dropped_count += 1
            if len(self.dropped) < MAX_DROPPED_RECORDS:
                self.dropped.append({"type": event.get("type"), "user_id": user_id})
            logger.warning(
                "deprecated singleton dropped event %s for user %s: no connection is "
                "registered with it (use create_websocket_manager(user_context))",
                event.get("type"),
                user_id,
            )
            return 0
        text = encode(event)
        for conn in conns:
            await deliver(conn, text, event)
        return len(conns)


_SINGLETON = UnifiedWebSocketManager()


def get_websocket_manager() -> UnifiedWebSocketManager:
    """DEPRECATED: the shared singleton. Use ``create_websocket_manager(user_context)``."""
    warnings.warn(
        "SECURITY WARNING: get_websocket_manager() returns a singleton shared across users; "
        "use create_websocket_manager(user_context)",
        DeprecationWarning,
        stacklevel=2,
    )
    return _SINGLETON
