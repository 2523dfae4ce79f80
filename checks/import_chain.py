"""WHY #1: the import chain. Does the wiring path use per-user managers, never the singleton?"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from netra_diag.support.imports import walk_imports
from netra_diag.support.source import module_name_for
from netra_diag.support.static import deprecated_usages
from netra_diag.support.tracing import CallRecorder

from ._calling import (
    attach_recorder,
    call_wiring_entry,
    crash_observations,
    joined_by,
    make_user_context,
    run_async,
    set_up,
)
from ._inprocess import can_run_agent, run_agent
from ._source import guard_unparsed, location_evidence, scan

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
manager-producing functions it calls, from which line, and what they return. A backend that
creates its managers lazily (at run time, not while wiring) is traced through one agent run
as well. Only calls made from the target's own code count. When neither shows how managers
are obtained (or the profile names no `manager_factory` role), the check says it could not
decide (`error`); it never fails for what it did not see.

Typical causes: a half-finished migration that left `from ...websocket_core import
get_websocket_manager` in dependencies.py; a helper that still calls the singleton.

How to fix: import the factory (create_websocket_manager) and build the manager from the
request's user context; delete the deprecated import."""


@check(id="import-chain", why=1, title="Import Chain", explain=EXPLAIN, static=True, order=10,
       criterion="No deprecated entry point on the production path (per-user factory "
       "instead of the singleton)",
       fix="replace the deprecated import and call with the per-user factory "
       "(create_websocket_manager(user_context))")
@guard_unparsed
def import_chain(ctx: CheckContext) -> Verdict:
    deprecated = ctx.profile.deprecated
    if not deprecated and not ctx.has_role("wiring_entry"):
        if "wiring_entry" in ctx.profile.absent_roles:
            raise ctx.not_applicable("wiring_entry")
        return errored("the profile lists no deprecated entry points and no wiring entry",
                       fix="add 'deprecated:' entries and a 'roles: {wiring_entry: ...}'")
    modules, problems = scan(ctx, [d.attr for d in deprecated])
    graph = walk_imports(ctx.root, [r.split(":", 1)[0] for r in ctx.profile.roles.values()])
    wiring = {module_name_for(m.relpath) for m in modules if m.module in graph.reachable}
    static = [f for d in deprecated
              for f in deprecated_usages(modules, d.module, d.attr, d.replacement)]
    # the production wiring path leads; the rest follows (a stable order within each)
    static.sort(key=lambda f: (module_name_for(f.relpath) not in wiring, f.relpath, f.line))
    evidence = [Evidence("location", f"{b.message}: `{b.code}`", b.relpath, b.line)
                for b in graph.broken]
    evidence += [location_evidence(f) for f in static]
    on_path = sum(module_name_for(f.relpath) in wiring for f in static)
    if 0 < on_path < len(static):
        evidence.append(Evidence("note", f"{on_path} of {len(static)} location(s) lie on the "
                                 "production wiring path (modules the roles import), listed "
                                 "first"))
    static_head = (f"a production module uses a deprecated entry point: {static[0].relpath}:"
                   f"{static[0].line} {static[0].message}") if static else ""
    if graph.broken:
        first = graph.broken[0]
        static_head = (f"the import chain is broken at the source: {first.relpath}:"
                       f"{first.line} {first.message}") + (f"; {static_head}" if static_head
                                                           else "")
        static = static or [first]  # a failure either way
    if ctx.static or not ctx.has_role("wiring_entry"):
        note = ("--static: the wiring path was not run" if ctx.static
                else "the profile names no wiring_entry role: the wiring path was not run")
        if static:
            return failed(static_head, *evidence, Evidence("note", note), *problems)
        return passed(f"from source: no production module imports a deprecated entry point "
                      f"({len(deprecated)} checked) and every import of the wiring path's own "
                      f"modules resolves ({len(graph.reachable)} modules)",
                      Evidence("note", note), *problems)
    try:
        trace = run_async(ctx, lambda: _trace(ctx))
    except SetupError as exc:  # e.g. a dependency not installed: the static findings stand
        if not static:
            return errored(str(exc), *evidence, *problems, fix=exc.fix)
        return failed(static_head, *evidence, *problems,
                      Evidence("note", f"the wiring path was not run: {exc}"))
    evidence += trace.observed
    factory = ctx.profile.roles.get("manager_factory")
    # another link's crash after this check saw what it needed: one line, not its traceback
    aside = [Evidence("note", f"the wiring path then crashed"
                      f"{f' at {trace.crash_site}' if trace.crash_site else ''}: "
                      f"{trace.crash_summary} (another link's defect; not judged here)")
             ] if trace.crash else []
    if trace.deprecated_calls:
        who = "an agent run" if trace.during_run else "the wiring path"
        return failed(f"{who} uses a deprecated entry point: {trace.deprecated_calls[0]}",
                      *evidence, *aside, *problems)
    if static:
        return failed(static_head, *evidence, *aside, *problems)
    if factory is None and "manager_factory" in ctx.profile.absent_roles:
        return passed("the wiring path calls no deprecated entry point and no production "
                      "module imports one; the profile declares no per-user manager factory "
                      "(roles.manager_factory: none), so which factory it uses is not "
                      "judged", *evidence, *trace.crash, *problems)
    if factory is None:
        return errored(
            "the profile names no 'manager_factory' role (the per-user WebSocket manager "
            "factory), so how the wiring path obtains its managers cannot be judged",
            *evidence, *trace.crash, *problems,
            fix=f"add 'roles: {{manager_factory: package.module:create_websocket_manager}}' "
            f"to {ctx.profile.source} (the function that builds a manager for one user "
            "context)")
    if trace.factory_calls:
        who = ("the application obtains managers lazily, during an agent run, from"
               if trace.during_run else "the wiring path obtains managers from")
        return passed(f"{who} {factory}; no production module imports a deprecated entry "
                      "point", *evidence, *trace.crash, *problems)
    if trace.crash:  # another link's defect stopped it: this check could not see its own
        stage = "agent run" if trace.during_run else "wiring path"
        at = f" at {trace.crash_site}" if trace.crash_site else ""
        return errored(f"could not set up: the {stage} crashed{at} before obtaining any "
                       f"WebSocket manager: {trace.crash_summary}",
                       Evidence("observed", f"set-up step failed: the {stage}{at}",
                                data={"blocked_at": trace.crash_site, "step": stage}),
                       *trace.crash, *evidence, *problems,
                       fix="the check that owns that crash reports it; fix it there and "
                       "re-run")
    return errored(
        f"could not observe how the application obtains its WebSocket managers: neither the "
        f"wiring path ({ctx.role('wiring_entry')}){trace.run_said} called {factory} or a "
        "deprecated entry point", *evidence, *problems,
        fix="check that 'roles.manager_factory' names the function your code calls to get a "
        "per-user manager, and that 'methods.run' (or the engine factory) lets an agent run")


@dataclass
class _Trace:
    """What the tracer saw: manager-producing calls from the target's own frames."""

    observed: list[Evidence] = field(default_factory=list)
    crash: list[Evidence] = field(default_factory=list)
    crash_summary: str = ""
    crash_site: str | None = None
    factory_calls: int = 0
    deprecated_calls: list[str] = field(default_factory=list)
    during_run: bool = False
    run_said: str = ", nor an agent run through it,"

    def record(self, ctx: CheckContext, recorder: CallRecorder, stage: str) -> None:
        for seen in recorder.calls:
            if not ctx.in_target(seen.caller_file):
                continue  # the harness's own calls (a recording connection) do not count
            where, line = ctx.relpath(seen.caller_file), seen.caller_line
            returned = (f", returned {describe_type(seen.returned)}"
                        if seen.returned is not None else "")
            if seen.label == "factory":
                self.factory_calls += 1
                self.observed.append(Evidence(
                    "observed", f"{seen.caller_function}() obtained its manager from "
                    f"{ctx.role('manager_factory')}{returned} ({stage})", where, line))
            else:
                name = seen.label.removeprefix("deprecated ")
                self.deprecated_calls.append(f"{seen.caller_function}() called deprecated "
                                             f"{name}() at {where}:{line}")
                self.observed.append(Evidence(
                    "observed", f"{seen.caller_function}() called deprecated {name}()"
                    f"{returned} ({stage})", where, line))

    def crashed(self, exc: TargetFailure, stage: str) -> None:
        """Keep a crash as observation and traceback, never as a ``location`` finding (the
        check that owns that crash reports its location)."""
        self.crash_summary = exc.summary
        self.crash_site = next((e.location for e in exc.evidence if isinstance(e, Evidence)
                                and e.kind == "location" and e.file), None)
        self.crash = [Evidence("observed", f"the {stage} raised: {exc.summary}"),
                      *crash_observations(exc.evidence)]


async def _trace(ctx: CheckContext) -> _Trace:
    """Call the wiring entry under a tracer; when it obtains no manager (a backend may
    create them lazily), drive one agent run through its result under the tracer too."""
    watched: dict[str, Any] = {}
    for dep in ctx.profile.deprecated:
        watched[f"deprecated {dep.attr}"] = ctx.import_entry(dep.entry, f"deprecated entry "
                                                             f"'{dep.entry}'")
    if ctx.has_role("manager_factory"):
        watched["factory"] = ctx.resolve("manager_factory")
    trace = _Trace()
    user_context = await set_up(ctx, "building a user context",
                                make_user_context(ctx, "wiring"))
    app = None
    with CallRecorder(watched) as recorder:
        try:
            app, _ = await call_wiring_entry(ctx, user_context)
        except TargetFailure as exc:  # kept as evidence; the verdict decides
            trace.crashed(exc, "wiring path")
    trace.record(ctx, recorder, "wiring path")
    if trace.crash or trace.factory_calls or trace.deprecated_calls:
        return trace
    if not ctx.has_role("manager_factory") or not can_run_agent(ctx, app):
        trace.run_said = " (no agent run could be driven through it)"
        return trace
    await set_up(ctx, f"joining a recording connection {joined_by(ctx)}",  # a listener
                 attach_recorder(ctx, user_context, "import-chain"))
    trace.during_run = True
    notes: list[Evidence] = []
    budget = ctx.budgets.run_s
    import asyncio  # here, not at import: checks under --static never run a loop

    with CallRecorder(watched) as recorder:
        try:
            await asyncio.wait_for(run_agent(ctx, user_context, notes, app), budget)
        except TargetFailure as exc:
            trace.crashed(exc, "agent run")
        except TimeoutError:
            trace.crashed(TargetFailure(f"the agent run did not finish within {budget:g} s"),
                          "agent run")
    trace.record(ctx, recorder, "during an agent run")
    trace.observed.append(Evidence(
        "note", "the wiring path itself obtained no manager, so one agent run was traced too"))
    trace.observed += notes
    return trace
