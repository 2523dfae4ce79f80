"""The application's wiring path: how one request gets its supervisor.

``get_supervisor(user_context)`` runs for every agent run, in this order (incident phase 1):
the per-user manager from ``create_websocket_manager(user_context)``, never the deprecated
singleton (it reaches nobody); the ``AgentRegistry`` with its required ``llm_manager``, awaiting
``set_websocket_manager`` so its agents get the bridge; the engine factory on that bridge.
"""

from __future__ import annotations

from netra_backend.app.agents.supervisor.agent_registry import AgentRegistry
from netra_backend.app.agents.supervisor.execution_factory import ExecutionEngineFactory
from netra_backend.app.agents.supervisor.supervisor import SupervisorAgent
from netra_backend.app.llm.llm_manager import ScriptedLLMManager
from netra_backend.app.services.user_execution_context import UserExecutionContext
from netra_backend.app.websocket_core.websocket_manager_factory import create_websocket_manager

__all__ = ["get_supervisor"]


async def get_supervisor(
    user_context: UserExecutionContext, llm_manager: object | None = None
) -> SupervisorAgent:
    """Wire a supervisor for ``user_context``'s request (see the module docstring)."""
    websocket_manager = create_websocket_manager(user_context)
    registry = AgentRegistry(llm_manager=llm_manager or ScriptedLLMManager())
    await registry.set_websocket_manager(websocket_manager, user_context)
    bridge = registry.websocket_bridge
    engine_factory = ExecutionEngineFactory(registry, bridge)
    return SupervisorAgent(
        agent_registry=registry,
        engine_factory=engine_factory,
        websocket_manager=websocket_manager,
        user_context=user_context,
    )
