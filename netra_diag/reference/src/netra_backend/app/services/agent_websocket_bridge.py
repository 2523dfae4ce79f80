"""The agent WebSocket bridge: turns a user context into that user's emitter.

Rules:

* ``create_user_emitter(user_context)`` is a coroutine function: callers must ``await`` it.
  It returns a ``UnifiedWebSocketEmitter`` bound to the manager set on the bridge for that
  context's user, or else to a fresh ``create_websocket_manager(user_context)``.
* A manager is set per user (``set_websocket_manager(manager, user_context)``); one bound
  to a different user is refused, so a bridge can never route one user's events to another.
* ``create_agent_websocket_bridge()`` returns a new bridge (no process-wide state).
"""

from __future__ import annotations

from typing import Any

from netra_backend.app.services.user_execution_context import UserExecutionContext
from netra_backend.app.websocket_core.unified_emitter import UnifiedWebSocketEmitter
from netra_backend.app.websocket_core.websocket_manager_factory import create_websocket_manager

__all__ = ["AgentWebSocketBridge", "create_agent_websocket_bridge"]


class AgentWebSocketBridge:
    """Creates per-user emitters, through per-user managers."""

    def __init__(self) -> None:
        self._managers: dict[str, Any] = {}

    def set_websocket_manager(self, manager: Any, user_context: UserExecutionContext) -> None:
        """Use ``manager`` for ``user_context``'s user from now on."""
        bound_to = getattr(manager, "user_id", None)
        if bound_to is not None and bound_to != user_context.user_id:
            raise ValueError(
                f"manager of user {bound_to!r} cannot serve user {user_context.user_id!r}"
            )
        self._managers[user_context.user_id] = manager

    def websocket_manager_for(self, user_context: UserExecutionContext) -> Any:
        """The manager set for this user, else a fresh per-user one."""
        manager = self._managers.get(user_context.user_id)
        return manager if manager is not None else create_websocket_manager(user_context)

    async def create_user_emitter(
        self, user_context: UserExecutionContext
    ) -> UnifiedWebSocketEmitter:
        """An emitter for ``user_context`` (await it)."""
        if not isinstance(user_context, UserExecutionContext):
            raise TypeError(
                f"create_user_emitter needs a UserExecutionContext, "
                f"not {type(user_context).__name__}"
            )
        return UnifiedWebSocketEmitter(self.websocket_manager_for(user_context), user_context)


def create_agent_websocket_bridge() -> AgentWebSocketBridge:
    """A new bridge with no managers set (each user then gets a fresh per-user manager)."""
    return AgentWebSocketBridge()
