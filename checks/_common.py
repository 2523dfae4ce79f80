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
import functools
import itertools
import math
import os
import secrets
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from netra_diag import CheckContext, Evidence, SetupError, Status, TargetFailure, Verdict, errored
from netra_diag.context import target_traceback
from netra_diag.support.calls import (
    Call,
    blame_invented,
    describe_type,
    fill_arguments,
    settle,
)
from netra_diag.support.recording import RecordingConnection

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


def find_attribute(obj: Any, predicate: Callable[[Any], bool], *, depth: int = 1,
                   budget: int = 2000) -> tuple[str, Any] | None:
    """The first value reachable from ``obj`` satisfying ``predicate``, with its path
    (``factory.registry``), searched breadth first up to ``depth`` attributes deep.

    Only what an object holds is read: its instance ``__dict__`` and its ``__slots__``
    (through their member descriptors), and the items of the dicts, lists and tuples it
    holds; never a property or ``__getattr__``, so no code of the target runs. Cycle-safe
    (each object is visited once) and bounded (``budget`` values at most; 32 items per
    container)."""
    seen = {id(obj)}
    frontier: list[tuple[str, Any]] = [("", obj)]
    visited = 0
    for _level in range(max(1, depth)):
        following: list[tuple[str, Any]] = []
        for path, holder in frontier:
            for name, value in _held(holder):
                visited += 1
                if visited > budget:
                    return None
                child = f"{path}{name}" if name.startswith("[") or not path else \
                    f"{path}.{name}"
                try:
                    if predicate(value):
                        return child, value
                except Exception:  # noqa: BLE001 - a predicate probing an odd object
                    continue
                if id(value) not in seen and _worth_visiting(value):
                    seen.add(id(value))
                    following.append((child, value))
        frontier = following
        if not frontier:
            break
    return None


_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None))


def _worth_visiting(value: Any) -> bool:
    import types

    return not isinstance(value, (*_LEAVES, type, types.ModuleType, types.FunctionType,
                                  types.BuiltinFunctionType, types.MethodType))


def _held(obj: Any) -> list[tuple[str, Any]]:
    """``(name, value)`` for what ``obj`` holds (see ``find_attribute``), without running
    any of its code."""
    import types

    if isinstance(obj, dict):
        return [(f"[{k!r}]", v) for k, v in list(obj.items())[:32]]
    if isinstance(obj, list | tuple):
        return [(f"[{i}]", v) for i, v in enumerate(obj[:32])]
    out: list[tuple[str, Any]] = []
    try:
        instance = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        instance = {}
    if isinstance(instance, dict):
        out += [(str(k), v) for k, v in instance.items()]
    for cls in type(obj).__mro__:
        for name in cls.__dict__.get("__slots__", ()) or ():
            slot = cls.__dict__.get(name)
            if isinstance(slot, types.MemberDescriptorType) and name not in instance:
                try:
                    out.append((name, slot.__get__(obj, type(obj))))
                except AttributeError:  # an empty slot
                    continue
    return out


def locate_role(ctx: CheckContext, holder: Any, role: str) -> tuple[str, Any] | None:
    """Where the ``role`` object sits inside ``holder`` (what the wiring entry returned):
    ``build.locate.<role>`` (a dotted path of attributes or dict keys, e.g.
    ``factory.registry``) when the profile
    gives one, else a bounded search (``find_attribute``, 3 levels deep). ``SetupError``
    when the profile's path does not lead to an instance of the role's class."""
    cls = ctx.resolve(role)
    if isinstance(holder, cls):
        return "(returned)", holder
    path = ctx.profile.build.get("locate", {}).get(role)
    if isinstance(path, str) and path.strip():
        value = holder
        for part in path.strip().split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
                continue
            try:
                value = getattr(value, part)
            except AttributeError:
                raise SetupError(f"build.locate.{role}: {describe_type(value)} has no "
                                 f"attribute '{part}' (path '{path}')",
                                 fix=f"correct 'build.locate.{role}' in the profile") from None
        if not isinstance(value, cls):
            raise SetupError(f"build.locate.{role}: '{path}' is a {describe_type(value)}, "
                             f"not a {cls.__name__}",
                             fix=f"correct 'build.locate.{role}' in the profile")
        return path.strip(), value
    return find_attribute(holder, lambda v: isinstance(v, cls), depth=LOCATE_DEPTH)


#: How deep ``locate_role`` searches what the wiring entry returned.
LOCATE_DEPTH = 3


def role_parts(ctx: CheckContext, role: str) -> tuple[str, str]:
    """``(module, name)`` of a role's ``module:attr`` (the last part of a dotted attr)."""
    module, _, attr = ctx.role(role).partition(":")
    return module, attr.split(".")[-1]


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
            problems.append(problem_evidence(item))
    return modules, problems


def problem_evidence(problem: Any) -> Evidence:
    """Evidence for a ``SourceProblem`` (a file mentioning a wanted symbol that could not be
    read or parsed); ``guard_unparsed`` finds it by its data."""
    return Evidence("note", f"not judged, could not be parsed: {problem.message}",
                    problem.relpath, problem.line, {"unparsed": True})


def unparsed_files(evidence: Iterable[Evidence]) -> list[str]:
    return list(dict.fromkeys(e.file for e in evidence
                              if isinstance(e.data, dict) and e.data.get("unparsed") and e.file))


def guard_unparsed(check: Callable[[CheckContext], Verdict | None]
                   ) -> Callable[[CheckContext], Verdict | None]:
    """Wrap a check that judges from source: a pass over files that mention what it looks
    for but could not be parsed (a syntax error, a NUL byte) is not proven, so it becomes
    an ``error`` naming them; a fail says in its summary that they were not judged."""

    @functools.wraps(check)
    def guarded(ctx: CheckContext) -> Verdict | None:
        verdict = check(ctx)
        if verdict is None:
            return None
        files = unparsed_files(verdict.evidence)
        if not files:
            return verdict
        names = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3
                                        else "")
        if verdict.status is Status.PASS:
            return errored(
                f"{len(files)} file(s) mentioning what this check looks for could not be "
                f"parsed ({names}), so the source was not fully judged: a pass is not "
                f"proven (otherwise: {verdict.summary})", *verdict.evidence,
                fix="fix the file(s), or list them under 'exclude:' in the profile if they "
                "are not production code")
        if verdict.status is Status.FAIL:
            return Verdict(verdict.status, f"{verdict.summary}; and {len(files)} file(s) "
                           f"could not be parsed ({names})", verdict.evidence, verdict.fix)
        return verdict

    return guarded


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
