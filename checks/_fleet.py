"""The fleet checks' set-up: which instances, which backplane, which users; and the client.

A fleet check talks to **several instances** of one backend that share a backplane:

* under ``probe URL1 URL2 ...`` (or a profile's ``fleet:`` list) ``ctx.endpoint`` carries
  ``fleet`` (the URLs) and ``token_envs`` (as for every probe);
* under ``run`` with a backplane configured (``run --backplane URL``, which hands the URL to
  the check interpreters in the environment variable named by ``options["backplane_env"]``,
  or the profile's ``backplane: {url_env: VAR}`` / ``{url: ...}``), the check starts the
  target's ``server`` role ``instances`` times (``netra_diag.fleet``), each its own process,
  with generated users, all on that backplane under a fresh channel prefix;
* under ``run`` with a backplane and a **backplane role** (``backplane_role``: the profile's
  ``backplane.publish`` / ``backplane.subscribe``, or the hooks ``publish`` / ``subscribe``),
  the instances are the target's own pipeline run in-process (``_fleet_host``), each its own
  process joined to the backplane by that role: no ``server`` role is needed;
* otherwise the check is ``skip``: the fleet is opt-in and a single process has no backplane.

The client sockets are ``support.fleet_client.Socket``: the reference protocol plus
``subscribe`` (a socket that watches without starting a run).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from netra_diag import CheckContext, Evidence, SetupError, TargetFailure, Verdict, skipped
from netra_diag.finding import CRASH
from netra_diag.redaction import public_url, redact
from netra_diag.support.fleet_client import Socket
from netra_diag.support.judge import CONTROL_TYPES

from ._calling import setup_failure
from ._endpoint import live_members, wire_budget
from ._fleet_host import BACKPLANE_KEYS

__all__ = ["SETTLE_S", "STATIC_SKIP", "FleetEndpoint", "Socket", "backplane_role",
           "backplane_url", "fleet_skip", "noted", "open_fleet", "quiet_period", "run_events"]

#: How long every socket keeps listening after the runs, for late duplicates or leaks.
QUIET_S = 0.3
#: How long a socket waits for a run's last event from another instance before that run
#: counts as lost there (Redis on a LAN relays in milliseconds).
SETTLE_S = 1.0
#: Frames of the protocol that are not agent events.
NOT_EVENTS = CONTROL_TYPES | {"subscribed", "time"}
#: The fleet checks' ``skip`` under ``--static`` (their ``static_skip``).
STATIC_SKIP = ("--static: a fleet can only be observed while it runs; run without --static "
               "(with --backplane) to judge it")
NO_FLEET = ("no fleet configured (opt-in): run with --backplane redis://HOST:PORT, or "
            "probe URL1 URL2 ...")


def backplane_url(ctx: CheckContext) -> str | None:
    """The backplane URL under ``run`` (see the module docstring), or None."""
    var = ctx.options.get("backplane_env")
    if isinstance(var, str) and os.environ.get(var, "").strip():
        return os.environ[var].strip()
    conf = ctx.profile.backplane
    if isinstance(conf.get("url_env"), str):
        value = os.environ.get(conf["url_env"], "").strip()
        if not value:
            raise SetupError(f"the profile's backplane.url_env names {conf['url_env']}, "
                             "which is not set in the check's environment",
                             fix=f"export {conf['url_env']}=redis://HOST:PORT")
        return value
    url = conf.get("url")
    return url if isinstance(url, str) and url.strip() else None


def backplane_role(ctx: CheckContext) -> dict[str, str]:
    """The target's backplane role: ``{"publish": "module:attr", "subscribe": ...}`` from
    the profile's ``backplane:`` keys, else from the hooks file's ``publish`` /
    ``subscribe`` functions; empty when it names none (the fleet is then its ``server``)."""
    conf = ctx.profile.backplane
    named = {key: conf[key] for key in BACKPLANE_KEYS if isinstance(conf.get(key), str)}
    if named:
        return named
    hooks = ctx.hooks if ctx.profile.hooks is not None else None
    if hooks is None:
        return {}
    found = {key: f"{hooks.stem}:{key}" for key in BACKPLANE_KEYS if hooks.get(key) is not None}
    if found and "subscribe" not in found:
        raise SetupError(f"your hooks file defines {hooks.label('publish')} but no "
                         "subscribe(): an instance that never listens cannot receive what "
                         "the others publish", fix=f"define subscribe(backplane, instance_id, "
                         f"channel_prefix) in {hooks.path} (it may connect both sides alone)")
    return found


def fleet_skip(ctx: CheckContext, needs_control: bool = False) -> Verdict | None:
    """``skip`` when there is no fleet to talk to (``None`` when there is)."""
    if ctx.endpoint is not None:
        urls = list(ctx.endpoint.fleet)
        if len(urls) < 2:
            return skipped("probe of one endpoint: a fleet check needs two instances or more "
                           "(`netra-diag probe URL1 URL2 ...`, or a `fleet:` list in the "
                           "profile)")
        if needs_control:
            return skipped("dropping a live fleet's backplane connections would disturb it: "
                           "this check runs under `netra-diag run --backplane URL`, against "
                           "instances it starts itself")
        return None
    if backplane_url(ctx) is None:
        return skipped(NO_FLEET)
    if not ctx.has_role("server") and not backplane_role(ctx):
        return skipped("the profile names no 'server' role and no backplane role, so no "
                       "instance can be started: add backplane.publish and "
                       "backplane.subscribe (your code's, run in-process), or roles.server, "
                       "or probe running instances (probe URL1 URL2 ...)")
    return None


@dataclass
class FleetEndpoint:
    """The instances a fleet check talks to, as whom, within how long."""

    urls: list[str]
    members: tuple[tuple[str, str], ...]
    live: bool
    budget_s: float
    backplane: str | None = None
    prefix: str | None = None
    secrets: list[str] = field(default_factory=list)
    #: the instances' process ids, when the check started them (never for a live fleet)
    pids: list[int] = field(default_factory=list)
    #: how the instances were run, when it is not the wire of the target's own server
    note: str | None = None
    #: the target's event field names to rename as frames arrive (profile ``events.fields``;
    #: empty when the in-process host already sends canonical frames)
    fields: dict[str, str | None] = field(default_factory=dict)
    #: the event fields the target's events do not carry: neither required nor compared
    absent: frozenset[str] = frozenset()

    def socket(self, index: int, token: str, label: str, deadline: float) -> Socket:
        """A client socket of ``token``'s user on instance ``index``."""
        return Socket(self.urls[index], token, label, deadline, self.fields)

    def name(self, index: int) -> str:
        return f"instance {chr(ord('A') + index)} ({public_url(self.urls[index])})" \
            if index < 26 else f"instance {index + 1}"


@contextlib.asynccontextmanager
async def open_fleet(ctx: CheckContext, instances: int, users: int, label: str, *,
                     owner: bool = False) -> AsyncIterator[FleetEndpoint]:
    """The live fleet of a probe, or ``instances`` instances started on the backplane for
    ``users`` generated users (stopped on exit): of the ``server`` role, or of the target's
    pipeline in-process when it names a backplane role. A crash of the target's own code
    while an in-process instance joins the backplane is a ``fail`` of the check that owns
    delivery across instances (``owner``), a set-up failure naming its site for the others."""
    budget = wire_budget(ctx)
    if ctx.endpoint is not None:
        members = live_members(ctx)
        yield FleetEndpoint(list(ctx.endpoint.fleet), members, True, budget,
                            secrets=[t for _, t in members], **_event_fields(ctx, None))
        return
    from netra_diag.fleet import FleetError, start_fleet

    url = backplane_url(ctx)
    assert url is not None
    members = tuple((f"netra-diag-{label}-{i + 1}", secrets.token_urlsafe(18))
                    for i in range(max(1, users)))
    password = urlsplit(url).password
    hidden = [t for _, t in members] + ([password] if password else [])
    role = backplane_role(ctx)
    timeout = ctx.budgets.fleet_start_s
    try:
        if role:
            await _answers(url, hidden)
            fleet = await start_fleet(
                ctx.root, ctx.role("server") if ctx.has_role("server") else "", instances,
                dict(members), url, timeout=timeout, hooks=ctx.profile.hooks,
                module="netra_diag_checks._fleet_host",
                extra={"profile": ctx.profile.to_dict(), "check_id": ctx.check_id,
                       "timeout_s": ctx.timeout_s, "check_options": ctx.options,
                       "roles": role})
        else:
            fleet = await start_fleet(ctx.root, ctx.role("server"), instances, dict(members),
                                      url, timeout=timeout, hooks=ctx.profile.hooks)
    except FleetError as exc:
        if role and exc.report.get("kind") in ("fail", "error"):
            raise _host_failure(exc.report, [url, *hidden], owner) from None
        lines = [line for line in str(exc.detail).strip().splitlines() if line.strip()]
        message = f"the fleet could not start: {exc}" + (
            f" ({lines[-1].strip()[:300]})" if lines and lines[-1].strip() not in str(exc)
            else "")
        message = redact(message, [url, *hidden], min_len=1)
        raise SetupError(message, fix="check that the backplane URL answers and that " + (
            "the backplane role's publish and subscribe return once connected" if role else
            "the server role accepts backplane=, instance_id= and channel_prefix=")
            + " (see README: A fleet)") from None
    try:
        note = None if not role else (
            f"in-process fleet: {len(fleet.urls)} instances of the target's own pipeline, each "
            "its own process, joined to the backplane by " + " and ".join(
                f"{k} ({v})" for k, v in role.items()) + "; the sockets talk to netra-diag's "
            "WebSocket front, which joins each to its user's events in the target's process "
            "and drives runs through the target's code (the target's own server and wire "
            "were not exercised)")
        yield FleetEndpoint(fleet.urls, members, False, budget, backplane=url,
                            prefix=fleet.prefix, secrets=hidden,
                            pids=[p.pid for p in fleet.processes], note=note,
                            **_event_fields(ctx, role))
    finally:
        await fleet.close()


def _event_fields(ctx: CheckContext, role: Any) -> dict[str, Any]:
    """How the fleet's frames name their fields: the target's wire speaks the profile's
    ``events.fields`` (renamed as frames arrive), the in-process host already renamed them
    (``role``); either way, a field mapped to null is absent: neither required nor compared."""
    fields = ctx.profile.event_fields
    return {"fields": {} if role else dict(fields),
            "absent": frozenset(k for k, v in fields.items() if v is None)}


async def _answers(url: str, hidden: list[str]) -> None:
    """``SetupError`` unless the backplane answers PING: an unreachable Redis is the set-up's
    problem, never a crash of the target's backplane role."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await asyncio.wait_for(client.ping(), 6.0)
    except Exception as exc:  # noqa: BLE001 - any failure to answer is reported as such
        text = redact(f"{type(exc).__name__}: {exc}", [url, *hidden], min_len=1)
        raise SetupError(f"the fleet could not start: the backplane does not answer ({text})",
                         fix="check that the backplane URL answers (redis-cli -u URL ping)"
                         ) from None
    finally:
        await client.aclose()


def _host_failure(report: dict[str, Any], hidden: list[str], owner: bool
                  ) -> SetupError | TargetFailure:
    """The in-process instance's start-up failure as the check's exception (see
    ``open_fleet``), secrets removed."""
    def clean(text: Any) -> str:
        return redact(str(text or ""), hidden, min_len=1)

    evidence = []
    for raw in report.get("evidence") or ():
        with contextlib.suppress(Exception):
            item = Evidence.from_dict(raw)
            evidence.append(Evidence(item.kind, clean(item.message), item.file, item.line,
                                     item.data))
    message = clean(report.get("error"))
    if report.get("kind") != "fail":
        return SetupError(message, fix=clean(report.get("fix")) or None,
                          evidence=tuple(evidence))
    # the backplane role is this link's own code: its crash site is the owner's finding
    # (so the other fleet checks, blocked at that site, name cross-instance-delivery)
    # (its crash mark dropped: here the crash site is the finding itself)
    evidence = [Evidence("location", f"the backplane role crashed joining an instance to the "
                         f"backplane: {e.message.removeprefix('raised here: ')}", e.file,
                         e.line, _unmarked(e.data)) if e.kind == "location" else e
                for e in evidence]
    crash = TargetFailure(message, *evidence, fix="fix the backplane role's code: it must "
                          "connect without failing")
    return crash if owner else setup_failure(crash, "starting the fleet's instances")


def _unmarked(data: Any) -> Any:
    """Evidence data without the crash mark (``netra_diag.finding.CRASH``)."""
    if not isinstance(data, dict):
        return data
    return {k: v for k, v in data.items() if k != CRASH} or None


def noted(verdict: Verdict, fleet: FleetEndpoint) -> Verdict:
    """``verdict`` with the fleet's note (how its instances ran) as its last evidence."""
    if fleet.note is None:
        return verdict
    return dataclasses.replace(verdict, evidence=(*verdict.evidence,
                                                  Evidence("note", fleet.note)))


def run_events(sock: Socket, run_id: str) -> list[dict[str, Any]]:
    """The agent events of one run a socket received, in arrival order."""
    return [f for f in sock.frames if f.get("type") not in NOT_EVENTS
            and f.get("run_id") == run_id]


async def quiet_period(sockets: list[Socket]) -> None:
    """Keep every socket listening ``QUIET_S`` more (late duplicates, late leaks)."""
    await asyncio.sleep(QUIET_S)  # an observation window, not a wait for a condition
