"""The supervisor: runs a named agent for its user through a fresh per-user engine."""

from __future__ import annotations

from typing import Any

from netra_backend.app.services.user_execution_context import UserExecutionContext

__all__ = ["SupervisorAgent"]


class SupervisorAgent:
    """Holds one request's wiring; ``run`` builds an engine and runs the agent."""

    def __init__(
        self,
        *,
        agent_registry: Any,
        engine_factory: Any,
        websocket_manager: Any,
        user_context: UserExecutionContext,
    ) -> None:
        self.agent_registry = agent_registry
        self.engine_factory = engine_factory
        self.websocket_manager = websocket_manager
        self.user_context = user_context

    async def run(self, message: str, agent_name: str = "demo") -> Any:
        engine = await self.engine_factory.create_for_user(self.user_context)
        return await engine.run_agent(agent_name, message)
