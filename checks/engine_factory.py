"""WHY #4: execution engines. Built only by the per-user factory, bound to that user's emitter?"""

from __future__ import annotations

from typing import Any

from netra_diag import (
    CheckContext,
    Evidence,
    SetupError,
    TargetFailure,
    Verdict,
    check,
    errored,
    failed,
    passed,
    skipped,
)
from netra_diag.support.calls import describe_type, fill_arguments, settle
from netra_diag.support.definitions import FunctionInfo
from netra_diag.support.recording import RecordingConnection

from ._calling import (
    attach_recorder,
    build_components,
    build_role,
    context_values,
    joined_by,
    make_user_context,
    method_call,
    on_tool_context,
    set_up,
)
from ._dynamic import dynamic_half, first_failures
from ._engine_static import static_findings
from ._inprocess import first_agent, run_values
from ._locate import LOCATE_DEPTH, find_attribute
from ._probe import notify_method, send_probe
from ._source import guard_unparsed

EXPLAIN = """\
Verifies that execution engines come only from the per-user factory (the `engine_factory`
role) and that each engine it builds has an emitter bound to that user: direct construction
of the engine class (the `engine` role) is refused, and an event sent through an engine's
emitter reaches its own user's connection and nobody else's.

Why it matters: the engine is what runs an agent for one request. An engine with no emitter,
or with a coroutine where the emitter should be, runs the agent silently; an engine that can
be built directly bypasses per-user isolation.

How it is judged: statically, the engine factory's methods are checked for calls of an
async emitter factory without `await`, and every production call of the engine and factory
constructors for missing required arguments. Dynamically, the check builds the factory
with arguments from its real signature (the registry and bridge it needs are built from the
profile), asks it for engines for two different users, and inspects and exercises each
engine's emitter against recording connections registered for both users. It also calls
the engine class directly, with real components (the user's emitter from the bridge, the
registry), expecting a refusal from the target's own code: it counts as refused only when
the exception passed through the engine class's own constructor and the line that raised it
is a `raise` (or `assert`) of the target's; if the engine constructs, the check fails; if it
crashes some other way (an AttributeError on a value, say), the check cannot tell (error).

Typical causes: a factory that forgets to await create_user_emitter() or never passes the
emitter to the engine; an engine constructor without a guard.

How to fix: in the factory, `emitter = await bridge.create_user_emitter(user_context)` and
pass it to the engine; make the engine constructor refuse callers other than the factory."""


@check(id="engine-factory", why=4, title="Execution Engine Factory", explain=EXPLAIN,
       static=True, order=40,
       criterion="Execution engines built only per user, each with its user's emitter",
       fix="build engines only through the per-user factory, with the user's awaited emitter")
@guard_unparsed
def engine_factory(ctx: CheckContext) -> Verdict:
    ctx.role("engine_factory")  # no factory named: an error saying how, never a pass
    failures, evidence, problems, site = static_findings(ctx)
    unawaited = [e for e in evidence if e.kind == "observed" and e.file]  # the call sites
    static_failures = list(failures)
    if ctx.static:
        evidence.append(Evidence("note", "--static: no engine was built, so what the factory "
                                 "binds to each engine was not observed"))
    undecided: list[tuple[str, str]] = []  # (what could not be told, how to fix it)
    if not ctx.static:
        engines: list[Any] = []  # what the factory built, once observed
        unawaited_at = [e.data["unawaited_at"] for e in evidence
                        if isinstance(e.data, dict) and "unawaited_at" in e.data]
        verdict = dynamic_half(ctx, lambda: _exercise(ctx, undecided, site, engines,
                                                      unawaited_at),
                               failures, evidence, problems)
        if verdict is not None:
            return verdict
        if engines:  # the un-awaited call behind what it built is named, not located
            evidence = [_unlocated(e) if any(e is u for u in unawaited) else e
                        for e in evidence]
        # what the factory built leads; the un-awaited call behind it is WHY #2's finding
        failures = [f for f in failures if f not in static_failures] + \
            [f for f in static_failures if f in failures]
    if failures:
        return failed(first_failures(failures, limit=1), *evidence, *problems)
    if undecided:
        return errored(undecided[0][0], *evidence, *problems, fix=undecided[0][1])
    if ctx.static and any(e.data == {"judged": False} for e in evidence):
        return errored("--static: the engine factory is not defined under the source root, so "
                       "it cannot be judged from source", *evidence, *problems,
                       fix="check the 'engine_factory' role and the profile's 'root'")
    if ctx.static:  # binding and refusal only a run can show: undecided, not a pass
        judged = "every engine and factory construction passes its required arguments"
        if not unawaited:
            judged = f"the engine factory awaits the emitter factory and {judged}"
        return skipped(f"--static: judged from source that {judged}; whether each engine is "
                       "bound to its user's emitter, and direct construction refused, needs "
                       "a run", *evidence, *problems)
    if not ctx.has_role("engine"):
        return passed("each engine the per-user factory builds is bound to its user's emitter "
                      "(direct construction not tried: the profile names no 'engine' role)",
                      *evidence, *problems)
    return passed("engines come only from the per-user factory, each bound to its user's "
                  "emitter", *evidence, *problems)


def _unlocated(ev: Evidence) -> Evidence:
    """Once an engine was observed, the un-awaited call behind it is named, not located:
    emitter-methods locates that call site, and this check's finding is what it built."""
    return Evidence(ev.kind, f"{ev.location}: {ev.message}" if ev.file else ev.message)


async def _exercise(ctx: CheckContext, undecided: list[tuple[str, str]],
                    site: FunctionInfo | None, engines: list[Any], unawaited_at: list[str]
                    ) -> tuple[list[str], list[Evidence]]:
    failures: list[str] = []
    evidence: list[Evidence] = []
    alice = await set_up(ctx, "building a user context", make_user_context(ctx, "engine-a"))
    bob = await set_up(ctx, "building a user context", make_user_context(ctx, "engine-b"))
    components = await set_up(ctx, "building the components the engine factory needs",
                              build_components(ctx, alice))
    factory, notes = await build_role(ctx, "engine_factory", components)
    evidence += notes
    evidence.append(Evidence("observed", f"engine factory: {describe_type(factory)}"))

    joining = f"joining a recording connection {joined_by(ctx)}"
    rec_a, _ = await set_up(ctx, joining, attach_recorder(ctx, alice, "engine-a"))
    rec_b, _ = await set_up(ctx, joining, attach_recorder(ctx, bob, "engine-b"))
    emitter_cls = ctx.resolve("emitter") if ctx.has_role("emitter") else None
    for label, user, mine, other in (("first", alice, rec_a, rec_b), ("second", bob, rec_b, rec_a)):
        engine, awaited = await on_tool_context(
            ctx, f"creating an engine for the {label} user",
            method_call(ctx, factory, "create_engine", {**components, **context_values(user)},
                        what=f"creating an engine for the {label} user"), user)
        evidence.append(Evidence("observed", f"{ctx.profile.method('create_engine')}() "
                                 f"{'(awaited) ' if awaited else ''}built "
                                 f"{describe_type(engine)} for {label} user"))
        engines.append(engine)
        judged = await _judge_engine(ctx, engine, emitter_cls, mine, other, evidence,
                                     unawaited_at)
        if judged:  # every failure has its evidence
            failure, unbound = judged
            said = f"the {label} user's engine: {failure}"
            failures.append(said)
            if unbound and site is not None:  # its own finding: where the engine is built
                evidence.append(Evidence("location", f"{site.name}() builds the engine here: "
                                         f"{said}", site.relpath, site.line))
            else:
                evidence.append(Evidence("observed", said))
            break
    failures += await _direct_construction(ctx, components, alice, evidence, undecided)
    return failures, evidence


async def _judge_engine(ctx: CheckContext, engine: Any, emitter_cls: Any,
                        mine: RecordingConnection, other: RecordingConnection,
                        evidence: list[Evidence], unawaited_at: list[str]
                        ) -> tuple[str, bool] | None:
    """What is wrong with ``engine``'s emitter, and whether it is that none is bound (the
    factory's own finding, located where it builds the engine); None when it works."""
    import inspect

    send = ctx.profile.method("send_event")
    coroutine = find_attribute(engine, inspect.iscoroutine)
    if coroutine is not None:
        coroutine[1].close()  # never awaited by the target; closed to keep the run quiet
        said = (f"engine.{coroutine[0]} is a coroutine, not an emitter: the factory called an "
                "async emitter factory without await")
        site = unawaited_at[0] if unawaited_at else None
        if site is not None:  # emitter-methods' located finding: this check is blocked by it
            raise SetupError(
                f"could not judge what the factory binds: {said} (the call at {site})",
                fix="emitter-methods reports the un-awaited call; await it there and re-run",
                evidence=(Evidence("observed", f"set-up step failed: {said}",
                                   data={"blocked_at": site, "step": "the engine's emitter"}),))
        return said, False
    def is_emitter(value: Any) -> bool:
        if emitter_cls is not None and isinstance(value, emitter_cls):
            return True
        return callable(getattr(value, send, None)) or (
            value is not engine and notify_method(ctx, value) is not None)

    found = find_attribute(engine, is_emitter)
    if found is None:
        opens = ctx.profile.method("create_user_emitter")
        source = find_attribute(engine, lambda v: v is not engine and callable(
            getattr(v, opens, None)), depth=LOCATE_DEPTH)
        if source is not None:  # the engine opens its emitter per run: judge a run
            return await _judge_run(ctx, engine, source[0], mine, other, evidence)
        return (f"{describe_type(engine)} has no emitter bound (no attribute offers {send}(), "
                f"and none offers {opens}() to open one per run)", True)
    attr, emitter = found
    before_mine, before_other = len(mine.frames), len(other.frames)
    await send_probe(ctx, emitter, "engine-probe", f"engine.{attr} sending an event")
    arrived = await mine.wait_for(before_mine + 1, timeout=2.0)
    if not arrived:
        return f"an event sent through engine.{attr} never reached its user's connection", False
    if len(other.frames) > before_other:  # the manager's delivery: user-isolation's link
        evidence.append(Evidence("note", f"an event sent through engine.{attr} also reached "
                                 "another user's connection: the engine is bound to its "
                                 "user's emitter, and the per-user manager's delivery is "
                                 "judged by user-isolation"))
    evidence.append(Evidence("observed", f"engine.{attr} is {describe_type(emitter)}, bound to "
                             "its user: the event reached that user only"))
    return None


async def _direct_construction(ctx: CheckContext, components: dict[str, Any], user: Any,
                               evidence: list[Evidence], undecided: list[tuple[str, str]]
                               ) -> list[str]:
    """Call the engine class directly, with real components (a real emitter from the bridge
    for ``user``): ``[failure]`` when it constructs; a refusal counts only when the target
    raises it deliberately (``_deliberate``); anything else leaves it ``undecided``."""
    if not ctx.has_role("engine"):
        evidence.append(Evidence("note", "the profile names no 'engine' role: direct "
                                 "construction was not tried"))
        return []
    engine_cls = ctx.resolve("engine")
    name = getattr(engine_cls, "__name__", ctx.role("engine"))
    values = {**components, **context_values(user)}
    bridge = components.get("bridge")
    if bridge is not None:
        try:
            emitter, _ = await method_call(ctx, bridge, "create_user_emitter",
                                           context_values(user),
                                           what="the bridge making an emitter for the user")
        except (SetupError, TargetFailure) as exc:
            evidence.append(Evidence("note", f"no emitter for the direct construction: {exc}"))
        else:
            values.update(emitter=emitter, websocket_emitter=emitter, user_emitter=emitter,
                          event_emitter=emitter)
    fix = (f"supply {name}'s constructor arguments under 'build.engine' in the profile, so "
           "that a direct construction can be judged (or remove the 'engine' role)")
    try:
        call = fill_arguments(engine_cls, available=values, overrides=ctx.build_kwargs("engine"),
                              profile_key="build.engine", what=f"{name}()")
    except SetupError as exc:
        undecided.append((f"direct construction of {name} could not be tried: {exc}",
                          exc.fix or fix))
        return []
    try:
        engine, _ = await settle(engine_cls(*call.args, **call.kwargs))
    except Exception as exc:  # noqa: BLE001 - sorted below: refusal, or undecided
        site = _raise_site(ctx, exc)
        said = f"{name}() called directly raised {type(exc).__name__}: {exc}{site}"
        if _deliberate(ctx, exc, engine_cls):
            evidence.append(Evidence("observed", f"direct construction refused: {said}"))
            return []
        evidence.append(Evidence("observed", f"{said}: not a deliberate refusal (no `raise` "
                                 f"of {name}'s own constructor), so it tells nothing"))
        undecided.append((f"whether {name} refuses direct construction cannot be told: {said}, "
                          "which is not a deliberate refusal", fix))
        return []
    evidence.append(Evidence("observed", f"{name}({', '.join(call.kwargs)}) called directly "
                             f"built {describe_type(engine)}: nothing refused it"))
    return [f"{name} can be constructed directly, bypassing the per-user factory"]


async def _judge_run(ctx: CheckContext, engine: Any, source: str, mine: RecordingConnection,
                     other: RecordingConnection, evidence: list[Evidence]
                     ) -> tuple[str, bool] | None:
    """An engine that opens its emitter per run (through ``engine.<source>``): one agent run
    on it must reach its own user's connection and nobody else's. A crash of the run is
    set-up here (the agent and the registry are other links)."""
    before_mine, before_other = len(mine.frames), len(other.frames)
    await set_up(ctx, "running an agent on the engine", method_call(
        ctx, engine, "run_agent", run_values(await first_agent(ctx, engine)),
        what="running an agent on the engine"))
    await mine.wait_for(before_mine + 1, timeout=2.0)
    if len(mine.frames) == before_mine:
        return (f"an agent run on the engine (which opens its emitter per run through "
                f"engine.{source}) sent nothing to its user's connection", False)
    if len(other.frames) > before_other:
        evidence.append(Evidence("note", "the run's events also reached another user's "
                                 "connection: judged by user-isolation"))
    evidence.append(Evidence("observed", f"the engine opens its emitter per run through "
                             f"engine.{source}; an agent run reached its user "
                             f"({len(mine.frames) - before_mine} frame(s))"))
    return None


def _constructor_codes(cls: type) -> set[Any]:
    from netra_diag.support.tracing import code_of

    codes = set()
    for klass in cls.__mro__[:-1]:
        for hook in ("__init__", "__new__", "__post_init__"):
            func = klass.__dict__.get(hook)
            code = code_of(func) if func is not None else None
            if code is not None:
                codes.add(code)
    return codes


def _deliberate(ctx: CheckContext, exc: BaseException, cls: type) -> bool:
    """A deliberate refusal: the exception passed through the engine class's own
    constructor, and the line that raised it (in the target) is a ``raise`` or ``assert``
    statement, not an ``AttributeError``/``TypeError`` a harness value tripped."""
    codes = _constructor_codes(cls)
    tb = exc.__traceback__
    through = False
    last = None
    while tb is not None:
        through = through or tb.tb_frame.f_code in codes
        last = tb
        tb = tb.tb_next
    if not through or last is None or not ctx.in_target(last.tb_frame.f_code.co_filename):
        return False
    import linecache

    line = linecache.getline(last.tb_frame.f_code.co_filename, last.tb_lineno).strip()
    return line.startswith(("raise ", "raise(", "assert ")) or line == "raise"


def _raise_site(ctx: CheckContext, exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or not ctx.in_target(tb.tb_frame.f_code.co_filename):
        return ""
    return f" at {ctx.relpath(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
