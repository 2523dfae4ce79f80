"""Building the target's roles and calling its code from a check, sorting crashes honestly.

Everything here reads the target from the ``CheckContext`` (roles, build arguments,
method names); nothing names a reference path, and nothing can see which faults are on.
Exceptions are sorted honestly: an exception raised inside the target's own frames is a
``TargetFailure`` (``fail``, with the traceback trimmed to the target); one raised at our
call boundary (an argument the harness could not supply) is a ``SetupError`` (``error``).
This module knows nothing of endpoints, source scanning or verdicts.
"""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from netra_diag import CheckContext, Evidence, SetupError, TargetFailure
from netra_diag.profile import DEFAULT_METHODS
from netra_diag.support.calls import (
    Call,
    blame_invented,
    describe_type,
    fill_arguments,
    settle,
)
from netra_diag.support.recording import RecordingConnection

from ._crashes import (
    crash_observations,
    in_target,
    target_crash,
    tool_object_blamed,
)

__all__ = [
    "attach_recorder",
    "build_components",
    "build_role",
    "call_built",
    "call_hook",
    "call_target",
    "call_wiring_entry",
    "context_values",
    "crash_observations",
    "definition_site",
    "detach_recorder",
    "in_target",
    "joined_by",
    "located",
    "make_user_context",
    "method_call",
    "missing_method",
    "on_tool_context",
    "run_async",
    "set_up",
    "setup_failure",
    "target_crash",
    "tool_object_blamed",
    "user_id_of",
]

T = TypeVar("T")
_counter = itertools.count(1)


def run_async(ctx: CheckContext, body: Callable[[], Awaitable[T]]) -> T:
    """Run an async check body on a fresh loop, bounded by the check's timeout."""
    import asyncio  # here, not at import: checks under --static never run a loop

    budget = ctx.budgets.async_s

    async def bounded() -> T:
        return await asyncio.wait_for(body(), budget)

    try:
        return asyncio.run(bounded())
    except TimeoutError:
        raise SetupError(
            f"the target did not answer within {budget:g} s",
            fix="raise --timeout, or look for a wait without a timeout in the target",
        ) from None


async def call_target(ctx: CheckContext, doing: str, func: Callable[..., Any], /, *args: Any,
                      **kwargs: Any) -> tuple[Any, bool]:
    """Call target code and settle the result; crashes become fail/error (see module doc)."""
    try:
        return await settle(func(*args, **kwargs))
    except Exception as exc:
        raise target_crash(ctx, exc, doing) from exc


async def call_built(ctx: CheckContext, doing: str, func: Callable[..., Any], call: Call,
                     profile_key: str) -> tuple[Any, bool]:
    """``call_target`` for a call built by ``fill_arguments`` with ``samples``: a crash the
    rule of ``support.calls.blame_invented`` puts down to an invented value is an ``error``
    naming the parameter and the profile key that would supply a real one."""
    try:
        return await settle(func(*call.args, **call.kwargs))
    except Exception as exc:
        blamed = blame_invented(exc, call.invented) \
            if in_target(exc, ctx.root, ctx.profile.hooks) else None
        if blamed is None:
            raise target_crash(ctx, exc, doing) from exc
        value = call.invented[blamed]
        raise SetupError(
            f"{doing} raised {type(exc).__name__}: {exc}, on the value the harness invented "
            f"for '{blamed}' ({value!r:.60}): the call cannot judge the target",
            fix=f"set '{profile_key}.{blamed}' in the profile to a value of the kind your "
            "code expects (a literal, {factory: 'module:attr'} or {import: 'module:attr'})",
        ) from exc


async def build_role(ctx: CheckContext, role: str, available: dict[str, Any] | None = None
                     ) -> tuple[Any, list[Evidence]]:
    """Resolve ``role`` and call it with arguments filled from its real signature."""
    func = ctx.resolve(role)
    call = fill_arguments(func, available=available or {}, overrides=ctx.build_kwargs(role),
                          profile_key=f"build.{role}", what=f"the '{role}' role ({ctx.role(role)})")
    value, awaited = await call_target(ctx, f"building the '{role}' role", func, *call.args,
                                       **call.kwargs)
    notes = []
    if awaited:
        notes.append(Evidence("observed", f"{ctx.role(role)} returned an awaitable; awaited it"))
    return value, notes


async def make_user_context(ctx: CheckContext, label: str = "user") -> Any:
    """A fresh user context for a synthetic user (ids unique within this interpreter):
    from the hooks' ``make_user_context`` when defined, else the ``user_context`` role."""
    n = next(_counter)
    ids = {
        "user_id": f"netra-diag-{label}-{n}",
        "request_id": f"netra-diag-request-{n}",
        "thread_id": f"netra-diag-thread-{n}",
        "run_id": f"netra-diag-run-{n}",
    }
    if ctx.hooks.get("make_user_context") is not None:
        value, _ = await call_hook(ctx, "make_user_context", ids)
        return value
    value, _ = await build_role(ctx, "user_context", ids)
    return value


async def call_hook(ctx: CheckContext, name: str, available: dict[str, Any]) -> tuple[Any, bool]:
    """Call the user's hook ``name`` with arguments filled by name. A crash in the hook's
    own code is a ``SetupError`` (the user's set-up failed); a crash in the target's code
    that the hook drove is sorted like any call into the target."""
    hooks = ctx.hooks
    func = hooks.get(name)
    args, kwargs = hooks.arguments(name, available)
    try:
        return await settle(func(*args, **kwargs))
    except Exception as exc:
        if in_target(exc, ctx.root, ctx.profile.hooks):
            raise target_crash(ctx, exc, f"{hooks.label(name)} (driving the target)") from exc
        raise SetupError(f"{hooks.label(name)} raised {type(exc).__name__}: {exc}",
                         fix=f"fix {name}() in {hooks.path} (your set-up code)",
                         evidence=(Evidence("traceback", "".join(
                             traceback.format_exception(exc))[-2000:]),)) from exc


async def set_up(ctx: CheckContext, what: str, step: Awaitable[T]) -> T:
    """Await a set-up step that lies outside the check's own property. If the target's
    code crashes there, the check cannot judge its link: a ``SetupError`` ("could not set
    up", see ``setup_failure``). Never a ``fail``."""
    try:
        return await step
    except TargetFailure as exc:
        raise setup_failure(exc, what) from exc


#: Exceptions that a value of the wrong shape causes (see ``on_tool_context``).
_SHAPE_ERRORS = (TypeError, AttributeError, ValueError, KeyError)


async def on_tool_context(ctx: CheckContext, what: str, step: Awaitable[T],
                          user_context: Any) -> T:
    """Await a step that hands the target ``user_context`` (the check's property is what
    the component does with it, not whether it accepts it). When the target **rejects the
    context itself** (``rejects_context``), that is a set-up failure, never this check's
    ``fail``: a context-type split is context-identity's to report (the run names it as
    the owner, see ``netra_diag.blocking``), and a context netra-diag built itself (no
    ``make_user_context`` hook) may simply not be what the application builds, so the fix
    names that hook. Any other crash of the step is the target's, as usual."""
    try:
        return await step
    except TargetFailure as exc:
        if not rejects_context(exc.__cause__, user_context):
            raise
        hooked = ctx.hooks.get("make_user_context") is not None
        built = "your make_user_context() built" if hooked else "netra-diag built"
        error = setup_failure(exc, f"{what}, with the user context {built}")
        error.fix = ("the target rejected the user context: a context-type split is "
                     "reported by context-identity" + ("" if hooked else
                     "; or define make_user_context() in your hooks file (profile key "
                     "'hooks:') to build the context your application builds"))
        raise error from exc


def rejects_context(exc: BaseException | None, user_context: Any) -> bool:
    """Whether ``exc`` is about the user context itself: an error of the wrong-value kind
    (``TypeError``, ``AttributeError``, ``ValueError``, ``KeyError``) that reads an
    attribute the context lacks, or names the context's class (``needs a
    UserExecutionContext, not ...``)."""
    if not isinstance(exc, _SHAPE_ERRORS) or user_context is None:
        return False
    if isinstance(exc, AttributeError) and getattr(exc, "obj", None) is user_context:
        return True
    return type(user_context).__name__ in str(exc)


def setup_failure(exc: TargetFailure, what: str) -> SetupError:
    """The ``SetupError`` for a target crash in set-up step ``what``: its evidence keeps the
    crash's site (``data.blocked_at``) and traceback, so that the run can name the check
    that owns that defect (``netra_diag.blocking``)."""
    crash = [e for e in exc.evidence if isinstance(e, Evidence)]
    site = next((e for e in crash if e.kind == "location" and e.file), None)
    at = f" at {site.location}" if site is not None else ""
    return SetupError(
        f"could not set up ({what}): {exc.summary}{at}",
        fix="this step is outside this check's property: the check that owns this defect "
        "reports it; fix it there, or supply this step through a hook",
        evidence=(Evidence("observed", f"set-up step failed: {what}{at}",
                           data={"blocked_at": site.location if site else None, "step": what}),
                  *(e for e in crash if e.kind != "location")))


def definition_site(ctx: CheckContext, obj: Any) -> tuple[str, int] | None:
    """Where ``obj`` (a function, method or class) is defined in the target: ``(relpath,
    line)``, or None when it is not the target's own code."""
    import inspect

    target = getattr(obj, "__func__", obj)
    try:
        path = inspect.getsourcefile(target)
        _, line = inspect.getsourcelines(target)
    except (TypeError, OSError):
        return None
    if path is None or not ctx.in_target(path):
        return None
    return ctx.relpath(path), max(1, line)


def located(ctx: CheckContext, obj: Any, message: str) -> Evidence:
    """A finding located at ``obj``'s definition (an ``observed`` line when it has none)."""
    site = definition_site(ctx, obj)
    if site is None:
        return Evidence("observed", message)
    return Evidence("location", message, site[0], site[1])


def context_values(user_context: Any) -> dict[str, Any]:
    """The names under which target code may ask for the user context, and for its ids
    (``user_id``, ``thread_id``, ``run_id``, ``request_id``: code keyed on id strings)."""
    values = {"user_context": user_context, "context": user_context, "ctx": user_context,
              "user_execution_context": user_context, "execution_context": user_context}
    for key in ("user_id", "thread_id", "run_id", "request_id"):
        value = user_context.get(key) if isinstance(user_context, dict) else \
            getattr(user_context, key, None)
        if isinstance(value, str):
            values[key] = value
    return values


#: The hook that can stand in for a method the tool calls by a guessed name.
_HOOK_FOR_METHOD = {"add_connection": "connect", "remove_connection": "disconnect",
                    "run": "run_agent", "run_agent": "run_agent"}


def missing_method(ctx: CheckContext, obj: Any, method_key: str, what: str) -> SetupError:
    """A method netra-diag assumed by name and ``obj`` lacks: the tool's guess was wrong
    (an ``error`` naming ``methods.<key>`` and the hook), never the target's failure."""
    name = ctx.profile.method(method_key)
    given = method_key in ctx.profile.methods and ctx.profile.methods[method_key] != \
        DEFAULT_METHODS.get(method_key)
    said = "the profile's" if given else "netra-diag's default"
    hook = _HOOK_FOR_METHOD.get(method_key)
    also = f", or define {hook}() in your hooks file (profile key 'hooks:')" if hook else ""
    return SetupError(
        f"{describe_type(obj)} has no method {name}() ({what}); {name} is {said} name for "
        f"'methods.{method_key}'",
        fix=f"set 'methods: {{{method_key}: <your method name>}}' in the profile{also}")


async def method_call(ctx: CheckContext, obj: Any, method_key: str, available: dict[str, Any],
                      *, what: str) -> tuple[Any, bool]:
    """Call the profile-named method ``method_key`` on ``obj`` with signature-built args.
    A method the object lacks is a ``SetupError`` (``missing_method``)."""
    name = ctx.profile.method(method_key)
    method = getattr(obj, name, None)
    if method is None or not callable(method):
        raise missing_method(ctx, obj, method_key, what)
    call = fill_arguments(method, available=available, overrides=ctx.build_kwargs(name),
                          profile_key=f"build.{name}", what=f"{describe_type(obj)}.{name}()")
    return await call_target(ctx, f"{describe_type(obj)}.{name}()", method, *call.args,
                             **call.kwargs)


def user_id_of(user_context: Any) -> str | None:
    value = getattr(user_context, "user_id", None)
    if value is None and isinstance(user_context, dict):
        value = user_context.get("user_id")
    return value if isinstance(value, str) else None


async def attach_recorder(ctx: CheckContext, user_context: Any, label: str = "recorder"
                          ) -> tuple[RecordingConnection, Any]:
    """A recording connection that receives ``user_context``'s events, and the per-user
    manager it joined (None when a hook joined it). The hooks' ``connect`` does it when
    defined; else the ``manager_factory`` role's manager and its ``add_connection``.
    Callers treat this as set-up (see ``set_up``) unless connecting is their property."""
    recorder = RecordingConnection(label, user_id=user_id_of(user_context))
    available = connection_values(recorder, user_context)
    if ctx.hooks.get("connect") is not None:
        recorder.handle, _ = await call_hook(ctx, "connect", available)
        return recorder, None
    manager, _ = await build_role(ctx, "manager_factory", context_values(user_context))
    try:
        await method_call(ctx, manager, "add_connection", available,
                          what="registering a connection with the per-user manager")
    except SetupError as exc:
        if "connect()" not in (exc.fix or ""):
            exc.fix = f"{exc.fix or ''}; or define connect(user_context, connection) in your " \
                "hooks file (profile key 'hooks:') to join the connection your own way"
        raise
    return recorder, manager


def connection_values(recorder: RecordingConnection, user_context: Any) -> dict[str, Any]:
    """The names under which target code (or a hook) may ask for a connection, with the
    user context and its ids."""
    return {**context_values(user_context), "connection": recorder, "websocket": recorder,
            "conn": recorder, "ws": recorder, "connection_id": recorder.connection_id,
            **({"user_id": recorder.user_id} if recorder.user_id else {})}


async def detach_recorder(ctx: CheckContext, user_context: Any,
                          recorder: RecordingConnection) -> None:
    """Undo ``attach_recorder`` with the hooks' ``disconnect`` when defined (the recording
    connection is otherwise dropped with the check's interpreter); the caller notes a
    failure here, never a verdict (the check's property was judged before)."""
    if ctx.hooks.get("disconnect") is not None:
        await call_hook(ctx, "disconnect", {**connection_values(recorder, user_context),
                                            "handle": recorder.handle})


def joined_by(ctx: CheckContext) -> str:
    """How recording connections join a user's events, for evidence."""
    if ctx.hooks.get("connect") is not None:
        return f"via {ctx.hooks.label('connect')}"
    return f"via the per-user manager's {ctx.profile.method('add_connection')}()"


async def call_wiring_entry(ctx: CheckContext, user_context: Any,
                            doing: str | None = None) -> tuple[Any, bool]:
    """Call the application's wiring path (the ``wiring_entry`` role) for ``user_context``,
    with arguments from its real signature; returns ``(result, awaited)``."""
    entry = ctx.resolve("wiring_entry")
    call = fill_arguments(entry, available=context_values(user_context),
                          overrides=ctx.build_kwargs("wiring_entry"),
                          profile_key="build.wiring_entry",
                          what=f"the wiring entry ({ctx.role('wiring_entry')})")
    return await call_target(ctx, doing or f"the wiring entry {ctx.role('wiring_entry')}",
                             entry, *call.args, **call.kwargs)


async def build_components(ctx: CheckContext, user_context: Any) -> dict[str, Any]:
    """The bridge, registry and LLM manager an engine factory may ask for, built from the
    profile's roles and ``build:`` arguments, under the names backends use for them."""
    values: dict[str, Any] = {}
    if ctx.has_role("bridge_factory"):
        bridge, _ = await build_role(ctx, "bridge_factory", context_values(user_context))
        values.update(bridge=bridge, websocket_bridge=bridge, agent_websocket_bridge=bridge)
    if ctx.has_role("registry"):
        registry, _ = await build_role(ctx, "registry")
        values.update(registry=registry, agent_registry=registry)
    if ctx.has_role("llm_manager"):
        llm, _ = await build_role(ctx, "llm_manager")
        values["llm_manager"] = llm
    return values
