"""The reference pipeline as plain code: context, hub, managers, emitter, bridge, registry,
engine, deprecations, the outbound channel and the built-in profile (no sockets here)."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import json
import warnings
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from netra_diag.faults import reference_source
from netra_diag.profile import ROLES, load_profile, reference_profile_path

TIMEOUT = 5.0
CRITICAL = (
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


class Sink:
    """A websockets-style connection that records the frames it receives."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send(self, text: str) -> None:
        self.frames.append(json.loads(text))


def ctx_for(nb: Callable[[str], ModuleType], user: str = "alice", **kw: str) -> Any:
    ctx_cls = nb("app.services.user_execution_context").UserExecutionContext
    return ctx_cls(
        user_id=user, request_id=kw.get("request_id", "r1"), thread_id=kw.get("thread_id", "t1")
    )


# -- user execution context ---------------------------------------------------------------


def test_user_context_validates_and_is_frozen(nb):
    ctx_cls = nb("app.services.user_execution_context").UserExecutionContext
    a = ctx_cls(user_id="u", request_id="r", thread_id="t")
    b = ctx_cls(user_id="u", request_id="r", thread_id="t")
    assert a.run_id != b.run_id and a.run_id.startswith("run_")
    for bad in ({"user_id": ""}, {"request_id": "   "}, {"thread_id": 3}, {"run_id": ""}):
        with pytest.raises(ValueError):
            ctx_cls(**{"user_id": "u", "request_id": "r", "thread_id": "t", **bad})
    with pytest.raises(AttributeError):
        a.user_id = "mallory"  # type: ignore[misc]


def test_execution_factory_reexports_user_context(nb):
    factory_mod = nb("app.agents.supervisor.execution_factory")
    ctx_mod = nb("app.services.user_execution_context")
    assert factory_mod.UserExecutionContext is ctx_mod.UserExecutionContext
    assert "UserExecutionContext" in factory_mod.__all__


# -- events ---------------------------------------------------------------------------------


def test_events_build_encode_validate(nb):
    events = nb("app.websocket_core.events")
    assert events.CRITICAL_EVENTS == CRITICAL
    event = events.build_event(
        "agent_started", user_id="u", thread_id="t", run_id="r", seq=1, data={"x": 1}, timestamp=1.5
    )
    text = events.encode(event)
    assert " " not in text and json.loads(text) == event
    assert list(event) == list(events.EVENT_KEYS)
    assert events.validate_event(event) == []
    bad = {**event, "seq": 0, "timestamp": float("nan"), "extra": 1}
    problems = " ".join(events.validate_event(bad))
    assert "seq" in problems and "timestamp" in problems and "extra" in problems
    with pytest.raises(ValueError):
        events.build_event("", user_id="u", thread_id="t", run_id="r", seq=1)


# -- hub and per-user managers ----------------------------------------------------------------


def test_hub_registers_per_user(nb):
    hub_cls = nb("app.websocket_core.connection_hub").ConnectionHub
    hub = hub_cls()
    a, b = Sink(), Sink()
    hub.add("alice", a)
    hub.add("alice", a)
    hub.add("bob", b)
    assert hub.count() == 2 and hub.connections_for("alice") == [a]
    assert hub.all_connections() == [a, b]
    hub.remove("alice", a)
    hub.remove("alice", a)
    assert hub.connections_for("alice") == [] and hub.count() == 1
    with pytest.raises(ValueError):
        hub.add(" ", a)


def test_deliver_detects_the_send_method(nb):
    deliver = nb("app.websocket_core.connection_hub").deliver
    seen: list[tuple[str, Any]] = []

    class Starlette:
        async def send(self, message: dict) -> None:  # ASGI message: must not be used
            raise AssertionError("send() of a Starlette socket takes an ASGI message")

        async def send_text(self, text: str) -> None:
            seen.append(("text", text))

    class JsonOnly:
        async def send_json(self, obj: dict) -> None:
            seen.append(("json", obj))

    async def scenario() -> None:
        await deliver(Starlette(), '{"a":1}', {"a": 1})
        await deliver(JsonOnly(), '{"a":1}', {"a": 1})
        with pytest.raises(TypeError, match="not a connection"):
            await deliver(object(), "{}", {})

    run(scenario())
    assert seen == [("text", '{"a":1}'), ("json", {"a": 1})]


def test_user_manager_sends_to_its_user_only(nb, hub):
    factory = nb("app.websocket_core.websocket_manager_factory").create_websocket_manager
    events = nb("app.websocket_core.events")
    alice, alice2, bob = Sink(), Sink(), Sink()

    class Dead:
        async def send(self, text: str) -> None:
            raise ConnectionError("gone")

    async def scenario() -> None:
        manager = factory(ctx_for(nb, "alice"))
        await manager.add_connection(alice)
        await manager.add_connection(Dead())
        await manager.add_connection(alice2)
        hub.add("bob", bob)
        event = events.build_event(
            "agent_started", user_id="alice", thread_id="t", run_id="r", seq=1
        )
        assert await manager.send_to_user(event) == 2
        assert manager.failed_sends == 1 and manager.connection_count() == 2
        with pytest.raises(ValueError, match="refused"):
            await manager.send_to_user({**event, "user_id": "bob"})

    run(scenario())
    assert len(alice.frames) == len(alice2.frames) == 1 and bob.frames == []


# -- emitter and bridge -------------------------------------------------------------------


def test_emitter_sends_the_five_events_in_order(nb, hub):
    bridge = nb("app.services.agent_websocket_bridge").create_agent_websocket_bridge()
    emitter_cls = nb("app.websocket_core.unified_emitter").UnifiedWebSocketEmitter
    ctx = ctx_for(nb, "alice", thread_id="th")
    sink = Sink()
    hub.add("alice", sink)
    assert inspect.iscoroutinefunction(bridge.create_user_emitter)

    async def scenario() -> None:
        emitter = await bridge.create_user_emitter(ctx)
        assert isinstance(emitter, emitter_cls)
        await emitter.notify_agent_started("demo")
        await emitter.notify_agent_thinking("hmm")
        await emitter.notify_tool_executing("word_count")
        await emitter.notify_tool_completed("word_count", {"words": 2})
        await emitter.notify_agent_completed("demo", {"answer": "2"})

    run(scenario())
    assert [f["type"] for f in sink.frames] == list(CRITICAL)
    assert [f["seq"] for f in sink.frames] == [1, 2, 3, 4, 5]
    assert {(f["user_id"], f["thread_id"], f["run_id"]) for f in sink.frames} == {
        ("alice", "th", ctx.run_id)
    }
    stamps = [f["timestamp"] for f in sink.frames]
    assert stamps == sorted(stamps)
    assert sink.frames[3]["data"]["result"] == {"words": 2}


def test_bridge_refuses_a_manager_of_another_user(nb):
    bridge = nb("app.services.agent_websocket_bridge").AgentWebSocketBridge()
    factory = nb("app.websocket_core.websocket_manager_factory").create_websocket_manager
    with pytest.raises(ValueError, match="cannot serve"):
        bridge.set_websocket_manager(factory(ctx_for(nb, "alice")), ctx_for(nb, "bob"))


# -- registry, engine, factory --------------------------------------------------------------


def test_registry_requires_llm_manager_and_wires_every_agent(nb):
    registry_cls = nb("app.agents.supervisor.agent_registry").AgentRegistry
    llm = nb("app.llm.llm_manager").ScriptedLLMManager()
    factory = nb("app.websocket_core.websocket_manager_factory").create_websocket_manager
    with pytest.raises(TypeError, match="llm_manager"):
        registry_cls()
    registry = registry_cls(llm_manager=llm)
    early = registry.get_agent("demo")
    assert early.websocket_bridge is None
    ctx = ctx_for(nb)
    run(registry.set_websocket_manager(factory(ctx), ctx))
    assert early.websocket_bridge is registry.websocket_bridge is not None
    assert registry.get_agent("demo").websocket_bridge is registry.websocket_bridge
    assert registry.list_agents() == ["demo"]
    with pytest.raises(LookupError, match="known agents: demo"):
        registry.get_agent("nope")


def test_engine_only_from_its_factory(nb, hub):
    engine_cls = nb("app.agents.supervisor.execution_engine").ExecutionEngine
    factory_cls = nb("app.agents.supervisor.execution_factory").ExecutionEngineFactory
    registry_cls = nb("app.agents.supervisor.agent_registry").AgentRegistry
    bridge = nb("app.services.agent_websocket_bridge").create_agent_websocket_bridge()
    llm = nb("app.llm.llm_manager").ScriptedLLMManager()
    for attempt in (lambda: engine_cls(), lambda: engine_cls(registry=None, user_context=None)):
        with pytest.raises(RuntimeError, match=r"ExecutionEngineFactory\.create_for_user"):
            attempt()
    sink = Sink()
    hub.add("alice", sink)
    ctx = ctx_for(nb, "alice")

    async def scenario() -> Any:
        factory = factory_cls(registry_cls(llm_manager=llm), bridge)
        engine = await factory.create_for_user(ctx)
        other = await factory.create_for_user(ctx)
        assert engine is not other and engine.user_context is ctx
        assert engine.emitter.user_context is ctx
        return await engine.run_agent("demo", "three little words")

    assert run(scenario()) == "Your message has 3 words."
    assert [f["type"] for f in sink.frames] == list(CRITICAL)


def test_get_supervisor_wires_the_user_manager(nb, hub):
    deps = nb("app.dependencies")
    manager_cls = nb("app.websocket_core.websocket_manager_factory").UserWebSocketManager
    line16 = Path(deps.__file__).read_text().splitlines()[15]
    assert line16 == (
        "from netra_backend.app.websocket_core.websocket_manager_factory "
        "import create_websocket_manager"
    )
    sink, other = Sink(), Sink()
    hub.add("alice", sink)
    hub.add("bob", other)

    async def scenario() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)  # no deprecated path used
            supervisor = await deps.get_supervisor(ctx_for(nb, "alice"))
        assert isinstance(supervisor.websocket_manager, manager_cls)
        assert supervisor.agent_registry.websocket_manager is supervisor.websocket_manager
        await supervisor.run("hi there")

    run(scenario())
    assert [f["type"] for f in sink.frames] == list(CRITICAL) and other.frames == []


# -- deprecated entry points -----------------------------------------------------------------


def test_deprecated_entry_points_warn_at_the_caller_and_still_work(nb, hub):
    sink = Sink()
    hub.add("alice", sink)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = nb("app.websocket_core").get_websocket_manager()
        notifier = nb("app.agents.supervisor.websocket_notifier").WebSocketNotifier(manager)
    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
    assert messages == [
        "SECURITY WARNING: get_websocket_manager() returns a singleton shared across users; "
        "use create_websocket_manager(user_context)",
        "WebSocketNotifier is deprecated. Use AgentWebSocketBridge instead",
    ]
    assert {Path(w.filename).name for w in caught} == {Path(__file__).name}
    before = manager.dropped_count
    reached = run(notifier.send_agent_event("agent_started", "alice", "t", "r"))
    assert reached == 0 and manager.dropped_count == before + 1  # usable, reaches nobody
    assert sink.frames == []
    registered = Sink()  # it still works as code for a caller that registers with it
    run(manager.add_connection(registered, "alice"))
    try:
        assert run(notifier.send_agent_event("agent_thinking", "alice", "t", "r")) == 1
    finally:
        run(manager.remove_connection(registered, "alice"))
    assert [f["type"] for f in registered.frames] == ["agent_thinking"]
    assert manager.connection_count() == 0 and sink.frames == []


def _imported_modules(path: Path) -> set[str]:
    """Every module an ``import``/``from`` statement in ``path`` names (absolute or relative)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_no_production_module_imports_the_notifier():
    src = reference_source()
    importers = [
        p.relative_to(src).as_posix()
        for p in src.rglob("*.py")
        if any("websocket_notifier" in m for m in _imported_modules(p))
    ]
    assert importers == []


def test_only_the_route_imports_websockets():
    src = reference_source()
    users = sorted(
        p.relative_to(src).as_posix()
        for p in src.rglob("*.py")
        if any(m == "websockets" or m.startswith("websockets.") for m in _imported_modules(p))
    )
    assert users == ["netra_backend/app/routes/websocket_server.py"]
    assert not any("legacy" in m for m in _imported_modules(src / users[0]))


# -- outbound channel: one writer, bounded queue, counted overflow ---------------------------


def test_outbound_channel_keeps_order(nb):
    outbound = nb("app.websocket_core.outbound")
    written: list[str] = []

    async def scenario() -> None:
        channel = outbound.OutboundChannel(maxsize=8)
        all_written = asyncio.Event()

        async def write(text: str) -> None:
            written.append(text)
            if len(written) == 5:
                all_written.set()

        async def close(code: int, reason: str) -> None:
            raise AssertionError("no close expected")

        writer = asyncio.create_task(channel.run_writer(write, close))
        for i in range(5):
            await channel.send(str(i))
        await asyncio.wait_for(all_written.wait(), TIMEOUT)
        channel.close()
        await asyncio.wait_for(writer, TIMEOUT)
        assert channel.stats.as_dict() == {
            "frames_queued": 5,
            "frames_sent": 5,
            "frames_dropped": 0,
            "slow_consumers_closed": 0,
            "write_errors": 0,
        }

    run(scenario())
    assert written == ["0", "1", "2", "3", "4"]


def test_slow_consumer_is_bounded_counted_and_closed_1013(nb):
    outbound = nb("app.websocket_core.outbound")
    closes: list[tuple[int, str]] = []

    async def scenario() -> None:
        stats = outbound.DeliveryStats()
        channel = outbound.OutboundChannel(stats, maxsize=4)
        started, release = asyncio.Event(), asyncio.Event()

        async def write(text: str) -> None:  # a client that does not read
            started.set()
            await release.wait()

        async def close(code: int, reason: str) -> None:
            closes.append((code, reason))

        writer = asyncio.create_task(channel.run_writer(write, close))
        channel.offer("f0")
        await asyncio.wait_for(started.wait(), TIMEOUT)  # f0 is stuck in write
        accepted = [channel.offer(f"f{i}") for i in range(1, 5)]
        assert accepted == [True] * 4 and channel.pending() == 4
        assert channel.offer("f5") is False  # overflow: slow consumer
        assert channel.closed and channel.offer("f6") is False
        release.set()
        await asyncio.wait_for(writer, TIMEOUT)
        assert stats.as_dict() == {
            "frames_queued": 5,
            "frames_sent": 1,
            "frames_dropped": 6,
            "slow_consumers_closed": 1,
            "write_errors": 0,
        }

    run(scenario())
    assert closes == [(1013, "slow consumer: outgoing queue full")]


def test_outbound_write_error_is_counted(nb):
    outbound = nb("app.websocket_core.outbound")

    async def scenario() -> Any:
        channel = outbound.OutboundChannel(maxsize=4)

        async def write(text: str) -> None:
            raise ConnectionError("reset")

        async def close(code: int, reason: str) -> None:
            raise AssertionError("no close expected")

        channel.offer("a")
        channel.offer("b")
        await channel.run_writer(write, close)
        channel.offer("c")
        return channel.stats.as_dict()

    stats = run(scenario())
    assert stats["write_errors"] == 1 and stats["frames_dropped"] == 3


# -- the built-in profile ----------------------------------------------------------------------


def test_profile_roles_and_entries_resolve(nb):
    profile = load_profile(reference_profile_path())
    assert profile.root == reference_source().resolve()
    assert profile.roles["wiring_entry"] == "netra_backend.app.dependencies:get_supervisor"
    assert profile.server == {"path": "/ws"}
    entries = list(profile.roles.values()) + [d.entry for d in profile.deprecated]
    assert set(profile.roles) == set(ROLES)
    for entry in entries:
        module, _, attr = entry.partition(":")
        assert getattr(importlib.import_module(module), attr) is not None, entry
    replacements = {d.replacement for d in profile.deprecated}
    assert replacements == {"create_websocket_manager", "AgentWebSocketBridge"}
