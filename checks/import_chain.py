"""WHY #1: the import chain. Does the wiring path use per-user managers, never the singleton?"""

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
from netra_diag.support.calls import describe_type
from netra_diag.support.static import deprecated_usages
from netra_diag.support.tracing import CallRecorder

from ._common import (
    call_wiring_entry,
    location_evidence,
    make_user_context,
    run_async,
    scan,
)

EXPLAIN = """\
Verifies that the application's wiring path obtains its WebSocket managers from the per-user
factory (the `manager_factory` role, e.g. create_websocket_manager(user_context)) and never
from a deprecated entry point such as the singleton get_websocket_manager(); and that no
production module imports a deprecated entry point at all.

Why it matters: the deprecated singleton is shared by every user. After a migration to
per-user factories nothing registers connections with it any more, so everything sent
through it reaches nobody (zero events), and where it still has connections it leaks events
across users.

How it is judged: statically, every production module is parsed (nothing imported) for
imports and calls of the profile's `deprecated` entry points, with file and line.
Dynamically, the `wiring_entry` role is called under a call tracer that records which
manager-producing functions it calls, from which line, and what they return.

Typical causes: a half-finished migration that left `from ...websocket_core import
get_websocket_manager` in dependencies.py; a helper that still calls the singleton.

How to fix: import the factory (create_websocket_manager) and build the manager from the
request's user context; delete the deprecated import."""


@check(id="import-chain", why=1, title="Import Chain", explain=EXPLAIN, static=True,
       fix="replace the deprecated import and call with the per-user factory "
       "(create_websocket_manager(user_context))")
def import_chain(ctx: CheckContext) -> Verdict:
    deprecated = ctx.profile.deprecated
    if not deprecated and not ctx.has_role("wiring_entry"):
        return errored("the profile lists no deprecated entry points and no wiring entry",
                       fix="add 'deprecated:' entries and a 'roles: {wiring_entry: ...}'")
    modules, problems = scan(ctx, [d.attr for d in deprecated])
    static = [f for d in deprecated
              for f in deprecated_usages(modules, d.module, d.attr, d.replacement)]
    evidence = [location_evidence(f) for f in static]
    if ctx.static or not ctx.has_role("wiring_entry"):
        note = ("--static: the wiring path was not run" if ctx.static
                else "the profile names no wiring_entry role: the wiring path was not run")
        if static:
            first = static[0]
            return failed(f"{first.relpath}:{first.line} {first.message}", *evidence,
                          Evidence("note", note), *problems)
        return passed(f"no production module imports a deprecated entry point "
                      f"({len(deprecated)} checked)", Evidence("note", note), *problems)
    try:
        observed, crash_evidence, used_factory, used_deprecated = run_async(
            ctx, lambda: _trace_wiring(ctx))
    except SetupError as exc:  # e.g. a dependency not installed: the static findings stand
        if not static:
            return errored(str(exc), *evidence, *problems, fix=exc.fix)
        first = static[0]
        return failed(f"{first.relpath}:{first.line} {first.message}", *evidence, *problems,
                      Evidence("note", f"the wiring path was not run: {exc}"))
    evidence += observed
    if static or used_deprecated:
        where = (f"{static[0].relpath}:{static[0].line} {static[0].message}" if static
                 else used_deprecated[0])
        return failed(f"the wiring path uses a deprecated entry point: {where}",
                      *evidence, *crash_evidence, *problems)
    if used_factory:
        return passed(f"the wiring path obtains managers from {ctx.role('manager_factory')}; "
                      "no production module imports a deprecated entry point",
                      *evidence, *crash_evidence, *problems)
    if crash_evidence:
        return failed("the wiring path crashed before obtaining any WebSocket manager",
                      *crash_evidence, *evidence, *problems)
    return failed("the wiring path never obtained a per-user WebSocket manager",
                  *evidence, *problems)


async def _trace_wiring(ctx: CheckContext) -> tuple[list[Evidence], list[Evidence], bool, list]:
    """Call the wiring entry under a tracer; return (observations, crash, factory?, deprecated)."""
    watched: dict[str, Any] = {}
    for dep in ctx.profile.deprecated:
        watched[f"deprecated {dep.attr}"] = ctx.import_entry(dep.entry, f"deprecated entry "
                                                             f"'{dep.entry}'")
    factory = ctx.resolve("manager_factory") if ctx.has_role("manager_factory") else None
    if factory is not None:
        watched["factory"] = factory
    user_context = await make_user_context(ctx, "wiring")
    crash: list[Evidence] = []
    with CallRecorder(watched) as recorder:
        try:
            await call_wiring_entry(ctx, user_context)
        except TargetFailure as exc:  # kept as evidence; the verdict decides
            crash = [Evidence("observed", f"the wiring path raised: {exc.summary}"),
                     *exc.evidence]
    observations: list[Evidence] = []
    used_deprecated: list[str] = []
    used_factory = False
    for seen in recorder.calls:
        where = ctx.relpath(seen.caller_file) if ctx.in_target(seen.caller_file) else None
        line = seen.caller_line if where else None
        returned = f", returned {describe_type(seen.returned)}" if seen.returned is not None else ""
        if seen.label == "factory":
            used_factory = True
            observations.append(Evidence(
                "observed", f"{seen.caller_function}() obtained its manager from "
                f"{ctx.role('manager_factory')}{returned}", where, line))
        else:
            name = seen.label.removeprefix("deprecated ")
            used_deprecated.append(f"{seen.caller_function}() called deprecated {name}() "
                                   f"at {where}:{line}")
            observations.append(Evidence(
                "observed", f"{seen.caller_function}() called deprecated {name}(){returned}",
                where, line))
    return observations, crash, used_factory, used_deprecated
