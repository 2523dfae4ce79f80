"""The per-user execution engine: runs agents for exactly one user, with that user's emitter.

Rules:

* Only ``ExecutionEngineFactory.create_for_user`` may build an engine: it passes the
  private ``_FACTORY_TOKEN``; any other construction raises ``RuntimeError`` naming the
  factory. (A shared engine is how one user's events reach another.)
* The factory binds the user's emitter with ``bind_emitter``; ``run_agent`` refuses to run
  without one (``RuntimeError``) rather than run silently.
"""

from __future__ import annotations

from typing import Any

from netra_backend.app.services.user_execution_context import UserExecutionContext

__all__ = ["ExecutionEngine"]

_FACTORY_TOKEN = object()


class ExecutionEngine:
    """Runs registry agents for one user context."""

    def __init__(
        self,
        registry: Any = None,
        user_context: UserExecutionContext | None = None,
        *,
        _token: object = None,
    ) -> None:
        if _token is not _FACTORY_TOKEN:
            raise RuntimeError(
                "ExecutionEngine cannot be constructed directly: use "
                "ExecutionEngineFactory.create_for_user(user_context) "
                "(netra_backend.app.agents.supervisor.execution_factory)"
            )
        self.registry = registry
        self.user_context = user_context
        self.emitter: Any = None

    def bind_emitter(self, emitter: Any) -> None:
        self.emitter = emitter

    async def run_agent(self, agent_name: str, message: str) -> Any:
        """Run ``agent_name`` on ``message``, reporting through this engine's emitter."""
        if self.emitter is None:
            raise RuntimeError(
                "ExecutionEngine has no emitter bound: build engines with "
                "ExecutionEngineFactory.create_for_user(user_context)"
            )
        agent = self.registry.get_agent(agent_name)
        return await agent.run(message, self.emitter)
