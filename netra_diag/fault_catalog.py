"""The named faults of the reference pipeline (data), and the scenarios that group them.

The rules a fault follows (exact text, applied exactly once, disjoint incident faults, one
owner in ``detected_by``) are in ``faults``, which applies them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FAULTS", "SCENARIOS", "Fault", "Mutation"]


@dataclass(frozen=True)
class Mutation:
    """Replace ``old`` (exact text, found exactly once) with ``new`` in ``path``."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Fault:
    """A named defect: what it breaks, which checks must catch it, and how it is made."""

    name: str
    description: str
    detected_by: tuple[str, ...]
    mutations: tuple[Mutation, ...]
    #: what its checks need to see it: "backplane" for the fleet's faults (they act only
    #: between instances, so a single process, and event-flow, never sees them)
    needs: tuple[str, ...] = ()


_DEPS = "netra_backend/app/dependencies.py"
_EMITTER = "netra_backend/app/websocket_core/unified_emitter.py"
_FACTORY = "netra_backend/app/agents/supervisor/execution_factory.py"
_ENGINE = "netra_backend/app/agents/supervisor/execution_engine.py"
_REGISTRY = "netra_backend/app/agents/supervisor/agent_registry.py"
_MANAGER = "netra_backend/app/websocket_core/websocket_manager_factory.py"
_SINGLETON = "netra_backend/app/websocket_core/unified_manager.py"
_NOTIFIER = "netra_backend/app/agents/supervisor/websocket_notifier.py"
_BRIDGE = "netra_backend/app/services/agent_websocket_bridge.py"
_BACKPLANE = "netra_backend/app/websocket_core/backplane.py"

_NOTIFY_METHODS = """
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
"""

_ENGINE_GUARD = """        if _token is not _FACTORY_TOKEN:
            raise RuntimeError(
                "ExecutionEngine cannot be constructed directly: use "
                "ExecutionEngineFactory.create_for_user(user_context) "
                "(netra_backend.app.agents.supervisor.execution_factory)"
            )
"""

_ALL: tuple[Fault, ...] = (
    Fault(
        name="deprecated-singleton-import",
        description=(
            "dependencies.py line 16 imports the deprecated get_websocket_manager from "
            "netra_backend.app.websocket_core and get_supervisor wires the shared singleton "
            "instead of create_websocket_manager(user_context): every event goes to a manager "
            "no connection is registered with, so none reaches the user"
        ),
        detected_by=("import-chain", "event-flow"),
        mutations=(
            Mutation(
                _DEPS,
                "from netra_backend.app.websocket_core.websocket_manager_factory import "
                "create_websocket_manager\n",
                "from netra_backend.app.websocket_core import get_websocket_manager\n",
            ),
            Mutation(
                _DEPS,
                "    websocket_manager = create_websocket_manager(user_context)\n",
                "    websocket_manager = get_websocket_manager()\n",
            ),
        ),
    ),
    Fault(
        name="unawaited-user-emitter",
        description=(
            "ExecutionEngineFactory.create_for_user calls the async "
            "bridge.create_user_emitter(user_context) without await, so the engine's "
            "emitter is a coroutine and the agent's first notify call raises AttributeError"
        ),
        detected_by=("emitter-methods", "event-flow"),
        mutations=(
            Mutation(
                _FACTORY,
                "        emitter = await self.bridge.create_user_emitter(user_context)\n",
                "        emitter = self.bridge.create_user_emitter(user_context)\n",
            ),
        ),
    ),
    Fault(
        name="emitter-missing-notify",
        description=(
            "UnifiedWebSocketEmitter lacks its five notify_* methods (only send_event is "
            "left), so agents cannot report agent_started .. agent_completed"
        ),
        detected_by=("emitter-methods", "event-flow"),
        mutations=(Mutation(_EMITTER, _NOTIFY_METHODS, ""),),
    ),
    Fault(
        name="registry-missing-llm-manager",
        description=(
            "get_supervisor builds AgentRegistry() without its required llm_manager, so the "
            "wiring path raises TypeError before any agent runs"
        ),
        detected_by=("registry-wiring", "event-flow"),
        mutations=(
            Mutation(
                _DEPS,
                "    registry = AgentRegistry(llm_manager=llm_manager or ScriptedLLMManager())\n",
                "    registry = AgentRegistry()\n",
            ),
        ),
    ),
    Fault(
        name="engine-factory-no-emitter",
        description=(
            "ExecutionEngineFactory.create_for_user builds the engine but never binds the "
            "user's emitter to it, so run_agent has nothing to report through"
        ),
        detected_by=("engine-factory", "event-flow"),
        mutations=(Mutation(_FACTORY, "        engine.bind_emitter(emitter)\n", ""),),
    ),
    Fault(
        name="deprecation-silenced",
        description=(
            "the deprecated entry points (get_websocket_manager, WebSocketNotifier) no longer "
            "emit DeprecationWarning, so their remaining callers go unnoticed"
        ),
        detected_by=("deprecation-warnings",),
        mutations=(
            Mutation(
                _SINGLETON,
                """    warnings.warn(
        "SECURITY WARNING: get_websocket_manager() returns a singleton shared across users; "
        "use create_websocket_manager(user_context)",
        DeprecationWarning,
        stacklevel=2,
    )
""",
                "",
            ),
            Mutation(
                _NOTIFIER,
                """        warnings.warn(
            "WebSocketNotifier is deprecated. Use AgentWebSocketBridge instead",
            DeprecationWarning,
            stacklevel=2,
        )
""",
                "",
            ),
        ),
    ),
    Fault(
        name="registry-stores-not-wires",
        description=(
            "AgentRegistry.set_websocket_manager stores the manager and builds a bridge but "
            "never wires it to agents: every agent get_agent hands out has websocket_bridge "
            "None (delivery still works, because the engine passes its own emitter)"
        ),
        detected_by=("registry-wiring",),
        mutations=(
            Mutation(
                _REGISTRY,
                "        self.websocket_bridge = bridge\n"
                "        for agent in self._agents.values():\n"
                "            self._wire(agent)\n",
                "        self.websocket_bridge = bridge\n",
            ),
            Mutation(
                _REGISTRY,
                "        self._wire(agent)\n        return agent\n",
                "        return agent\n",
            ),
        ),
    ),
    Fault(
        name="broadcast-events",
        description=(
            "the per-user manager sends every event to every connected user instead of only "
            "its own user's connections"
        ),
        detected_by=("user-isolation",),
        mutations=(
            Mutation(
                _MANAGER,
                "        for conn in self._hub.connections_for(self.user_id):\n",
                "        for conn in self._hub.all_connections():\n",
            ),
        ),
    ),
    Fault(
        name="slow-emission",
        description=(
            "the emitter sleeps 120 ms between stamping an event and sending it, beyond the "
            "50 ms per-event budget"
        ),
        detected_by=("event-latency",),
        mutations=(
            Mutation(
                _EMITTER,
                "from __future__ import annotations\n\nimport itertools\n",
                "from __future__ import annotations\n\nimport asyncio\nimport itertools\n",
            ),
            Mutation(
                _EMITTER,
                "        )\n        return await self.websocket_manager.send_to_user(event)\n",
                "        )\n        await asyncio.sleep(0.12)\n"
                "        return await self.websocket_manager.send_to_user(event)\n",
            ),
        ),
    ),
    Fault(
        name="context-split",
        description=(
            "a half-finished migration: the bridge defines its own UserExecutionContext "
            "instead of importing the one in services/user_execution_context.py, so "
            "create_user_emitter rejects every context the application builds (TypeError) "
            "while create_websocket_manager accepts only the other class"
        ),
        detected_by=("context-identity", "event-flow"),
        mutations=(
            Mutation(
                _BRIDGE,
                "from netra_backend.app.services.user_execution_context import "
                "UserExecutionContext\n",
                "from dataclasses import dataclass, field\n\n"
                "from netra_backend.app.services.user_execution_context import new_run_id\n\n\n"
                "@dataclass(frozen=True)\n"
                "class UserExecutionContext:\n"
                '    """A copy of the request context, kept here during the migration."""\n\n'
                "    user_id: str\n"
                "    request_id: str\n"
                "    thread_id: str\n"
                "    run_id: str = field(default_factory=new_run_id)\n\n\n",
            ),
        ),
    ),
    Fault(
        name="engine-direct-construction",
        description=(
            "ExecutionEngine no longer refuses direct construction, so engines can be built "
            "outside the per-user factory (and shared between users)"
        ),
        detected_by=("engine-factory",),
        mutations=(Mutation(_ENGINE, _ENGINE_GUARD, ""),),
    ),
    # -- the fleet: several instances sharing a Redis backplane ------------------------------
    Fault(
        name="local-only-emit",
        description=(
            "the per-user manager delivers to the connections of its own instance and never "
            "publishes to the backplane, so a user whose socket is on another instance than "
            "the run sees nothing (a single process is unaffected)"
        ),
        detected_by=("cross-instance-delivery",),
        needs=("backplane",),
        mutations=(
            Mutation(
                _MANAGER,
                "            await backplane.publish(channel_for(backplane.prefix, ctx.user_id, "
                "ctx.thread_id),\n                                    event)\n",
                "            pass  # delivered locally above\n",
            ),
        ),
    ),
    Fault(
        name="duplicate-delivery",
        description=(
            "the backplane reader does not skip the messages its own instance published, so "
            "the run's instance delivers every event twice: locally, then again through Redis"
        ),
        detected_by=("cross-instance-delivery",),
        needs=("backplane",),
        mutations=(
            Mutation(
                _BACKPLANE,
                "        if origin == self.instance_id:\n"
                "            return  # delivered locally when it was published\n",
                "",
            ),
        ),
    ),
    Fault(
        name="channel-per-thread-not-user",
        description=(
            "the backplane channel is keyed by thread id instead of user id, so two users "
            "who both call their conversation 'main' receive each other's events on every "
            "other instance"
        ),
        detected_by=("backplane-isolation",),
        needs=("backplane",),
        mutations=(
            Mutation(
                _BACKPLANE,
                '    return f"{prefix}user:{user_id}"\n',
                '    return f"{prefix}thread:{thread_id}"\n',
            ),
        ),
    ),
    Fault(
        name="no-resubscribe-after-reconnect",
        description=(
            "after the backplane connection drops, the reader reconnects but never subscribes "
            "again: the connection is back, the channel is not, and no event crosses "
            "instances any more"
        ),
        detected_by=("backplane-resilience",),
        needs=("backplane",),
        mutations=(
            Mutation(
                _BACKPLANE,
                "                        pubsub = await self._connect()\n"
                "                        await self._subscribe(pubsub)\n",
                "                        pubsub = await self._connect()\n",
            ),
        ),
    ),
)

#: Every fault by name, in declaration order (the incident's five first).
FAULTS: dict[str, Fault] = {fault.name: fault for fault in _ALL}

#: Named sets of faults.
SCENARIOS: dict[str, tuple[str, ...]] = {
    "healthy": (),
    "incident": (
        "deprecated-singleton-import",
        "unawaited-user-emitter",
        "emitter-missing-notify",
        "registry-missing-llm-manager",
        "engine-factory-no-emitter",
    ),
}
