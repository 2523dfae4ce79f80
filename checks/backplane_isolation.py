"""Fleet: with users spread over instances, does the backplane carry each user's events only
to that user's sockets?"""

from __future__ import annotations

import asyncio
from collections import Counter

from netra_diag import CheckContext, Evidence, Verdict, check, errored, failed, passed, skipped

from ._calling import run_async
from ._endpoint import redact_verdict
from ._fleet import (
    NOT_EVENTS,
    SETTLE_S,
    STATIC_SKIP,
    FleetEndpoint,
    Socket,
    fleet_skip,
    noted,
    open_fleet,
    quiet_period,
)

EXPLAIN = """\
Verifies that the backplane keeps users apart: several users, spread over the fleet's
instances, run agents at the same time, and no socket receives another user's events.

Why it matters: a backplane channel keyed by something other than the user (a thread or
conversation id that two users both happen to use, a room name, a tenant) merges their
streams on every instance that relays it: one customer's agent activity shows up in
another's window, but only when they land on different instances, so it escapes
single-process tests.

How it is judged: `budgets.backplane_users` users (default 4) each open a watching socket
(`subscribe`) on one instance and a running socket on the next, and every user names its
conversation `main` (thread ids are the client's choice and only unique per user). Once all
sockets are in, every user starts one run at once; after the runs every socket listens
0.3 s more. An event whose `user_id` (or whose run) is another user's is a leak: the check
fails with one `leak` evidence per receiver and owner. When no event crosses instances at
all, the check is skipped: cross-instance-delivery says why. Under `probe URL1 URL2 ...`
each `--user-token-env` is one user (at least two are needed).

Typical causes: a channel per thread, room or session instead of per user; a pattern
subscription that delivers every message to every local socket; a shared channel without a
per-user filter on receipt.

How to fix: key the backplane channel by user id (or filter on receipt by the event's user)
and deliver a message only to the sockets of the user it belongs to."""

#: Leak pairs shown as separate evidence.
MAX_PAIRS_SHOWN = 12


@check(id="backplane-isolation", why="e2e", title="User isolation through the backplane",
       order=110, criterion="No cross-user delivery through the backplane",
       explain=EXPLAIN, tags=("fleet",),
       fix="key every backplane channel by user id, never by thread, room or conversation "
       "alone, and deliver a message only to its own user's sockets",
       static_skip=STATIC_SKIP)
def backplane_isolation(ctx: CheckContext) -> Verdict:
    if (skip := fleet_skip(ctx)) is not None:
        return skip
    if ctx.endpoint is not None and ctx.endpoint.fleet and len(ctx.endpoint.token_envs) < 2:
        return skipped("one token names one user, so no leak between users can be shown; "
                       "give at least two users' tokens with --user-token-env NAME=VAR")
    count = int(ctx.profile.backplane.get("instances", 2))
    users = ctx.budgets.backplane_users
    verdict, hidden = run_async(ctx, lambda: _observe(ctx, count, users))
    return redact_verdict(verdict, hidden)


async def _observe(ctx: CheckContext, count: int, users: int) -> tuple[Verdict, list[str]]:
    async with open_fleet(ctx, count, users, "bp") as fleet:
        return noted(await observe_isolation(fleet), fleet), fleet.secrets


async def observe_isolation(fleet: FleetEndpoint) -> Verdict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + fleet.budget_s - 0.5
    n = len(fleet.urls)
    thread = "main"
    pairs: list[tuple[Socket, Socket, int, int]] = []  # watcher, runner, their instances
    for k, (label, token) in enumerate(fleet.members):
        run_on, watch_on = k % n, (k + 1) % n
        pairs.append((fleet.socket(watch_on, token, label, deadline),
                      fleet.socket(run_on, token, label, deadline), watch_on, run_on))
    sockets = [s for w, r, _, _ in pairs for s in (w, r)]
    try:
        opened = await asyncio.gather(*(s.open() for s in sockets))
        if not all(opened):
            bad = next(s for s, ok in zip(sockets, opened, strict=True) if not ok)
            return errored(f"user {bad.label!r} could not connect to {bad.url}: {bad.failure}",
                           fix="check that every instance is up and every token is valid")
        if len({s.user_id for s in sockets}) < 2:
            return skipped("every token authenticates the same user, so a cross-user leak "
                           "cannot be shown; give tokens of different users")
        for watcher, *_ in pairs:
            problem = await watcher.subscribe(thread)
            if problem:
                return errored(f"a watching socket was refused: {problem}",
                               fix="see the README's Fleet section (the subscribe frame)")
        requests = await asyncio.gather(*(r.start_run(thread) for _, r, _, _ in pairs))
        run_ids = await asyncio.gather(*(r.run_id_of(q, r.remaining())
                                         for (_, r, _, _), q in zip(pairs, requests,
                                                                    strict=True)))
        await asyncio.gather(*(
            r.wait_for(lambda f, i=i: f.get("type") in ("run_finished", "error")
                       and f.get("run_id") == i, r.remaining())
            for (_, r, _, _), i in zip(pairs, run_ids, strict=True) if i))
        await asyncio.gather(*(
            w.wait_for(lambda f, i=i: f.get("run_id") == i and f.get("type") not in NOT_EVENTS
                       and f.get("type") == "agent_completed", min(SETTLE_S, w.remaining()))
            for (w, _, _, _), i in zip(pairs, run_ids, strict=True) if i))
        await quiet_period(sockets)
    finally:
        await asyncio.gather(*(s.close() for s in sockets))
    owner_of_run = {i: w.user_id for (w, _, _, _), i in zip(pairs, run_ids, strict=True) if i}
    return judge_isolation(fleet, pairs, owner_of_run)


def judge_isolation(fleet: FleetEndpoint, pairs: list[tuple[Socket, Socket, int, int]],
                    owner_of_run: dict[str, str | None]) -> Verdict:
    """Leaks per receiver and owner, over every socket (pure)."""
    leaks: Counter[tuple[str, str]] = Counter()
    crossed = 0
    total = 0
    for watcher, runner, _, _ in pairs:
        for sock in (watcher, runner):
            me = sock.user_id or sock.label
            for event in (f for f in sock.frames if f.get("type") not in NOT_EVENTS):
                total += 1
                owner = owner_of_run.get(event.get("run_id")) or str(event.get("user_id"))
                if owner != me:
                    leaks[(me, owner)] += 1
                elif sock is watcher:
                    crossed += 1
    observed = Evidence("observed", f"{len(pairs)} users on {len(fleet.urls)} instances, each "
                        "watching on one instance and running on another, all on thread "
                        f"'main': {total} events received, {crossed} of them across instances "
                        "to their own user", data={"users": len(pairs), "events": total,
                                                   "crossed": crossed})
    if not leaks and crossed == 0:
        return skipped("no event crossed instances to its own user, so isolation through the "
                       "backplane cannot be judged: see cross-instance-delivery", observed)
    if not leaks:
        return passed(f"{len(pairs)} users spread over {len(fleet.urls)} instances each "
                      f"received only their own events ({total} events, 0 cross-user "
                      "deliveries)", observed)
    evidence = [Evidence("leak", f"{receiver} received {count} event(s) of {owner}'s run",
                         data={"receiver": receiver, "owner": owner, "count": count})
                for (receiver, owner), count in leaks.most_common(MAX_PAIRS_SHOWN)]
    (receiver, owner), count = leaks.most_common(1)[0]
    return failed(f"{sum(leaks.values())} event(s) reached the wrong user through the "
                  f"backplane: {receiver} received {count} of {owner}'s "
                  f"({len({r for r, _ in leaks})} of {len(pairs)} users received others' "
                  "events)", *evidence, observed)
