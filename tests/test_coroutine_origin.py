"""A crash on a coroutine nobody awaited names where the coroutine was made, so a check
whose set-up it stopped is "blocked by" the check that owns the un-awaited call (blind trial
5: an un-awaited async factory made a later line crash; the crash line alone matched no
owner). Real code, a real exception, the real origin tracking the worker turns on."""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest

from netra_diag.blocking import mark_blocked
from netra_diag.context import target_traceback
from netra_diag.finding import COROUTINE_FROM
from netra_diag.model import CheckResult, Evidence, Status

MODULE = """
    class Herald:
        async def announce(self):
            return "announced"

    class Forge:
        async def forge(self):
            return Herald()

    class Worker:
        def __init__(self, forge):
            self.herald = forge.forge()  # line 11: not awaited, a coroutine

        def handle(self):
            h = self.herald
            return h.announce()  # line 15: AttributeError on the coroutine
    """


@pytest.fixture
def crash(tmp_path, monkeypatch):
    (tmp_path / "relay.py").write_text(textwrap.dedent(MODULE).lstrip("\n"))
    spec = importlib.util.spec_from_file_location("relay_origin_test", tmp_path / "relay.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    depth = sys.get_coroutine_origin_tracking_depth()
    sys.set_coroutine_origin_tracking_depth(4)  # as the worker does for every check
    try:
        worker = module.Worker(module.Forge())
    finally:
        sys.set_coroutine_origin_tracking_depth(depth)
    try:
        worker.handle()
    except AttributeError as exc:
        worker.herald.close()
        return exc, tmp_path
    raise AssertionError("the module did not crash")


def test_the_crash_evidence_names_where_the_coroutine_was_made(crash):
    exc, root = crash
    [location] = [e for e in target_traceback(exc, root) if e.kind == "location"]
    assert (location.file, location.line) == ("relay.py", 15)
    assert location.data[COROUTINE_FROM] == "relay.py:11"


def test_a_set_up_crash_there_is_blocked_by_the_owner_of_the_call(crash):
    exc, root = crash
    crash_evidence = target_traceback(exc, root)
    owner = CheckResult(id="emitter-methods", why=2, title="Emitter", status=Status.FAIL,
                        summary="relay.py:11 calls async forge() without await",
                        evidence=(Evidence("location", "calls forge() without await",
                                           "relay.py", 11),))
    stopped = CheckResult(
        id="import-chain", why=1, title="Import chain", status=Status.ERROR,
        summary="could not set up: the agent run crashed at relay.py:15",
        evidence=(Evidence("observed", "set-up step failed",
                           data={"blocked_at": "relay.py:15", "step": "agent run"}),
                  *crash_evidence))
    blocked = {r.id: r for r in mark_blocked([owner, stopped])}["import-chain"]
    assert blocked.status is Status.SKIP
    assert blocked.summary.startswith("blocked by emitter-methods: the defect at relay.py:11")
    alone = {r.id: r for r in mark_blocked([stopped])}["import-chain"]
    assert alone.status is Status.ERROR  # no owner: the tool could not find out
