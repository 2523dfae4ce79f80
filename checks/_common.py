"""Building blocks the built-in checks share: building roles, calling target code safely.

Everything here reads the target from the ``CheckContext`` (roles, build arguments,
method names); nothing names a reference path, and nothing can see which faults are on.
Exceptions are sorted honestly: an exception raised inside the target's own frames is a
``TargetFailure`` (``fail``, with the traceback trimmed to the target); one raised at our
call boundary (an argument the harness could not supply) is a ``SetupError`` (``error``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import secrets
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from netra_diag import CheckContext, Evidence, SetupError, TargetFailure, Verdict
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


# -- end to end: the endpoint a wire check talks to ------------------------------------------
#
# Under ``run`` the check starts the target's ``server`` role on 127.0.0.1 with generated
# users; under ``probe`` the runner's options carry ``url`` and ``token_envs`` (label -> the
# name of an environment variable holding that user's token). Tokens travel only through the
# environment of the check's interpreter: never in the job file, the options or a result.


@dataclass(frozen=True)
class Endpoint:
    """Where a wire check connects, as whom, and within how long."""

    url: str
    members: tuple[tuple[str, str], ...]  # (label, token): one per user
    live: bool
    budget_s: float

    @property
    def secrets(self) -> list[str]:
        return [token for _, token in self.members]


def is_live(ctx: CheckContext) -> bool:
    """True under ``probe``: the checks talk to ``ctx.options["url"]``."""
    return isinstance(ctx.options.get("url"), str)


def live_token_count(ctx: CheckContext) -> int:
    return len(ctx.options.get("token_envs") or {})


def wire_budget(ctx: CheckContext) -> float:
    """Seconds a wire check may spend on the network, inside the runner's ``--timeout``
    (interpreter start-up and the verdict need the rest)."""
    budget = max(0.5, ctx.timeout_s - 1.5)
    if not is_live(ctx):  # the reference's own runs: bounded by the profile's run budget
        budget = min(budget, max(1.0, ctx.profile.budgets.get("run_timeout_s", 10.0)))
    return budget


def live_members(ctx: CheckContext) -> tuple[tuple[str, str], ...]:
    """The probe's users and their tokens, read from the environment variables it names."""
    envs: dict[str, str] = dict(ctx.options.get("token_envs") or {})
    if not envs:
        raise SetupError("no token was given for the live endpoint",
                         fix="pass --token-env VAR (or --token) to netra-diag probe")
    members = []
    for label, var in envs.items():
        token = os.environ.get(var, "")
        if not token:
            raise SetupError(f"the token of '{label}' is read from the environment variable "
                             f"{var}, which is empty or not set in the check's interpreter",
                             fix=f"export {var} before running netra-diag probe")
        members.append((label, token))
    return tuple(members)


@contextlib.asynccontextmanager
async def open_endpoint(ctx: CheckContext, users: int, label: str) -> AsyncIterator[Endpoint]:
    """The live endpoint of a probe, or the target's ``server`` role started for ``users``
    generated users (closed on exit). ``SetupError`` when neither is available."""
    if is_live(ctx):
        yield Endpoint(ctx.options["url"], live_members(ctx), True, wire_budget(ctx))
        return
    if not ctx.has_role("server"):
        raise SetupError("the profile names no 'server' role, so no WebSocket run can be made",
                         fix="add 'roles: {server: module:start_server}' to the profile, or "
                         "probe a running endpoint with netra-diag probe URL")
    from .event_flow import server_url

    members = tuple((f"netra-diag-{label}-{i + 1}", secrets.token_urlsafe(18))
                    for i in range(max(1, users)))
    table = dict(members)
    available: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "users": table,
                                 "tokens": table}
    server, _ = await build_role(ctx, "server", available)
    try:
        yield Endpoint(server_url(ctx, server), members, False, wire_budget(ctx))
    finally:
        close = getattr(server, "close", None) or getattr(server, "aclose", None)
        if close is not None:
            await call_target(ctx, "closing the server", close)


def redact_verdict(verdict: Verdict, secrets_: list[str]) -> Verdict:
    """``verdict`` with every token replaced by ``***`` (a server may echo what it got)."""
    usable = [s for s in secrets_ if s]
    if not usable:
        return verdict

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            for secret in sorted(usable, key=len, reverse=True):
                value = value.replace(secret, "***")
            return value
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    evidence = tuple(Evidence(e.kind, clean(e.message), e.file, e.line, clean(e.data))
                     for e in verdict.evidence)
    return Verdict(verdict.status, clean(verdict.summary), evidence,
                   clean(verdict.fix) if verdict.fix else None)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty list (``q`` in 0..1)."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


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
