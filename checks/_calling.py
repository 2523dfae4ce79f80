"""Building the target's roles and calling its code from a check, sorting crashes honestly.

Everything here reads the target from the ``CheckContext`` (roles, build arguments,
method names); nothing names a reference path, and nothing can see which faults are on.
Exceptions are sorted honestly: an exception raised inside the target's own frames is a
``TargetFailure`` (``fail``, with the traceback trimmed to the target); one raised at our
call boundary (an argument the harness could not supply) is a ``SetupError`` (``error``).
This module knows nothing of endpoints, source scanning or verdicts.
"""

from __future__ import annotations

import asyncio
import itertools
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from netra_diag import CheckContext, Evidence, SetupError, TargetFailure
from netra_diag.context import target_traceback
from netra_diag.support.calls import (
    Call,
    blame_invented,
    describe_type,
    fill_arguments,
    settle,
)
from netra_diag.support.recording import RecordingConnection

__all__ = [
    "attach_recorder",
    "build_components",
    "build_role",
    "call_built",
    "call_target",
    "call_wiring_entry",
    "context_values",
    "crash_observations",
    "in_target",
    "make_user_context",
    "method_call",
    "probe_event",
    "run_async",
    "target_crash",
]

T = TypeVar("T")
_counter = itertools.count(1)


def run_async(ctx: CheckContext, body: Callable[[], Awaitable[T]]) -> T:
    """Run an async check body on a fresh loop, bounded by the check's timeout."""
    budget = max(1.0, ctx.timeout_s - 1.0)

    async def bounded() -> T:
        return await asyncio.wait_for(body(), budget)

    try:
        return asyncio.run(bounded())
    except TimeoutError:
        raise SetupError(
            f"the target did not answer within {budget:g} s",
            fix="raise --timeout, or look for a wait without a timeout in the target",
        ) from None


def in_target(exc: BaseException, root: Path) -> bool:
    """True when any frame of ``exc``'s traceback lies in the target's source: the crash
    happened once the target's code was running (it may end in a library the target called,
    such as ``json.dumps``). Only when no target frame ran is the crash the harness's.
    Installed packages under the root (a ``site-packages`` folder) are not the target."""
    root_r = root.resolve()
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            rel = Path(frame.filename).resolve().relative_to(root_r)
        except (ValueError, OSError):
            continue
        if not {"site-packages", "dist-packages"} & set(rel.parts):
            return True
    return False


def target_crash(ctx: CheckContext, exc: BaseException, doing: str) -> TargetFailure | SetupError:
    """The right exception for a crash while ``doing`` something with the target."""
    if isinstance(exc, SetupError | TargetFailure):
        return exc
    if in_target(exc, ctx.root):
        return TargetFailure(f"{doing} raised {type(exc).__name__}: {exc}",
                             *target_traceback(exc, ctx.root))
    return SetupError(
        f"{doing} failed before reaching the target's code: {type(exc).__name__}: {exc}",
        fix="the call the harness built does not fit the target's signature; supply the "
        "arguments under 'build:' in the profile",
    )


def crash_observations(items: Any, *, keep_file: bool = False) -> list[Evidence]:
    """A crash's evidence for a check that does not own it: its ``location`` ("raised
    here") becomes an ``observed`` line, so that the crash is a located finding only of the
    check that owns it; the traceback is kept. The site is named in the text, or, with
    ``keep_file``, kept as the evidence's file and line (for a check whose result has
    nothing else to point at, such as event-flow)."""
    out: list[Evidence] = []
    for item in items:
        if not isinstance(item, Evidence):
            continue
        if item.kind == "location" and keep_file:
            item = Evidence("observed", item.message, item.file, item.line, item.data)
        elif item.kind == "location":
            at = f" at {item.location}" if item.file else ""
            item = Evidence("observed", f"{item.message}{at}")
        out.append(item)
    return out


async def call_target(ctx: CheckContext, doing: str, func: Callable[..., Any], *args: Any,
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
        blamed = blame_invented(exc, call.invented) if in_target(exc, ctx.root) else None
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
    """A fresh user context for a synthetic user (ids unique within this interpreter)."""
    n = next(_counter)
    ids = {
        "user_id": f"netra-diag-{label}-{n}",
        "request_id": f"netra-diag-request-{n}",
        "thread_id": f"netra-diag-thread-{n}",
        "run_id": f"netra-diag-run-{n}",
    }
    value, _ = await build_role(ctx, "user_context", ids)
    return value


def context_values(user_context: Any) -> dict[str, Any]:
    """The names under which target code may ask for the user context."""
    return {"user_context": user_context, "context": user_context, "ctx": user_context,
            "user_execution_context": user_context, "execution_context": user_context}


async def method_call(ctx: CheckContext, obj: Any, method_key: str, available: dict[str, Any],
                      *, what: str) -> tuple[Any, bool]:
    """Call the profile-named method ``method_key`` on ``obj`` with signature-built args."""
    name = ctx.profile.method(method_key)
    method = getattr(obj, name, None)
    if method is None or not callable(method):
        raise TargetFailure(f"{describe_type(obj)} has no method {name}() ({what})")
    call = fill_arguments(method, available=available, overrides=ctx.build_kwargs(name),
                          profile_key=f"build.{name}", what=f"{describe_type(obj)}.{name}()")
    return await call_target(ctx, f"{describe_type(obj)}.{name}()", method, *call.args,
                             **call.kwargs)


async def attach_recorder(ctx: CheckContext, user_context: Any, label: str = "recorder"
                          ) -> tuple[RecordingConnection, Any]:
    """A recording connection registered with the per-user manager for ``user_context``."""
    manager, _ = await build_role(ctx, "manager_factory", context_values(user_context))
    recorder = RecordingConnection(label)
    available = {"connection": recorder, "websocket": recorder, "conn": recorder, "ws": recorder,
                 "connection_id": f"netra-diag-{label}", **context_values(user_context)}
    await method_call(ctx, manager, "add_connection", available,
                      what="registering a connection with the per-user manager")
    return recorder, manager


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


def probe_event(agent_name: str, event: str = "agent_started") -> dict[str, Any]:
    """Arguments for a ``send_event``-like call, by the names backends use."""
    data = {"agent_name": agent_name, "source": "netra-diag"}
    return {"event_type": event, "event": event, "type": event, "event_name": event,
            "data": data, "payload": data}
