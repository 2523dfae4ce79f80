"""``user-isolation``: the judgement on captured runs (pure), and the multi-client driver over
the real reference server (all clients in before any run starts; late leaks still caught)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from netra_diag_checks.user_isolation import EXPLAIN, judge_isolation

from netra_diag.faults import apply_faults, copy_reference
from netra_diag.model import Status
from netra_diag.support.capture import Capture
from netra_diag.support.wire_group import drive_runs

CRITICAL = ["agent_started", "agent_thinking", "tool_executing", "tool_completed",
            "agent_completed"]
URL = "ws://127.0.0.1:1/ws"


def capture(user: str, run_id: str | None, *foreign: tuple[str, str]) -> Capture:
    """A client of ``user`` that got its own five events plus ``foreign`` (owner, run)."""
    cap = Capture(URL, connected=True, user_id=user, run_id=run_id, label=user)
    frames: list[dict[str, Any]] = [{"type": "run_accepted", "run_id": run_id}]
    if run_id is not None:
        frames += [{"type": t, "user_id": user, "run_id": run_id, "seq": i}
                   for i, t in enumerate(CRITICAL, 1)]
    frames += [{"type": "agent_started", "user_id": owner, "run_id": run, "seq": 1}
               for owner, run in foreign]
    cap.frames = frames
    cap.received_at = [0.0] * len(frames)
    return cap


def test_no_leak_passes_with_per_user_counts():
    verdict = judge_isolation([capture("ann", "r1"), capture("bo", "r2")], URL)
    assert verdict.status is Status.PASS
    assert "0 cross-user deliveries" in verdict.summary
    [observed] = [e for e in verdict.evidence if e.kind == "observed"]
    assert [(u["user"], u["own"], u["foreign"]) for u in observed.data["users"]] == [
        ("ann", 5, 0), ("bo", 5, 0)]


def test_a_leak_fails_naming_receiver_owner_and_count():
    caps = [capture("ann", "r1", ("bo", "r2"), ("bo", "r2")), capture("bo", "r2"),
            capture("cy", "r3", ("x", "r-unknown"))]
    verdict = judge_isolation(caps, URL)
    assert verdict.status is Status.FAIL
    leaks = {(e.data["receiver"], e.data["owner"]): e.data["count"]
             for e in verdict.evidence if e.kind == "leak"}
    assert leaks == {("ann", "bo"): 2, ("cy", "user 'x'"): 1}
    assert verdict.summary.startswith("3 event(s) reached the wrong user: ann received 2 of bo's")


def test_no_events_at_all_is_a_skip_naming_event_flow():
    verdict = judge_isolation([capture("ann", None), capture("bo", None)], URL)
    assert verdict.status is Status.SKIP and "event-flow" in verdict.summary


def test_tokens_of_one_user_cannot_show_a_leak():
    verdict = judge_isolation([capture("ann", "r1"), capture("ann", "r2", ("ann", "r1"))], URL)
    assert verdict.status is Status.SKIP and "same user" in verdict.summary


def test_fewer_than_two_connected_users_is_an_error():
    refused = Capture(URL, connected=True, auth_refused=True, label="bo",
                      failure="the server closed the connection (code 1008)")
    verdict = judge_isolation([capture("ann", "r1"), refused], URL)
    assert verdict.status is Status.ERROR and "1008" in verdict.summary


def test_explain_covers_what_why_how_causes_fix():
    for part in ("Why it matters", "How it is judged", "Typical causes", "How to fix",
                 "--user-token-env"):
        assert part in EXPLAIN


# -- the driver against the real reference ----------------------------------------------------


@pytest.fixture
def reference(tmp_path) -> Iterator[Any]:
    """``start_server`` of a reference copy; the caller applies faults first."""
    def load(*faults: str) -> Any:
        root = copy_reference(tmp_path / "src")
        apply_faults(root, faults)
        sys.path.insert(0, str(root))
        return importlib.import_module("netra_backend.app.routes.websocket_server").start_server

    try:
        yield load
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(tmp_path / "src"))
        for name in [m for m in sys.modules if m.split(".")[0] == "netra_backend"]:
            del sys.modules[name]


@pytest.mark.parametrize("faults", [(), ("broadcast-events",)])
def test_drive_runs_catches_broadcast_and_only_broadcast(reference, faults):
    start_server = reference(*faults)
    users = {f"u{i}": f"token-of-user-{i}" for i in range(4)}

    async def scenario() -> list[Capture]:
        server = await start_server(users=users)
        try:
            return await drive_runs(server.url, list(users.items()), timeout=5, flush=True)
        finally:
            await asyncio.wait_for(server.close(), 5)

    caps = asyncio.run(scenario())
    assert all(c.completed and not c.failure for c in caps), [c.failure for c in caps]
    verdict = judge_isolation(caps, "the reference")
    if faults:
        assert verdict.status is Status.FAIL
        # connections join the hub when they start a run: the last to start misses nothing
        assert any(e.kind == "leak" for e in verdict.evidence)
    else:
        assert verdict.status is Status.PASS, verdict
        assert all(len(c.events()) == 5 for c in caps)
