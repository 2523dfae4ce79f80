"""User isolation without the target's server: several users' runs driven in-process.

Each user gets a context and a recording connection joined to that user's events (the
hooks' ``make_user_context`` and ``connect`` when defined, else the roles). Then each
user's agent run is driven **in turn**, through the same path ``event-flow`` uses
in-process, and every frame that reaches another user's connection while that run is in
flight is a leak of that run (so attribution needs neither ``user_id`` nor ``run_id`` in
the events: an application with its own run ids, or events without a user, is judged the
same). Building a context or joining a connection is set-up (``set_up``); a run that crashes
is event-flow's to judge and is only noted here.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from netra_diag import (
    CheckContext,
    Evidence,
    SetupError,
    TargetFailure,
    Verdict,
    failed,
    passed,
    skipped,
)

from ._calling import attach_recorder, joined_by, make_user_context, set_up, user_id_of
from ._inprocess import run_agent

__all__ = ["IN_PROCESS", "isolation_in_process"]

#: How the verdict names where the runs happened.
IN_PROCESS = "in-process runs, the wire was not exercised"
#: How long the frames of one run may still be arriving once the run returned.
SETTLE_S = 0.2


async def isolation_in_process(ctx: CheckContext, users: int) -> Verdict:
    """The isolation verdict for ``users`` users whose runs are driven one after another."""
    contexts = [await set_up(ctx, "building a user context",
                             make_user_context(ctx, f"isolation-{i}")) for i in range(users)]
    joining = f"joining a recording connection {joined_by(ctx)}"
    recorders = [(await set_up(ctx, joining, attach_recorder(ctx, c, f"isolation-{i}")))[0]
                 for i, c in enumerate(contexts)]
    names = [user_id_of(c) or f"user-{i}" for i, c in enumerate(contexts)]
    budget = ctx.budgets.run_s
    critical = len(ctx.profile.critical_events)
    own: Counter[str] = Counter()
    leaks: Counter[tuple[str, str]] = Counter()
    notes: list[Evidence] = []
    for owner, context, mine in zip(names, contexts, recorders, strict=True):
        before = [len(r.frames) for r in recorders]
        try:
            await asyncio.wait_for(run_agent(ctx, context, []), budget)
        except (SetupError, TargetFailure, TimeoutError) as exc:
            notes.append(Evidence("note", f"{owner}'s run did not complete ({_said(exc)}): "
                                  "event-flow judges delivery"))
        await mine.wait_for(before[recorders.index(mine)] + critical, timeout=SETTLE_S)
        for receiver, recorder, count in zip(names, recorders, before, strict=True):
            arrived = len(recorder.frames) - count
            if recorder is mine:
                own[owner] += arrived
            elif arrived:
                leaks[(receiver, owner)] += arrived
    return _verdict(names, own, leaks, notes)


def _verdict(names: list[str], own: Counter[str], leaks: Counter[tuple[str, str]],
             notes: list[Evidence]) -> Verdict:
    per_user = [{"user": n, "own": own[n],
                 "foreign": sum(c for (r, _), c in leaks.items() if r == n)} for n in names]
    observed = Evidence(
        "observed", f"{len(names)} users ran one agent each, in turn ({IN_PROCESS}); frames "
        "received per user: " + ", ".join(f"{u['user']} {u['own']} own / {u['foreign']} "
                                          "foreign" for u in per_user),
        data={"users": per_user, "wire": False})
    if not sum(own.values()) and not leaks:
        return skipped(f"no events arrived at all for the {len(names)} users' runs, so "
                       "isolation cannot be judged: see event-flow for why nothing arrives",
                       observed, *notes)
    if not leaks:
        return passed(f"{len(names)} users each received only their own run's events "
                      f"({sum(own.values())} frames, 0 cross-user deliveries; {IN_PROCESS})",
                      observed, *notes)
    evidence = [Evidence("leak", f"{receiver} received {count} frame(s) of {owner}'s run",
                         data={"receiver": receiver, "owner": owner, "count": count})
                for (receiver, owner), count in leaks.most_common()]
    (receiver, owner), count = leaks.most_common(1)[0]
    receivers = len({r for r, _ in leaks})
    return failed(f"{sum(leaks.values())} frame(s) reached the wrong user: {receiver} received "
                  f"{count} of {owner}'s ({receivers} of {len(names)} users received others' "
                  f"events; {IN_PROCESS})", *evidence, observed, *notes)


def _said(exc: BaseException) -> str:
    return getattr(exc, "summary", None) or str(exc) or type(exc).__name__
