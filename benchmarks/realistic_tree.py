"""A realistic generated backend for the benchmarks: ~3,000 modules that look like a service.

Issue 10 asked for a tree that does not hide the cost of a scan: modules of real sizes (many
of 300-1,500 lines), the pipeline's common words everywhere (``manager``, ``context``,
``engine``, ``registry``, ``emitter``, ``server``, ``warnings.warn``), and decoys that a
name-only heuristic would pick:

* role-like classes in unrelated packages (a ``UserWebSocketEmitter`` with the notify methods
  in an agent factory module, a consolidated ``ExecutionEngineFactory``/``ExecutionEngine``
  that the application does not import, an ``AgentClassRegistry``, ``*Manager`` and
  ``*Context`` classes taking ``user_id`` in many packages);
* dozens of deprecated functions unrelated to the pipeline (DB sessions, start-up phases,
  circuit breakers), warning with ``DeprecationWarning``;
* an async function with no parameters that does I/O (``create_clickhouse_schema``), an async
  ``serve_metrics(host, port)`` that returns nothing, an admin ``start_server(host, port)``
  returning ``None``;
* framework dependencies taking a request object (``get_agent_websocket_bridge(request,
  user_id)``), a demo module wiring its own supervisor, an LLM circuit-breaker manager;
* four classes named ``UserExecutionContext``.

``TRUTH`` is what ``init`` should write for each role (``None``: a TODO is the right answer,
since the real LLM manager needs an API key); ``DECOYS`` are entries it must never activate;
``PIPELINE_DEPRECATED`` the deprecated entries it should activate (the others stay listed,
commented out). ``generate(root)`` writes ``root/src`` and a hand-written profile
``root/netra-diag.yaml`` (the truth, for ``run --static``). Nothing here is ever imported.
"""

from __future__ import annotations

import random
from pathlib import Path

PKG = "acme"
TRUTH: dict[str, str | None] = {
    "user_context": f"{PKG}.services.user_execution_context:UserExecutionContext",
    "manager_factory": f"{PKG}.websocket_core.websocket_manager_factory:create_websocket_manager",
    "emitter": f"{PKG}.websocket_core.unified_emitter:UnifiedWebSocketEmitter",
    "bridge_factory": f"{PKG}.services.agent_websocket_bridge:create_agent_websocket_bridge",
    "registry": f"{PKG}.agents.supervisor.agent_registry:AgentRegistry",
    "engine_factory": f"{PKG}.agents.supervisor.execution_factory:ExecutionEngineFactory",
    "engine": f"{PKG}.agents.supervisor.execution_engine:ExecutionEngine",
    "wiring_entry": f"{PKG}.dependencies:get_supervisor",
    "server": f"{PKG}.routes.websocket_server:start_server",
    "llm_manager": None,
}
DECOYS = {
    f"{PKG}.agents.factory.agent_instance_factory:UserWebSocketEmitter",
    f"{PKG}.agents.consolidated.execution_engine_consolidated:ExecutionEngineFactory",
    f"{PKG}.agents.consolidated.execution_engine_consolidated:ExecutionEngine",
    f"{PKG}.agents.agent_class_registry:AgentClassRegistry",
    f"{PKG}.routes.deps:get_agent_websocket_bridge",
    f"{PKG}.demo.demo_wiring:get_supervisor",
    f"{PKG}.db.clickhouse_init:create_clickhouse_schema",
    f"{PKG}.observability.metrics_server:serve_metrics",
    f"{PKG}.admin.console:start_server",
    f"{PKG}.resilience.llm_breakers:LLMCircuitBreakerManager",
    f"{PKG}.models.user_execution_context:UserExecutionContext",
    f"{PKG}.agents.context:UserExecutionContext",
    f"{PKG}.legacy.user_execution_context:UserExecutionContext",
}
PIPELINE_DEPRECATED = {
    f"{PKG}.websocket_core:get_websocket_manager": "create_websocket_manager",
    f"{PKG}.agents.supervisor.websocket_notifier:WebSocketNotifier": "AgentWebSocketBridge",
}
UNRELATED_DEPRECATED = 48  # deprecated functions of DB sessions, start-up, circuit breakers

_DOMAINS = ("billing", "orders", "threads", "messages", "users", "auth", "sessions", "audit",
            "metrics", "cache", "corpus", "documents", "search", "synthetic", "quality",
            "reports", "admin", "tenants", "quota", "alerts", "storage", "exports", "jobs",
            "schedules", "workflows", "tools", "prompts", "datasets", "billing_v2", "pricing",
            "secrets", "webhooks", "notifications", "integrations", "analytics", "feedback",
            "permissions", "teams", "projects", "invoices", "connectors", "pipelines",
            "monitoring", "health", "config", "migrations", "ingestion", "embeddings",
            "retrieval", "evaluation", "telemetry", "limits", "sandbox", "uploads",
            "schemas", "events_store", "policies", "crm", "support_desk", "demo_data")

_HEADER = '''"""{title}: {what}."""

from __future__ import annotations

import asyncio
import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

from {pkg}.core.config import get_settings
from {pkg}.{sib_domain}.{sib_mod} import {sib_class}Manager
{extra_imports}
logger = logging.getLogger(__name__)
'''

_BLOCKS = [
    '''

@dataclass
class {Name}Record{i}:
    """One {domain} record kept by the {domain} manager."""

    key: str
    user_id: str = ""
    amount: float = 0.0
    tags: list[str] = field(default_factory=list)

    def total(self, rate: float = 1.0) -> float:
        """The amount at ``rate``, rounded for display."""
        return round(self.amount * rate, 2)

    def to_dict(self) -> dict[str, Any]:
        return {{"key": self.key, "user_id": self.user_id, "amount": self.amount,
                "tags": list(self.tags)}}
''',
    '''

class {Name}Manager{i}:
    """Keeps {domain} state for the engine; the registry and the context come from the caller."""

    def __init__(self, context: Any = None, registry: dict[str, Any] | None = None) -> None:
        self.context = context
        self.registry = registry or {{}}
        self.engine = None
        self._lock = asyncio.Lock()

    async def load(self, key: str) -> dict[str, Any] | None:
        async with self._lock:
            value = self.registry.get(key)
            if value is None:
                logger.debug("%s: cache miss for %s", type(self).__name__, key)
            return value

    async def store(self, key: str, value: dict[str, Any]) -> None:
        async with self._lock:
            self.registry[key] = value

    def stats(self) -> dict[str, int]:
        return {{"entries": len(self.registry), "engine": int(self.engine is not None)}}
''',
    '''

def summarise_{domain}_{i}(rows: list[dict[str, Any]], *, context: Any = None) -> dict[str, float]:
    """Totals per user for the {domain} report (the manager hands the rows in)."""
    totals: dict[str, float] = {{}}
    for row in rows:
        user = str(row.get("user_id", "anonymous"))
        amount = float(row.get("amount", 0.0))
        if amount < 0:
            warnings.warn(f"negative amount for {{user}}", RuntimeWarning, stacklevel=2)
            continue
        totals[user] = totals.get(user, 0.0) + amount
    if context is not None:
        logger.info("summarised %d rows for %s", len(rows), getattr(context, "user_id", "?"))
    return totals
''',
    '''

async def refresh_{domain}_{i}(manager: Any, keys: list[str], timeout: float = 5.0) -> int:
    """Reload ``keys`` through the manager; returns how many were found."""
    found = 0
    for key in keys:
        try:
            value = await asyncio.wait_for(manager.load(key), timeout)
        except asyncio.TimeoutError:
            logger.warning("refresh of %s timed out", key)
            continue
        if value:
            found += 1
            await manager.store(key, dict(value, refreshed=True))
    return found
''',
    '''

class {Name}Service{i}:
    """Business rules for {domain}: validation, pricing and the events sent to the user."""

    retries = 3

    def __init__(self, manager: Any, settings: Any = None) -> None:
        self.manager = manager
        self.settings = settings or get_settings()
        self.server_url = getattr(self.settings, "server_url", "http://localhost")

    def validate(self, payload: dict[str, Any]) -> list[str]:
        problems = []
        for name in ("key", "user_id"):
            if not payload.get(name):
                problems.append(f"missing {{name}}")
        if len(str(payload.get("key", ""))) > 128:
            problems.append("key too long")
        return problems

    async def handle(self, payload: dict[str, Any]) -> dict[str, Any]:
        problems = self.validate(payload)
        if problems:
            return {{"ok": False, "problems": problems}}
        for attempt in range(self.retries):
            try:
                await self.manager.store(payload["key"], payload)
                return {{"ok": True, "attempts": attempt + 1}}
            except ConnectionError:
                await asyncio.sleep(0)
        return {{"ok": False, "problems": ["store unavailable"]}}
''',
    '''

def _normalise_{i}(value: Any) -> str:
    text = str(value).strip().lower()
    if not text:
        return ""
    parts = [p for p in text.replace("-", "_").split("_") if p]
    return "_".join(parts)


def build_{domain}_index_{i}(items: list[dict[str, Any]]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {{}}
    for position, item in enumerate(items):
        for word in str(item.get("title", "")).split():
            index.setdefault(_normalise_{i}(word), []).append(position)
    return {{k: sorted(set(v)) for k, v in index.items() if k}}
''',
]

_CONTEXT_BLOCK = '''

class {Name}Context:
    """What a {domain} request carries (the user and the tenant)."""

    def __init__(self, user_id: str, tenant_id: str = "default") -> None:
        self.user_id = user_id
        self.tenant_id = tenant_id
'''

_DEPRECATED_BLOCK = '''

def {name}(*args: Any, **kwargs: Any) -> Any:
    """{What} (kept for old call sites)."""
    warnings.warn("{name}() is deprecated; use {replacement}() instead",
                  DeprecationWarning, stacklevel=2)
    return {replacement}(*args, **kwargs)


def {replacement}(*args: Any, **kwargs: Any) -> Any:
    return {{"args": args, "kwargs": kwargs}}
'''

_DEPRECATED_KINDS = [("get_db_session", "create_db_session", "A database session"),
                     ("run_startup_phase", "run_startup_phase_v2", "A start-up phase"),
                     ("get_circuit_breaker", "create_circuit_breaker", "A circuit breaker"),
                     ("get_redis_client", "create_redis_client", "A Redis client")]

# -- the pipeline (the truth) --------------------------------------------------------------

_PIPELINE: dict[str, str] = {
    "services/user_execution_context.py": '''
"""The per-request user context."""
from dataclasses import dataclass


@dataclass(frozen=True)
class UserExecutionContext:
    user_id: str
    thread_id: str
    run_id: str
    request_id: str = ""
''',
    "websocket_core/__init__.py": '''
"""WebSocket core: per-user managers (and the deprecated singleton getter)."""
from acme.websocket_core.unified_manager import get_websocket_manager
from acme.websocket_core.websocket_manager_factory import create_websocket_manager

__all__ = ["create_websocket_manager", "get_websocket_manager"]
''',
    "websocket_core/unified_manager.py": '''
"""The per-user WebSocket manager."""
import warnings
from typing import Any

from acme.services.user_execution_context import UserExecutionContext


class UnifiedWebSocketManager:
    def __init__(self, user_context: UserExecutionContext) -> None:
        self.user_context = user_context
        self.connections: list[Any] = []

    def add_connection(self, connection: Any) -> None:
        self.connections.append(connection)

    def remove_connection(self, connection: Any) -> None:
        self.connections.remove(connection)

    async def send_to_user(self, message: dict[str, Any]) -> None:
        for connection in list(self.connections):
            await connection.send_json(message)


def get_websocket_manager() -> UnifiedWebSocketManager:
    """The shared manager (every user's events in one place)."""
    warnings.warn("get_websocket_manager() is deprecated and leaks events between users; "
                  "use create_websocket_manager(user_context)", UserWarning, stacklevel=2)
    return UnifiedWebSocketManager(None)  # type: ignore[arg-type]
''',
    "websocket_core/websocket_manager_factory.py": '''
"""Per-user managers."""
from acme.services.user_execution_context import UserExecutionContext
from acme.websocket_core.unified_manager import UnifiedWebSocketManager


def create_websocket_manager(user_context: UserExecutionContext) -> UnifiedWebSocketManager:
    return UnifiedWebSocketManager(user_context)


def create_session_manager(user_context: UserExecutionContext) -> dict:
    return {"user": user_context.user_id}
''',
    "websocket_core/unified_emitter.py": '''
"""The emitter the bridge hands out: one per user run."""
from typing import Any


class UnifiedWebSocketEmitter:
    def __init__(self, manager: Any, user_context: Any) -> None:
        self.manager = manager
        self.user_context = user_context

    async def send_event(self, event_type: str, data: dict[str, Any]) -> None:
        await self.manager.send_to_user({"type": event_type, "data": data})

    async def notify_agent_started(self, agent_name: str) -> None:
        await self.send_event("agent_started", {"agent": agent_name})

    async def notify_agent_thinking(self, thought: str) -> None:
        await self.send_event("agent_thinking", {"thought": thought})

    async def notify_tool_executing(self, tool: str) -> None:
        await self.send_event("tool_executing", {"tool": tool})

    async def notify_tool_completed(self, tool: str, result: Any = None) -> None:
        await self.send_event("tool_completed", {"tool": tool, "result": result})

    async def notify_agent_completed(self, result: Any = None) -> None:
        await self.send_event("agent_completed", {"result": result})

    def get_emitter_status(self) -> dict[str, Any]:
        return {"user": getattr(self.user_context, "user_id", None)}
''',
    "services/agent_websocket_bridge.py": '''
"""The bridge between agents and the user's WebSocket."""
from typing import Any

from acme.services.user_execution_context import UserExecutionContext
from acme.websocket_core.unified_emitter import UnifiedWebSocketEmitter
from acme.websocket_core.websocket_manager_factory import create_websocket_manager


class AgentWebSocketBridge:
    def __init__(self) -> None:
        self._managers: dict[str, Any] = {}

    def set_websocket_manager(self, manager: Any, user_context: UserExecutionContext) -> None:
        self._managers[user_context.user_id] = manager

    async def create_user_emitter(self, user_context: UserExecutionContext
                                  ) -> UnifiedWebSocketEmitter:
        manager = self._managers.get(user_context.user_id) or create_websocket_manager(
            user_context)
        return UnifiedWebSocketEmitter(manager, user_context)


def create_agent_websocket_bridge() -> AgentWebSocketBridge:
    return AgentWebSocketBridge()
''',
    "agents/supervisor/__init__.py": '"""The supervisor agent and its wiring."""\n',
    "agents/supervisor/websocket_notifier.py": '''
"""The old notifier."""
import warnings


class WebSocketNotifier:
    def __init__(self, manager=None) -> None:
        warnings.warn("WebSocketNotifier is deprecated; use AgentWebSocketBridge",
                      DeprecationWarning, stacklevel=2)
        self.manager = manager
''',
    "agents/supervisor/agent_registry.py": '''
"""The agents, wired to the user's bridge."""
from typing import Any

from acme.llm.llm_manager import LLMManager
from acme.services.agent_websocket_bridge import create_agent_websocket_bridge


class AgentRegistry:
    def __init__(self, llm_manager: LLMManager) -> None:
        self.llm_manager = llm_manager
        self.websocket_bridge = None
        self._agents: dict[str, Any] = {}

    async def set_websocket_manager(self, manager: Any, user_context: Any) -> None:
        self.websocket_bridge = create_agent_websocket_bridge()
        self.websocket_bridge.set_websocket_manager(manager, user_context)

    def get_agent(self, name: str) -> Any:
        return self._agents.get(name)

    def list_agents(self) -> list[str]:
        return sorted(self._agents)
''',
    "agents/supervisor/execution_engine.py": '''
"""The per-user execution engine."""
from typing import Any


class ExecutionEngine:
    def __init__(self, registry: Any, emitter: Any, user_context: Any) -> None:
        self.registry, self.emitter, self.user_context = registry, emitter, user_context

    async def run_agent(self, name: str, message: str) -> Any:
        agent = self.registry.get_agent(name)
        await self.emitter.notify_agent_started(name)
        return await agent.run(message, self.emitter)
''',
    "agents/supervisor/execution_factory.py": '''
"""Engines per user, each with that user's emitter."""
from typing import Any

from acme.agents.supervisor.agent_registry import AgentRegistry
from acme.agents.supervisor.execution_engine import ExecutionEngine


class ExecutionEngineFactory:
    def __init__(self, registry: AgentRegistry, bridge: Any) -> None:
        self.registry, self.bridge = registry, bridge

    async def create_for_user(self, user_context: Any) -> ExecutionEngine:
        emitter = await self.bridge.create_user_emitter(user_context)
        return ExecutionEngine(self.registry, emitter, user_context)
''',
    "agents/supervisor/supervisor.py": '''
"""What the wiring returns."""
from typing import Any


class SupervisorAgent:
    def __init__(self, agent_registry: Any, engine_factory: Any, websocket_manager: Any,
                 user_context: Any) -> None:
        self.agent_registry = agent_registry
        self.engine_factory = engine_factory
        self.websocket_manager = websocket_manager
        self.user_context = user_context

    async def run(self, message: str) -> Any:
        engine = await self.engine_factory.create_for_user(self.user_context)
        return await engine.run_agent("triage", message)
''',
    "dependencies.py": '''
"""How a request gets its supervisor."""
from acme.agents.supervisor.agent_registry import AgentRegistry
from acme.agents.supervisor.execution_factory import ExecutionEngineFactory
from acme.agents.supervisor.supervisor import SupervisorAgent
from acme.llm.llm_manager import LLMManager
from acme.services.user_execution_context import UserExecutionContext
from acme.websocket_core.websocket_manager_factory import create_websocket_manager


async def get_supervisor(user_context: UserExecutionContext,
                         llm_manager: LLMManager | None = None) -> SupervisorAgent:
    manager = create_websocket_manager(user_context)
    registry = AgentRegistry(llm_manager=llm_manager or LLMManager.from_settings())
    await registry.set_websocket_manager(manager, user_context)
    engines = ExecutionEngineFactory(registry, registry.websocket_bridge)
    return SupervisorAgent(registry, engines, manager, user_context)
''',
    "llm/__init__.py": '"""Model access."""\n',
    "llm/llm_manager.py": '''
"""The hosted model (needs a key)."""


class LLMManager:
    def __init__(self, api_key: str, model: str = "large") -> None:
        self.api_key, self.model = api_key, model

    @classmethod
    def from_settings(cls) -> "LLMManager":
        return cls(api_key="from-settings")

    async def ask(self, prompt: str) -> str:
        raise ConnectionError("no network here")
''',
    "routes/__init__.py": '"""HTTP and WebSocket routes."""\n',
    "routes/websocket_server.py": '''
"""The WebSocket endpoint."""
from typing import Any

from acme.dependencies import get_supervisor
from acme.services.user_execution_context import UserExecutionContext


class RunningServer:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    async def close(self) -> None:
        return None


async def start_server(host: str = "127.0.0.1", port: int = 0,
                       users: dict[str, str] | None = None) -> RunningServer:
    return RunningServer(host, port)


async def handle_run(user_id: str, message: str) -> Any:
    context = UserExecutionContext(user_id, "t", "r")
    return await get_supervisor(context)
''',
    "routes/deps.py": '''
"""FastAPI dependencies."""
from typing import Any

from acme.services.agent_websocket_bridge import AgentWebSocketBridge


class Request:  # stands in for the framework's request
    headers: dict[str, str] = {}


async def get_agent_websocket_bridge(request: Request, user_id: str) -> AgentWebSocketBridge:
    return request.app.state.bridges[user_id]


def get_user_context_from_request(request: Request) -> Any:
    return request.state.user_context
''',
    # -- decoys --------------------------------------------------------------------------
    "agents/factory/__init__.py": '"""Agent instances."""\n',
    "agents/factory/agent_instance_factory.py": '''
"""Builds agent instances (and an emitter of its own, unused by the bridge)."""
from typing import Any


class UserWebSocketEmitter:
    def __init__(self, user_id: str, websocket: Any) -> None:
        self.user_id, self.websocket = user_id, websocket

    async def notify_agent_started(self, agent_name: str) -> None: ...
    async def notify_agent_thinking(self, thought: str) -> None: ...
    async def notify_tool_executing(self, tool: str) -> None: ...
    async def notify_tool_completed(self, tool: str, result: Any = None) -> None: ...
    async def notify_agent_completed(self, result: Any = None) -> None: ...
''',
    "agents/consolidated/__init__.py": '"""The consolidated engine (never finished)."""\n',
    "agents/consolidated/execution_engine_consolidated.py": '''
"""A consolidated engine and factory; the application does not use them."""
from typing import Any


class ExecutionEngine:
    def __init__(self) -> None:
        self.agents: dict[str, Any] = {}

    async def run_agent(self, name: str, message: str) -> Any:
        return None


class ExecutionEngineFactory:
    def __init__(self) -> None:
        self.engines: list[ExecutionEngine] = []

    async def create_for_user(self, user_context: Any) -> ExecutionEngine:
        engine = ExecutionEngine()
        self.engines.append(engine)
        return engine
''',
    "agents/agent_class_registry.py": '''
"""Agent classes by name (not the per-user registry)."""
from typing import Any


class AgentClassRegistry:
    def __init__(self) -> None:
        self._classes: dict[str, type] = {}

    def get_agent(self, name: str) -> Any:
        return self._classes.get(name)

    def list_agents(self) -> list[str]:
        return sorted(self._classes)
''',
    "demo/__init__.py": '"""Demo mode."""\n',
    "demo/demo_wiring.py": '''
"""A demo supervisor (seeded data, no user isolation)."""
from acme.agents.consolidated.execution_engine_consolidated import ExecutionEngineFactory


async def get_supervisor(user_context) -> ExecutionEngineFactory:
    return ExecutionEngineFactory()
''',
    "db/clickhouse_init.py": '''
"""ClickHouse schema set-up."""
from acme.db.clients import get_clickhouse_client

SCHEMA_DDL = "CREATE TABLE IF NOT EXISTS events (id String) ENGINE = MergeTree ORDER BY id"


async def create_clickhouse_schema():
    client = await get_clickhouse_client()
    await client.execute(SCHEMA_DDL)
    return client
''',
    "observability/metrics_server.py": '''
"""Prometheus metrics endpoint."""
import asyncio


async def serve_metrics(host: str, port: int) -> None:
    server = await asyncio.start_server(lambda r, w: None, host, port)
    async with server:
        await server.serve_forever()
''',
    "admin/console.py": '''
"""The admin console."""
import asyncio


async def start_server(host: str, port: int) -> None:
    await asyncio.sleep(0)
''',
    "resilience/llm_breakers.py": '''
"""Circuit breakers around the model."""


class LLMCircuitBreakerManager:
    def __init__(self) -> None:
        self.open = False
''',
    "models/user_execution_context.py": '''
"""An older copy of the context."""


class UserExecutionContext:
    def __init__(self, user_id: str, thread_id: str = "") -> None:
        self.user_id, self.thread_id = user_id, thread_id
''',
    "agents/context.py": '''
"""The agents' own context type."""


class UserExecutionContext:
    def __init__(self, user_id: str, run_id: str = "") -> None:
        self.user_id, self.run_id = user_id, run_id
''',
    "legacy/user_execution_context.py": '''
"""The legacy context."""


class UserExecutionContext:
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
''',
    "core/config.py": '''
"""Settings."""


class Settings:
    server_url = "http://localhost"


def get_settings() -> Settings:
    return Settings()
''',
    "db/clients.py": '''
"""Database clients."""


async def get_clickhouse_client():
    raise ConnectionError("no database here")
''',
}
#: Modules that import the real context (so it is the most imported one).
_CONTEXT_IMPORT = f"from {PKG}.services.user_execution_context import UserExecutionContext\n"


def _module(rng: random.Random, domain: str, n: int, index: int, lines_goal: int,
            sibling: tuple[str, str, str]) -> str:
    extra = _CONTEXT_IMPORT if index % 7 == 0 else ""
    text = _HEADER.format(title=f"{domain.title()} module {n}", what=rng.choice(
        ("orders and invoices", "the manager's bookkeeping", "engine jobs", "context helpers",
         "registry lookups", "the emitter's payloads", "server-side caching")),
        pkg=PKG, sib_domain=sibling[0], sib_mod=sibling[1], sib_class=sibling[2],
        extra_imports=extra)
    name = "".join(p.title() for p in domain.split("_"))
    if index % 5 == 0:
        text += _CONTEXT_BLOCK.format(Name=f"{name}{n}", domain=domain)
    i = 0
    lines = text.count("\n")
    while lines < lines_goal:
        block = _BLOCKS[(i + n) % len(_BLOCKS)].format(Name=name, i=i, domain=domain)
        text += block
        lines += block.count("\n")
        i += 1
    return text


def _size(rng: random.Random) -> int:
    """Module sizes like a real service's: many of 300-1,500 lines, some small, a few big."""
    roll = rng.random()
    if roll < 0.25:
        return rng.randint(40, 300)
    if roll < 0.93:
        return rng.randint(300, 1500)
    return rng.randint(1500, 3000)


def generate(root: Path, modules: int = 3000, seed: int = 10,
             max_lines: int | None = None) -> Path:
    """Write ``root/src/acme`` (about ``modules`` modules, at least ~210) and
    ``root/netra-diag.yaml``; ``max_lines`` caps each module's filler (the same tree, in
    less text: for tests about which files are read, not how fast)."""
    rng = random.Random(seed)
    src = root / "src" / PKG
    files: dict[str, str] = {"__init__.py": '"""The acme backend."""\n'}
    for rel, text in _PIPELINE.items():
        files[rel] = text.lstrip("\n")
    # dozens of deprecated functions unrelated to the pipeline
    for k in range(UNRELATED_DEPRECATED):
        name, repl, what = _DEPRECATED_KINDS[k % len(_DEPRECATED_KINDS)]
        folder = ("db", "startup", "resilience", "cache")[k % 4]
        files[f"{folder}/compat_{k:02d}.py"] = (
            '"""Compatibility shims."""\nimport warnings\nfrom typing import Any\n' +
            _DEPRECATED_BLOCK.format(name=f"{name}_{k}", replacement=f"{repl}_{k}", What=what))
    per_domain = max(1, (modules - len(files)) // len(_DOMAINS))
    siblings = [(d, f"{d}_{0:04d}", "".join(p.title() for p in d.split("_")) + "0")
                for d in _DOMAINS]
    count = 0
    for d, domain in enumerate(_DOMAINS):
        sibling = siblings[(d + 1) % len(siblings)]
        for j in range(per_domain):
            n = d * per_domain + j
            size = min(_size(rng), max_lines or 10**9)
            files[f"{domain}/{domain}_{j:04d}.py"] = _module(rng, domain, j, n, size,
                                                             (sibling[0], sibling[1],
                                                              sibling[2].removesuffix("0")))
            count += 1
    for rel in list(files):
        parts = rel.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            files.setdefault("/".join([*parts[:k], "__init__.py"]), '"""A package."""\n')
    for rel, text in files.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    roles = "\n".join(f"  {r}: {e}" for r, e in TRUTH.items() if e)
    deprecated = "\n".join(f"  - entry: {e}\n    replacement: {r}"
                           for e, r in PIPELINE_DEPRECATED.items())
    (root / "netra-diag.yaml").write_text(
        f"schema: netra-diag/profile/v1\nname: acme\nroot: src\nroles:\n{roles}\n"
        f"deprecated:\n{deprecated}\n")
    return root
