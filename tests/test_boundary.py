"""The harness/target boundary and hooks: a check fails only on its own link's evidence.

Each test reshapes the synthetic backend the way a real one differs from the reference (a
typed connection record, a module-level connection registry, a context-type split, agents
made per request, deprecations that warn with UserWarning), runs the checks in their own
interpreters, and expects either the truth (with a hooks file supplying the real step) or
an honest ``error``/``skip`` naming the hook or the owner: never a ``fail`` caused by the
tool's own objects, an assumed name or another link's defect.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from synthetic_backend import FILES, PROFILE, messages, run_checks, write_backend

from netra_diag.blocking import mark_blocked
from netra_diag.model import Status

DYNAMIC = ("emitter-methods", "registry-wiring", "engine-factory", "event-flow")


def hooks(root: Path, text: str, name: str = "netra_diag_hooks.py") -> dict[str, str]:
    (root / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return {"hooks": name}


def table(results) -> str:
    return "\n".join(f"{r.id}: {r.status.value}: {r.full_summary}" for r in results.values())


# -- a typed connection record: the recorder crashes inside add_connection ----------------

TYPED_CHANNELS = FILES["synthapp/channels.py"].replace(
    "            def add_connection(self, conn):\n"
    "                _CONNS.setdefault(self.user_id, []).append(conn)",
    "            def add_connection(self, connection: 'ConnectionRecord'):\n"
    "                if connection.session.user_id != self.user_id:\n"
    "                    raise ValueError('record for another user')\n"
    "                _CONNS.setdefault(self.user_id, []).append(connection.session.socket)",
).replace("_CONNS: dict[str, list] = {}", """_CONNS: dict[str, list] = {}

        class Session:
            def __init__(self, user_id, socket):
                self.user_id, self.socket = user_id, socket

        class ConnectionRecord:
            def __init__(self, session):
                self.session = session""")


def test_a_crash_on_the_tools_own_connection_is_an_error_naming_the_connect_hook(tmp_path):
    profile = write_backend(tmp_path, {"synthapp/channels.py": TYPED_CHANNELS})
    results = run_checks(profile, *DYNAMIC)
    for check_id in DYNAMIC:
        result = results[check_id]
        assert result.status is Status.ERROR, table(results)
        assert "RecordingConnection" in result.full_summary, table(results)
        assert "connect()" in (result.fix or ""), table(results)


def test_a_connect_hook_supplies_the_real_record_and_the_healthy_backend_passes(tmp_path):
    extra = hooks(tmp_path, """
        from synthapp.channels import ConnectionRecord, Session, channel_manager_for

        def connect(user_context, connection):
            manager = channel_manager_for(user_context)
            manager.add_connection(ConnectionRecord(Session(user_context.user_id, connection)))
        """)
    profile = write_backend(tmp_path, {"synthapp/channels.py": TYPED_CHANNELS}, extra)
    results = run_checks(profile, *DYNAMIC)
    for check_id in DYNAMIC:
        assert results[check_id].status is Status.PASS, table(results)
    for check_id in ("event-flow", "emitter-methods"):
        assert "joined the user's events via netra_diag_hooks.connect()" in \
            messages(results[check_id])


# -- connections join through a module-level registry: no add_connection at all ------------

REGISTRY_CHANNELS = FILES["synthapp/channels.py"].replace(
    "            def add_connection(self, conn):\n"
    "                _CONNS.setdefault(self.user_id, []).append(conn)\n", "",
).replace("def channel_manager_for(", """def register(user_id, conn):
            _CONNS.setdefault(user_id, []).append(conn)

        def channel_manager_for(""")


def test_an_assumed_method_name_is_an_error_naming_the_profile_key_and_the_hook(tmp_path):
    profile = write_backend(tmp_path, {"synthapp/channels.py": REGISTRY_CHANNELS})
    results = run_checks(profile, *DYNAMIC)
    for check_id in DYNAMIC:
        result = results[check_id]
        assert result.status is Status.ERROR, table(results)
        assert "has no method add_connection()" in result.full_summary, table(results)
        assert "methods: {add_connection:" in (result.fix or "")
        assert "connect()" in (result.fix or "")


def test_a_connect_hook_joins_through_the_module_level_registry(tmp_path):
    extra = hooks(tmp_path, """
        from synthapp import channels

        async def connect(connection, user_context):  # any order, sync or async
            channels.register(user_context.user_id, connection)
        """)
    profile = write_backend(tmp_path, {"synthapp/channels.py": REGISTRY_CHANNELS}, extra)
    results = run_checks(profile, *DYNAMIC)
    for check_id in DYNAMIC:
        assert results[check_id].status is Status.PASS, table(results)


# -- one defect, one owner: a context-type split is reported once -------------------------

SPLIT_FILES = {
    # the wiring (and the role) use this context; the manager factory checks another class
    "synthapp/legacy_context.py": """
        from dataclasses import dataclass

        @dataclass(frozen=True)
        class UserExecutionContext:
            user_id: str
            thread_id: str
            request_id: str
            run_id: str = "legacy"
        """,
    "synthapp/channels.py": FILES["synthapp/channels.py"].replace(
        "from synthapp.context import UserExecutionContext",
        "from synthapp.legacy_context import UserExecutionContext",
    ).replace(
        "            def __init__(self, user_context: UserExecutionContext):\n",
        "            def __init__(self, user_context: UserExecutionContext):\n"
        "                if not isinstance(user_context, UserExecutionContext):\n"
        "                    raise TypeError(f'expected the legacy context, got "
        "{type(user_context).__module__}')\n",
    ),
}


def test_a_context_split_fails_its_owner_once_and_blocks_the_others(tmp_path):
    profile = write_backend(tmp_path, SPLIT_FILES)
    ids = ("context-identity", "emitter-methods", "registry-wiring", "engine-factory",
           "deprecation-warnings", "import-chain", "event-flow")
    results = {r.id: r for r in mark_blocked(list(run_checks(profile, *ids).values()))}
    owner = results["context-identity"]
    assert owner.status is Status.FAIL, table(results)
    site = next(e.location for e in owner.evidence if e.kind == "location" and
                e.file == "synthapp/channels.py")
    for check_id in ("emitter-methods", "registry-wiring", "engine-factory", "event-flow"):
        result = results[check_id]
        assert result.status is Status.SKIP, table(results)
        assert result.full_summary.startswith(f"blocked by context-identity: the defect at {site}")
    # least set-up: the deprecated getter needs no connection, so it is judged on its own;
    # import-chain saw the wiring call the factory (its own link holds) before the crash
    assert results["deprecation-warnings"].status is Status.PASS, table(results)
    assert results["import-chain"].status is Status.PASS, table(results)
    assert not [r for r in results.values() if r.status is Status.FAIL and r is not owner]


# -- deprecations as users see them ------------------------------------------------------

def test_a_user_warning_saying_deprecated_counts_with_a_note(tmp_path):
    legacy = FILES["synthapp/legacy.py"].replace(
        'warnings.warn("shared_channels() is deprecated; use channel_manager_for(ctx)",\n'
        "                          DeprecationWarning, stacklevel=2)",
        'warnings.warn("Using deprecated shared_channels(). Migrate to channel_manager_for")')
    profile = write_backend(tmp_path, {"synthapp/legacy.py": legacy})
    result = run_checks(profile, "deprecation-warnings")["deprecation-warnings"]
    assert result.status is Status.PASS, messages(result)
    assert "UserWarning: Using deprecated shared_channels()" in messages(result)
    assert "DeprecationWarning would be conventional" in messages(result)
    static = run_checks(profile, "deprecation-warnings", static=True)["deprecation-warnings"]
    assert static.status is Status.PASS, messages(static)


def test_no_deprecation_warning_lists_what_was_emitted(tmp_path):
    legacy = FILES["synthapp/legacy.py"].replace(
        'warnings.warn("shared_channels() is deprecated; use channel_manager_for(ctx)",\n'
        "                          DeprecationWarning, stacklevel=2)",
        'warnings.warn("connection pool is warming up", ResourceWarning)')
    profile = write_backend(tmp_path, {"synthapp/legacy.py": legacy})
    result = run_checks(profile, "deprecation-warnings")["deprecation-warnings"]
    assert result.status is Status.FAIL, messages(result)
    assert "it emitted only ResourceWarning: connection pool is warming up" in result.full_summary


# -- registries built per request ---------------------------------------------------------

LAZY_REGISTRY = """
    from synthapp.agents import EchoAgent
    from synthapp.bridge import make_bridge

    class AgentRegistry:
        def __init__(self, llm_client):
            self.llm = llm_client
            self.websocket_bridge = None
            self.manager = None
        def set_websocket_manager(self, manager, user_context):
            self.manager = manager
            self.websocket_bridge = make_bridge()
        def list_agents(self):
            return []  # agents are made per request
        def create_agent(self, agent_type: str):
            if agent_type != "echo":
                raise KeyError(agent_type)
            agent = EchoAgent()
            agent.websocket_bridge = self.websocket_bridge
            return agent
        def get_agent(self, name):
            return self.create_agent(name)
    """


def test_a_per_request_registry_is_judged_on_its_slots_and_one_new_agent(tmp_path):
    profile = write_backend(tmp_path, {"synthapp/registry.py": LAZY_REGISTRY},
                            {"build": {"registry": {"llm_client": None},
                                       "create_agent": {"agent_type": "echo"}}})
    result = run_checks(profile, "registry-wiring")["registry-wiring"]
    assert result.status is Status.PASS, messages(result)
    assert "agents are made per request" in messages(result)
    assert "created an agent through the registry: create_agent(agent_type='echo')" in \
        messages(result)


def test_a_per_request_registry_that_never_wires_its_bridge_fails(tmp_path):
    broken = LAZY_REGISTRY.replace("            self.websocket_bridge = make_bridge()\n", "")
    profile = write_backend(tmp_path, {"synthapp/registry.py": broken},
                            {"build": {"registry": {"llm_client": None},
                                       "create_agent": {"agent_type": "echo"}}})
    result = run_checks(profile, "registry-wiring")["registry-wiring"]
    assert result.status is Status.FAIL, messages(result)
    assert "never wires its bridge" in result.full_summary


def test_an_invented_agent_name_is_an_error_naming_the_build_key(tmp_path):
    profile = write_backend(tmp_path, {"synthapp/registry.py": LAZY_REGISTRY})
    result = run_checks(profile, "registry-wiring")["registry-wiring"]
    assert result.status is Status.ERROR, messages(result)
    assert "build.create_agent.agent_type" in (result.fix or "")


# -- hooks: setup before import, make_user_context, run_agent; a crash in a hook ----------

def test_setup_runs_before_the_target_is_imported_and_run_agent_drives_the_run(tmp_path):
    context = FILES["synthapp/context.py"] + """
        import os
        if os.environ.get("SYNTH_CONFIGURED") != "yes":
            raise RuntimeError("configure SYNTH_CONFIGURED first")
        """
    extra = hooks(tmp_path, """
        import os
        from synthapp_marker import MARK  # a module beside the hooks file

        def setup():
            os.environ["SYNTH_CONFIGURED"] = MARK

        def make_user_context(user_id, thread_id, run_id):
            from synthapp.context import UserExecutionContext
            return UserExecutionContext(user_id, thread_id, "req", run_id)

        async def run_agent(user_context, message):
            from synthapp.wiring import get_supervisor
            await get_supervisor(user_context).run(message)
        """)
    (tmp_path / "synthapp_marker.py").write_text("MARK = 'yes'\n")
    roles = {k: v for k, v in PROFILE["roles"].items()
             if k not in ("wiring_entry", "engine_factory", "engine")}
    profile = write_backend(tmp_path, {"synthapp/context.py": context},
                            {**extra, "roles": roles})
    results = run_checks(profile, "event-flow", "emitter-methods")
    assert results["event-flow"].status is Status.PASS, table(results)
    assert "drove the run via netra_diag_hooks.run_agent()" in messages(results["event-flow"])
    assert results["emitter-methods"].status is Status.PASS, table(results)


def test_a_crash_in_a_hooks_own_code_is_an_error_naming_the_hook(tmp_path):
    extra = hooks(tmp_path, """
        def connect(user_context, connection):
            raise LookupError("my hook is not finished")
        """)
    profile = write_backend(tmp_path, None, extra)
    result = run_checks(profile, "emitter-methods")["emitter-methods"]
    assert result.status is Status.ERROR, messages(result)
    assert "netra_diag_hooks.connect() raised LookupError" in result.full_summary


def test_a_wiring_parameter_named_ctx_does_not_collide_with_the_tools_own(tmp_path):
    wiring = FILES["synthapp/wiring.py"].replace("def get_supervisor(user_context):",
                                                 "def get_supervisor(ctx):").replace(
        "manager = channel_manager_for(user_context)", "user_context = ctx\n"
        "            manager = channel_manager_for(user_context)")
    profile = write_backend(tmp_path, {"synthapp/wiring.py": wiring})
    results = run_checks(profile, "registry-wiring", "import-chain", "event-flow")
    for result in results.values():
        assert result.status is Status.PASS, table(results)


# -- static mode claims only what it saw --------------------------------------------------

def test_static_leaves_run_only_properties_undecided_and_finds_missing_modules(tmp_path):
    factory = FILES["synthapp/factory.py"].replace(
        "from synthapp.engine import Engine, _TOKEN",
        "from synthapp.engine import Engine, _TOKEN\n        from synthapp.scheduler import Queue")
    profile = write_backend(tmp_path, {"synthapp/factory.py": factory})
    results = run_checks(profile, "registry-wiring", "engine-factory", "import-chain",
                         static=True)
    assert results["registry-wiring"].status is Status.SKIP, table(results)
    assert results["engine-factory"].status is Status.SKIP, table(results)
    chain = results["import-chain"]
    assert chain.status is Status.FAIL, table(results)
    assert "synthapp/factory.py:2 imports synthapp.scheduler, which does not exist" in \
        chain.full_summary


EMPTY_TREE_CHECKS = ("engine-factory", "registry-wiring", "emitter-methods")


@pytest.fixture(scope="module")
def empty_tree_static(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One static run of ``EMPTY_TREE_CHECKS`` (each in its own process) on an empty tree."""
    root = tmp_path_factory.mktemp("empty")
    (root / "src").mkdir()
    (root / "netra-diag.yaml").write_text("name: empty\nroot: src\n")
    return run_checks(root / "netra-diag.yaml", *EMPTY_TREE_CHECKS, static=True)


@pytest.mark.parametrize("check_id", EMPTY_TREE_CHECKS)
def test_static_on_an_empty_tree_without_roles_never_passes(empty_tree_static, check_id):
    result = empty_tree_static[check_id]
    assert result.status in (Status.ERROR, Status.SKIP), messages(result)


def test_a_parameter_named_otherwise_is_filled_by_its_annotation(tmp_path):
    # set_websocket_manager(sessions: ChannelManager): no name the tool offers, one value of
    # that class at hand: it is passed, not reported as a missing parameter
    registry = FILES["synthapp/registry.py"].replace(
        "def set_websocket_manager(self, manager, user_context):",
        "def set_websocket_manager(self, sessions: 'ChannelManager', user_context):")
    profile = write_backend(tmp_path, {"synthapp/registry.py": registry})
    result = run_checks(profile, "registry-wiring")["registry-wiring"]
    assert result.status is Status.PASS, messages(result)


def test_disconnect_is_called_with_the_handle_connect_returned(tmp_path):
    extra = hooks(tmp_path, """
        from synthapp import channels

        def connect(user_context, connection):
            channels.register(user_context.user_id, connection)
            return ("token", user_context.user_id)

        def disconnect(user_context, connection, handle):
            assert handle == ("token", user_context.user_id), handle
            channels._CONNS[user_context.user_id].remove(connection)
            raise RuntimeError("disconnected as asked")  # seen in the evidence, no verdict
        """)
    profile = write_backend(tmp_path, {"synthapp/channels.py": REGISTRY_CHANNELS}, extra)
    result = run_checks(profile, "event-flow")["event-flow"]
    assert result.status is Status.PASS, messages(result)
    assert "netra_diag_hooks.disconnect() raised RuntimeError: disconnected as asked" in \
        messages(result)


# -- a crash at another check's finding is that check's defect; dependents follow ---------

def test_a_failure_that_is_only_a_crash_at_an_owners_finding_is_blocked():
    from netra_diag.model import CheckResult, Evidence

    finding = Evidence("location", "calls Catalog() without the required argument 'pulses'",
                       "app/catalog.py", 71)
    # where the target raised, as context.target_traceback marks it (data, not wording)
    crash = Evidence("location", "raised here: TypeError: missing 'pulses'", "app/catalog.py",
                     71, data={"crash": True, "exception": "TypeError"})
    results = [
        CheckResult("registry-wiring", 3, "Registry Wiring", Status.FAIL, "missing", (finding,)),
        CheckResult("engine-factory", 4, "Engine Factory", Status.FAIL, "crashed", (crash,)),
        CheckResult("event-flow", "e2e", "Flow", Status.ERROR, "could not set up",
                    (Evidence("observed", "set-up step failed",
                              data={"blocked_at": "app/catalog.py:71"}),)),
        CheckResult("user-isolation", "e2e", "Isolation", Status.SKIP,
                    "depends on event-flow (error), which did not pass"),
    ]
    out = {r.id: r for r in mark_blocked(results)}
    assert out["registry-wiring"].status is Status.FAIL
    for check_id in ("engine-factory", "event-flow"):
        assert out[check_id].status is Status.SKIP
        assert out[check_id].full_summary.startswith("blocked by registry-wiring: the defect at "
                                                "app/catalog.py:71")
    # the crash site is the owner's finding: no longer located by the blocked check
    assert not [e for e in out["engine-factory"].evidence if e.kind == "location"]
    assert out["user-isolation"].full_summary == \
        "depends on event-flow (blocked), which did not pass"


# -- what a user's own backend looks like: field names, run ids, per-run emitters ---------

OWN_EVENTS_EMITTER = FILES["synthapp/emitter.py"].replace(
    '''"type": event_type, "user_id": c.user_id, "thread_id": c.thread_id,
                    "run_id": c.run_id, "seq": next(self._seq), "timestamp": time.time(),
                    "data": dict(data or {})})''',
    '''"type": event_type, "user_id": c.user_id, "run_id": "app-run-7",
                    "seq": next(self._seq), "ts": time.time(), "payload": dict(data or {})})''')


def test_events_fields_map_a_backends_own_field_names_and_its_own_run_id(tmp_path):
    assert FILES["synthapp/emitter.py"] != OWN_EVENTS_EMITTER
    fields = {"events": {"fields": {"timestamp": "ts", "data": "payload", "thread_id": None}}}
    profile = write_backend(tmp_path, {"synthapp/emitter.py": OWN_EVENTS_EMITTER}, fields)
    result = run_checks(profile, "event-flow")["event-flow"]
    assert result.status is Status.PASS, messages(result)
    assert "the application gave the run its own id ('app-run-7'" in messages(result)
    unmapped = run_checks(write_backend(tmp_path / "plain",
                                        {"synthapp/emitter.py": OWN_EVENTS_EMITTER}),
                          "event-flow")["event-flow"]
    assert unmapped.status is Status.FAIL  # the default schema: thread_id, timestamp, data
    assert "mistype" in messages(unmapped)


PER_RUN_ENGINE = {
    "synthapp/engine.py": FILES["synthapp/engine.py"].replace(
        "def __init__(self, user_context, emitter, registry, _token=None):",
        "def __init__(self, user_context, bridge, registry, _token=None):").replace(
        "self.user_context, self.emitter, self.registry = user_context, emitter, registry",
        "self.user_context, self.bridge, self.registry = user_context, bridge, registry").replace(
        "return await self.registry.get_agent(agent_name).execute(self.emitter, message)",
        "emitter = self.bridge.create_user_emitter(self.user_context)  # opened per run\n"
        "                return await self.registry.get_agent(agent_name).execute(emitter, "
        "message)"),
    "synthapp/factory.py": FILES["synthapp/factory.py"].replace(
        "emitter = self.bridge.create_user_emitter(user_context)\n", "").replace(
        "Engine(user_context, emitter, self.registry, _token=_TOKEN)",
        "Engine(user_context, self.bridge, self.registry, _token=_TOKEN)"),
    # wired when built: no set_websocket_manager step at all
    "synthapp/registry.py": FILES["synthapp/registry.py"].replace(
        "            def set_websocket_manager(self, manager, user_context):\n"
        "                for agent in self._agents.values():\n"
        "                    agent.websocket_bridge = make_bridge()\n", "").replace(
        '                self._agents = {"echo": EchoAgent()}',
        '                self._agents = {"echo": EchoAgent()}\n'
        '                self._agents["echo"].websocket_bridge = make_bridge()'),
    "synthapp/wiring.py": FILES["synthapp/wiring.py"].replace(
        "            registry.set_websocket_manager(manager, user_context)\n", ""),
}


def test_an_engine_that_opens_its_emitter_per_run_and_a_registry_wired_when_built(tmp_path):
    profile = write_backend(tmp_path, PER_RUN_ENGINE)
    results = run_checks(profile, "engine-factory", "registry-wiring", "event-flow")
    for result in results.values():
        assert result.status is Status.PASS, table(results)
    assert "opens its emitter per run through engine.bridge" in \
        messages(results["engine-factory"])
    assert "has no set_websocket_manager(): it is wired when it is built" in \
        messages(results["registry-wiring"])


def test_an_engine_whose_runs_reach_nobody_still_fails(tmp_path):
    files = dict(PER_RUN_ENGINE)
    files["synthapp/engine.py"] = files["synthapp/engine.py"].replace(
        "emitter = self.bridge.create_user_emitter(self.user_context)  # opened per run",
        "emitter = self.bridge.create_user_emitter(type(self.user_context)('nobody', 't', "
        "'r'))")
    result = run_checks(write_backend(tmp_path, files), "engine-factory")["engine-factory"]
    assert result.status is Status.FAIL, messages(result)
    assert "sent nothing to its user's connection" in result.full_summary


def test_a_coroutine_handed_to_an_awaited_helper_or_a_lambda_is_not_unawaited(tmp_path):
    factory = FILES["synthapp/factory.py"].replace(
        "            def create_for_user(self, user_context):\n"
        "                emitter = self.bridge.create_user_emitter(user_context)\n",
        "            async def _safe(self, make):\n"
        "                return await make()\n"
        "            async def create_for_user(self, user_context):\n"
        "                emitter = await self._safe(lambda: self.bridge.create_user_emitter("
        "user_context))\n")
    bridge = FILES["synthapp/bridge.py"].replace("def create_user_emitter(self, user_context):",
                                                 "async def create_user_emitter(self, "
                                                 "user_context):")
    profile = write_backend(tmp_path, {"synthapp/factory.py": factory,
                                       "synthapp/bridge.py": bridge})
    result = run_checks(profile, "emitter-methods", static=True)["emitter-methods"]
    assert result.status is Status.PASS, messages(result)


def test_context_identity_does_not_pass_on_a_class_it_could_not_count(tmp_path):
    extra = hooks(tmp_path, """
        from dataclasses import dataclass

        @dataclass
        class Scope:
            user_id: str
            thread_id: str
            request_id: str
            run_id: str
        """)
    roles = {**PROFILE["roles"], "user_context": "netra_diag_hooks:Scope"}
    profile = write_backend(tmp_path, None, {**extra, "roles": roles})
    result = run_checks(profile, "context-identity", static=True)["context-identity"]
    assert result.status is Status.SKIP, messages(result)


def test_without_a_server_a_cross_user_leak_is_caught_in_process(tmp_path):
    leaky = FILES["synthapp/channels.py"].replace(
        "conns = list(_CONNS.get(self.user_id, []))",
        "conns = [c for cs in _CONNS.values() for c in cs]  # every user's sockets")
    assert leaky != FILES["synthapp/channels.py"]
    profile = write_backend(tmp_path, {"synthapp/channels.py": leaky})
    results = run_checks(profile, "user-isolation", "event-flow")
    assert results["event-flow"].status is Status.PASS, table(results)
    isolation = results["user-isolation"]
    assert isolation.status is Status.FAIL, table(results)
    assert "reached the wrong user" in isolation.full_summary
    assert "in-process runs, the wire was not exercised" in messages(isolation)


def test_agents_handed_their_emitter_per_run_are_not_applicable_when_the_profile_says_so(
        tmp_path):
    registry = FILES["synthapp/registry.py"].replace(
        "                    agent.websocket_bridge = make_bridge()\n",
        "                    pass\n")
    agents = FILES["synthapp/agents.py"].replace("self.websocket_bridge = None",
                                                 "self.tools = []")
    files = {"synthapp/registry.py": registry, "synthapp/agents.py": agents}
    unsaid = run_checks(write_backend(tmp_path / "a", files),
                        "registry-wiring")["registry-wiring"]
    assert unsaid.status is Status.ERROR, messages(unsaid)
    assert "agent_bridge: none" in (unsaid.fix or "")
    said = run_checks(write_backend(tmp_path / "b", files, {"build": {
        **PROFILE["build"], "locate": {"agent_bridge": "none"}}}),
        "registry-wiring")["registry-wiring"]
    assert said.status is Status.SKIP, messages(said)
    assert "hold no bridge" in said.full_summary


def test_a_role_naming_an_unbound_method_is_an_error_saying_so(tmp_path):
    roles = {**PROFILE["roles"],
             "manager_factory": "synthapp.channels:ChannelManager.add_connection"}
    profile = write_backend(tmp_path, None, {"roles": roles})
    result = run_checks(profile, "emitter-methods")["emitter-methods"]
    assert result.status is Status.ERROR, messages(result)
    assert "is a method of a class, not bound to an object" in result.full_summary


def test_the_import_walk_judges_module_level_names_and_import_error_guards(tmp_path):
    from netra_diag.support.imports import walk_imports

    src = tmp_path / "src" / "p"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "c.py").write_text("class C:\n    def get_agent(self):\n        local_only = 1\n"
                              "try:\n    import fast\nexcept ImportError:\n    fast = None\n")
    (src / "_native.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    (src / "w.py").write_text(
        "from p.c import C, fast\n"            # fine: a class, a name bound in a try
        "from p.c import get_agent\n"           # a method is not a module-level name
        "from p.c import local_only\n"          # nor a function's local
        "from p import _native\n"               # a compiled module is there
        "try:\n    from p.nosuch import x\nexcept KeyError:\n    x = None\n"  # not a guard
        "try:\n    from p.optional import y\nexcept ImportError:\n    y = None\n")  # guard
    graph = walk_imports(tmp_path / "src", ["p.w"])
    broken = sorted((b.line, b.target) for b in graph.broken)
    assert broken == [(2, "p.c:get_agent"), (3, "p.c:local_only"), (6, "p.nosuch")]


def test_code_that_rejects_the_made_up_ids_is_an_error_naming_make_user_context(tmp_path):
    wiring = FILES["synthapp/wiring.py"].replace(
        "        def get_supervisor(user_context):\n",
        "        import uuid\n\n        def get_supervisor(user_context):\n"
        "            uuid.UUID(user_context.user_id)  # ids must be UUIDs here\n")
    profile = write_backend(tmp_path, {"synthapp/wiring.py": wiring})
    result = run_checks(profile, "event-flow")["event-flow"]
    assert result.status is Status.ERROR, messages(result)
    assert "make_user_context" in (result.fix or "")
    extra = hooks(tmp_path, """
        import uuid

        def make_user_context(thread_id, run_id):
            from synthapp.context import UserExecutionContext
            return UserExecutionContext(str(uuid.uuid4()), thread_id, "req", run_id)
        """)
    hooked = write_backend(tmp_path, {"synthapp/wiring.py": wiring}, extra)
    assert run_checks(hooked, "event-flow")["event-flow"].status is Status.PASS


def test_a_leak_is_caught_in_process_without_user_ids_or_the_contexts_run_ids(tmp_path):
    emitter = OWN_EVENTS_EMITTER.replace('"user_id": c.user_id, ', "")
    leaky = FILES["synthapp/channels.py"].replace(
        "conns = list(_CONNS.get(self.user_id, []))",
        "conns = [c for cs in _CONNS.values() for c in cs]")
    fields = {"events": {"fields": {"timestamp": "ts", "data": "payload", "thread_id": None,
                                    "user_id": None}}}
    profile = write_backend(tmp_path, {"synthapp/emitter.py": emitter,
                                       "synthapp/channels.py": leaky}, fields)
    results = run_checks(profile, "event-flow", "user-isolation")
    assert results["event-flow"].status is Status.PASS, table(results)
    assert results["user-isolation"].status is Status.FAIL, table(results)


def test_a_components_own_shape_error_is_its_fail_not_a_rejected_context(tmp_path):
    # a typo in the factory's own code: engine-factory fails on it (it is not the context)
    factory = FILES["synthapp/factory.py"].replace("self.bridge.create_user_emitter(",
                                                   "self.bridge.create_emitter(")
    result = run_checks(write_backend(tmp_path, {"synthapp/factory.py": factory}),
                        "engine-factory")["engine-factory"]
    assert result.status is Status.FAIL, messages(result)
    assert "create_emitter" in result.full_summary


def test_a_fields_mapping_is_never_shadowed_by_the_targets_own_key():
    from netra_diag.support.judge import normalise_events

    frames = [{"type": "agent_started", "ts": 1.5, "timestamp": "2026-11-29T20:00:00"}]
    assert normalise_events(frames, {"timestamp": "ts"}) == \
        [{"type": "agent_started", "timestamp": 1.5}]
    # a wire control frame has no field of the backend's own: it keeps the protocol's type
    assert normalise_events([{"type": "auth_ok"}, {"signal": "agent_started"}],
                            {"type": "signal"}) == [{"type": "auth_ok"},
                                                    {"type": "agent_started"}]


# -- parts a backend does not have: roles declared none; the context from the hook -------

def test_a_role_declared_none_makes_its_checks_not_applicable_never_an_error(tmp_path):
    roles = {**PROFILE["roles"], "registry": None, "engine_factory": "none", "engine": None}
    profile = write_backend(tmp_path, None, {"roles": roles})
    results = run_checks(profile, "registry-wiring", "engine-factory", "event-flow")
    for check_id in ("registry-wiring", "engine-factory"):
        result = results[check_id]
        assert result.status is Status.SKIP, table(results)
        assert result.full_summary.startswith("not applicable: the profile declares no '")
    assert "(roles.registry: none)" in results["registry-wiring"].full_summary
    assert results["event-flow"].status is Status.PASS, table(results)


def test_an_unknown_role_declared_none_is_still_refused(tmp_path):
    from netra_diag.errors import ConfigError
    from netra_diag.profile import load_profile

    profile = write_backend(tmp_path, None, {"roles": {**PROFILE["roles"], "registyr": None}})
    with pytest.raises(ConfigError, match=r"roles\.registyr"):
        load_profile(profile)


def test_without_a_user_context_role_the_hooks_context_type_is_judged(tmp_path):
    extra = hooks(tmp_path, """
        def make_user_context(user_id, thread_id, run_id):
            from synthapp.context import UserExecutionContext
            return UserExecutionContext(user_id, thread_id, "req", run_id)
        """)
    roles = {k: v for k, v in PROFILE["roles"].items() if k != "user_context"}
    profile = write_backend(tmp_path, None, {**extra, "roles": roles})
    result = run_checks(profile, "context-identity")["context-identity"]
    assert result.status is Status.PASS, messages(result)
    assert "the type make_user_context() in the hooks file returns" in messages(result)


def test_a_backends_own_name_for_the_event_type_is_honoured_by_emitter_methods(tmp_path):
    """Blind trial 5: events whose type is under 'signal' (events.fields: {type: signal})
    were judged by event-flow and failed by emitter-methods ('emitted [None]')."""
    emitter = FILES["synthapp/emitter.py"].replace('"type": event_type,', '"signal": event_type,')
    assert emitter != FILES["synthapp/emitter.py"]
    profile = write_backend(tmp_path, {"synthapp/emitter.py": emitter},
                            {"events": {"fields": {"type": "signal"}}})
    results = run_checks(profile, "emitter-methods", "event-flow")
    for result in results.values():
        assert result.status is Status.PASS, table(results)


def test_a_located_agent_bridge_that_is_not_a_bridge_is_an_error_never_a_none_claim(tmp_path):
    """Blind trial 5: 'build.locate.agent_bridge' named the agent's emitter itself; the check
    said '<it> is None after set_websocket_manager()', which was false."""
    registry = FILES["synthapp/registry.py"].replace(
        "agent.websocket_bridge = make_bridge()",
        "agent.websocket_bridge = make_bridge().create_user_emitter(user_context)")
    assert registry != FILES["synthapp/registry.py"]
    profile = write_backend(tmp_path, {"synthapp/registry.py": registry},
                            {"build": {"locate": {"agent_bridge": "websocket_bridge"}}})
    result = run_checks(profile, "registry-wiring")["registry-wiring"]
    assert result.status is Status.ERROR, messages(result)
    assert "is None" not in result.full_summary + messages(result)
    assert "which offers no create_user_emitter()" in result.full_summary
    assert "build.locate.agent_bridge" in (result.fix or "")


def test_a_manager_factory_declared_none_leaves_import_chain_judging_deprecations(tmp_path):
    roles = {**PROFILE["roles"], "manager_factory": None}
    profile = write_backend(tmp_path, None, {"roles": roles})
    result = run_checks(profile, "import-chain")["import-chain"]
    assert result.status is Status.PASS, messages(result)
    assert "(roles.manager_factory: none)" in result.full_summary


def test_context_identity_takes_the_context_the_hook_builds_not_invented_arguments(tmp_path):
    """Blind trial 5: a context with a field only the application knows; the hook builds it,
    and context-identity asked for 'build.user_context.<field>' instead of using it."""
    context = FILES["synthapp/context.py"].replace(
        "            request_id: str\n",
        "            request_id: str\n            tenant: str = field(default=None)\n"
        "            def __post_init__(self):\n"
        "                if self.tenant is None:\n"
        "                    raise ValueError('a context needs its tenant')\n")
    assert context != FILES["synthapp/context.py"]
    extra = hooks(tmp_path, """
        def make_user_context(user_id, thread_id, run_id):
            from synthapp.context import UserExecutionContext
            return UserExecutionContext(user_id, thread_id, "req", tenant="acme",
                                        run_id=run_id)
        """)
    profile = write_backend(tmp_path, {"synthapp/context.py": context}, extra)
    result = run_checks(profile, "context-identity")["context-identity"]
    assert result.status is Status.PASS, messages(result)


def test_a_parameter_named_otherwise_takes_a_value_the_run_offers_by_profile(tmp_path):
    """Blind trial 5: get_agent(kind) could only be given a literal, so every agent the
    check asked for was the same one; {offered: agent_name} passes the run's agent name."""
    registry = FILES["synthapp/registry.py"].replace(
        "            def get_agent(self, name):\n                return self._agents[name]",
        "            def get_agent(self, kind):\n                return self._agents[kind]")
    assert registry != FILES["synthapp/registry.py"]
    offered = {"build": {"get_agent": {"kind": {"offered": "agent_name"}}}}
    profile = write_backend(tmp_path, {"synthapp/registry.py": registry}, offered)
    result = run_checks(profile, "registry-wiring")["registry-wiring"]
    assert result.status is Status.PASS, messages(result)
    typo = write_backend(tmp_path / "typo", {"synthapp/registry.py": registry},
                         {"build": {"get_agent": {"kind": {"offered": "agent_nam"}}}})
    result = run_checks(typo, "registry-wiring")["registry-wiring"]
    assert result.status is Status.ERROR, messages(result)
    assert "asks for the run's 'agent_nam'" in result.full_summary
    assert "agent_name" in (result.fix or "")


def test_an_emitter_with_no_generic_send_is_probed_by_its_notify_method(tmp_path):
    """Blind trial 5: an emitter with only announce-style methods; engine-factory and
    registry-wiring asked for 'methods.send_event' and the user pointed it at a private
    method with invented arguments. The first critical event's notify method serves."""
    emitter = FILES["synthapp/emitter.py"].replace("send_event", "_send")
    assert "send_event" not in emitter
    profile = write_backend(tmp_path, {"synthapp/emitter.py": emitter})
    results = run_checks(profile, "engine-factory", "registry-wiring", "emitter-methods")
    for result in results.values():
        assert result.status is Status.PASS, table(results)
