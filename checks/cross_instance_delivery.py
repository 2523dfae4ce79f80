"""Fleet: does a run on one instance reach its user's sockets on every instance, exactly once?"""

from __future__ import annotations

import asyncio
from typing import Any

from netra_diag import CheckContext, Evidence, Verdict, check, errored, failed, passed, skipped
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
Verifies that, across a fleet of instances sharing a backplane (Redis pub/sub), a user's
events reach that user's sockets on every instance: all critical events, exactly once, in
order, whichever instance runs the agent.

Why it matters: behind a load balancer a user's WebSocket lands on instance A while the
agent run is handled on instance B. Without a working backplane the user sees nothing;
with one that echoes, the user sees everything twice.

How it is judged: one user opens one socket on every instance and subscribes on each
(`{"type":"subscribe"}`, answered by `subscribed`). Then each instance in turn runs one
agent for that user; every socket, the run's own and the others', must receive that run's
critical events exactly once, in order, with `seq` 1, 2, 3... After the last run every
socket keeps listening 0.3 s more, for late duplicates. Under `run --backplane URL` the check
starts `backplane.instances` (default 2) instances of the target's `server` role, each its
own process, on that backplane (or, when the profile names a backplane role,
`backplane.publish`/`subscribe`, instances of the target's own pipeline in-process, joined
by that role); under `probe URL1 URL2 ...` it talks to the live instances.
When a run's events do not reach even the socket on its own instance, the check is skipped:
event-flow judges the single process.

Typical causes: an instance that emits only locally (no publish to the backplane);
duplicate delivery, locally and again through the backplane (no origin filter, or a
subscriber that also receives its own messages); a channel a socket never joins; a
backplane role that crashes while an instance joins (its site is this check's finding, and
the other fleet checks are blocked by it).

How to fix: deliver locally, publish every event to the user's backplane channel, and on
receipt deliver only messages another instance published."""


@check(id="cross-instance-delivery", why="e2e", title="Delivery across instances", order=100,
       criterion="Every event reaches its user's connections on every instance, exactly once",
       explain=EXPLAIN, tags=("fleet",),
       fix="publish every event to the user's backplane channel and deliver what arrives "
       "through it to the user's sockets on every instance, exactly once: either deliver "
       "locally and skip your own messages on the channel, or deliver only from the channel",
       static_skip=STATIC_SKIP)
def cross_instance_delivery(ctx: CheckContext) -> Verdict:
    if (skip := fleet_skip(ctx)) is not None:
        return skip
    count = int(ctx.profile.backplane.get("instances", 2))
    verdict, hidden = run_async(ctx, lambda: _observe(ctx, count))
    return redact_verdict(verdict, hidden)


async def _observe(ctx: CheckContext, count: int) -> tuple[Verdict, list[str]]:
    async with open_fleet(ctx, count, 1, "fleet", owner=True) as fleet:
        return noted(await observe_delivery(fleet, ctx.profile.critical_events),
                     fleet), fleet.secrets


async def observe_delivery(fleet: FleetEndpoint, critical: tuple[str, ...]) -> Verdict:
    """Open a socket of one user on each instance, run on each in turn, judge every socket."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + fleet.budget_s - 0.5
    label, token = fleet.members[0]
    thread = "netra-diag-fleet"
    sockets = [fleet.socket(i, token, label, deadline) for i in range(len(fleet.urls))]
    try:
        opened = await asyncio.gather(*(s.open() for s in sockets))
        for index, (sock, ok) in enumerate(zip(sockets, opened, strict=True)):
            if not ok:
                return errored(f"could not connect to {fleet.name(index)}: {sock.failure}",
                               fix="check that every instance is up and the token is valid")
        for index, sock in enumerate(sockets):
            problem = await sock.subscribe(thread)
            if problem:
                return errored(f"{fleet.name(index)} has no watching socket: {problem}",
                               fix="the fleet checks subscribe a socket without starting a "
                               "run ({\"type\":\"subscribe\"}); see the README's Fleet section")
        runs: list[tuple[int, str | None]] = []
        for index, sock in enumerate(sockets):  # one run per instance, one after another
            request_id = await sock.start_run(thread)
            run_id = await sock.run_id_of(request_id, sock.remaining())
            runs.append((index, run_id))
            if run_id is None:
                return errored(f"{fleet.name(index)} did not accept the run", fix="check the "
                               "instance's logs")
            await sock.wait_for(lambda f, r=run_id: f.get("type") in ("run_finished", "error")
                                and f.get("run_id") == r, sock.remaining())
        # then every other socket gets SETTLE_S (in all, not per run) to see each run end
        await asyncio.gather(*(
            other.wait_for(lambda f, r=run_id: f.get("type") == critical[-1]
                           and f.get("run_id") == r, min(SETTLE_S, other.remaining()))
            for origin, run_id in runs for other in sockets if other is not sockets[origin]))
        await quiet_period(sockets)
    finally:
        await asyncio.gather(*(s.close() for s in sockets))
    return judge_delivery(fleet, sockets, runs, critical)


def judge_delivery(fleet: FleetEndpoint, sockets: list[Socket],
                   runs: list[tuple[int, str | None]], critical: tuple[str, ...]) -> Verdict:
    """The verdict for runs made on each instance, seen from every socket (pure)."""
    rows: list[dict[str, Any]] = []
    problems: list[Evidence] = []
    local_broken: list[str] = []
    for origin, run_id in runs:
        for index, sock in enumerate(sockets):
            events = run_events(sock, run_id or "")
            j = judge_run(events, critical=critical, user_id=sock.user_id,
                          thread_id=None, run_id=run_id, absent=fleet.absent)
            rows.append({"run_on": fleet.name(origin), "socket_on": fleet.name(index),
                         "received": j.received, "delivered": j.delivered})
            if index == origin and j.delivered < len(critical):
                local_broken.append(f"{fleet.name(origin)}: {j.headline}")
                continue
            if not j.ok:
                where = "its own instance" if index == origin else fleet.name(index)
                problems.append(Evidence(
                    "observed", f"run on {fleet.name(origin)}, socket on {where}: "
                    f"{j.headline}; {j.problems[0]}",
                    data={"run_on": fleet.name(origin), "socket_on": fleet.name(index),
                          "received": j.received, "problems": j.problems}))
    observed = Evidence("events", f"{len(runs)} run(s), one per instance, each watched by "
                        f"{len(sockets)} socket(s) of the same user", data={"deliveries": rows})
    if local_broken:
        return skipped("a run's events do not reach even the socket on its own instance ("
                       + "; ".join(local_broken[:3]) + "): event-flow judges the single "
                       "process; fix that first", observed)
    if problems:
        return failed(f"{len(problems)} of {len(rows)} socket(s) did not get a run's events "
                      f"exactly once in order: {problems[0].message}", *problems, observed)
    return passed(f"{len(runs)} run(s), each on a different instance, reached the user's "
                  f"socket on all {len(sockets)} instances exactly once, in order", observed)
