"""Building blocks the built-in checks share: building roles, calling target code safely.

Everything here reads the target from the ``CheckContext`` (roles, build arguments,
method names); nothing names a reference path, and nothing can see which faults are on.
Exceptions are sorted honestly: an exception raised inside the target's own frames is a
``TargetFailure`` (``fail``, with the traceback trimmed to the target); one raised at our
call boundary (an argument the harness could not supply) is a ``SetupError`` (``error``).
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
from netra_diag.support.calls import describe_type, fill_arguments, settle
from netra_diag.support.recording import RecordingConnection

T = TypeVar("T")
_counter = itertools.count(1)

#: Values a check can hand to target code, by the parameter names real backends use.
SAMPLE_VALUES: dict[str, Any] = {
    "agent_name": "netra-diag-probe-agent",
    "agent_type": "netra-diag-probe-agent",
    "name": "netra-diag-probe-agent",
    "thought": "netra-diag is checking that thoughts reach the user",
    "reasoning": "netra-diag is checking that thoughts reach the user",
    "tool_name": "netra_diag_probe_tool",
    "tool": "netra_diag_probe_tool",
    "tool_args": {},
    "parameters": {},
    "result": {"ok": True},
    "metadata": {"source": "netra-diag"},
    "data": {"source": "netra-diag"},
    "message": "netra-diag probe",
    "step_number": 1,
    "progress": 0.5,
}


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
    """True when the innermost frame of ``exc`` lies in the target's source."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return False
    try:
        Path(frames[-1].filename).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


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


async def call_target(ctx: CheckContext, doing: str, func: Callable[..., Any], *args: Any,
                      **kwargs: Any) -> tuple[Any, bool]:
    """Call target code and settle the result; crashes become fail/error (see module doc)."""
    try:
        return await settle(func(*args, **kwargs))
    except Exception as exc:
        raise target_crash(ctx, exc, doing) from exc


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
    call = fill_arguments(method, available=available, overrides=ctx.profile.build.get(name, {}),
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


def find_attribute(obj: Any, predicate: Callable[[Any], bool]) -> tuple[str, Any] | None:
    """The first attribute of ``obj`` (instance dict, then slots) satisfying ``predicate``."""
    names = list(getattr(obj, "__dict__", {}))
    names += [n for n in getattr(type(obj), "__slots__", ()) if n not in names]
    for name in names:
        try:
            value = getattr(obj, name)
        except AttributeError:
            continue
        if predicate(value):
            return name, value
    return None


def location_evidence(finding: Any, kind: str = "location") -> Evidence:
    message = finding.message + (f": `{finding.code}`" if finding.code else "")
    return Evidence(kind, message, finding.relpath, finding.line)


def scan(ctx: CheckContext, needles: list[str]) -> tuple[list[Any], list[Evidence]]:
    """Parsed production modules mentioning ``needles``, and evidence for unreadable files."""
    from netra_diag.support.source import ParsedModule, parse_matching

    modules: list[ParsedModule] = []
    problems: list[Evidence] = []
    for item in parse_matching(ctx.root, needles, ctx.profile.exclude):
        if isinstance(item, ParsedModule):
            modules.append(item)
        else:
            problems.append(Evidence("note", f"skipped: {item.message}", item.relpath, item.line))
    return modules, problems


def probe_event(agent_name: str, event: str = "agent_started") -> dict[str, Any]:
    """Arguments for a ``send_event``-like call, by the names backends use."""
    data = {"agent_name": agent_name, "source": "netra-diag"}
    return {"event_type": event, "event": event, "type": event, "event_name": event,
            "data": data, "payload": data}


def skip_static(reason: str) -> Any:
    """The verdict of a dynamic-only check under ``--static``."""
    from netra_diag import skipped

    return skipped(f"--static: {reason}; run without --static to judge it")
