"""WHY #2: the user emitter. Does the bridge yield a real emitter with the notify methods?"""

from __future__ import annotations

from typing import Any

from netra_diag import CheckContext, Evidence, Verdict, check, errored, failed, passed
from netra_diag.support.calls import (
    SAMPLE_VALUES,
    describe_type,
    fill_arguments,
    signature_text,
)
from netra_diag.support.definitions import (
    async_method_names,
    class_location,
    class_methods,
    method_definitions,
)
from netra_diag.support.static import unawaited_calls

from ._calling import (
    attach_recorder,
    build_role,
    call_built,
    context_values,
    joined_by,
    make_user_context,
    method_call,
    on_tool_context,
    set_up,
)
from ._dynamic import dynamic_half, first_failures
from ._source import guard_unparsed, located_failure, location_evidence, role_parts, scan

EXPLAIN = """\
Verifies that the bridge's user-emitter factory (create_user_emitter on the `bridge_factory`
role's bridge) yields a real emitter object, awaited where the factory is async, exposing
the notify method of each critical event, and that each method emits its event to the
user's connection.

Why it matters: agents report progress only through these methods. A factory called without
`await` hands out a coroutine instead of an emitter: every notify call then fails or is
silently skipped, and the user sees nothing.

How it is judged: statically, every production call site of an async emitter factory or
notify method is checked for a missing `await`, and the emitter class (the `emitter` role) is
checked for each method named under `events.methods`. Dynamically, the check builds the
bridge, asks it for a user emitter (awaiting it if needed), calls every notify method with
arguments built from its real signature, and watches a recording connection registered for
that user receive each event.

Typical causes: `emitter = bridge.create_user_emitter(ctx)` without await; an emitter class
rewritten during a migration without its notify_* methods.

How to fix: await the factory at every call site; implement the missing notify methods on
the emitter, each sending its event through send_event."""


@check(id="emitter-methods", why=2, title="User Emitter Methods", explain=EXPLAIN, static=True,
       order=20, criterion="User emitter created (awaited) with a notify method for every "
       "critical event, each emitting its event",
       fix="await create_user_emitter(...) at every call site and give the emitter every "
       "notify method")
@guard_unparsed
def emitter_methods(ctx: CheckContext) -> Verdict:
    event_methods = ctx.profile.event_methods
    factory_name = ctx.profile.method("create_user_emitter")
    send_name = ctx.profile.method("send_event")
    emitter_module, emitter_class = role_parts(ctx, "emitter")
    modules, problems = scan(ctx, [factory_name, send_name, *event_methods.values(),
                                   emitter_class])
    evidence: list[Evidence] = []
    failures: list[str] = []

    methods = class_methods(modules, emitter_class, emitter_module)
    missing: list[str] = []  # notify methods the emitter class lacks in the source
    # Async-ness comes from the target's source: a factory may be sync in one release.
    factories = method_definitions(modules, factory_name)
    async_names = async_method_names(modules, [factory_name])
    if factories and not async_names:
        plain = next(f for f in factories if not f.is_async)
        mixed = any(f.is_async for f in factories)
        evidence.append(Evidence(
            "note", f"{factory_name}() is a plain function here (not async): its call sites "
            "need no await" if not mixed else f"{factory_name}() is async in one class and "
            "plain in another: its call sites cannot be judged by name", plain.relpath,
            plain.line))
    if methods is not None:
        emitting = [*event_methods.values(), send_name]
        async_names |= async_method_names(
            modules, [n for n in emitting if n in methods and methods[n].is_async])
        missing = [m for m in event_methods.values() if m not in methods]
        if missing:
            lacks = f"{emitter_class} lacks {', '.join(missing)}"
            failures.append(lacks)
            where = class_location(modules, emitter_class, emitter_module)
            # a fix location: the class the methods belong in (markdown, SARIF, GitHub)
            evidence.append(Evidence("location", lacks, where[0], where[1]) if where
                            else Evidence("observed", lacks))
        sync = [m for m in event_methods.values() if m in methods and not methods[m].is_async]
        if sync:
            evidence.append(Evidence("note", f"{emitter_class} defines {sync} as plain "
                                     "functions (not async); calls are judged as they are"))
    unawaited = unawaited_calls(modules, async_names)
    for finding in unawaited:
        failures.append(located_failure(finding))
        evidence.append(location_evidence(finding))
    if ctx.static:
        evidence.append(Evidence("note", "--static: the emitter was not built or called"))
        if methods is None:
            evidence.append(Evidence("note", f"no class {emitter_class} found in the source"))
        if not failures and methods is None:
            return errored(f"--static: no class {emitter_class} is defined under the source "
                           "root, so its notify methods cannot be judged from source",
                           *evidence, *problems, fix="check the 'emitter' role and the "
                           "profile's 'root'")
        if not failures:
            return passed(f"from source (judged: {emitter_class} defines all "
                          f"{len(event_methods)} notify methods, and no call site leaves an "
                          "async emitter factory un-awaited; not judged: what each method "
                          "emits, which needs a run)", *evidence, *problems)
        return _verdict(failures, evidence, problems, len(event_methods))
    verdict = dynamic_half(ctx, lambda: _exercise(ctx, missing), failures, evidence, problems)
    return verdict or _verdict(failures, evidence, problems, len(event_methods))


def _verdict(failures: list[str], evidence: list[Evidence], problems: list[Evidence],
             total: int) -> Verdict:
    if failures:
        return failed(first_failures(failures), *evidence, *problems)
    return passed(f"the user emitter exposes all {total} notify methods and each emits its "
                  "event", *evidence, *problems)


async def _exercise(ctx: CheckContext, known_missing: list[str]
                    ) -> tuple[list[str], list[Evidence]]:
    failures: list[str] = []
    evidence: list[Evidence] = []
    user_context = await set_up(ctx, "building a user context", make_user_context(ctx, "emitter"))
    recorder, _manager = await set_up(ctx, f"joining a recording connection {joined_by(ctx)}",
                                      attach_recorder(ctx, user_context))
    evidence.append(Evidence("observed", f"a recording connection joined the user's events "
                             f"{joined_by(ctx)}"))
    bridge, notes = await build_role(ctx, "bridge_factory", context_values(user_context))
    evidence += notes
    evidence.append(Evidence("observed", f"bridge factory returned {describe_type(bridge)}"))
    emitter, awaited = await on_tool_context(
        ctx, "asking the bridge for a user emitter",
        method_call(ctx, bridge, "create_user_emitter", context_values(user_context),
                    what="asking the bridge for a user emitter"), user_context)
    factory = ctx.profile.method("create_user_emitter")
    how = "is async: awaited it and " if awaited else ""
    evidence.append(Evidence("observed", f"{factory}() {how}got {describe_type(emitter)}"))
    if emitter is None:
        return [f"{factory}() returned None instead of an emitter"], evidence
    missing = [m for m in ctx.profile.event_methods.values()
               if not callable(getattr(emitter, m, None))]
    if missing:
        failures.append(f"{type(emitter).__name__} lacks {', '.join(missing)}")
        lacks = "lacks the same methods at run time" if missing == known_missing \
            else f"has no {', '.join(missing)}"
        evidence.append(Evidence("observed", f"the emitter the bridge handed out "
                                 f"({describe_type(emitter)}) {lacks}"))
    type_key = ctx.profile.event_fields.get("type") or "type"  # events.fields: your name
    for event, name in ctx.profile.event_methods.items():
        if name in missing:
            continue
        method = getattr(emitter, name)
        before = len(recorder.frames)
        call = fill_arguments(method, available={}, overrides=ctx.build_kwargs(name),
                              profile_key=f"build.{name}", what=signature_text(method),
                              samples=SAMPLE_VALUES)
        _, was_async = await call_built(ctx, f"{name}()", method, call, f"build.{name}")
        await recorder.wait_for(before + 1, timeout=2.0)
        got = [_type_of(frame, type_key) for _, frame in recorder.frames[before:]]
        if event in got:
            evidence.append(Evidence("observed", f"{name}({', '.join(call.kwargs)}) "
                                     f"{'(awaited) ' if was_async else ''}emitted {event}"))
        else:
            failures.append(f"{name}() ran but no {event} event reached the user's connection")
            evidence.append(Evidence("observed", f"{name}() emitted {got or 'nothing'}; "
                                     f"expected {event}"))
    return failures, evidence


def _type_of(frame: Any, key: str = "type") -> Any:
    """The event type of a recorded frame, under the backend's name for it (``key``)."""
    import json

    try:
        value = json.loads(frame) if isinstance(frame, str | bytes) else frame
    except ValueError:
        return None
    return value.get(key) if isinstance(value, dict) else None
