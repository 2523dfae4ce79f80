"""Calls into unknown code: real signatures, awaited awaitables, unfillable parameters named."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from netra_diag.errors import SetupError
from netra_diag.model import Status
from netra_diag.profile import load_profile
from netra_diag.registry import Registry
from netra_diag.runner import Runner
from netra_diag.support.calls import SAMPLE_VALUES, blame_invented, fill_arguments, settle

# -- the helpers themselves -------------------------------------------------------------------


def test_parameters_are_filled_by_name_overrides_first():
    def target(user_context, /, agent_name, *args, retries=3, clock, **extra):
        return user_context, agent_name, retries, clock

    call = fill_arguments(target, available={"user_context": "ctx", "agent_name": "a",
                                             "clock": 1, "unrelated": 0},
                          overrides={"clock": 2}, profile_key="build.x", what="target()")
    assert call.args == ("ctx",)
    assert call.kwargs == {"agent_name": "a", "clock": 2}
    assert call.filled["clock"] == "profile build.x.clock"
    assert call.filled["agent_name"] == "run context"
    assert target(*call.args, **call.kwargs) == ("ctx", "a", 3, 2)


def test_an_unfillable_required_parameter_names_itself_and_the_profile_key():
    def notify(result, duration_ms):
        return result

    with pytest.raises(SetupError) as info:
        fill_arguments(notify, available={"result": 1}, profile_key="build.notify_done",
                       what="Emitter.notify_done()")
    assert "needs the parameter 'duration_ms'" in str(info.value)
    assert "build.notify_done.duration_ms" in info.value.fix


def test_invented_values_honour_annotations():
    from typing import Any, Optional

    class Widget:  # a class of the target's: never invented
        pass

    def notify(result: str, count: int, ratio: float, flag: bool, meta: dict, items: list,
               maybe: Optional[str], either: "str | None",  # noqa: UP037, UP045 - as written
               free, anything: Any, w: Widget,
               data=None, step_number: float = 0.0):
        return result

    call = fill_arguments(notify, available={}, overrides={"w": Widget()},
                          profile_key="build.notify", what="notify()",
                          samples={**SAMPLE_VALUES, "free": "x", "anything": [1]})
    values = call.kwargs
    assert isinstance(values["result"], str)  # not SAMPLE_VALUES["result"], a dict
    assert values["count"] == 1 and values["ratio"] == 1.0 and values["flag"] is True
    assert isinstance(values["meta"], dict) and values["items"] == []
    assert isinstance(values["maybe"], str) and isinstance(values["either"], str)
    assert values["free"] == "x" and values["anything"] == [1]  # by name
    assert values["data"] == SAMPLE_VALUES["data"]  # optional, offered by name
    assert values["step_number"] == 1.0  # the name's int, as the annotation's float
    assert set(call.invented) == set(values) - {"w"}
    assert call.filled["w"] == "profile build.notify.w"
    with pytest.raises(SetupError, match="needs the parameter 'w'"):
        fill_arguments(notify, available={}, profile_key="build.notify", what="notify()",
                       samples={**SAMPLE_VALUES, "free": "x", "anything": 1})


@pytest.mark.parametrize(("exc", "blamed"), [
    (AttributeError("'dict' object has no attribute 'strip'"), "result"),
    (TypeError("can only concatenate str (not \"int\") to str"), "name"),
    (ValueError("invalid literal for int() with base 10: 'netra-diag-probe-agent'"), "name"),
    (KeyError("status"), "result"),
    (TypeError("Object of type datetime is not JSON serializable"), None),  # the target's
    (RuntimeError("'dict' object is frozen"), None),  # not a wrong-shape error
])
def test_a_crash_is_put_down_to_an_invented_value_only_when_it_shows(exc, blamed):
    invented = {"name": "netra-diag-probe-agent", "result": {"ok": True}}
    assert blame_invented(exc, invented) == blamed
    assert blame_invented(exc, {}) is None


def test_settle_awaits_what_is_awaitable_and_says_so():
    async def make():
        return "emitter"

    async def nested():
        return make()

    assert asyncio.run(settle("plain")) == ("plain", False)
    assert asyncio.run(settle(make())) == ("emitter", True)
    assert asyncio.run(settle(nested())) == ("emitter", True)


# -- a synthetic backend ------------------------------------------------------------------------

BASE = {
    "synth/__init__.py": "",
    "synth/ctx.py": """
        from dataclasses import dataclass

        @dataclass
        class Ctx:
            user_id: str
            request_id: str
            thread_id: str
            run_id: str = "run-1"
        """,
    "synth/manager.py": """
        import json

        SOCKETS = {}  # user id -> sockets, shared by that user's managers

        class Manager:
            def __init__(self, ctx):
                self.ctx, self.sockets = ctx, SOCKETS.setdefault(ctx.user_id, [])

            def add_connection(self, websocket):  # sync here; the reference's is async
                self.sockets.append(websocket)

            async def push(self, event):
                for socket in self.sockets:
                    await socket.send_text(json.dumps(event))

        def make_manager(user_context):
            return Manager(user_context)
        """,
    "synth/emitter.py": """
        class Emitter:
            def __init__(self, manager, ctx):
                self.manager, self.ctx = manager, ctx

            async def send_event(self, event_type, data=None):
                await self.manager.push({"type": event_type, "user_id": self.ctx.user_id,
                                         "data": data or {}})

            async def notify_agent_started(self, agent_name):
                await self.send_event("agent_started", {"agent": agent_name})

            def notify_agent_thinking(self, thought):  # sync, returning an awaitable
                return self.send_event("agent_thinking", {"thought": thought})

            async def notify_tool_executing(self, tool):
                await self.send_event("tool_executing", {"tool": tool})

            async def notify_tool_completed(self, result):  # (result), no tool name
                await self.send_event("tool_completed", {"result": result})

            async def notify_agent_completed(self, result, duration_ms):
                await self.send_event("agent_completed", {"result": result, "ms": duration_ms})
        """,
    "synth/app.py": """
        def wire(bridge, ctx):
            return bridge.create_user_emitter(ctx)  # fine: create_user_emitter is sync here
        """,
}

SYNC_BRIDGE = """
    from synth.emitter import Emitter
    from synth.manager import make_manager

    class Bridge:
        def create_user_emitter(self, user_context):
            return Emitter(make_manager(user_context), user_context)

    def make_bridge():
        return Bridge()
    """

COROUTINE_BRIDGE = """
    from synth.emitter import Emitter
    from synth.manager import make_manager

    class Bridge:
        def create_user_emitter(self, user_context):
            return self._build(user_context)  # a coroutine stands where an emitter should

        async def _build(self, user_context):
            return Emitter(make_manager(user_context), user_context)

    def make_bridge():
        return Bridge()
    """

PROFILE = """
    name: synth
    roles:
      user_context: synth.ctx:Ctx
      manager_factory: synth.manager:make_manager
      emitter: synth.emitter:Emitter
      bridge_factory: synth.bridge:make_bridge
    """


def backend(tmp_path: Path, bridge: str, extra_profile: str = "") -> Path:
    for rel, text in {**BASE, "synth/bridge.py": bridge}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text))
    path = tmp_path / "netra-diag.yaml"
    path.write_text(textwrap.dedent(PROFILE) + textwrap.dedent(extra_profile))
    return path


def emitter_check(profile: Path):
    registry = Registry()
    registry.load_builtin()
    outcome = Runner(load_profile(profile), timeout_s=30).run([registry.get("emitter-methods")])
    [result] = outcome.results
    return result


DURATION = """
    build:
      notify_agent_completed:
        duration_ms: {import: "math:pi"}
    """


def test_drifted_signatures_are_called_as_they_are(tmp_path):
    result = emitter_check(backend(tmp_path, SYNC_BRIDGE, DURATION))
    assert result.status is Status.PASS, result.evidence
    messages = [e.message for e in result.evidence]
    assert "create_user_emitter() got synth.emitter.Emitter" in messages  # sync: not awaited
    assert "notify_agent_thinking(thought) (awaited) emitted agent_thinking" in messages
    assert "notify_tool_completed(result) (awaited) emitted tool_completed" in messages
    assert "notify_agent_completed(result, duration_ms) (awaited) emitted agent_completed" \
        in messages
    # a sync emitter factory called without await (synth/app.py) is not an un-awaited call
    assert not [e for e in result.evidence if e.kind == "location"]
    assert any("plain function here (not async)" in m for m in messages)


def test_an_unfillable_notify_parameter_is_an_error_naming_it(tmp_path):
    result = emitter_check(backend(tmp_path, SYNC_BRIDGE))
    assert result.status is Status.ERROR
    assert "needs the parameter 'duration_ms'" in result.summary
    assert "build.notify_agent_completed.duration_ms" in result.fix


def test_a_coroutine_standing_in_for_the_emitter_is_awaited_and_said(tmp_path):
    result = emitter_check(backend(tmp_path, COROUTINE_BRIDGE, DURATION))
    assert result.status is Status.PASS, result.evidence
    assert "create_user_emitter() is async: awaited it and got synth.emitter.Emitter" in \
        [e.message for e in result.evidence]
