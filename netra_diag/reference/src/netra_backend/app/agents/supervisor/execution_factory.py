"""The per-user execution engine factory (and the home of the ``UserExecutionContext`` import).

Rules: ``create_for_user(user_context)`` awaits ``bridge.create_user_emitter(user_context)``
(a coroutine function: an un-awaited call yields a coroutine, not an emitter) and binds the
emitter to the engine it builds. Every call builds a new engine: engines are never shared.
"""

from __future__ import annotations

from typing import Any

from netra_backend.app.agents.supervisor.execution_engine import _FACTORY_TOKEN, ExecutionEngine
from netra_backend.app.services.user_execution_context import UserExecutionContext

__all__ = ["ExecutionEngineFactory", "UserExecutionContext"]


class ExecutionEngineFactory:
    """Builds one engine per user context, bound to that user's emitter."""

    def __init__(self, registry: Any, bridge: Any) -> None:
        if registry is None or bridge is None:
            raise ValueError("ExecutionEngineFactory needs a registry and a bridge")
        self.registry = registry
        self.bridge = bridge

    async def create_for_user(self, user_context: UserExecutionContext) -> ExecutionEngine:
        """A new engine for ``user_context`` with that user's emitter bound."""
        emitter = await self.bridge.create_user_emitter(user_context)
        engine = ExecutionEngine(self.registry, user_context, _token=_FACTORY_TOKEN)
        engine.bind_emitter(emitter)
        return engine
