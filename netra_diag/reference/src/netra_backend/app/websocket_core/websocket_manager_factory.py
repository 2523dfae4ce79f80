"""Per-user WebSocket managers: the only correct way to reach a user's connections.

Rules:

* ``create_websocket_manager(user_context)`` returns a manager bound to that context's user
  and to the process-wide ``ConnectionHub``. Managers are cheap; make one per request.
* ``send_to_user(event)`` sends one compact JSON text frame to **that user's connections
  only**, and refuses an event stamped for another user (``ValueError``): isolation is
  enforced here, not hoped for upstream.
* A connection whose send raises is dropped from the hub and counted; delivery to the
  user's other connections continues. A send that reaches nobody is counted too.
* With a backplane (several instances, ``websocket_core.backplane``), a connection also
  joins its user's backplane channel, and every event, once delivered here, is published
  for the user's connections on the other instances.
"""

from __future__ import annotations

import logging
from typing import Any

from netra_backend.app.services.user_execution_context import UserExecutionContext
from netra_backend.app.websocket_core.backplane import channel_for, get_backplane
from netra_backend.app.websocket_core.connection_hub import (
    ConnectionHub,
    deliver,
    get_connection_hub,
)
from netra_backend.app.websocket_core.events import encode

__all__ = ["UserWebSocketManager", "create_websocket_manager"]

logger = logging.getLogger(__name__)


class UserWebSocketManager:
    """Sends events to one user's live connections."""

    def __init__(self, user_context: UserExecutionContext, hub: ConnectionHub) -> None:
        self.user_context = user_context
        self.user_id = user_context.user_id
        self._hub = hub
        self.sent_frames = 0
        self.undelivered = 0
        self.failed_sends = 0

    async def add_connection(self, conn: Any) -> None:
        """Register one of this user's connections (and its backplane room, if any)."""
        self._hub.add(self.user_id, conn)
        backplane = get_backplane()
        if backplane is not None:
            ctx = self.user_context
            backplane.join(channel_for(backplane.prefix, ctx.user_id, ctx.thread_id), conn)

    async def remove_connection(self, conn: Any) -> None:
        self._hub.remove(self.user_id, conn)
        backplane = get_backplane()
        if backplane is not None:
            backplane.leave(conn)

    def connection_count(self) -> int:
        return len(self._hub.connections_for(self.user_id))

    async def send_to_user(self, event: dict[str, Any]) -> int:
        """Send ``event`` to this user's connections; returns how many it reached."""
        owner = event.get("user_id")
        if owner != self.user_id:
            raise ValueError(
                f"event for user {owner!r} refused by the manager of user {self.user_id!r}"
            )
        text = encode(event)
        reached = 0
        for conn in self._hub.connections_for(self.user_id):
            try:
                await deliver(conn, text, event)
            except Exception:  # a dead connection must not stop the others
                self.failed_sends += 1
                logger.warning(
                    "dropping a failed connection of user %s", self.user_id, exc_info=True
                )
                self._hub.remove(self.user_id, conn)
            else:
                reached += 1
        backplane = get_backplane()
        if backplane is not None:  # the user's connections on the other instances
            ctx = self.user_context
            await backplane.publish(channel_for(backplane.prefix, ctx.user_id, ctx.thread_id),
                                    event)
        if reached:
            self.sent_frames += 1
        else:
            self.undelivered += 1
            logger.info(
                "event %s for user %s reached no connection", event.get("type"), self.user_id
            )
        return reached


def create_websocket_manager(user_context: UserExecutionContext) -> UserWebSocketManager:
    """A manager bound to ``user_context``'s user and the process-wide hub."""
    if not isinstance(user_context, UserExecutionContext):
        raise TypeError(
            "create_websocket_manager needs a UserExecutionContext, "
            f"not {type(user_context).__name__}"
        )
    return UserWebSocketManager(user_context, get_connection_hub())
