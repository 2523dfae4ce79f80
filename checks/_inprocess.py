"""Event flow without the target's server: one agent run driven in-process.

A real backend's server often cannot start where the tool runs (it needs databases and
secrets). Then ``event-flow`` drives the run through the target's own code instead: a user
context from the ``user_context`` role, a ``RecordingConnection`` registered with the
per-user manager from the ``manager_factory`` role (it speaks ``send``, ``send_text`` and
``send_json``, like the sockets of ``websockets`` and Starlette), and then

* the application's own wiring path when the profile names a ``wiring_entry`` whose result
  can run an agent (``run`` under ``methods:``), as the server would do per request; else
* the ``engine_factory`` role (with the bridge, registry and LLM manager built from the
  profile), one engine for the user, and its ``run_agent``.

The events the recording connection received are judged by the same rules as events on the
wire (``support.judge``), and the evidence says plainly that the wire (transport, framing,
authentication) was not exercised. Nothing here names a particular target.
"""

from __future__ import annotations

from typing import Any

from netra_diag import (
    CheckContext,
    Evidence,
    SetupError,
    TargetFailure,
    Verdict,
    failed,
    passed,
    skipped,
)
from netra_diag.support.calls import describe_type
from netra_diag.support.judge import judge_run, normalise_events, received_text

from ._calling import (
    attach_recorder,
    build_components,
    build_role,
    call_hook,
    call_wiring_entry,
    context_values,
    crash_observations,
    detach_recorder,
    joined_by,
    make_user_context,
    method_call,
    run_async,
    set_up,
)
from ._endpoint import is_live
from ._locate import locate_role

__all__ = [
    "SERVER_START_ERRORS",
    "ServerDidNotStart",
    "can_run_agent",
    "first_agent",
    "run_agent",
    "run_in_process",
    "run_values",
    "skip_without_server",
]

WIRE_NOTE = ("in-process run: events were recorded by a connection joined to the user's "
             "events in the target's process; the wire (WebSocket transport, framing, "
             "authentication) was not exercised")
MESSAGE = "netra-diag in-process probe: count these words"


#: What starting the ``server`` role may raise when the server cannot run here.
SERVER_START_ERRORS = (SetupError, TargetFailure)


class ServerDidNotStart(Exception):
    """The target's server role could not be started; why, with evidence."""

    def __init__(self, reason: str, *evidence: Evidence) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence = evidence

    @classmethod
    def from_error(cls, exc: SetupError | TargetFailure) -> ServerDidNotStart:
        # context for the in-process run, not a finding: a crash's site stays in the text
        return cls(str(exc), *crash_observations(getattr(exc, "evidence", ()), keep_file=True))


def skip_without_server(ctx: CheckContext, measured: str) -> Verdict | None:
    """The verdict of a wire-only check on a target without a ``server`` role (``None`` when
    it has one, or under ``probe``): not applicable here, saying how to make it so."""
    if ctx.has_role("server") or is_live(ctx):
        return None
    return skipped(f"the profile names no 'server' role: {measured} is observed on the wire, "
                   "and event-flow can only run in-process here; add a 'server' role, or "
                   "probe a running endpoint with `netra-diag probe URL`")


def run_in_process(ctx: CheckContext, why: str, *context: Evidence) -> Verdict:
    """The ``event-flow`` verdict for one agent run driven in-process (see module doc)."""
    frames, user_context, crash, path_evidence = run_async(ctx, lambda: _drive(ctx))
    critical = list(ctx.profile.critical_events)
    frames = normalise_events(frames, ctx.profile.event_fields)
    absent = frozenset(k for k, v in ctx.profile.event_fields.items() if v is None)
    run_id, said = _run_of(frames, _attr(user_context, "run_id"), critical)
    if said:
        path_evidence.append(Evidence("note", said))
    judgement = judge_run(frames, critical=critical,
                          user_id=_attr(user_context, "user_id"),
                          thread_id=_attr(user_context, "thread_id"),
                          run_id=run_id, absent=absent)
    events = Evidence(
        "events", f"events received in order: {received_text(judgement.received)}",
        data={"expected": critical, "received": judgement.received,
              "delivered": judgement.delivered, "total": judgement.total,
              "run_id": run_id, "wire": False},
    )
    evidence = [events, Evidence("note", f"{why}: {WIRE_NOTE}"), *context, *path_evidence]
    evidence += [Evidence("observed", problem) for problem in judgement.problems]
    head = f"{judgement.headline} delivered"
    if crash is not None:
        # the crash's site is the finding of the check that owns that link, not this one's
        return failed(f"{head} in-process: {crash.summary}", *evidence,
                      *crash_observations(crash.evidence, keep_file=True))
    if judgement.ok:
        return passed(f"{head} in order, in-process (the wire was not exercised)", *evidence)
    return failed(f"{head} in-process: {judgement.problems[0]}", *evidence)


def _run_of(frames: list[dict[str, Any]], asked: str | None, critical: list[str]
            ) -> tuple[str | None, str | None]:
    """The run to judge: the context's run id when events carry it; else, when every
    critical event carries one and the same other id (the application assigns its own run
    ids), that one, with a note saying so. The recording connection receives only this
    user's events, so there is no other run to confuse it with."""
    ids = {f.get("run_id") for f in frames if f.get("type") in critical}
    if asked is None or asked in ids or len(ids) != 1:
        return asked, None
    (own,) = ids
    if not isinstance(own, str):
        return asked, None
    return own, (f"the application gave the run its own id ({own!r}, not the context's "
                 f"{asked!r}): judged that run")


def _attr(obj: Any, name: str) -> str | None:
    value = getattr(obj, name, None)
    return value if isinstance(value, str) else None


async def _drive(ctx: CheckContext) -> tuple[list[dict[str, Any]], Any, TargetFailure | None,
                                             list[Evidence]]:
    if not ctx.has_role("wiring_entry") and not ctx.has_role("engine_factory") and \
            ctx.hooks.get("run_agent") is None:
        raise SetupError(
            "no server, and the profile names neither a 'wiring_entry' nor an "
            "'engine_factory' role: an agent run cannot be driven in-process",
            fix="add 'roles: {wiring_entry: module:attr}' (the application's wiring path) "
            "or 'engine_factory', or a 'server' role, or define run_agent() in your hooks "
            "file (profile key 'hooks:')")
    user_context = await set_up(ctx, "building a user context", make_user_context(ctx, "flow"))
    recorder, _manager = await set_up(ctx, f"joining a recording connection {joined_by(ctx)}",
                                      attach_recorder(ctx, user_context, "flow"))
    evidence: list[Evidence] = [Evidence("observed", f"a recording connection joined the "
                                         f"user's events {joined_by(ctx)}")]
    budget = ctx.budgets.run_s
    crash: TargetFailure | None = None
    import asyncio  # here, not at import: checks under --static never run a loop

    try:
        await asyncio.wait_for(run_agent(ctx, user_context, evidence), budget)
    except TargetFailure as exc:
        crash = exc
    except TimeoutError:
        crash = TargetFailure(f"the agent run did not finish within {budget:g} s")
    if crash is None:  # events sent from tasks the run scheduled may still be on their way
        await recorder.wait_for(len(ctx.profile.critical_events), timeout=0.5)
    try:
        await detach_recorder(ctx, user_context, recorder)
    except (SetupError, TargetFailure) as exc:  # the run was judged already: only noted
        evidence.append(Evidence("note", f"disconnecting the recording connection: {exc}"))
    return recorder.events(), user_context, crash, evidence


def can_run_agent(ctx: CheckContext, app: Any) -> bool:
    """True when an agent run can be driven: ``app`` (what the wiring entry returned) has
    the profile's ``run`` method, or the profile names an engine factory."""
    return callable(getattr(app, ctx.profile.method("run"), None)) or \
        ctx.has_role("engine_factory") or ctx.hooks.get("run_agent") is not None


async def run_agent(ctx: CheckContext, user_context: Any, evidence: list[Evidence],
                    app: Any = None) -> None:
    """Drive one agent run for ``user_context`` through the wiring path's result (``app``,
    or a fresh call of the wiring entry when ``None``), else through the engine factory;
    what was driven is added to ``evidence``. Crashes raise as ``call_target`` sorts them.
    The hooks' ``run_agent(user_context, message)`` drives it instead when defined."""
    if ctx.hooks.get("run_agent") is not None:
        evidence.append(Evidence("observed", f"drove the run via "
                                 f"{ctx.hooks.label('run_agent')}"))
        await call_hook(ctx, "run_agent", {**run_values(None),
                                           **context_values(user_context)})
        return
    if ctx.has_role("wiring_entry"):
        awaited = False
        if app is None:
            app, awaited = await call_wiring_entry(
                ctx, user_context, f"the wiring path {ctx.role('wiring_entry')}")
        run = getattr(app, ctx.profile.method("run"), None)
        if callable(run):
            agent = await first_agent(ctx, app)
            evidence.append(Evidence(
                "observed", f"drove the run through the wiring path: {ctx.role('wiring_entry')}"
                f"{' (awaited)' if awaited else ''} -> {describe_type(app)}."
                f"{ctx.profile.method('run')}({agent or 'its default agent'!s})"))
            await method_call(ctx, app, "run", run_values(agent),
                              what="running an agent through the wiring path's result")
            return
        evidence.append(Evidence("note", f"{describe_type(app)} (from the wiring path) has no "
                                 f"{ctx.profile.method('run')}(): ran through the engine factory"))
    if not ctx.has_role("engine_factory"):
        raise SetupError(
            f"the wiring path's result has no {ctx.profile.method('run')}() method and the "
            "profile names no 'engine_factory' role",
            fix="set 'methods: {run: NAME}' to the method that runs an agent, or add the "
            "'engine_factory' role")
    components = await build_components(ctx, user_context)
    factory, _ = await build_role(ctx, "engine_factory", components)
    engine, awaited = await method_call(ctx, factory, "create_engine",
                                        {**components, **context_values(user_context)},
                                        what="creating an engine for the user")
    agent = await first_agent(ctx, components.get("registry"))
    evidence.append(Evidence(
        "observed", f"drove the run through the engine factory: "
        f"{ctx.profile.method('create_engine')}(){' (awaited)' if awaited else ''} -> "
        f"{describe_type(engine)}.{ctx.profile.method('run_agent')}({agent or '?'})"))
    await method_call(ctx, engine, "run_agent", run_values(agent),
                      what="running an agent on the user's engine")


def run_values(agent: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"message": MESSAGE, "text": MESSAGE, "prompt": MESSAGE,
                              "query": MESSAGE}
    if agent is not None:
        values.update(agent_name=agent, agent=agent, name=agent, agent_type=agent)
    return values


async def first_agent(ctx: CheckContext, holder: Any) -> str | None:
    """The first agent the registry lists (the registry may be ``holder`` or inside it)."""
    if holder is None or not ctx.has_role("registry"):
        return None
    try:
        found = locate_role(ctx, holder, "registry")
    except (SetupError, TargetFailure):  # only a hint: the run's default agent will do
        return None
    if found is None:
        return None
    try:
        names, _ = await method_call(ctx, found[1], "list_agents", {}, what="listing agents")
    except (SetupError, TargetFailure):  # only a hint: the run's default agent will do
        return None
    names = list(names or [])
    return str(names[0]) if names else None
