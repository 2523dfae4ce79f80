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

The client speaks the reference protocol (``support.wire``) plus ``subscribe``: a socket of
the user that watches without starting a run, answered by ``subscribed`` once registered.
Every wait is bounded by the socket's deadline; tokens never enter a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from netra_diag import CheckContext, SetupError, Verdict, skipped
from netra_diag.support.capture import public_url
from netra_diag.support.judge import CONTROL_TYPES

from ._endpoint import is_live, live_members, wire_budget

__all__ = ["SETTLE_S", "FleetEndpoint", "Socket", "backplane_url", "fleet_skip", "open_fleet",
           "quiet_period", "run_events"]

#: How long every socket keeps listening after the runs, for late duplicates or leaks.
QUIET_S = 0.3
#: How long a socket waits for a run's last event from another instance before that run
#: counts as lost there (Redis on a LAN relays in milliseconds).
SETTLE_S = 1.0
#: Frames of the protocol that are not agent events.
NOT_EVENTS = CONTROL_TYPES | {"subscribed", "time"}
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
    if ctx.static:
        return skipped("--static: a fleet can only be observed while it runs; run without "
                       "--static (with --backplane) to judge it")
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
                                  timeout=max(2.0, budget / 2))
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


class Socket:
    """One client connection of one user to one instance, recording every frame."""

    def __init__(self, url: str, token: str, label: str, deadline: float) -> None:
        self.url, self._token, self.label, self.deadline = url, token, label, deadline
        self.ws: Any = None
        self.user_id: str | None = None
        self.frames: list[dict[str, Any]] = []
        self.failure: str | None = None
        self.closed = False
        self._arrived = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    async def open(self) -> bool:
        """Connect and authenticate; False (with ``failure``) when it cannot."""
        from websockets.asyncio.client import connect

        try:
            self.ws = await asyncio.wait_for(connect(
                public_url(self.url), additional_headers={"Authorization": f"Bearer {self._token}"},
                open_timeout=self.remaining(), close_timeout=1, max_size=1 << 20,
                user_agent_header="netra-diag"), self.remaining())
            first = json.loads(await asyncio.wait_for(self.ws.recv(), self.remaining()))
        except Exception as exc:  # noqa: BLE001 - described, never raised
            self.failure = f"{type(exc).__name__}: {exc}".replace(self._token, "***")
            return False
        if not isinstance(first, dict) or first.get("type") != "auth_ok":
            self.failure = f"authentication was not acknowledged (got {str(first)[:120]})"
            return False
        self.user_id = first.get("user_id")
        self._reader = asyncio.create_task(self._read())
        return True

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(frame, dict):
                    frame["_at"] = time.time()
                    async with self._arrived:
                        self.frames.append(frame)
                        self._arrived.notify_all()
        except Exception as exc:  # noqa: BLE001 - a closed socket ends the record
            self.failure = self.failure or f"the connection ended: {type(exc).__name__}"
        finally:
            self.closed = True
            async with self._arrived:
                self._arrived.notify_all()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def wait_for(self, predicate: Any, timeout: float) -> dict[str, Any] | None:
        """The first recorded frame matching ``predicate`` (waiting up to ``timeout``)."""
        limit = min(timeout, self.remaining())

        def found() -> dict[str, Any] | None:
            return next((f for f in self.frames if predicate(f)), None)

        try:
            async with self._arrived:
                await asyncio.wait_for(self._arrived.wait_for(
                    lambda: found() is not None or self.closed), limit)
        except TimeoutError:
            return None
        return found()

    async def subscribe(self, thread_id: str) -> str | None:
        """Register as a watching socket; the problem when the instance refuses."""
        request_id = f"sub-{secrets.token_hex(4)}"
        await self.send({"type": "subscribe", "request_id": request_id, "thread_id": thread_id})
        reply = await self.wait_for(
            lambda f: f.get("request_id") == request_id and f.get("type") in (
                "subscribed", "error"), 5.0)
        if reply is None:
            return "no answer to the subscribe frame within 5 s"
        if reply.get("type") == "error":
            return f"the subscribe frame was refused: {reply.get('code')}: {reply.get('message')}"
        return None

    async def start_run(self, thread_id: str) -> str:
        """Send ``start_agent``; returns its request id."""
        request_id = f"run-{secrets.token_hex(6)}"
        await self.send({"type": "start_agent", "request_id": request_id,
                         "thread_id": thread_id, "message": "netra-diag fleet probe",
                         "agent": "demo"})
        return request_id

    async def run_id_of(self, request_id: str, timeout: float) -> str | None:
        frame = await self.wait_for(lambda f: f.get("type") in ("run_accepted", "error")
                                    and f.get("request_id") == request_id, timeout)
        return frame.get("run_id") if frame and frame.get("type") == "run_accepted" else None

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2.0)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


def run_events(sock: Socket, run_id: str) -> list[dict[str, Any]]:
    """The agent events of one run a socket received, in arrival order."""
    return [f for f in sock.frames if f.get("type") not in NOT_EVENTS
            and f.get("run_id") == run_id]


async def quiet_period(sockets: list[Socket]) -> None:
    """Keep every socket listening ``QUIET_S`` more (late duplicates, late leaks)."""
    await asyncio.sleep(QUIET_S)  # an observation window, not a wait for a condition
