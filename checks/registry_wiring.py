"""WHY #3: registry wiring. Does every agent the registry hands out carry a working bridge?"""

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
from netra_diag.profile import DEFAULT_METHODS
from netra_diag.support.calls import SAMPLE_VALUES, describe_type, fill_arguments
from netra_diag.support.definitions import class_methods
from netra_diag.support.static import constructor_calls_missing
from netra_diag.support.symbols import resolve_symbol

from ._calling import (
    attach_recorder,
    build_role,
    call_built,
    call_target,
    call_wiring_entry,
    context_values,
    joined_by,
    located,
    make_user_context,
    method_call,
    missing_method,
    on_tool_context,
    set_up,
    setup_failure,
)
from ._dynamic import dynamic_half, first_failures
from ._locate import LOCATE_DEPTH, find_attribute, follow_path, locate_role, located_path
from ._probe import send_probe
from ._source import guard_unparsed, located_failure, location_evidence, role_parts, scan

EXPLAIN = """\
Verifies that the agent registry (the `registry` role), built the way the application builds
it, wires the WebSocket bridge through to every agent it hands out: after
set_websocket_manager(manager, user_context), each agent from get_agent() carries a bridge
whose emitter delivers to that user's connection.

Why it matters: agents emit events through the bridge the registry gives them. A registry
that cannot be built (a constructor argument the wiring does not pass) or that stores the
manager without wiring agents leaves every agent mute.

How it is judged: statically, every production call of the registry constructor is checked
against the constructor's required parameters. Dynamically, the registry is taken from the
application's own wiring path (the `wiring_entry` role) when the profile names one, or else
built from the profile's `build.registry` arguments; it is wired with a per-user manager
holding a recording connection, and each agent must carry a bridge whose emitter reaches
that connection.

Typical causes: AgentRegistry() called without llm_manager after its signature changed;
set_websocket_manager() that stores the manager and returns.

How to fix: pass every required constructor argument where the application builds the
registry; make set_websocket_manager build the bridge and attach it to every agent."""


@check(id="registry-wiring", why=3, title="Registry Wiring", explain=EXPLAIN, static=True,
       order=30, criterion="Agent registry builds and wires the WebSocket bridge to every "
       "agent it hands out",
       fix="build the registry with all its required arguments and wire the bridge to every "
       "agent in set_websocket_manager")
@guard_unparsed
def registry_wiring(ctx: CheckContext) -> Verdict:
    registry_module, registry_class = role_parts(ctx, "registry")
    modules, problems = scan(ctx, [registry_class])
    evidence: list[Evidence] = []
    failures: list[str] = []
    methods = class_methods(modules, registry_class, registry_module)
    if methods is not None and "__init__" in methods:
        init = methods["__init__"]
        # context, not a finding: no file, so that no reporter shows it as a location
        evidence.append(Evidence("observed", f"{registry_class}.__init__ "
                                 f"({init.relpath}:{init.line}) requires "
                                 f"{list(init.required) or 'no arguments'}"))
        symbol = resolve_symbol(modules, registry_module, registry_class)
        for finding in constructor_calls_missing(modules, symbol, init.params, init.required):
            failures.append(located_failure(finding))
            evidence.append(location_evidence(finding))
    if ctx.static:
        evidence.append(Evidence("note", "--static: the registry was not built or wired"))
        if not failures and methods is None:
            return errored(f"--static: no class {registry_class} is defined under the source "
                           "root, so its constructor calls cannot be judged from source",
                           *evidence, *problems, fix="check the 'registry' role and the "
                           "profile's 'root'")
        if not failures:  # the wiring itself only a run can show: undecided, not a pass
            return skipped(f"--static: judged from source that every production call of "
                           f"{registry_class}() passes its required arguments; whether the "
                           "registry wires its bridge to its agents needs a run",
                           *evidence, *problems)
        return _verdict(failures, evidence, problems)
    try:
        verdict = dynamic_half(ctx, lambda: _exercise(ctx), failures, evidence, problems)
    except NotApplicable as exc:
        if failures:
            return _verdict(failures, evidence, problems)
        return skipped(str(exc), *evidence, *problems)
    return verdict or _verdict(failures, evidence, problems)


def _verdict(failures: list[str], evidence: list[Evidence], problems: list[Evidence]) -> Verdict:
    if failures:
        return failed(first_failures(failures, limit=1), *evidence, *problems)
    return passed("every agent the registry hands out carries a bridge that reaches the user",
                  *evidence, *problems)


async def _obtain_registry(ctx: CheckContext, user_context: Any) -> tuple[Any, list[Evidence]]:
    registry_cls = ctx.resolve("registry")
    if ctx.has_role("wiring_entry"):
        try:
            app, _ = await call_wiring_entry(
                ctx, user_context, f"the application's wiring path {ctx.role('wiring_entry')}")
        except TargetFailure as exc:
            if not _about_registry(exc, registry_cls):  # another link's defect: set-up
                raise setup_failure(exc, f"the wiring path {ctx.role('wiring_entry')}") \
                    from exc
            raise TargetFailure(f"the application cannot build its registry: {exc.summary}",
                                *exc.evidence) from exc
        found = locate_role(ctx, app, "registry")
        if found is None:
            raise SetupError(
                f"the wiring path returned {describe_type(app)}, and no "
                f"{registry_cls.__name__} was found in it within {LOCATE_DEPTH} attributes, so "
                "the registry the application built cannot be exercised",
                fix="point at it with 'build: {locate: {registry: attr.path}}' in the profile "
                "(the attribute path from what the wiring entry returns, e.g. "
                "factory.registry), or remove the 'wiring_entry' role to build the registry "
                "from 'build.registry'")
        return found[1], [Evidence("observed", f"registry taken from the wiring path: "
                                   f"{describe_type(app)}.{found[0]}")]
    call = fill_arguments(registry_cls, available={}, overrides=ctx.build_kwargs("registry"),
                          profile_key="build.registry", what=f"{registry_cls.__name__}()")
    registry, _ = await call_target(ctx, f"{registry_cls.__name__}()", registry_cls, *call.args,
                                    **call.kwargs)
    return registry, [Evidence("observed", f"registry built from the profile with "
                               f"{sorted(call.kwargs)}")]


def _about_registry(exc: TargetFailure, registry_cls: Any) -> bool:
    """Whether a crash of the wiring path is the registry's own: it names the registry
    class (a constructor called with the wrong arguments fails at the call, before any
    frame of the class runs) or passed through the registry class's own code."""
    from netra_diag.support.tracing import code_of

    name = getattr(registry_cls, "__name__", "")
    if name and name in exc.summary:
        return True
    codes = set()
    for klass in getattr(registry_cls, "__mro__", ())[:-1]:
        for func in vars(klass).values():
            code = code_of(func)
            if code is not None:
                codes.add(code)
    tb = getattr(exc.__cause__, "__traceback__", None)
    while tb is not None:
        if tb.tb_frame.f_code in codes:
            return True
        tb = tb.tb_next
    return False


class NotApplicable(Exception):
    """The registry's agents hold no bridge to wire: the property does not apply."""


def _to_call(ctx: CheckContext, registry: Any, method_key: str) -> bool:
    """Whether an optional registry method is to be called: the registry has it, or the
    profile names it (then its absence is an error); absent under its default name, the
    registry simply does without that step."""
    name = ctx.profile.method(method_key)
    return callable(getattr(registry, name, None)) or name != DEFAULT_METHODS[method_key]


def _empty_bridge_slots(obj: Any) -> list[str]:
    """Attributes of ``obj`` named like a bridge that are still None."""
    held = vars(obj) if hasattr(obj, "__dict__") else {}
    return [n for n, v in held.items() if v is None and "bridge" in n.lower()]


def _agent_bridge(ctx: CheckContext, agent: Any, registry: Any,
                  bridge_method: str) -> tuple[str, Any] | str | None:
    """Where ``agent`` keeps its bridge: ``(path, bridge)``; the path of an empty attribute
    named like a bridge (``str``: the registry left it unwired); or None (cannot tell).
    ``build.locate.agent_bridge`` names the path when the search cannot find it."""
    def offers(value: Any) -> bool:
        return value is not registry and callable(getattr(value, bridge_method, None))

    path = located_path(ctx, "agent_bridge")
    if path == "none":  # the profile says the agents hold no bridge
        raise NotApplicable(
            "the profile says the registry's agents hold no bridge ('build.locate."
            "agent_bridge: none'): they are handed their emitter per run, which engine-factory "
            "and event-flow judge; nothing here is wired to judge")
    if path:
        value = follow_path(agent, path, "agent_bridge")
        if offers(value):
            return path, value
        if value is None:
            return path  # an empty slot where the profile says the bridge lives
        raise SetupError(
            f"the agent's {path} (the profile's 'build.locate.agent_bridge') is "
            f"{describe_type(value)}, which offers no {bridge_method}(): it is not a bridge "
            "the check can ask for an emitter",
            fix="point 'build.locate.agent_bridge' at the object with "
            f"{bridge_method}() (or name that method under 'methods.create_user_emitter'); "
            "if your agents hold their emitter itself, made per run or per request, say "
            "'build: {locate: {agent_bridge: none}}'")
    direct = find_attribute(agent, offers)
    if direct is not None:
        return direct
    empty = _empty_bridge_slots(agent)
    if empty:
        return f"agent.{empty[0]}"
    return find_attribute(agent, offers, depth=LOCATE_DEPTH)


async def _exercise(ctx: CheckContext) -> tuple[list[str], list[Evidence]]:
    user_context = await set_up(ctx, "building a user context",
                                make_user_context(ctx, "registry"))
    registry, evidence = await _obtain_registry(ctx, user_context)
    recorder, manager = await set_up(ctx, f"joining a recording connection {joined_by(ctx)}",
                                     attach_recorder(ctx, user_context))
    wire = ctx.profile.method("set_websocket_manager")
    wired_later = _to_call(ctx, registry, "set_websocket_manager")
    if wired_later and manager is None and ctx.has_role("manager_factory"):  # a hook joined
        manager, _ = await set_up(ctx, "building the user's manager", build_role(
            ctx, "manager_factory", context_values(user_context)))
    available = {"manager": manager, "websocket_manager": manager, "ws_manager": manager,
                 **context_values(user_context)}
    if wired_later:
        await on_tool_context(ctx, "wiring the registry to a per-user manager", method_call(
            ctx, registry, "set_websocket_manager", available,
            what="wiring the registry to a per-user manager"), user_context)
    else:
        evidence.append(Evidence("note", f"{describe_type(registry)} has no {wire}(): it is "
                                 "wired when it is built, so its agents are judged as it "
                                 "hands them out (name the wiring method under "
                                 "'methods.set_websocket_manager' if it has one)"))
    names: list[Any] = []
    if _to_call(ctx, registry, "list_agents"):
        listed, _ = await method_call(ctx, registry, "list_agents", {}, what="listing agents")
        names = list(listed or [])
    failures: list[str] = []
    agents: list[tuple[str, Any]] = []
    if names:
        for name in names:
            agent, _ = await method_call(ctx, registry, "get_agent",
                                         {"name": name, "agent_name": name, "agent_type": name,
                                          **context_values(user_context)},
                                         what=f"getting agent {name!r}")
            agents.append((repr(name), agent))
    else:  # agents made per request: judge the registry's own slots and one new agent
        evidence.append(Evidence("observed", f"{describe_type(registry)}."
                                 f"{ctx.profile.method('list_agents')}() lists no agent after "
                                 "set_websocket_manager(): agents are made per request"))
        failures += _judge_slots(ctx, registry, manager, evidence)
        created = await _create_agent(ctx, registry, user_context, evidence)
        if created is not None:
            agents.append(created)
    for label, agent in agents:
        failure = await _judge_agent(ctx, label, agent, registry, recorder, user_context,
                                     evidence)
        if failure:
            failures.append(failure)
    if failures and not wired_later and (others := _wiring_candidates(registry)):
        # the wiring method may just have another name: the check cannot tell
        raise SetupError(
            f"{failures[0]}; but the registry has no {wire}() (netra-diag's default name), "
            f"so it was never asked to wire itself, and it has methods that take a manager "
            f"({', '.join(o + '()' for o in others)})",
            fix="set 'methods: {set_websocket_manager: <the method that wires the registry "
            "for a user>}' in the profile")
    return failures, evidence


def _wiring_candidates(registry: Any) -> list[str]:
    """Public methods of the registry with a parameter named like a manager."""
    import inspect

    out = []
    for name in dir(type(registry)):
        func = getattr(type(registry), name, None)
        if name.startswith("_") or not callable(func):
            continue
        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError):
            continue
        if any("manager" in p.lower() for p in params):
            out.append(name)
    return out


def _judge_slots(ctx: CheckContext, registry: Any, manager: Any,
                 evidence: list[Evidence]) -> list[str]:
    """What the registry itself holds after set_websocket_manager(): the manager, and a
    bridge (an attribute offering the emitter factory). An empty bridge slot is a fail."""
    bridge_method = ctx.profile.method("create_user_emitter")
    holds = find_attribute(registry, lambda v: v is manager) if manager is not None else None
    if holds is not None:
        evidence.append(Evidence("observed", f"the registry holds the manager at "
                                 f"registry.{holds[0]}"))
    found = find_attribute(registry, lambda v: callable(getattr(v, bridge_method, None)))
    if found is not None:
        evidence.append(Evidence("observed", f"the registry holds a bridge at "
                                 f"registry.{found[0]} ({describe_type(found[1])})"))
        return []
    empty = _empty_bridge_slots(registry)
    if empty:
        wire = ctx.profile.method("set_websocket_manager")
        said = (f"the registry's bridge slot registry.{empty[0]} is still None after "
                f"{wire}(): it never wires its bridge")
        evidence.append(located(ctx, getattr(registry, wire, None), said))
        return [said]
    evidence.append(Evidence("note", f"the registry holds no attribute offering "
                             f"{bridge_method}(): its agents are judged instead"))
    return []


async def _create_agent(ctx: CheckContext, registry: Any, user_context: Any,
                        evidence: list[Evidence]) -> tuple[str, Any] | None:
    """One agent made through the registry's own creation method (``methods.create_agent``)."""
    name = ctx.profile.method("create_agent")
    method = getattr(registry, name, None)
    if not callable(method):
        raise missing_method(ctx, registry, "create_agent",
                             "the registry lists no agents, so one must be created through it")
    call = fill_arguments(method, available=context_values(user_context),
                          overrides=ctx.build_kwargs(name), profile_key=f"build.{name}",
                          what=f"{describe_type(registry)}.{name}()", samples=SAMPLE_VALUES)
    agent, awaited = await call_built(ctx, f"{describe_type(registry)}.{name}()", method, call,
                                      f"build.{name}")
    args = ", ".join(f"{k}={v!r}" for k, v in call.kwargs.items() if isinstance(v, str))
    evidence.append(Evidence("observed", f"created an agent through the registry: {name}({args})"
                             f"{' (awaited)' if awaited else ''} -> {describe_type(agent)}"))
    return f"created by {name}()", agent


async def _judge_agent(ctx: CheckContext, label: str, agent: Any, registry: Any,
                       recorder: Any, user_context: Any, evidence: list[Evidence]) -> str | None:
    """Whether ``agent`` carries a bridge whose emitter reaches the user; the failure text."""
    bridge_method = ctx.profile.method("create_user_emitter")
    found = _agent_bridge(ctx, agent, registry, bridge_method)
    if isinstance(found, str):  # an empty bridge slot: the registry did not wire it
        wire = ctx.profile.method("set_websocket_manager")
        # located where the agent was wired (or made, for a per-request registry)
        maker = getattr(registry, ctx.profile.method("create_agent"), None) \
            if label.startswith("created by") else getattr(registry, wire, None)
        after = f"after {wire}()" if callable(getattr(registry, wire, None)) else \
            "as the registry handed it out"
        said = (f"agent {label} ({describe_type(agent)}) was handed out without a "
                f"WebSocket bridge: {found} is None {after}")
        evidence.append(located(ctx, maker, said))
        return said
    if found is None:
        raise SetupError(
            f"agent {label} ({describe_type(agent)}): no attribute within {LOCATE_DEPTH} "
            f"levels offers {bridge_method}(), and none named like a bridge is empty, so "
            "the check cannot tell where this agent keeps its bridge",
            fix="point at it with 'build: {locate: {agent_bridge: path.to.bridge}}' in the "
            "profile (attributes or dict keys, from the agent); or, when your agents hold no "
            "bridge (they are handed their emitter per run), say so with "
            "'build: {locate: {agent_bridge: none}}'")
    attr, bridge = found
    emitter, _ = await on_tool_context(
        ctx, f"agent {label}'s bridge creating an emitter",
        method_call(ctx, bridge, "create_user_emitter", context_values(user_context),
                    what=f"agent {label}'s bridge creating an emitter"), user_context)
    before = len(recorder.frames)
    await send_probe(ctx, emitter, label.strip("'"),
                     f"agent {label}'s emitter sending an event")
    if await recorder.wait_for(before + 1, timeout=2.0):
        evidence.append(Evidence("observed", f"agent {label}: {attr} is "
                                 f"{describe_type(bridge)}; its emitter reached the user"))
        return None
    evidence.append(Evidence("observed", f"agent {label}: an event sent through "
                             f"{attr} never reached the user's connection"))
    return f"agent {label}'s bridge does not reach the user's connection"
