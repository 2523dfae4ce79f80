"""A small synthetic backend for honesty tests, written into a temporary folder.

It has the pipeline's shape (context, per-user channel manager, emitter, bridge, registry,
engine and its factory, a wiring entry whose result runs an agent) in a dozen lines per
module, and a hand-written profile. Tests change one file or one profile key to reproduce
one reviewer finding, then run a check against it in a fresh interpreter, as ``run`` does.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from netra_diag.model import CheckResult
from netra_diag.profile import load_profile
from netra_diag.registry import Registry
from netra_diag.runner import Runner

FILES: dict[str, str] = {
    "synthapp/__init__.py": "",
    "synthapp/context.py": """
        from dataclasses import dataclass, field
        import uuid

        @dataclass(frozen=True)
        class UserExecutionContext:
            user_id: str
            thread_id: str
            request_id: str
            run_id: str = field(default_factory=lambda: f"run-{uuid.uuid4().hex[:8]}")
        """,
    "synthapp/channels.py": """
        import inspect, json
        from synthapp.context import UserExecutionContext

        _CONNS: dict[str, list] = {}

        async def _push(conn, text):
            result = conn.send(text)
            if inspect.isawaitable(result):
                await result

        class ChannelManager:
            def __init__(self, user_context: UserExecutionContext):
                self.user_id = user_context.user_id
            def add_connection(self, conn):
                _CONNS.setdefault(self.user_id, []).append(conn)
            async def send_to_user(self, event: dict) -> int:
                conns = list(_CONNS.get(self.user_id, []))
                for conn in conns:
                    await _push(conn, json.dumps(event))
                return len(conns)

        def channel_manager_for(user_context: UserExecutionContext) -> ChannelManager:
            return ChannelManager(user_context)
        """,
    "synthapp/emitter.py": """
        import itertools, time

        class RunEmitter:
            def __init__(self, manager, user_context):
                self.manager, self.ctx = manager, user_context
                self._seq = itertools.count(1)
            async def send_event(self, event_type, data=None):
                c = self.ctx
                return await self.manager.send_to_user({
                    "type": event_type, "user_id": c.user_id, "thread_id": c.thread_id,
                    "run_id": c.run_id, "seq": next(self._seq), "timestamp": time.time(),
                    "data": dict(data or {})})
            async def notify_agent_started(self, name: str):
                return await self.send_event("agent_started", {"agent": name})
            async def notify_agent_thinking(self, text: str):
                return await self.send_event("agent_thinking", {"text": text.upper()})
            async def notify_tool_executing(self, tool: str):
                return await self.send_event("tool_executing", {"tool": tool})
            async def notify_tool_completed(self, tool: str, result: str):
                return await self.send_event("tool_completed", {"result": result.strip()})
            async def notify_agent_completed(self, summary: str, duration_ms: float):
                return await self.send_event("agent_completed", {"ms": duration_ms})
        """,
    "synthapp/bridge.py": """
        from synthapp.channels import channel_manager_for
        from synthapp.emitter import RunEmitter

        class EventBridge:
            def create_user_emitter(self, user_context):
                return RunEmitter(channel_manager_for(user_context), user_context)

        def make_bridge() -> EventBridge:
            return EventBridge()
        """,
    "synthapp/agents.py": """
        class EchoAgent:
            def __init__(self):
                self.websocket_bridge = None
            async def execute(self, emitter, message):
                await emitter.notify_agent_started("echo")
                await emitter.notify_agent_thinking("considering")
                await emitter.notify_tool_executing("counter")
                await emitter.notify_tool_completed("counter", "3 words")
                await emitter.notify_agent_completed("done", 1.0)
        """,
    "synthapp/registry.py": """
        from synthapp.agents import EchoAgent
        from synthapp.bridge import make_bridge

        class AgentRegistry:
            def __init__(self, llm_client):
                self.llm = llm_client
                self._agents = {"echo": EchoAgent()}
            def set_websocket_manager(self, manager, user_context):
                for agent in self._agents.values():
                    agent.websocket_bridge = make_bridge()
            def list_agents(self):
                return list(self._agents)
            def get_agent(self, name):
                return self._agents[name]
        """,
    "synthapp/engine.py": """
        _TOKEN = object()

        class Engine:
            def __init__(self, user_context, emitter, registry, _token=None):
                if _token is not _TOKEN:
                    raise RuntimeError("use EngineFactory.create_for_user")
                self.user_context, self.emitter, self.registry = user_context, emitter, registry
            async def run_agent(self, agent_name, message):
                return await self.registry.get_agent(agent_name).execute(self.emitter, message)
        """,
    "synthapp/factory.py": """
        from synthapp.engine import Engine, _TOKEN

        class EngineFactory:
            def __init__(self, registry, bridge):
                self.registry, self.bridge = registry, bridge
            def create_for_user(self, user_context):
                emitter = self.bridge.create_user_emitter(user_context)
                return Engine(user_context, emitter, self.registry, _token=_TOKEN)
        """,
    "synthapp/legacy.py": """
        import warnings
        from synthapp.channels import ChannelManager
        from synthapp.context import UserExecutionContext

        def shared_channels():
            warnings.warn("shared_channels() is deprecated; use channel_manager_for(ctx)",
                          DeprecationWarning, stacklevel=2)
            return ChannelManager(UserExecutionContext("shared", "t", "r"))
        """,
    "synthapp/wiring.py": """
        from synthapp.bridge import make_bridge
        from synthapp.channels import channel_manager_for
        from synthapp.factory import EngineFactory
        from synthapp.registry import AgentRegistry

        class Supervisor:
            def __init__(self, user_context, factory):
                self.user_context, self.factory = user_context, factory
            async def run(self, message, agent_name="echo"):
                engine = self.factory.create_for_user(self.user_context)
                return await engine.run_agent(agent_name, message)

        def get_supervisor(user_context):
            manager = channel_manager_for(user_context)
            registry = AgentRegistry(llm_client=None)
            registry.set_websocket_manager(manager, user_context)
            return Supervisor(user_context, EngineFactory(registry, make_bridge()))
        """,
}

PROFILE: dict[str, Any] = {
    "schema": "netra-diag/profile/v1",
    "name": "synth",
    "root": "src",
    "roles": {
        "user_context": "synthapp.context:UserExecutionContext",
        "manager_factory": "synthapp.channels:channel_manager_for",
        "emitter": "synthapp.emitter:RunEmitter",
        "bridge_factory": "synthapp.bridge:make_bridge",
        "registry": "synthapp.registry:AgentRegistry",
        "engine_factory": "synthapp.factory:EngineFactory",
        "engine": "synthapp.engine:Engine",
        "wiring_entry": "synthapp.wiring:get_supervisor",
    },
    "deprecated": [{"entry": "synthapp.legacy:shared_channels",
                    "replacement": "channel_manager_for"}],
    "build": {
        "registry": {"llm_client": None},
        "engine_factory": {
            "registry": {"factory": "synthapp.registry:AgentRegistry",
                         "args": {"llm_client": None}},
            "bridge": {"factory": "synthapp.bridge:make_bridge"},
        },
    },
}


def write_backend(root: Path, files: dict[str, str | None] | None = None,
                  profile: dict[str, Any] | None = None, *, raw: dict[str, bytes] | None = None
                  ) -> Path:
    """The backend under ``root`` (``files`` replace or, with ``None``, delete modules;
    ``raw`` writes exact bytes; ``profile`` is merged into the profile's top-level keys, a
    ``None`` value deleting the key); returns the profile's path."""
    merged = {**FILES, **(files or {})}
    for rel, text in merged.items():
        if text is None:
            continue
        path = root / "src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    for rel, data in (raw or {}).items():
        path = root / "src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    data = {**PROFILE, **(profile or {})}
    data = {k: v for k, v in data.items() if v is not None}
    path = root / "netra-diag.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_checks(profile: Path, *ids: str, static: bool = False) -> dict[str, CheckResult]:
    """Run the checks ``ids`` against ``profile``, each in its own interpreter."""
    registry = Registry()
    registry.load_builtin()
    runner = Runner(load_profile(profile), timeout_s=30, static=static)
    outcome = runner.run([registry.get(i) for i in ids])
    return {r.id: r for r in outcome.results}


def messages(result: CheckResult) -> str:
    """Every piece of evidence of ``result``, one per line (for ``in`` assertions)."""
    return "\n".join(f"[{e.kind}] {e.message} {e.file or ''}:{e.line or ''}"
                     for e in result.evidence)
