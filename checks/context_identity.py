"""Across the chain: is there one context type, and does every component accept it?"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from netra_diag import (
    CheckContext,
    Evidence,
    SetupError,
    TargetFailure,
    Verdict,
    check,
    failed,
    passed,
    skipped,
)
from netra_diag.support.calls import fill_arguments
from netra_diag.support.static import Finding, find_definitions

from ._calling import (
    build_components,
    build_role,
    call_target,
    call_wiring_entry,
    context_values,
    make_user_context,
    method_call,
    run_async,
)
from ._dynamic import dynamic_half
from ._locate import held
from ._source import guard_unparsed, scan

EXPLAIN = """\
Verifies that the pipeline has exactly one user context type (the class the `user_context`
role names) and that every component accepts the context the wiring path is given: the
per-user manager factory, the registry's set_websocket_manager, the bridge's user-emitter
factory, the engine factory and the wiring entry itself.

Why it matters: a half-finished migration often leaves several classes of one contract type
(say, four `UserExecutionContext` classes in different modules), and each component checks
`isinstance` against its own. Every component works in its own tests, yet no single context
satisfies the whole pipeline: the first component holding a different class rejects the
request, and the user sees no events.

How it is judged: statically, every production module (tests excluded) is parsed for classes
with the context type's name; more than one definition is a failure by itself, listed with
file and line. Dynamically, each definition is imported and instantiated with the same ids,
and each component is called with each of them: the check reports which definition each
component accepts and the first call, in pipeline order, that rejects the context the
profile names, with the line that raised. A component that rejects every definition is
broken for another reason (the other checks judge it) and is not counted here.

Typical causes: a module that defines its own copy of the context "temporarily"; a package
that re-creates the class instead of importing it; a vendored copy of a shared library.

How to fix: keep one definition, import it everywhere (re-exports are fine: they are the
same class), and delete the copies."""

#: Components probed, in the order a request reaches them.
_PROBE_ORDER = ("manager_factory", "registry", "bridge_factory", "engine_factory",
                "wiring_entry")


@dataclass
class Candidate:
    """One definition of the context type, and an instance of it when one could be built."""

    label: str  # path:line
    qualname: str  # module.Class
    cls: Any = None
    instance: Any = None


@dataclass
class Probe:
    """What one component did with each candidate."""

    name: str
    accepted: list[int] = field(default_factory=list)
    rejected: dict[int, TargetFailure] = field(default_factory=dict)
    skipped: str | None = None


@check(id="context-identity", why="e2e", title="Context Type Identity", explain=EXPLAIN,
       order=60, criterion="One user context type in production code, accepted by every "
       "component",
       static=True, fix="keep one user context class, import it everywhere, delete the copies")
@guard_unparsed
def context_identity(ctx: CheckContext) -> Verdict:
    entry, said = _context_entry(ctx)
    class_name = entry.split(":", 1)[1].split(".")[-1]
    modules, problems = scan(ctx, [f"class {class_name}"])  # only definitions matter here
    definitions = [f for f in find_definitions(modules, class_name) if f.data["kind"] == "class"]
    evidence = [Evidence("location", f"class {class_name} defined in {d.data['module']}",
                         d.relpath, d.line) for d in definitions]
    if said:
        evidence.insert(0, Evidence("observed", said))
    failures: list[str] = []
    if len(definitions) > 1:
        where = ", ".join(f"{d.relpath}:{d.line}" for d in definitions)
        failures.append(f"{len(definitions)} classes named {class_name} in production code "
                        f"({where})")
    elif not definitions:
        evidence.append(Evidence("note", f"no class {class_name} is defined in the production "
                                 f"source (the role names {entry})"))
    if ctx.static:
        evidence.append(Evidence("note", "--static: which class each component accepts was "
                                 "not probed"))
        if not failures and definitions:
            return passed(f"from source (judged: {class_name} has {len(definitions)} "
                          "definition(s) in production code; not judged: which one each "
                          "component accepts, which needs a run)", *evidence, *problems)
        return _verdict(failures, evidence, problems, class_name, len(definitions))
    verdict = dynamic_half(ctx, lambda: _probe_all(ctx, entry, definitions), failures,
                           evidence, problems)
    return verdict or _verdict(failures, evidence, problems, class_name, len(definitions))


def _verdict(failures: list[str], evidence: list[Evidence], problems: list[Evidence],
             class_name: str, count: int) -> Verdict:
    if failures:
        return failed("; ".join(failures), *evidence, *problems)
    if count == 0:  # nothing to count: how many context types exist was not judged
        return skipped(f"{class_name} is not defined in the scanned production source (the "
                       "role names a class from elsewhere: a hooks file, a library), so how "
                       "many context types the pipeline has cannot be judged", *evidence,
                       *problems)
    what = {1: "one definition in production code"}.get(
        count, f"{count} definitions in production code")
    return passed(f"{class_name}: {what}, accepted by every component probed", *evidence,
                  *problems)


def _context_entry(ctx: CheckContext) -> tuple[str, str | None]:
    """The user context class as ``module:attr``: the ``user_context`` role's; without the
    role, in a run, the class of the context the hooks file's ``make_user_context()``
    builds (and a line saying so). Neither: the role's error (or "not applicable")."""
    if ctx.has_role("user_context") or ctx.static or \
            ctx.hooks.get("make_user_context") is None:
        return ctx.role("user_context"), None
    made = run_async(ctx, lambda: make_user_context(ctx, "identity"))
    cls = type(made)
    return (f"{cls.__module__}:{cls.__qualname__}",
            f"the user context class is {cls.__qualname__} ({cls.__module__}): the type "
            "make_user_context() in the hooks file returns (the profile names no "
            "'user_context' role)")


async def _probe_all(ctx: CheckContext, entry: str, definitions: list[Finding]
                     ) -> tuple[list[str], list[Evidence]]:
    evidence: list[Evidence] = []
    candidates, role_index = await _candidates(ctx, entry, definitions, evidence)
    usable = [i for i, c in enumerate(candidates) if c.instance is not None]
    if candidates[role_index].instance is None:
        raise SetupError(f"could not build the context the 'user_context' role names "
                         f"({entry})",
                         fix="supply its constructor arguments under 'build.user_context'")
    probes = await _run_probes(ctx, candidates, usable, role_index)
    if not probes:  # no component role named: which context each accepts is not asked
        return [], [Evidence("note", "no component to probe: the profile names no role that "
                             "takes a user context")]
    if not any(p.skipped is None for p in probes):
        raise SetupError("no component could be probed: " +
                         "; ".join(f"{p.name}: {p.skipped}" for p in probes),
                         fix="name the pipeline's roles in the profile and supply their "
                         "constructor arguments under 'build:'")
    failures: list[str] = []
    first_rejection: tuple[Probe, TargetFailure] | None = None
    satisfying = set(usable)
    for probe in probes:
        if probe.skipped is not None:
            evidence.append(Evidence("note", f"{probe.name}: not probed ({probe.skipped})"))
            continue
        sites = {_raise_site(exc) for exc in probe.rejected.values()}
        if not probe.accepted and (len(probe.rejected) < 2 or len(sites) < 2):
            some = next(iter(probe.rejected.values()))
            evidence.append(Evidence("note", f"{probe.name} rejects every context class alike "
                                     f"({some.summary}): a failure of its own, judged by the "
                                     "other checks, not a context-identity problem"))
            continue
        satisfying &= set(probe.accepted)
        accepted = ", ".join(candidates[i].label for i in probe.accepted) or "none"
        rejected = ", ".join(f"{candidates[i].label} (raised at {_raise_site(exc)})"
                             for i, exc in probe.rejected.items()) or "none"
        evidence.append(Evidence("observed", f"{probe.name} accepts {accepted}; rejects "
                                 f"{rejected}", data={
                                     "component": probe.name,
                                     "accepts": [candidates[i].qualname for i in probe.accepted],
                                     "rejects": [candidates[i].qualname for i in probe.rejected]}))
        if role_index in probe.rejected and first_rejection is None:
            first_rejection = (probe, probe.rejected[role_index])
    role = candidates[role_index]
    if first_rejection is not None:
        probe, exc = first_rejection
        failures.append(f"{probe.name} rejects the context the wiring path is given "
                        f"({role.qualname}, {role.label}): {exc.summary}")
        # the rejection's site is this check's finding (not a mere crash): say what it is
        located = [Evidence("location", e.message.replace("raised here:", "rejects the "
                                                          "context here:", 1), e.file, e.line)
                   if e.kind == "location" else e
                   for e in exc.evidence if isinstance(e, Evidence)]
        evidence.append(Evidence("observed", f"first call that rejects {role.qualname}: "
                                 f"{probe.name}"))
        evidence += located
    elif not satisfying:
        failures.append("no context class is accepted by every component")
    return failures, evidence


def _raise_site(exc: TargetFailure) -> str:
    """Where the target raised (``path:line``), else the message: tells rejections apart."""
    for item in exc.evidence:
        if isinstance(item, Evidence) and item.kind == "location" and item.file:
            return f"{item.file}:{item.line}"
    return exc.summary


async def _candidates(ctx: CheckContext, entry: str, definitions: list[Finding],
                      evidence: list[Evidence]) -> tuple[list[Candidate], int]:
    """Import and instantiate every definition (and the role's class, ``entry``); which is
    the role's."""
    role_cls = ctx.import_entry(entry, "the user context class")
    name = entry.split(":", 1)[1].split(".")[-1]
    candidates: list[Candidate] = []
    for d in definitions:
        cls = ctx.import_entry(f"{d.data['module']}:{name}", f"the context class in {d.relpath}")
        candidates.append(Candidate(f"{d.relpath}:{d.line}", f"{d.data['module']}.{name}", cls))
    role_index = next((i for i, c in enumerate(candidates) if c.cls is role_cls), None)
    if role_index is None:  # defined outside the scanned source (a library, a test path)
        candidates.append(Candidate(entry, entry, role_cls))
        role_index = len(candidates) - 1
    ids = {"user_id": "netra-diag-identity", "request_id": "netra-diag-identity-request",
           "thread_id": "netra-diag-identity-thread", "run_id": "netra-diag-identity-run"}
    made = None
    if ctx.hooks.get("make_user_context") is not None:  # the application's own context
        made = await make_user_context(ctx, "identity")
        ids = {**ids, **dict(held(made))}  # a copy elsewhere is built with its values
    for c in candidates:
        if made is not None and type(made) is c.cls:
            c.instance = made
            continue
        try:
            call = fill_arguments(c.cls, available=ids, overrides=ctx.build_kwargs("user_context"),
                                  profile_key="build.user_context", what=c.qualname)
            c.instance, _ = await call_target(ctx, f"building {c.qualname}", c.cls, *call.args,
                                              **call.kwargs)
        except (SetupError, TargetFailure) as exc:
            evidence.append(Evidence("note", f"{c.label}: could not build an instance: {exc}"))
    return candidates, role_index


@dataclass
class _Component:
    """One component: its label, a once-only set-up and the call made with each context."""

    name: str
    setup: Callable[[], Awaitable[None]]
    call: Callable[[Any], Awaitable[Any]]


def _components(ctx: CheckContext, role_ctx: Any) -> dict[str, _Component]:
    """The probed components by role; shared objects are built once, with the role's
    context, so a failure to build them is never counted against a candidate."""
    shared: dict[str, Any] = {}

    async def nothing() -> None:
        return None

    async def manager_for(c: Any) -> Any:
        value, _ = await build_role(ctx, "manager_factory", context_values(c))
        return value

    async def registry_setup() -> None:
        shared["registry"], _ = await build_role(ctx, "registry")
        shared["manager"] = await manager_for(role_ctx) if ctx.has_role("manager_factory") \
            else None

    async def registry_call(c: Any) -> None:
        manager = shared["manager"]
        if manager is not None:
            try:
                manager = await manager_for(c)
            except TargetFailure:  # judged alone: the role context's manager will do
                manager = shared["manager"]
        await method_call(ctx, shared["registry"], "set_websocket_manager",
                          {"manager": manager, "websocket_manager": manager,
                           "ws_manager": manager, **context_values(c)},
                          what="wiring the registry for a user")

    async def bridge_setup() -> None:
        shared["bridge"], _ = await build_role(ctx, "bridge_factory", context_values(role_ctx))

    async def bridge_call(c: Any) -> None:
        await method_call(ctx, shared["bridge"], "create_user_emitter", context_values(c),
                          what="asking the bridge for a user emitter")

    async def engine_setup() -> None:
        components = await build_components(ctx, role_ctx)
        shared["components"] = components
        shared["engine_factory"], _ = await build_role(ctx, "engine_factory", components)

    async def engine_call(c: Any) -> None:
        await method_call(ctx, shared["engine_factory"], "create_engine",
                          {**shared["components"], **context_values(c)},
                          what="creating an engine for a user")

    async def wiring_call(c: Any) -> None:
        await call_wiring_entry(ctx, c)

    method = ctx.profile.method
    roles = ctx.profile.roles
    return {
        "manager_factory": _Component(f"{roles.get('manager_factory')}()", nothing,
                                      manager_for),
        "registry": _Component(f"registry.{method('set_websocket_manager')}()",
                               registry_setup, registry_call),
        "bridge_factory": _Component(f"bridge.{method('create_user_emitter')}()",
                                     bridge_setup, bridge_call),
        "engine_factory": _Component(f"engine factory.{method('create_engine')}()",
                                     engine_setup, engine_call),
        "wiring_entry": _Component(f"wiring entry {roles.get('wiring_entry')}()", nothing,
                                   wiring_call),
    }


async def _run_probes(ctx: CheckContext, candidates: list[Candidate], usable: list[int],
                      role_index: int) -> list[Probe]:
    components = _components(ctx, candidates[role_index].instance)
    probes: list[Probe] = []
    for role in _PROBE_ORDER:
        if not ctx.has_role(role):
            continue
        component = components[role]
        probe = Probe(component.name)
        probes.append(probe)
        try:
            await component.setup()
        except (SetupError, TargetFailure) as exc:
            probe.skipped = f"could not build what it needs: {exc}"
            continue
        for i in usable:
            try:
                await component.call(candidates[i].instance)
            except TargetFailure as exc:
                probe.rejected[i] = exc
            except SetupError as exc:
                probe.skipped = str(exc)
                break
            else:
                probe.accepted.append(i)
    return probes
