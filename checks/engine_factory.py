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
)
from netra_diag.support.calls import describe_type, fill_arguments
from netra_diag.support.recording import RecordingConnection
from netra_diag.support.static import (
    class_methods,
    constructor_calls_missing,
    method_definitions,
    unawaited_calls,
)

from ._common import (
    attach_recorder,
    build_components,
    build_role,
    call_target,
    context_values,
    find_attribute,
    location_evidence,
    make_user_context,
    method_call,
    probe_event,
    scan,
)
from ._dynamic import dynamic_half, first_failures

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
the engine class directly, expecting a refusal from the target's own code.

Typical causes: a factory that forgets to await create_user_emitter() or never passes the
emitter to the engine; an engine constructor without a guard.

How to fix: in the factory, `emitter = await bridge.create_user_emitter(user_context)` and
pass it to the engine; make the engine constructor refuse callers other than the factory."""


@check(id="engine-factory", why=4, title="Execution Engine Factory", explain=EXPLAIN,
       static=True,
       fix="build engines only through the per-user factory, with the user's awaited emitter")
def engine_factory(ctx: CheckContext) -> Verdict:
    failures, evidence, problems = _static_findings(ctx)
    if ctx.static:
        evidence.append(Evidence("note", "--static: no engine was built, so what the factory "
                                 "binds to each engine was not observed"))
    else:
        verdict = dynamic_half(ctx, lambda: _exercise(ctx), failures, evidence, problems)
        if verdict is not None:
            return verdict
    if failures:
        return failed(first_failures(failures, limit=1), *evidence, *problems)
    if ctx.static and any(e.data == {"judged": False} for e in evidence):
        return errored("--static: the engine factory is not defined under the source root, so "
                       "it cannot be judged from source", *evidence, *problems,
                       fix="check the 'engine_factory' role and the profile's 'root'")
    if ctx.static:
        return passed("from source: the engine factory awaits the emitter factory and every "
                      "engine and factory construction passes its required arguments",
                      *evidence, *problems)
    return passed("engines come only from the per-user factory, each bound to its user's "
                  "emitter", *evidence, *problems)


def _class_name(ctx: CheckContext, role: str) -> str:
    return ctx.role(role).split(":", 1)[1].split(".")[-1]


def _static_findings(ctx: CheckContext) -> tuple[list[str], list[Evidence], list[Evidence]]:
    """From source: un-awaited async emitter-factory calls inside the engine factory, and
    constructor calls of the engine and its factory that miss required arguments."""
    import ast

    names = [_class_name(ctx, role) for role in ("engine_factory", "engine")
             if ctx.has_role(role)]
    emitter_factory = ctx.profile.method("create_user_emitter")
    modules, problems = scan(ctx, [*names, emitter_factory])
    failures: list[str] = []
    evidence: list[Evidence] = []
    if not names:
        return failures, evidence, problems
    factory = names[0] if ctx.has_role("engine_factory") else None
    spans = [(mod.relpath, node.lineno, node.end_lineno or node.lineno)
             for mod in modules for node in mod.tree.body
             if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
             and node.name == factory]
    if not spans:
        evidence.append(Evidence("note", f"no definition of the engine factory {factory} in "
                                 "the scanned source", data={"judged": False}))
    async_names = {f.name for f in method_definitions(modules, emitter_factory) if f.is_async}
    for finding in unawaited_calls(modules, async_names):
        if any(finding.relpath == path and start <= finding.line <= end
               for path, start, end in spans):
            failures.append(f"{finding.relpath}:{finding.line} the engine factory "
                            f"{finding.message}")
            evidence.append(location_evidence(finding))
    for name in names:
        init = (class_methods(modules, name) or {}).get("__init__")
        if init is None:
            continue
        for finding in constructor_calls_missing(modules, name, init.params, init.required):
            failures.append(f"{finding.relpath}:{finding.line} {finding.message}")
            evidence.append(location_evidence(finding))
    return failures, evidence, problems


async def _exercise(ctx: CheckContext) -> tuple[list[str], list[Evidence]]:
    failures: list[str] = []
    evidence: list[Evidence] = []
    alice = await make_user_context(ctx, "engine-a")
    bob = await make_user_context(ctx, "engine-b")
    components = await build_components(ctx, alice)
    factory, notes = await build_role(ctx, "engine_factory", components)
    evidence += notes
    evidence.append(Evidence("observed", f"engine factory: {describe_type(factory)}"))

    rec_a, _ = await attach_recorder(ctx, alice, "engine-a")
    rec_b, _ = await attach_recorder(ctx, bob, "engine-b")
    emitter_cls = ctx.resolve("emitter") if ctx.has_role("emitter") else None
    for label, user, mine, other in (("first", alice, rec_a, rec_b), ("second", bob, rec_b, rec_a)):
        engine, awaited = await method_call(ctx, factory, "create_engine",
                                            {**components, **context_values(user)},
                                            what=f"creating an engine for the {label} user")
        evidence.append(Evidence("observed", f"{ctx.profile.method('create_engine')}() "
                                 f"{'(awaited) ' if awaited else ''}built "
                                 f"{describe_type(engine)} for {label} user"))
        failure = await _judge_engine(ctx, engine, emitter_cls, mine, other, evidence)
        if failure:
            failures.append(f"the {label} user's engine: {failure}")
            break
    failures += await _direct_construction(ctx, components, alice, evidence)
    return failures, evidence


async def _judge_engine(ctx: CheckContext, engine: Any, emitter_cls: Any,
                        mine: RecordingConnection, other: RecordingConnection,
                        evidence: list[Evidence]) -> str | None:
    import inspect

    send = ctx.profile.method("send_event")
    coroutine = find_attribute(engine, inspect.iscoroutine)
    if coroutine is not None:
        coroutine[1].close()  # never awaited by the target; closed to keep the run quiet
        return (f"engine.{coroutine[0]} is a coroutine, not an emitter: the factory called an "
                "async emitter factory without await")
    def is_emitter(value: Any) -> bool:
        if emitter_cls is not None and isinstance(value, emitter_cls):
            return True
        return callable(getattr(value, send, None))

    found = find_attribute(engine, is_emitter)
    if found is None:
        return f"{describe_type(engine)} has no emitter bound (no attribute offers {send}())"
    attr, emitter = found
    before_mine, before_other = len(mine.frames), len(other.frames)
    await method_call(ctx, emitter, "send_event", probe_event("engine-probe"),
                      what=f"engine.{attr} sending an event")
    arrived = await mine.wait_for(before_mine + 1, timeout=2.0)
    if not arrived:
        return f"an event sent through engine.{attr} never reached its user's connection"
    if len(other.frames) > before_other:
        return f"an event sent through engine.{attr} also reached another user's connection"
    evidence.append(Evidence("observed", f"engine.{attr} is {describe_type(emitter)}, bound to "
                             "its user: the event reached that user only"))
    return None


async def _direct_construction(ctx: CheckContext, components: dict[str, Any], user: Any,
                               evidence: list[Evidence]) -> list[str]:
    if not ctx.has_role("engine"):
        evidence.append(Evidence("note", "the profile names no 'engine' role: direct "
                                 "construction was not tried"))
        return []
    engine_cls = ctx.resolve("engine")
    available = {**components, **context_values(user), "emitter": None,
                 "websocket_emitter": None}
    try:
        call = fill_arguments(engine_cls, available=available,
                              overrides=ctx.build_kwargs("engine"), profile_key="build.engine",
                              what=f"{engine_cls.__name__}()")
        await call_target(ctx, f"{engine_cls.__name__}() called directly", engine_cls,
                          *call.args, **call.kwargs)
    except TargetFailure as exc:
        evidence.append(Evidence("observed", f"direct construction refused: {exc.summary}"))
        return []
    except SetupError as exc:
        evidence.append(Evidence("note", f"direct construction not attempted: {exc}"))
        return []
    return [f"{engine_cls.__name__} can be constructed directly, bypassing the per-user factory"]
