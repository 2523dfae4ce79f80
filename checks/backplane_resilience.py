"""Fleet: when the backplane connection drops mid-run, what is lost or duplicated, and does
delivery across instances come back?"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from netra_diag import CheckContext, Evidence, SetupError, Verdict, check, failed, passed, skipped
from netra_diag.support.judge import judge_run

from ._calling import run_async
from ._endpoint import redact_verdict
from ._fleet import (
    SETTLE_S,
    STATIC_SKIP,
    FleetEndpoint,
    Socket,
    fleet_skip,
    noted,
    open_fleet,
    quiet_period,
    run_events,
)

EXPLAIN = """\
Verifies that a fleet survives its backplane connection dropping in the middle of a run:
nothing is ever delivered twice, the instances reconnect and subscribe again on their own,
and every run started after that is delivered across instances exactly once, in order.

The documented expectation (Redis pub/sub is at-most-once): messages published while an
instance's subscriber is disconnected are not replayed, so the events of the run in flight
when the connection drops, and of runs made before the instance has subscribed again, may
be lost on the other instances. The check reports how many were lost and how long recovery
took; it fails only on a duplicate, on no recovery within `budgets.backplane_recovery_s`
(default 5 s), or on a run after recovery that is not delivered exactly once in order.

How it is judged (under `run --backplane URL`, on instances the check starts: a live
fleet's backplane is never dropped): one user watches on instance A and runs on instance
B. A first run must cross cleanly (else the check is skipped: cross-instance-delivery
owns that). A second run starts, and as soon as its first event reaches B's socket every
Redis connection of the fleet is killed (`CLIENT KILL ID`, found by the client name the
instances set, their channel prefix, or, on Linux, among the sockets of the instances'
processes). Then runs are made on B one after another until one reaches A (recovered), and
one more after that.

Typical causes: a subscriber that reconnects but does not subscribe again (the connection
is back, the channels are not); a reconnect loop that gives up; a replay that re-sends
what was already delivered.

How to fix: on reconnect, subscribe again to every channel (or pattern) before reading,
with a bounded back-off; never replay without de-duplicating by (run_id, seq)."""


@check(id="backplane-resilience", why="e2e", title="Backplane drop and recovery",
       order=120, criterion="Delivery resumes after the backplane connection drops",
       explain=EXPLAIN, tags=("fleet",),
       fix="after the backplane connection drops, reconnect with a bounded back-off and "
       "subscribe again to every channel before reading on",
       static_skip=STATIC_SKIP)
def backplane_resilience(ctx: CheckContext) -> Verdict:
    if (skip := fleet_skip(ctx, needs_control=True)) is not None:
        return skip
    recovery_s = ctx.budgets.backplane_recovery_s
    verdict, hidden = run_async(ctx, lambda: _observe(ctx, recovery_s))
    return redact_verdict(verdict, hidden)


async def _observe(ctx: CheckContext, recovery_s: float) -> tuple[Verdict, list[str]]:
    async with open_fleet(ctx, 2, 1, "res") as fleet:
        return noted(await observe_resilience(fleet, ctx.profile.critical_events,
                                              recovery_s), fleet), fleet.secrets


async def _kill_fleet_connections(url: str, prefix: str, pids: list[int]
                                  ) -> tuple[int, int]:
    """Kill every Redis connection of the fleet: named with its prefix, or held by one of
    its instances' processes (``support.proc_sockets``); how many of each."""
    from urllib.parse import urlsplit

    import redis.asyncio as aioredis

    from netra_diag.support.proc_sockets import local_ports_to

    parts = urlsplit(url)
    ports = local_ports_to(pids, parts.port or 6379) if parts.scheme != "unix" else set()
    admin = aioredis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        clients = await admin.client_list()
        named = [c["id"] for c in clients if prefix and str(c.get("name", "")).startswith(prefix)]
        held = [c["id"] for c in clients if c["id"] not in named
                and _port(c.get("addr")) in ports]
        for client_id in (*named, *held):
            await admin.client_kill_filter(_id=client_id)
        return len(named), len(held)
    finally:
        await admin.aclose()


async def observe_resilience(fleet: FleetEndpoint, critical: tuple[str, ...],
                             recovery_s: float) -> Verdict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + fleet.budget_s - 0.5
    label, token = fleet.members[0]
    thread = "netra-diag-resilience"
    watcher = fleet.socket(0, token, label, deadline)
    runner = fleet.socket(1, token, label, deadline)
    last = critical[-1]
    runs: list[tuple[str, str]] = []  # (phase, run_id)
    dropped: list[str] = []  # what the drop did, said in the evidence

    async def run_once(phase: str, *, kill_on_first: bool = False, wait_s: float
                       ) -> tuple[str, bool]:
        request_id = await runner.start_run(thread)
        run_id = await runner.run_id_of(request_id, runner.remaining())
        if run_id is None:
            raise SetupError("instance B did not accept a run", fix="check its logs")
        runs.append((phase, run_id))
        if kill_on_first:
            await runner.wait_for(lambda f: f.get("run_id") == run_id
                                  and f.get("type") == critical[0], runner.remaining())
            seen = len(run_events(watcher, run_id))
            named, held = await _kill_fleet_connections(fleet.backplane or "",
                                                        fleet.prefix or "", fleet.pids)
            dropped.append(f"dropped {named + held} Redis connection(s) of the fleet with "
                           f"CLIENT KILL ({named} by their client name, {held} found among "
                           f"the instances' own sockets) once {critical[0]} of a run on "
                           f"instance B had arrived there; instance A had {seen} of that "
                           "run's events then")
            if named + held == 0:
                raise SetupError("no Redis connection of the fleet was found to drop (by the "
                                 "client name the instances set, their channel prefix, CLIENT "
                                 "SETNAME, nor among their processes' own sockets)",
                                 fix="name the backplane connections with "
                                 "the channel_prefix that the server role (or the backplane "
                                 "role's publish and subscribe) receives, e.g. redis-py's "
                                 "client_name=f'{channel_prefix}{instance_id}'")
        await runner.wait_for(lambda f: f.get("type") in ("run_finished", "error")
                              and f.get("run_id") == run_id, runner.remaining())
        got = await watcher.wait_for(lambda f: f.get("run_id") == run_id
                                     and f.get("type") == last, min(wait_s, watcher.remaining()))
        return run_id, got is not None

    try:
        if not all(await asyncio.gather(watcher.open(), runner.open())):
            bad = watcher if watcher.failure else runner
            raise SetupError(f"could not connect to the fleet: {bad.failure}",
                             fix="check that the instances are up")
        problem = await watcher.subscribe(thread)
        if problem:
            raise SetupError(f"instance A has no watching socket: {problem}",
                             fix="see the README's Fleet section (the subscribe frame)")
        baseline, crossed = await run_once("before the drop", wait_s=SETTLE_S)
        if not crossed or not all(_clean(fleet, s, baseline, critical) for s in (watcher, runner)):
            return skipped("delivery across instances is not clean before any drop, so "
                           "resilience cannot be judged: see cross-instance-delivery")
        await run_once("in flight when the connection dropped", kill_on_first=True, wait_s=0.3)
        dropped_at = time.monotonic()
        recovered_after: float | None = None
        budget_end = dropped_at + recovery_s
        while time.monotonic() < budget_end and watcher.remaining() > 1.0:
            _, crossed = await run_once("during recovery",
                                        wait_s=min(0.2, max(0.05, budget_end - time.monotonic())))
            if crossed:
                recovered_after = time.monotonic() - dropped_at
                break
        if recovered_after is not None:
            await run_once("after recovery", wait_s=SETTLE_S)
        await quiet_period([watcher, runner])
    finally:
        await asyncio.gather(watcher.close(), runner.close())
    verdict = judge_resilience(fleet, watcher, runner, runs, critical, recovered_after,
                               recovery_s)
    return replace(verdict, evidence=(*verdict.evidence,
                                      *(Evidence("observed", d) for d in dropped)))


def _port(addr: object) -> int | None:
    """The port of a ``CLIENT LIST`` address (``127.0.0.1:54321``, ``[::1]:54321``)."""
    try:
        return int(str(addr).rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _clean(fleet: FleetEndpoint, sock: Socket, run_id: str, critical: tuple[str, ...]
           ) -> bool:
    return judge_run(run_events(sock, run_id), critical=critical, user_id=sock.user_id,
                     thread_id=None, run_id=run_id, absent=fleet.absent).ok


def judge_resilience(fleet: FleetEndpoint, watcher: Socket, runner: Socket,
                     runs: list[tuple[str, str]], critical: tuple[str, ...],
                     recovered_after: float | None, recovery_s: float) -> Verdict:
    baseline = runs[0][1] if runs else ""
    if not all(_clean(fleet, s, baseline, critical) for s in (watcher, runner)):
        # judged again at the end: a late echo of the first run shows only now
        return skipped("delivery across instances was not clean before any drop (the first "
                       "run, judged after all runs), so resilience cannot be judged: see "
                       "cross-instance-delivery")
    rows: list[dict[str, Any]] = []
    duplicates: list[Evidence] = []
    lost = 0
    for phase, run_id in runs:
        for where, sock in (("A (watching)", watcher), ("B (running)", runner)):
            events = run_events(sock, run_id)
            seqs = [e.get("seq") for e in events]
            repeated = len(seqs) - len(set(seqs))
            rows.append({"phase": phase, "socket": where, "received": len(set(seqs)),
                         "duplicates": repeated})
            if repeated:
                duplicates.append(Evidence("observed", f"run {phase}: the socket on instance "
                                           f"{where} received {repeated} event(s) twice",
                                           data={"seq": seqs}))
            if sock is watcher and phase != "after recovery":
                lost += max(0, len(critical) - len(set(seqs)))
    observed = Evidence("events", f"{len(runs)} run(s) on instance B, watched from instance A",
                        data={"runs": rows, "lost_on_A": lost,
                              "recovered_after_s": recovered_after})
    expectation = Evidence("note", "expected: Redis pub/sub does not replay, so events "
                           "published while an instance is disconnected may be lost; never "
                           "duplicated; delivery resumes once the instance subscribes again")
    if duplicates:
        return failed(f"{len(duplicates)} socket/run pair(s) received events twice around "
                      f"the backplane drop: {duplicates[0].message}", *duplicates, observed,
                      expectation)
    if recovered_after is None:
        return failed(f"after the backplane connections dropped, no run on instance B reached "
                      f"the user's socket on instance A within {recovery_s:g} s ({lost} "
                      "event(s) lost): the instance did not subscribe again after reconnecting",
                      observed, expectation)
    after = next(run_id for phase, run_id in runs if phase == "after recovery")
    for sock, where in ((watcher, "A"), (runner, "B")):
        j = judge_run(run_events(sock, after), critical=critical, user_id=sock.user_id,
                      thread_id=None, run_id=after, absent=fleet.absent)
        if not j.ok:
            return failed(f"the run after recovery was not delivered exactly once in order on "
                          f"instance {where}: {j.headline}; {j.problems[0]}", observed,
                          expectation)
    return passed(f"the backplane dropped mid-run and delivery across instances recovered "
                  f"in {recovered_after * 1000:.0f} ms: {lost} event(s) lost while "
                  "disconnected (expected: no replay), 0 duplicates, the run after recovery "
                  "exactly once in order", observed, expectation)
