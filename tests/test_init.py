"""`netra-diag init`: a commented profile from the source alone, never overwriting by accident."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import yaml

from netra_diag.exitcodes import ExitCode
from netra_diag.faults import reference_source
from netra_diag.init import write_profile
from netra_diag.init_proposal import infer_profile
from netra_diag.profile import PROFILE_FILENAME, load_profile, reference_profile_path


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_on_the_reference_source_it_writes_the_builtin_profile(tmp_path):
    result = write_profile(tmp_path, root=reference_source())
    written, builtin = load_profile(result.path), load_profile(reference_profile_path())
    assert written.roles == builtin.roles
    assert {(d.entry, d.replacement) for d in written.deprecated} == \
        {(d.entry, d.replacement) for d in builtin.deprecated}
    assert written.build == builtin.build
    assert written.methods == builtin.methods
    assert written.root == builtin.root
    assert result.proposal.todo_count == 0


def test_it_imports_nothing(tmp_path):
    before = set(sys.modules)
    write_profile(tmp_path, root=reference_source())
    assert not {m for m in set(sys.modules) - before if m.startswith("netra_backend")}


def test_comments_give_async_ness_required_parameters_and_locations(tmp_path):
    text = write_profile(tmp_path, root=reference_source()).path.read_text()
    assert ("wiring_entry: netra_backend.app.dependencies:get_supervisor  # async function, "
            "netra_backend/app/dependencies.py:21; required: user_context") in text
    assert "registry: netra_backend.app.agents.supervisor.agent_registry:AgentRegistry  # " \
           "class, netra_backend/app/agents/supervisor/agent_registry.py:31; required: " \
           "llm_manager" in text
    assert "warns DeprecationWarning (a notifier or emitter): WebSocketNotifier is " \
           "deprecated." in text
    yaml.safe_load(text)  # comments aside, plain YAML


def test_it_never_overwrites_without_force(cli, tmp_path):
    folder = write_tree(tmp_path / "proj", {"src/app/__init__.py": ""})
    (folder / PROFILE_FILENAME).write_text("name: mine\n")
    result = cli("init", str(folder))
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "already exists; pass --force" in result.stderr
    assert (folder / PROFILE_FILENAME).read_text() == "name: mine\n"
    result = cli("init", str(folder), "--force")
    assert result.exit_code == ExitCode.OK
    assert "wrote" in result.stdout
    assert load_profile(folder).name == "app"


def test_the_default_is_the_current_folder_and_its_src(cli, tmp_path):
    write_tree(tmp_path, {"src/shop/__init__.py": "", "src/shop/ctx.py": """
        from dataclasses import dataclass

        @dataclass
        class UserExecutionContext:
            user_id: str
            request_id: str
            thread_id: str
        """})
    result = cli("init")  # the cli fixture runs in tmp_path
    assert result.exit_code == ExitCode.OK, result.output
    profile = load_profile(tmp_path / PROFILE_FILENAME)
    assert profile.root == (tmp_path / "src").resolve()
    assert profile.roles == {"user_context": "shop.ctx:UserExecutionContext"}


UNSETTLED = {
    "app/__init__.py": "",
    "app/context.py": """
        class RequestContext:
            def __init__(self, user_id, request_id, thread_id):
                self.user_id, self.request_id, self.thread_id = user_id, request_id, thread_id
        """,
    "app/registry.py": """
        class AgentRegistry:
            def __init__(self, llm_manager, vault_client):
                self.llm_manager = llm_manager

            def get_agent(self, name): ...
            def list_agents(self): ...
        """,
    "app/old.py": '''
        def legacy_manager():
            """Deprecated: the global manager."""
            return None
        ''',
}


def test_what_it_cannot_settle_is_a_todo_and_the_file_still_loads(tmp_path):
    write_tree(tmp_path / "src", UNSETTLED)
    result = write_profile(tmp_path)
    text = result.path.read_text()
    profile = load_profile(result.path)  # every TODO is a comment or a TODO value
    assert profile.roles == {"user_context": "app.context:RequestContext",
                             "registry": "app.registry:AgentRegistry"}
    for role in ("manager_factory", "emitter", "bridge_factory", "engine_factory", "engine",
                 "wiring_entry", "server"):
        assert f"  # {role}: TODO  # " in text
    assert "# llm_manager: TODO  # required by AgentRegistry()" in text
    assert "# vault_client: TODO  # required by AgentRegistry()" in text
    assert not profile.build  # nothing settled, so nothing but comments
    assert "# set_websocket_manager: TODO  # AgentRegistry has no set_websocket_manager()" in text
    # not connected to the event pipeline: listed, commented out, for the user to opt in
    assert not profile.deprecated
    assert "  # - entry: app.old:legacy_manager  # app/old.py:2 docstring says deprecated" in text
    # 8 roles (llm_manager too), 1 method, 2 constructor arguments
    assert result.proposal.todo_count == 8 + 1 + 2


def test_parameters_are_settled_from_roles_and_annotations(tmp_path):
    write_tree(tmp_path, {
        "app/__init__.py": "",
        "app/llm.py": """
            class LLMClient:
                def __init__(self, api_key: str): ...

            class FakeLLMClient(LLMClient):
                def __init__(self): super().__init__("fake")
            """,
        "app/store.py": """
            class Store:
                def __init__(self, dsn: str = "sqlite://"): ...
            """,
        "app/registry.py": """
            from app.llm import LLMClient
            from app.store import Store

            class AgentRegistry:
                def __init__(self, llm: LLMClient, store: Store, cache, *, retries: int): ...
                def get_agent(self, name): ...
            """,
        "app/bridge.py": """
            def create_bridge():  # no return annotation: its class is unknown
                return object()
            """,
    })
    proposal = infer_profile(tmp_path)
    values = proposal.build["registry"]
    assert values["llm"].factory == "app.llm:FakeLLMClient"  # the llm_manager role
    assert proposal.roles["llm_manager"].entry == "app.llm:FakeLLMClient"
    assert values["store"].factory == "app.store:Store"  # an annotated class, no arguments
    assert values["retries"].todo and "annotated int" in values["retries"].todo
    assert values["cache"].todo  # unannotated and no role's name: never guessed


def test_deprecations_are_recognised_by_behaviour_and_named_by_their_public_path(tmp_path):
    write_tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/ws/__init__.py": "from pkg.ws.core import shared_manager\n",
        "pkg/ws/core.py": """
            import warnings

            def shared_manager():
                warnings.warn("shared_manager() is going away: use `make_manager(ctx)`",
                              category=PendingDeprecationWarning, stacklevel=2)

            def not_deprecated():
                '''Not deprecated: the supported path.'''
            """,
        "pkg/notifier.py": """
            from warnings import warn

            class Notifier:
                def __init__(self):
                    warn(f"{type(self).__name__} is deprecated; use EventBridge",
                         DeprecationWarning)
            """,
    })
    proposal = infer_profile(tmp_path)
    found = {(d.entry, d.replacement) for d in proposal.deprecated}
    assert found == {("pkg.ws:shared_manager", "make_manager"),
                     ("pkg.notifier:Notifier", "EventBridge")}


def test_syntax_errors_in_the_tree_are_reported_not_fatal(tmp_path):
    write_tree(tmp_path, {"app/__init__.py": "",  # it could hold the context, but cannot parse
                          "app/bad.py": "class UserExecutionContext(:\n    user_id = ''\n",
                          "app/ctx.py": "class UserContext:\n    def __init__(self, user_id): ..."})
    result = write_profile(tmp_path)
    text = result.path.read_text()
    assert "# skipped (could not parse): app/bad.py:1: syntax error" in text
    assert load_profile(result.path).name == "app"
    assert load_profile(result.path).roles["user_context"] == "app.ctx:UserContext"
