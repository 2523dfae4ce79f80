"""The agent registry: builds agents and wires the WebSocket bridge to every one it hands out.

Rules:

* ``llm_manager`` is required (the agents cannot think without it); there is no default.
* ``await set_websocket_manager(manager, user_context)`` stores the manager, builds a bridge
  bound to it for that user, and wires that bridge to every agent: the ones handed out
  before (their ``websocket_bridge`` is updated) and every one handed out after.
* ``get_agent(name)`` returns one agent instance per name per registry (a registry is built
  per request by the wiring path); an unknown name raises ``LookupError`` listing the known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netra_backend.app.agents.demo_agent import DemoAgent
from netra_backend.app.services.agent_websocket_bridge import (
    AgentWebSocketBridge,
    create_agent_websocket_bridge,
)
from netra_backend.app.services.user_execution_context import UserExecutionContext

__all__ = ["AGENT_TYPES", "AgentRegistry"]

#: Agent name -> constructor taking the LLM manager.
AGENT_TYPES: dict[str, Callable[[Any], Any]] = {"demo": DemoAgent}


class AgentRegistry:
    """Hands out agents, each carrying the registry's bridge once it is wired."""

    def __init__(self, llm_manager: Any) -> None:
        if llm_manager is None:
            raise ValueError("AgentRegistry needs an llm_manager (got None)")
        self.llm_manager = llm_manager
        self.websocket_manager: Any = None
        self.websocket_bridge: AgentWebSocketBridge | None = None
        self._agents: dict[str, Any] = {}

    async def set_websocket_manager(self, manager: Any, user_context: UserExecutionContext) -> None:
        """Store ``manager``, bind a bridge to it and wire that bridge to every agent."""
        self.websocket_manager = manager
        bridge = create_agent_websocket_bridge()
        bridge.set_websocket_manager(manager, user_context)
        self.websocket_bridge = bridge
        for agent in self._agents.values():
            self._wire(agent)

    def list_agents(self) -> list[str]:
        return sorted(AGENT_TYPES)

    def get_agent(self, name: str) -> Any:
        """The registry's ``name`` agent, wired to its bridge."""
        agent = self._agents.get(name)
        if agent is None:
            factory = AGENT_TYPES.get(name)
            if factory is None:
                known = ", ".join(self.list_agents())
                raise LookupError(f"unknown agent {name!r}; known agents: {known}")
            agent = self._agents[name] = factory(self.llm_manager)
        self._wire(agent)
        return agent

    def _wire(self, agent: Any) -> None:
        agent.websocket_bridge = self.websocket_bridge
