"""event-flow without the target's server: driven in-process, saying the wire was not used."""

from __future__ import annotations

from dataclasses import replace

import pytest

from netra_diag.model import Status
from netra_diag.registry import Registry
from netra_diag.runner import Runner
from netra_diag.target import open_target


def flow(profile):
    registry = Registry()
    registry.load_builtin()
    [result] = Runner(profile, timeout_s=30).run([registry.get("event-flow")]).results
    return result


def without_server(profile):
    return replace(profile, roles={k: v for k, v in profile.roles.items() if k != "server"})


def received(result) -> list[str]:
    [events] = [e for e in result.evidence if e.kind == "events"]
    assert events.data["wire"] is False
    return events.data["received"]


def test_the_reference_without_a_server_delivers_in_process():
    with open_target(None) as target:
        result = flow(without_server(target.profile))
    assert result.status is Status.PASS, result.evidence
    assert result.summary == ("5/5 critical events delivered in order, in-process (the wire "
                              "was not exercised)")
    assert received(result) == ["agent_started", "agent_thinking", "tool_executing",
                                "tool_completed", "agent_completed"]
    notes = [e.message for e in result.evidence if e.kind == "note"]
    assert any("no 'server' role" in n and "was not exercised" in n for n in notes)
    assert any("through the wiring path" in e.message for e in result.evidence)


@pytest.mark.parametrize(("fault", "where"), [
    ("registry-missing-llm-manager", "netra_backend/app/dependencies.py:26"),
    ("unawaited-user-emitter", "netra_backend/app/agents/demo_agent.py:36"),
])
def test_a_broken_pipeline_fails_in_process_with_the_target_traceback(fault, where):
    with open_target(None, inject=(fault,)) as target:
        result = flow(without_server(target.profile))
    assert result.status is Status.FAIL
    assert result.summary.startswith("0/5 critical events delivered in-process")
    assert received(result) == []
    assert where in [e.location for e in result.evidence if e.file]


def test_a_server_that_cannot_start_falls_back_to_in_process():
    with open_target(None) as target:
        module = target.profile.root / "netra_backend" / "app" / "routes" / "needs_db.py"
        module.write_text("async def start_server(host, port, users):\n"
                          "    raise RuntimeError('DATABASE_URL is not set')\n")
        roles = {**target.profile.roles,
                 "server": "netra_backend.app.routes.needs_db:start_server"}
        result = flow(replace(target.profile, roles=roles))
    assert result.status is Status.PASS, result.evidence
    notes = [e.message for e in result.evidence if e.kind == "note"]
    assert any("the target's server could not start" in n and "DATABASE_URL" in n
               for n in notes)
    assert "netra_backend/app/routes/needs_db.py:2" in [e.location for e in result.evidence
                                                         if e.file]
