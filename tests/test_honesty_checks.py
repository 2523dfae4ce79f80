"""Honesty of the built-in checks on a synthetic backend: each reviewer finding, reproduced.

The contract (docs/statuses.md): ``fail`` only when the target's own code violates the
property (a crash inside the target's code path is a fail with its traceback); ``error``
when the tool could not decide, saying how to fix the set-up; never ``pass`` without looking.
"""

from __future__ import annotations

import textwrap

import pytest
from synthetic_backend import FILES, PROFILE, messages, run_checks, write_backend

from netra_diag.model import Status


def def_line(root, rel: str, text: str) -> int:
    """The 1-based line of the backend's module ``rel`` (as written) holding ``text``."""
    lines = (root / "src" / rel).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# -- a crash that passed through the target and ended in a library is the target's ---------


def test_a_target_crash_ending_in_the_stdlib_is_a_fail_with_its_traceback(tmp_path):
    emitter = FILES["synthapp/emitter.py"].replace(
        "import itertools, time", "import datetime, itertools, time").replace(
        # a datetime is not JSON: json.dumps (stdlib) raises, called by the target
        '{"agent": name}', '{"at": datetime.datetime.now()}')
    assert "datetime.datetime.now()" in emitter
    profile = write_backend(tmp_path, {"synthapp/emitter.py": emitter})
    results = run_checks(profile, "emitter-methods", "event-flow")
    for result in results.values():
        assert result.status is Status.FAIL, messages(result)
        assert "TypeError: Object of type datetime is not JSON serializable" in result.full_summary
        assert "failed before reaching the target" not in result.full_summary
        assert any(e.kind == "traceback" for e in result.evidence)
    # the target's last frame (json.dumps(...)): a located finding of the check that owns
    # the crash; event-flow (the symptom) keeps the site as an observation, not a location
    emitter, flow = results["emitter-methods"], results["event-flow"]
    assert [e.location for e in emitter.evidence if e.kind == "location"] == \
        ["synthapp/channels.py:19"]
    assert not [e for e in flow.evidence if e.kind == "location"], messages(flow)
    assert [e.location for e in flow.evidence if e.file] == ["synthapp/channels.py:19"]


# -- import-chain: error when it cannot know; lazy managers traced through a run -----------


def test_import_chain_without_a_manager_factory_role_is_an_error_naming_it(tmp_path):
    roles = {k: v for k, v in PROFILE["roles"].items() if k != "manager_factory"}
    [result] = run_checks(write_backend(tmp_path, profile={"roles": roles}),
                          "import-chain").values()
    assert result.status is Status.ERROR, messages(result)
    assert "'manager_factory' role" in result.full_summary
    assert "roles: {manager_factory:" in result.fix


LAZY_WIRING = """
    from synthapp.bridge import make_bridge
    from synthapp.factory import EngineFactory
    from synthapp.registry import AgentRegistry

    class Supervisor:
        def __init__(self, user_context, factory):
            self.user_context, self.factory = user_context, factory
        async def run(self, message, agent_name="echo"):
            engine = self.factory.create_for_user(self.user_context)
            return await engine.run_agent(agent_name, message)

    def get_supervisor(user_context):  # no manager here: the bridge makes one per run
        return Supervisor(user_context, EngineFactory(AgentRegistry(None), make_bridge()))
    """


def test_import_chain_traces_a_run_when_managers_are_created_lazily(tmp_path):
    profile = write_backend(tmp_path, {"synthapp/wiring.py": LAZY_WIRING})
    [result] = run_checks(profile, "import-chain").values()
    assert result.status is Status.PASS, messages(result)
    assert "lazily, during an agent run" in result.full_summary
    assert "(during an agent run) synthapp/bridge.py:6" in messages(result)


def test_import_chain_is_an_error_when_it_sees_no_manager_obtained(tmp_path):
    bridge = """
        from synthapp.channels import ChannelManager
        from synthapp.emitter import RunEmitter

        class EventBridge:
            def create_user_emitter(self, user_context):  # builds the manager itself
                return RunEmitter(ChannelManager(user_context), user_context)

        def make_bridge() -> EventBridge:
            return EventBridge()
        """
    profile = write_backend(tmp_path, {"synthapp/wiring.py": LAZY_WIRING,
                                       "synthapp/bridge.py": bridge})
    [result] = run_checks(profile, "import-chain").values()
    assert result.status is Status.ERROR, messages(result)
    assert result.full_summary.startswith("could not observe how the application obtains")
    assert "roles.manager_factory" in result.fix


def test_import_chain_blocked_by_a_wiring_crash_is_set_up_not_a_fail(tmp_path):
    # the registry's missing argument is registry-wiring's defect: import-chain could not see
    # its own link, so it says it could not set up (never fail), keeping the crash's site
    wiring = LAZY_WIRING.replace("AgentRegistry(None)", "AgentRegistry()")  # TypeError
    [result] = run_checks(write_backend(tmp_path, {"synthapp/wiring.py": wiring}),
                          "import-chain").values()
    assert result.status is Status.ERROR, messages(result)
    assert "could not set up: the wiring path crashed" in result.full_summary
    assert any((e.data or {}).get("blocked_at") == "synthapp/wiring.py:13"
               for e in result.evidence)
    assert not [e for e in result.evidence if e.kind == "location"]
    assert "raised here: TypeError" in messages(result)
    assert any(e.kind == "traceback" for e in result.evidence)


# -- registry-wiring: a registry held deeper; error (not fail) when it is nowhere ----------


HIDDEN_WIRING = LAZY_WIRING.replace(
    "return Supervisor(user_context, EngineFactory(AgentRegistry(None), make_bridge()))",
    "registry = AgentRegistry(None)\n"
    "        supervisor = Supervisor(user_context, EngineFactory(None, make_bridge()))\n"
    "        supervisor.lookup = lambda: registry  # reachable only by calling code\n"
    "        return supervisor")


def test_registry_wiring_finds_a_nested_registry_and_errs_when_there_is_none(tmp_path):
    nested = run_checks(write_backend(tmp_path / "nested"), "registry-wiring")
    [result] = nested.values()
    assert result.status is Status.PASS, messages(result)
    assert "registry taken from the wiring path: synthapp.wiring.Supervisor.factory.registry" \
        in messages(result)

    hidden = write_backend(tmp_path / "hidden", {"synthapp/wiring.py": HIDDEN_WIRING})
    [result] = run_checks(hidden, "registry-wiring").values()
    assert result.status is Status.ERROR, messages(result)
    assert "no AgentRegistry was found in it within 3 attributes" in result.full_summary
    assert "build: {locate: {registry:" in result.fix


def test_build_locate_points_at_the_registry(tmp_path):
    wiring = HIDDEN_WIRING.replace("supervisor.lookup = lambda: registry",
                                   "supervisor.services = {'agents': registry}")
    build = {**PROFILE["build"], "locate": {"registry": "services.agents"}}
    wrong = {**PROFILE["build"], "locate": {"registry": "factory"}}
    results = [run_checks(write_backend(tmp_path / name, {"synthapp/wiring.py": wiring},
                                        {"build": b}), "registry-wiring")["registry-wiring"]
               for name, b in (("right", build), ("wrong", wrong))]
    right, wrong_result = results
    assert right.status is Status.PASS, messages(right)
    assert "Supervisor.services.agents" in messages(right)
    assert wrong_result.status is Status.ERROR
    assert "build.locate.registry: 'factory' is a synthapp.factory.EngineFactory" in \
        wrong_result.full_summary


# -- emitter-methods: invented arguments honour annotations; their crash is an error -------


def test_invented_arguments_honour_annotations_and_their_crash_is_an_error(tmp_path):
    unannotated = FILES_EMITTER_UNANNOTATED_RESULT
    results = {
        name: run_checks(write_backend(tmp_path / name, files), "emitter-methods")
        ["emitter-methods"]
        for name, files in (("annotated", {}),
                            ("unannotated", {"synthapp/emitter.py": unannotated}))}
    # `result: str` gets a string (it used to get a dict, and .strip() made a false fail)
    assert results["annotated"].status is Status.PASS, messages(results["annotated"])
    # no annotation: the harness can only guess; .strip() on its dict is not the target's bug
    error = results["unannotated"]
    assert error.status is Status.ERROR, messages(error)
    assert "'dict' object has no attribute 'strip'" in error.full_summary
    assert "the value the harness invented for 'result'" in error.full_summary
    assert "build.notify_tool_completed.result" in error.fix


FILES_EMITTER_UNANNOTATED_RESULT = """
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
            return await self.send_event("agent_started", {})
        async def notify_agent_thinking(self, text: str):
            return await self.send_event("agent_thinking", {})
        async def notify_tool_executing(self, tool: str):
            return await self.send_event("tool_executing", {})
        async def notify_tool_completed(self, tool, result):
            return await self.send_event("tool_completed", {"result": result.strip()})
        async def notify_agent_completed(self, summary: str, duration_ms: float):
            return await self.send_event("agent_completed", {})
    """


# -- engine-factory: a refusal counts only when deliberate; every failure has evidence -----


@pytest.mark.parametrize(("engine_init", "status", "said"), [
    # no guard: built with a real emitter, it constructs
    ("self.label = emitter.ctx.user_id", Status.FAIL,
     "Engine can be constructed directly, bypassing the per-user factory"),
    # no guard, and it trips over something else: that is no refusal
    ("self.size = len(registry)", Status.ERROR,
     "whether Engine refuses direct construction cannot be told"),
])
def test_engine_direct_construction_is_judged_honestly(tmp_path, engine_init, status, said):
    engine = """
        class Engine:
            def __init__(self, user_context, emitter, registry, _token=None):
                INIT
                self.user_context, self.emitter, self.registry = user_context, emitter, registry
            async def run_agent(self, agent_name, message):
                return await self.registry.get_agent(agent_name).execute(self.emitter, message)
        """.replace("INIT", engine_init)
    factory = """
        from synthapp.engine import Engine

        class EngineFactory:
            def __init__(self, registry, bridge):
                self.registry, self.bridge = registry, bridge
            def create_for_user(self, user_context):
                emitter = self.bridge.create_user_emitter(user_context)
                return Engine(user_context, emitter, [self.registry])
        """
    profile = write_backend(tmp_path, {"synthapp/engine.py": engine,
                                       "synthapp/factory.py": factory})
    [result] = run_checks(profile, "engine-factory").values()
    assert result.status is status, messages(result)
    assert said in result.full_summary


def test_a_second_users_engine_failure_has_evidence(tmp_path):
    factory = """
        from synthapp.engine import Engine, _TOKEN

        class EngineFactory:
            def __init__(self, registry, bridge):
                self.registry, self.bridge, self.built = registry, bridge, 0
            def create_for_user(self, user_context):
                self.built += 1  # only the first engine gets an emitter
                emitter = self.bridge.create_user_emitter(user_context) \\
                    if self.built == 1 else None
                return Engine(user_context, emitter, self.registry, _token=_TOKEN)
        """
    [result] = run_checks(write_backend(tmp_path, {"synthapp/factory.py": factory}),
                          "engine-factory").values()
    assert result.status is Status.FAIL, messages(result)
    assert result.full_summary.startswith("the second user's engine: ")
    # its own finding (no emitter bound): located where the factory builds the engine
    [located] = [e for e in result.evidence if e.kind == "location"]
    assert result.full_summary in located.message
    line = def_line(tmp_path, "synthapp/factory.py", "def create_for_user(")
    assert located.location == f"synthapp/factory.py:{line}"


# -- source that Python reads is read; source that nobody can is never a pass --------------


def test_bom_and_latin1_modules_are_read_and_unparsable_ones_block_a_pass(tmp_path):
    raw = {"synthapp/helpers_bom.py": b"\xef\xbb\xbffrom synthapp.legacy import shared_channels\n",
           "synthapp/helpers_latin.py": b"# -*- coding: latin-1 -*-\n# caf\xe9\n"
                                        b"from synthapp.legacy import shared_channels\n"}
    readable = write_backend(tmp_path / "readable", raw=raw)
    broken = write_backend(tmp_path / "broken", raw={
        "synthapp/bad_syntax.py": b"from synthapp.legacy import shared_channels\ndef f(:\n",
        "synthapp/nul.py": b"from synthapp.legacy import shared_channels\x00\n"})
    [seen] = run_checks(readable, "import-chain", static=True).values()
    assert seen.status is Status.FAIL, messages(seen)
    assert {e.file for e in seen.evidence if e.kind == "location"} == {
        "synthapp/helpers_bom.py", "synthapp/helpers_latin.py"}
    [unproven] = run_checks(broken, "import-chain", static=True).values()
    assert unproven.status is Status.ERROR, messages(unproven)
    assert "2 file(s) mentioning what this check looks for could not be parsed " \
        "(synthapp/bad_syntax.py, synthapp/nul.py)" in unproven.full_summary
    assert "exclude:" in unproven.fix


def test_a_static_pass_says_from_source(tmp_path):
    [result] = run_checks(write_backend(tmp_path), "import-chain", static=True).values()
    assert result.status is Status.PASS
    assert result.full_summary.startswith("from source: ")


def test_the_backend_is_healthy_as_written(tmp_path):
    """The baseline every test above changes one thing of."""
    ids = ("import-chain", "emitter-methods", "registry-wiring", "engine-factory",
           "deprecation-warnings", "context-identity", "event-flow")
    results = run_checks(write_backend(tmp_path), *ids)
    assert {r.id: r.status for r in results.values()} == dict.fromkeys(ids, Status.PASS), \
        "\n".join(f"{r.id}: {r.full_summary}" for r in results.values())


NESTED_AGENT = '''
class Deps:
    def __init__(self):
        self.websocket_bridge = None

class EchoAgent:
    def __init__(self):
        self.deps = Deps()
    async def execute(self, emitter, message):
        await emitter.notify_agent_started("echo")
        await emitter.notify_agent_thinking("considering")
        await emitter.notify_tool_executing("counter")
        await emitter.notify_tool_completed("counter", "3 words")
        await emitter.notify_agent_completed("done", 1.0)
'''
NESTED_REGISTRY_WIRES = "agent.websocket_bridge = make_bridge()"


def test_an_agent_bridge_held_deeper_is_found_and_an_unfindable_one_is_an_error(tmp_path):
    """A bridge one level down passes; an agent with nowhere recognisable is error, not fail."""

    registry = textwrap.dedent(FILES["synthapp/registry.py"])
    deeper = write_backend(tmp_path / "deeper", {
        "synthapp/agents.py": NESTED_AGENT,
        "synthapp/registry.py": registry.replace(NESTED_REGISTRY_WIRES,
                                                 "agent.deps.websocket_bridge = make_bridge()"),
    })
    [result] = run_checks(deeper, "registry-wiring").values()
    assert result.status is Status.PASS, messages(result)

    nowhere = write_backend(tmp_path / "nowhere", {
        "synthapp/agents.py": NESTED_AGENT.replace("self.websocket_bridge = None",
                                                   "self.transport = None"),
        "synthapp/registry.py": registry.replace(NESTED_REGISTRY_WIRES, "pass"),
    })
    [result] = run_checks(nowhere, "registry-wiring").values()
    assert result.status is Status.ERROR, messages(result)
    assert "build: {locate: {agent_bridge:" in result.fix
