"""`init` on large, messy trees: only strongly-shaped roles that run code, structure over
names, TODOs with candidates, deprecated entries only when connected, the hooks template."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import yaml

from netra_diag.init import write_profile
from netra_diag.init_hooks import HOOKS_FILENAME
from netra_diag.init_proposal import infer_profile
from netra_diag.profile import load_profile

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


SERVER_DECOYS = {
    "app/__init__.py": "",
    "app/db.py": """
        from app.clients import get_client

        async def create_clickhouse_schema():
            client = await get_client()
            await client.execute("CREATE TABLE events (id String)")

        async def start_server():
            '''Named like a server, takes nothing, does I/O.'''
            await create_clickhouse_schema()
        """,
    "app/metrics.py": """
        import asyncio

        async def serve_metrics(host: str, port: int) -> None:
            server = await asyncio.start_server(lambda r, w: None, host, port)
            await server.serve_forever()
        """,
}


def test_a_no_argument_async_function_doing_io_is_never_the_server(tmp_path):
    write_tree(tmp_path, SERVER_DECOYS)
    proposal = infer_profile(tmp_path, cache=False)
    assert "server" not in proposal.roles
    listed = {d.entry: why for d, why in proposal.candidates["server"]}
    assert "app.db:create_clickhouse_schema" not in listed  # not server-shaped at all
    assert "takes no host and port" in listed["app.db:start_server"]
    assert "not a server object with a url or port" in listed["app.metrics:serve_metrics"]
    text = write_profile(tmp_path / "out.yaml", root=tmp_path).path.read_text()
    assert "  # server: TODO  # " in text
    assert "#   candidate: app.metrics:serve_metrics" in text
    assert load_profile(tmp_path / "out.yaml").roles.get("server") is None


def test_a_server_returning_an_object_with_a_url_is_taken(tmp_path):
    write_tree(tmp_path, {**SERVER_DECOYS, "app/ws.py": """
        class Running:
            def __init__(self, host, port):
                self.port = port

            @property
            def url(self):
                return f"ws://{self.port}"

        async def start_server(host: str = "127.0.0.1", port: int = 0, users=None) -> Running:
            return Running(host, port)
        """})
    proposal = infer_profile(tmp_path, cache=False)
    assert proposal.roles["server"].entry == "app.ws:start_server"


BACKEND = {
    "app/__init__.py": "",
    "app/context.py": """
        class UserExecutionContext:
            def __init__(self, user_id, thread_id, run_id): ...
        """,
    "app/ws/__init__.py": "",
    "app/ws/emitter.py": """
        class UnifiedEmitter:
            async def notify_agent_started(self, name): ...
            async def notify_agent_thinking(self, text): ...
            async def notify_tool_executing(self, tool): ...
            async def notify_tool_completed(self, tool): ...
            async def notify_agent_completed(self, result=None): ...
            def get_emitter_status(self): ...
        """,
    "app/ws/manager.py": """
        import warnings

        def create_websocket_manager(user_context): ...

        def get_websocket_manager():
            warnings.warn("get_websocket_manager is deprecated; use create_websocket_manager",
                          UserWarning)
        """,
    "app/bridge.py": """
        from app.ws.emitter import UnifiedEmitter

        class Bridge:
            async def create_user_emitter(self, user_context) -> UnifiedEmitter:
                return UnifiedEmitter()

        def create_bridge() -> Bridge:
            return Bridge()
        """,
    "app/api/__init__.py": "",
    "app/api/deps.py": """
        from app.bridge import Bridge

        async def get_bridge(request, user_id: str) -> Bridge:
            return request.app.bridges[user_id]
        """,
    "app/factory/__init__.py": "",
    "app/factory/agents.py": """
        class UserWebSocketEmitter:
            async def notify_agent_started(self, name): ...
            async def notify_agent_thinking(self, text): ...
            async def notify_tool_executing(self, tool): ...
            async def notify_tool_completed(self, tool): ...
            async def notify_agent_completed(self, result=None): ...
        """,
    "app/db/__init__.py": "",
    "app/db/session.py": """
        import warnings

        def get_db_session():
            warnings.warn("get_db_session() is deprecated; use open_session()",
                          DeprecationWarning)
        """,
    "app/resilience.py": """
        class LLMCircuitBreakerManager:
            def __init__(self): ...
        """,
}


def test_roles_come_from_structure_and_decoys_stay_out(tmp_path):
    write_tree(tmp_path, BACKEND)
    proposal = infer_profile(tmp_path, cache=False)
    roles = {r: c.entry for r, c in proposal.roles.items()}
    assert roles["emitter"] == "app.ws.emitter:UnifiedEmitter"  # what the bridge returns
    assert roles["bridge_factory"] == "app.bridge:create_bridge"  # not the request dependency
    assert "llm_manager" not in roles  # a circuit breaker is no stand-in for a model
    assert "send_event" not in proposal.methods  # a status getter sends nothing
    why = dict((d.entry, w) for d, w in proposal.roles["bridge_factory"].candidates)
    assert "requires request, user_id" in why["app.api.deps:get_bridge"]
    deprecated = {d.entry: d for d in proposal.deprecated}
    getter = deprecated["app.ws.manager:get_websocket_manager"]
    assert getter.active and getter.replacement == "create_websocket_manager"
    assert getter.category == "UserWarning"
    assert not deprecated["app.db.session:get_db_session"].active
    text = write_profile(tmp_path / "out.yaml", root=tmp_path).path.read_text()
    profile = load_profile(tmp_path / "out.yaml")
    assert [d.entry for d in profile.deprecated] == ["app.ws.manager:get_websocket_manager"]
    assert "  # - entry: app.db.session:get_db_session" in text
    assert "warns UserWarning saying deprecated" in text


def test_two_wiring_paths_connected_alike_are_a_todo_not_a_guess(tmp_path):
    write_tree(tmp_path, {
        "app/__init__.py": "",
        "app/registry.py": """
            class AgentRegistry:
                def __init__(self): ...
                def get_agent(self, name): ...
            """,
        "app/one.py": """
            from app.registry import AgentRegistry

            def get_supervisor(user_context):
                return AgentRegistry()
            """,
        "app/two.py": """
            from app.registry import AgentRegistry

            def get_supervisor(user_context):
                return AgentRegistry()
            """,
    })
    proposal = infer_profile(tmp_path, cache=False)
    assert "wiring_entry" not in proposal.roles
    assert "2 candidates fit equally well" in proposal.missing["wiring_entry"]
    assert {d.entry for d, _ in proposal.candidates["wiring_entry"]} == {
        "app.one:get_supervisor", "app.two:get_supervisor"}


def test_the_hooks_template_is_written_commented_out_and_kept(tmp_path):
    write_tree(tmp_path / "src", BACKEND)
    result = write_profile(tmp_path)
    hooks = tmp_path / HOOKS_FILENAME
    assert result.hooks == hooks
    text = hooks.read_text()
    namespace: dict = {}
    exec(compile(text, str(hooks), "exec"), namespace)
    for name in ("setup", "make_user_context", "connect", "disconnect", "run_agent"):
        assert name not in namespace  # nothing is active until the user edits it
        assert f"# def {name}(" in text or f"# async def {name}(" in text
    assert "from app.context import UserExecutionContext" in text
    profile_text = result.path.read_text()
    assert f"# hooks: {HOOKS_FILENAME}" in profile_text
    assert "hooks" not in yaml.safe_load(profile_text)
    hooks.write_text("# mine\n")
    result.path.unlink()
    again = write_profile(tmp_path)  # a new profile, but the user's hooks file is kept
    assert again.hooks is None and hooks.read_text() == "# mine\n"
    assert write_profile(tmp_path, force=True).hooks == hooks  # --force rewrites it
    assert "def setup" in hooks.read_text()


def test_on_the_realistic_tree_every_activated_role_is_right_and_no_decoy(tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import realistic_tree
    finally:
        sys.path.remove(str(BENCHMARKS))
    realistic_tree.generate(tmp_path, modules=150)
    proposal = infer_profile(tmp_path / "src", cache=False)
    for role, truth in realistic_tree.TRUTH.items():
        choice = proposal.roles.get(role)
        assert (choice.entry if choice else None) == truth, role
        if truth is None:
            assert proposal.candidates[role], role  # a TODO lists its candidates
    assert not {c.entry for c in proposal.roles.values()} & realistic_tree.DECOYS
    active = {d.entry: d.replacement for d in proposal.deprecated if d.active}
    assert active == realistic_tree.PIPELINE_DEPRECATED
    assert sum(not d.active for d in proposal.deprecated) == realistic_tree.UNRELATED_DEPRECATED
    assert proposal.parsed < proposal.files / 2  # the scan parses what can matter only


def test_the_header_counts_distinct_files_read_and_parsed(tmp_path):
    from netra_diag.faults import reference_source
    from netra_diag.support.source import iter_python_files

    result = write_profile(tmp_path, root=reference_source())
    files = sum(1 for _ in iter_python_files(reference_source(), ("tests/**",)))
    proposal = result.proposal
    assert proposal.files == files
    assert 0 < proposal.parsed < files
    assert f"# Read {files} production file(s) under " in result.path.read_text()


def test_a_context_inheriting_user_id_from_another_file_is_found(tmp_path):
    write_tree(tmp_path, {
        "app/__init__.py": "",
        "app/base.py": "class BaseRequestState:\n    def __init__(self, user_id, run_id): ...\n",
        "app/ctx.py": "from app.base import BaseRequestState\n\n\n"
                      "class UserExecutionContext(BaseRequestState):\n    pass\n",
    })
    proposal = infer_profile(tmp_path, cache=False)
    assert proposal.roles["user_context"].entry == "app.ctx:UserExecutionContext"
