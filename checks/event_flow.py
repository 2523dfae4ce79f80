"""End to end: does a real agent run deliver all critical events, in order, to the right client?"""

from __future__ import annotations

import secrets
from typing import Any

from netra_diag import CheckContext, Evidence, Verdict, check, errored, failed, passed
from netra_diag.redaction import public_url
from netra_diag.support.capture import Capture, is_loopback
from netra_diag.support.judge import judge_run, normalise_events, received_text
from netra_diag.support.wire import drive_run
from netra_diag.support.wire_group import drive_run_in_turn

from ._calling import build_role, call_target, run_async
from ._endpoint import is_live, live_members, redact_verdict, server_url, wire_budget
from ._inprocess import SERVER_START_ERRORS, ServerDidNotStart, run_in_process
from ._source import static_skip

EXPLAIN = """\
Verifies that a real agent run delivers every critical event (by default agent_started,
agent_thinking, tool_executing, tool_completed, agent_completed) over a real WebSocket to the
client that asked for it: exactly one agent_started first and one agent_completed last, each
tool_executing paired with a tool_completed, ids matching the request, `seq` without gaps or
duplicates, and each event carrying the documented fields.

Why it matters: this is what the user sees. Every other check explains *why* this one fails.

How it is judged: the check starts the target's WebSocket endpoint (the `server` role) on
127.0.0.1 and an ephemeral port with a generated user and token, connects as that user,
starts an agent run and records every frame until agent_completed, an error frame, a close,
or the run budget (`budgets.run_timeout_s`) runs out. Under `netra-diag probe URL` it connects
to that live endpoint as the probe's first user instead (a refused token is an error), within
`--timeout`.

Typical causes: any broken link upstream (see the five whys); a server that writes to the
wrong connection; events emitted on a manager nobody listens to.

How to fix: fix the earliest failing link in the chain, then re-run."""


_IN_PROCESS = "were emitted to the user's connection (in-process, the wire was not exercised)"
#: How the run's symptom is said (``netra_diag.phrasing``): this check describes it whatever
#: its status; ``+others`` joins the other failing end-to-end checks' phrases.
SYMPTOM = {
    "pass": (f"[wire=false][delivered=total] all {{total}} critical events {_IN_PROCESS}",
             "[delivered=total] all {total} critical events delivered",
             "event flow passes: {summary}"),
    "pass+others": ("[wire=false] events emitted (in-process, the wire was not exercised), "
                    "but they {others}", "events delivered, but they {others}"),
    "fail": (f"[wire=false][delivered<total] {{delivered}}/{{total}} critical events {_IN_PROCESS}",
             "[delivered<total] {delivered}/{total} critical events reached the client",
             "event flow fails: {summary}"),
    "fail+others": ("{symptom}; events also {others}",),
    "error": ("event flow could not be evaluated: {summary}",),
    "skip": ("event flow not checked: {summary}",),
}


@check(id="event-flow", why="e2e", title="Complete Event Flow", explain=EXPLAIN, order=70,
       criterion=("All {total} critical events delivered end to end, in order",
                  "All critical events delivered end to end, in order"),
       symptom=SYMPTOM, headline="{delivered}/{total} critical events delivered",
       critical="[delivered=0]",
       tags=("wire",), fix="fix the earliest failing link of the chain, then re-run",
       static_skip=static_skip("events only flow when the pipeline runs"))
def event_flow(ctx: CheckContext) -> Verdict:
    if is_live(ctx):
        return _live_event_flow(ctx)
    if not ctx.has_role("server"):
        return run_in_process(ctx, "the profile names no 'server' role")
    try:
        capture, url = run_async(ctx, lambda: _run_over_server(ctx))
    except ServerDidNotStart as exc:
        return run_in_process(ctx, f"the target's server could not start ({exc.reason})",
                              *exc.evidence)
    return verdict_for(ctx.profile.critical_events, capture, url,
                       fields=ctx.profile.event_fields)


def _live_event_flow(ctx: CheckContext) -> Verdict:
    """``probe``: one run over the live endpoint, as the probe's first user."""
    assert ctx.endpoint is not None  # called under probe only
    url = ctx.endpoint.url
    shown = public_url(url)
    members = live_members(ctx)
    _, token = members[0]
    # in the endpoint's turn: the other wire checks run the same users on it
    capture = run_async(ctx, lambda: drive_run_in_turn(url, token, timeout=wire_budget(ctx)))
    if capture.auth_refused:
        verdict = errored(f"authentication refused by {shown}: {capture.failure}",
                          fix="check the token: pass a valid one with --token-env VAR")
    else:
        verdict = verdict_for(ctx.profile.critical_events, capture, shown,
                              wire="over the live endpoint")
    return redact_verdict(verdict, [t for _, t in members])


async def _run_over_server(ctx: CheckContext) -> tuple[Capture, str]:
    user, token = "netra-diag-flow", secrets.token_urlsafe(24)
    available: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "users": {user: token},
                                 "tokens": {user: token}}
    try:
        server, _ = await build_role(ctx, "server", available)
    except SERVER_START_ERRORS as exc:  # no server here: event-flow runs in-process instead
        raise ServerDidNotStart.from_error(exc) from exc
    try:
        url = server_url(ctx, server)
        capture = await drive_run(url, token, timeout=ctx.budgets.run_s)
    finally:
        close = getattr(server, "close", None) or getattr(server, "aclose", None)
        if close is not None:
            await call_target(ctx, "closing the server", close)
    return capture, url


def verdict_for(critical: tuple[str, ...] | list[str], capture: Capture, url: str,
                *, wire: str = "over a real WebSocket",
                fields: dict[str, str | None] | None = None) -> Verdict:
    """The event-flow verdict for one captured run (shared with ``probe``); ``fields`` is
    the profile's ``events.fields`` (the target's names for the event fields)."""
    fields = fields or {}
    judgement = judge_run(normalise_events(capture.frames, fields), critical=critical,
                          user_id=capture.user_id, thread_id=capture.thread_id,
                          run_id=capture.run_id,
                          absent=frozenset(k for k, v in fields.items() if v is None),
                          received_at=capture.received_at,
                          clock_offset_s=0.0 if is_loopback(url) else capture.clock_offset_s)
    events = Evidence(
        "events",
        f"events received in order: {received_text(judgement.received)}",
        data={"expected": list(critical), "received": judgement.received,
              "delivered": judgement.delivered, "total": judgement.total,
              "run_id": capture.run_id},
    )
    evidence = [events]
    if capture.garbage:
        evidence.append(Evidence("observed", f"{capture.garbage_seen} frame(s) were not JSON "
                                 f"objects, e.g. {capture.garbage[0]!r}"))
    if capture.flooded:
        evidence.append(Evidence("observed", capture.failure or "the endpoint flooded",
                                 data={"frames_seen": capture.frames_seen,
                                       "bytes_seen": capture.bytes_seen,
                                       "frames_kept": len(capture.frames),
                                       "frames_dropped": capture.frames_dropped}))
    for frame in capture.error_frames:
        evidence.append(Evidence("observed", f"server error frame: {frame.get('code')}: "
                                 f"{frame.get('message')}"))
    if not capture.connected or capture.auth_refused:
        return errored(f"could not run an agent over {url}: {capture.failure}", *evidence,
                       fix="check that the endpoint is up and the token is valid")
    if capture.run_id is None and not capture.frames:
        return errored(f"the endpoint at {url} never accepted the run: {capture.failure}",
                       *evidence)
    if capture.failure and not capture.flooded:
        evidence.append(Evidence("observed", capture.failure))
    for problem in judgement.problems:
        evidence.append(Evidence("observed", problem))
    head = f"{judgement.headline} delivered"
    if capture.flooded:  # whatever was judged, the flood is what the user must hear first
        return failed(f"{head}: {capture.failure}", *evidence)
    if judgement.ok:
        return passed(f"{head} in order {wire} ({url})", *evidence)
    reason = judgement.problems[0] if judgement.problems else capture.failure
    return failed(f"{head}: {reason}", *evidence)
