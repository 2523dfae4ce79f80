"""context-identity: one context type in production code, accepted by every component."""

from __future__ import annotations

import textwrap
from pathlib import Path

from netra_diag.model import Status
from netra_diag.profile import load_profile
from netra_diag.registry import Registry
from netra_diag.runner import Runner
from netra_diag.target import open_target


def run_identity(profile, *, static: bool = False):
    registry = Registry()
    registry.load_builtin()
    outcome = Runner(profile, timeout_s=30, static=static).run(
        [registry.get("context-identity")])
    [result] = outcome.results
    return result


def located(result) -> list[str]:
    return [e.location for e in result.evidence if e.file]


CTX = """
    from dataclasses import dataclass

    @dataclass
    class RequestContext:
        user_id: str
        request_id: str
        thread_id: str
    """

DUCK_TYPED = {
    "app/__init__.py": "",
    "app/ctx.py": CTX,
    "app/legacy/__init__.py": "",
    "app/legacy/ctx.py": CTX,  # a second copy, left behind by a migration
    "app/tests/fakes.py": CTX,  # test code: never counted
    "app/manager.py": """
        class Manager:
            def __init__(self, ctx):
                self.user_id = ctx.user_id  # duck typing: any context with the ids will do

        def make_manager(user_context):
            return Manager(user_context)
        """,
}

PROFILE = """
    name: duck
    roles:
      user_context: app.ctx:RequestContext
      manager_factory: app.manager:make_manager
    """


def write_backend(tmp_path: Path, files: dict[str, str], profile: str) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text))
    (tmp_path / "netra-diag.yaml").write_text(textwrap.dedent(profile))
    return tmp_path / "netra-diag.yaml"


def test_two_production_definitions_fail_by_themselves_from_source(tmp_path):
    result = run_identity(load_profile(write_backend(tmp_path, DUCK_TYPED, PROFILE)),
                          static=True)
    assert result.status is Status.FAIL
    assert result.full_summary.startswith("2 classes named RequestContext in production code "
                                     "(app/ctx.py:5, app/legacy/ctx.py:5)")
    assert "app/tests/fakes.py:5" not in located(result)


def test_who_accepts_which_is_probed_even_when_every_component_accepts_both(tmp_path):
    result = run_identity(load_profile(write_backend(tmp_path, DUCK_TYPED, PROFILE)))
    assert result.status is Status.FAIL  # the split alone is a failure
    [observed] = [e for e in result.evidence if e.kind == "observed"]
    assert observed.data == {"component": "app.manager:make_manager()",
                             "accepts": ["app.ctx.RequestContext",
                                         "app.legacy.ctx.RequestContext"],
                             "rejects": []}
    assert "rejects the context" not in result.full_summary


def test_the_split_reference_names_the_first_rejecting_call():
    with open_target(None, inject=("context-split",)) as target:
        result = run_identity(target.profile)
    assert result.status is Status.FAIL
    assert "bridge.create_user_emitter() rejects the context the wiring path is given" in \
        result.full_summary
    assert "netra_backend/app/services/agent_websocket_bridge.py:63" in located(result)
    accepts = {e.data["component"]: e.data["accepts"] for e in result.evidence
               if e.kind == "observed" and e.data}
    manager = next(k for k in accepts if "create_websocket_manager" in k)
    assert accepts[manager] == ["netra_backend.app.services.user_execution_context."
                                "UserExecutionContext"]


def test_a_component_broken_for_another_reason_is_not_blamed_on_the_context():
    with open_target(None, inject=("registry-missing-llm-manager",)) as target:
        result = run_identity(target.profile)
    assert result.status is Status.PASS, result.evidence
    notes = [e.message for e in result.evidence if e.kind == "note"]
    assert any("rejects every context class alike" in n and "llm_manager" in n for n in notes)


def test_explain_says_what_why_and_how_to_fix(cli):
    result = cli("explain", "context-identity")
    assert result.exit_code == 0
    for part in ("Why it matters", "How it is judged", "Typical causes", "How to fix",
                 "Fix hint: keep one user context class"):
        assert part in result.stdout
