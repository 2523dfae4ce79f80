"""The fleet checks' set-up: which instances, which backplane, which users; and the client.

A fleet check talks to **several instances** of one backend that share a backplane:

* under ``probe URL1 URL2 ...`` (or a profile's ``fleet:`` list) the runner's options carry
  ``fleet`` (the URLs) and ``token_envs`` (as for every probe);
* under ``run`` with a backplane configured (``run --backplane URL``, which hands the URL to
  the check interpreters in the environment variable named by ``options["backplane_env"]``,
  or the profile's ``backplane: {url_env: VAR}`` / ``{url: ...}``), the check starts the
  target's ``server`` role ``instances`` times (``netra_diag.fleet``), each its own process,
  with generated users, all on that backplane under a fresh channel prefix;
* otherwise the check is ``skip``: the fleet is opt-in and a single process has no backplane.

The client sockets are ``support.fleet_client.Socket``: the reference protocol plus
``subscribe`` (a socket that watches without starting a run).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from netra_diag import CheckContext, SetupError, Verdict, skipped
from netra_diag.support.capture import public_url
from netra_diag.support.fleet_client import Socket
from netra_diag.support.judge import CONTROL_TYPES

from ._endpoint import is_live, live_members, wire_budget

__all__ = ["SETTLE_S", "STATIC_SKIP", "FleetEndpoint", "Socket", "backplane_url", "fleet_skip",
           "open_fleet", "quiet_period", "run_events"]

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


def fleet_skip(ctx: CheckContext, needs_control: bool = False) -> Verdict | None:
    """``skip`` when there is no fleet to talk to (``None`` when there is)."""
    if is_live(ctx):
        urls = ctx.options.get("fleet") or []
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
    if not ctx.has_role("server"):
        return skipped("the profile names no 'server' role, so no instance can be started: "
                       "add roles.server, or probe running instances (probe URL1 URL2 ...)")
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

    def name(self, index: int) -> str:
        return f"instance {chr(ord('A') + index)} ({public_url(self.urls[index])})" \
            if index < 26 else f"instance {index + 1}"


@contextlib.asynccontextmanager
async def open_fleet(ctx: CheckContext, instances: int, users: int, label: str
                     ) -> AsyncIterator[FleetEndpoint]:
    """The live fleet of a probe, or ``instances`` instances of the ``server`` role started
    on the backplane for ``users`` generated users (stopped on exit)."""
    budget = wire_budget(ctx)
    if is_live(ctx):
        members = live_members(ctx)
        yield FleetEndpoint(list(ctx.options["fleet"]), members, True, budget,
                            secrets=[t for _, t in members])
        return
    from netra_diag.fleet import FleetError, start_fleet

    url = backplane_url(ctx)
    assert url is not None
    members = tuple((f"netra-diag-{label}-{i + 1}", secrets.token_urlsafe(18))
                    for i in range(max(1, users)))
    password = urlsplit(url).password
    hidden = [t for _, t in members] + ([password] if password else [])
    try:
        fleet = await start_fleet(ctx.root, ctx.role("server"), instances, dict(members), url,
                                  timeout=min(15.0, max(5.0, ctx.timeout_s / 3)))
    except FleetError as exc:
        lines = [line for line in str(exc.detail).strip().splitlines() if line.strip()]
        message = f"the fleet could not start: {exc}" + (
            f" ({lines[-1].strip()[:300]})" if lines and lines[-1].strip() not in str(exc)
            else "")
        for secret in [url, *hidden]:
            message = message.replace(secret, "***")
        raise SetupError(message, fix="check that the backplane URL answers and that the "
                         "server role accepts backplane=, instance_id= and channel_prefix= "
                         "(see README: Fleet)") from None
    try:
        yield FleetEndpoint(fleet.urls, members, False, budget, backplane=url,
                            prefix=fleet.prefix, secrets=hidden)
    finally:
        await fleet.close()


def run_events(sock: Socket, run_id: str) -> list[dict[str, Any]]:
    """The agent events of one run a socket received, in arrival order."""
    return [f for f in sock.frames if f.get("type") not in NOT_EVENTS
            and f.get("run_id") == run_id]


async def quiet_period(sockets: list[Socket]) -> None:
    """Keep every socket listening ``QUIET_S`` more (late duplicates, late leaks)."""
    await asyncio.sleep(QUIET_S)  # an observation window, not a wait for a condition
