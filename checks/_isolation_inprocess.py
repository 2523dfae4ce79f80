"""User isolation without the target's server: several users' runs driven in-process.

Each user gets a context and a recording connection joined to that user's events (the
hooks' ``make_user_context`` and ``connect`` when defined, else the roles), then every
user's agent run is driven at once through the same path ``event-flow`` uses in-process.
What each recording connection received is judged by the same rule as on the wire
(``user_isolation.judge_isolation``): an event of another user's run is a leak. Building a
context or joining a connection is set-up (``set_up``); a run that crashes is event-flow's
to judge and is only noted here.
"""

from __future__ import annotations

import asyncio
from typing import Any

from netra_diag import CheckContext, Evidence, SetupError, TargetFailure
from netra_diag.support.capture import Capture
from netra_diag.support.judge import normalise_events

from ._calling import attach_recorder, joined_by, make_user_context, set_up, user_id_of
from ._inprocess import run_agent

__all__ = ["IN_PROCESS_URL", "isolation_in_process"]

#: How the verdict names where the runs happened.
IN_PROCESS_URL = "the target's process (in-process runs, the wire was not exercised)"


async def isolation_in_process(ctx: CheckContext, users: int
                               ) -> tuple[list[Capture], list[Evidence]]:
    """One capture per user after every user's run, driven at once; notes on the way."""
    contexts = [await set_up(ctx, "building a user context",
                             make_user_context(ctx, f"isolation-{i}")) for i in range(users)]
    joining = f"joining a recording connection {joined_by(ctx)}"
    recorders = [(await set_up(ctx, joining, attach_recorder(ctx, c, f"isolation-{i}")))[0]
                 for i, c in enumerate(contexts)]
    budget = max(1.0, min(ctx.profile.budgets.get("run_timeout_s", 10.0), ctx.timeout_s - 2))
    outcomes = await asyncio.gather(
        *(asyncio.wait_for(run_agent(ctx, c, []), budget) for c in contexts),
        return_exceptions=True)
    notes = [Evidence("note", f"user {i}'s run did not complete ({_said(o)}): event-flow "
                      "judges delivery") for i, o in enumerate(outcomes)
             if isinstance(o, BaseException)]
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and \
                not isinstance(outcome, SetupError | TargetFailure | TimeoutError):
            raise outcome
    critical = len(ctx.profile.critical_events)
    for recorder in recorders:  # events from tasks the runs scheduled may still be on the way
        await recorder.wait_for(critical, timeout=0.2)
    captures = []
    for i, (context, recorder) in enumerate(zip(contexts, recorders, strict=True)):
        user = user_id_of(context) or f"user-{i}"
        frames = normalise_events(recorder.events(), ctx.profile.event_fields)
        captures.append(Capture(url="in-process", connected=True, user_id=user,
                                run_id=_run_id(context), frames=frames, label=user,
                                completed=True, finished=True))
    return captures, notes


def _run_id(context: Any) -> str | None:
    value = getattr(context, "run_id", None)
    return value if isinstance(value, str) else None


def _said(exc: BaseException) -> str:
    return getattr(exc, "summary", None) or str(exc) or type(exc).__name__
