"""End to end: with several users running agents at once, does each see only its own events?"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from netra_diag import CheckContext, Evidence, Verdict, check, errored, failed, passed, skipped
from netra_diag.redaction import public_url
from netra_diag.support.capture import Capture
from netra_diag.support.judge import normalise_events
from netra_diag.support.wire_group import drive_runs

from ._calling import run_async
from ._endpoint import is_live, live_token_count, open_endpoint, redact_verdict
from ._inprocess import can_run_agent, skip_without_server
from ._isolation_inprocess import isolation_in_process
from ._source import static_skip

EXPLAIN = """\
Verifies that events reach only the user whose run produced them: several users (the
profile's `budgets.isolation_users`, 8 by default) connect at the same time, each starts one
agent run, and each must receive only its own runs' events.

Why it matters: the incident's migration from a process-wide singleton WebSocket manager to
per-user managers exists for this property. A pipeline that delivers every event to every
connected user "works" for a single tester and leaks one customer's agent activity to all
the others in production.

How it is judged: without a `server` role (and outside `probe`), the runs are driven
in-process instead, as event-flow does (up to 4 users, each with a recording connection
joined to its events), one run at a time: a frame that reaches another user's connection
while a run is in flight is a leak of that run. On the wire, every client
connects and authenticates first; the runs start together
once all are in, so a defect that broadcasts has every other user there to reach. After all
runs have ended, each client asks the server for a `time` marker and reads until it arrives
(one writer per connection: every frame queued before it has then arrived), or until the
connection has been quiet for a moment when the server has no such exchange. An event is
attributed to the run named by its `run_id` (each client learns its own from
`run_accepted`), else to the user named by its `user_id`. Any event a user receives from
another user's run is a leak: the check fails, with one `leak` evidence per receiver and
owner pair (`data`: receiver, owner, count). When no events arrive at all, the check is
skipped: event-flow says why nothing arrives.

Under `netra-diag probe`, one token names one user, and several connections of one user
legitimately share that user's events, so a cross-user leak cannot be shown with one token:
the check is skipped. Give a token per user with `--user-token-env NAME=VAR` (repeatable;
at least two users).

Typical causes: a manager that sends to every connection of the hub (or a shared singleton
manager) instead of the connections registered for its own user; connections registered
under the wrong user id; an execution engine or emitter shared between users; an event bus
without a per-user filter.

How to fix: route every event through `create_websocket_manager(user_context)` for the
event's own user, send only to that user's connections, and refuse events stamped for
another user at the manager."""

#: Leak pairs shown as separate evidence; the rest are counted in one note.
MAX_PAIRS_SHOWN = 12


@check(id="user-isolation", why="e2e", title="User isolation on the wire", explain=EXPLAIN,
       order=80, criterion="No cross-user event leakage",
       symptom={"fail": "leak to other users ({id})"}, critical="",
       depends_on=("event-flow",), tags=("wire",),
       fix="send each event only to its own user's connections, through the per-user manager "
       "(create_websocket_manager(user_context)), never to every connection",
       static_skip=static_skip("isolation can only be observed while the pipeline runs"))
def user_isolation(ctx: CheckContext) -> Verdict:
    if not ctx.has_role("server") and not is_live(ctx):
        if not (ctx.has_role("wiring_entry") or can_run_agent(ctx, None)):
            return skip_without_server(ctx, "isolation between users")
        users = ctx.budgets.isolation_users_in_process
        return run_async(ctx, lambda: isolation_in_process(ctx, users))
    if is_live(ctx) and live_token_count(ctx) < 2:
        return skipped(
            "one token names one user, and several connections of one user share its events "
            "by design, so a cross-user leak cannot be shown; give at least two users' tokens "
            "with --user-token-env NAME=VAR (repeatable)")
    users = ctx.budgets.isolation_users
    captures, url, secrets = run_async(ctx, lambda: _observe(ctx, users))
    return redact_verdict(judge_isolation(captures, url, ctx.profile.event_fields), secrets)


async def _observe(ctx: CheckContext, users: int) -> tuple[list[Capture], str, list[str]]:
    async with open_endpoint(ctx, users, "isolation") as endpoint:
        captures = await drive_runs(endpoint.url, endpoint.members, timeout=endpoint.budget_s,
                                    flush=True, warm_up=True)
    return captures, public_url(endpoint.url), endpoint.secrets


def _name(cap: Capture) -> str:
    return cap.user_id or cap.label


def judge_isolation(captures: Sequence[Capture], url: str,
                    fields: dict[str, str | None] | None = None) -> Verdict:
    """The verdict for concurrent runs, one capture per user (pure: see EXPLAIN)."""
    usable = [c for c in captures if c.connected and not c.auth_refused]
    lost = [c for c in captures if c not in usable]
    # every requested user appears in the verdict, by label (never by token)
    lost_evidence = [Evidence("observed", f"user {c.label!r} could not "
                              f"{'authenticate' if c.auth_refused else 'connect'}: "
                              f"{c.failure or 'no reason given'}",
                              data={"user": c.label, "auth_refused": c.auth_refused})
                     for c in lost]
    fix = "check that the endpoint is up and every token is valid"
    if len(usable) < 2:
        why = lost[0].failure if lost else "fewer than two users were given"
        return errored(f"only {len(usable)} of {len(captures)} users could connect to {url}, "
                       f"so isolation cannot be judged: {why}", *lost_evidence, fix=fix)
    if len({_name(c) for c in usable}) < 2:
        return skipped(f"the {len(usable)} tokens all authenticate the same user "
                       f"({_name(usable[0])!r}), so a cross-user leak cannot be shown; give "
                       "tokens of different users", *lost_evidence)
    total = sum(len(c.events()) for c in usable)
    if total == 0:
        return skipped(f"no events arrived at all for the {len(usable)} users' runs, so "
                       "isolation cannot be judged: see event-flow for why nothing arrives",
                       *lost_evidence)
    owner_of_run = {c.run_id: _name(c) for c in usable if c.run_id}
    leaks: Counter[tuple[str, str]] = Counter()
    own: Counter[str] = Counter()
    for cap in usable:
        me = _name(cap)
        for event in normalise_events(cap.events(), fields or {}):
            run_id = event.get("run_id")
            owner = owner_of_run.get(run_id) if run_id is not None else None
            if owner is None:  # a run no client here started: go by the stamped user
                stamped = event.get("user_id")
                owner = me if stamped in (cap.user_id, None) else f"user {stamped!r}"
            if owner == me:
                own[me] += 1
            else:
                leaks[(me, owner)] += 1
    per_user = [{"user": _name(c), "own": own[_name(c)],
                 "foreign": sum(n for (r, _), n in leaks.items() if r == _name(c)),
                 "run_id": c.run_id} for c in usable]
    observed = Evidence(
        "observed",
        f"{len(usable)} users ran one agent each at the same time over {url}; events "
        f"received per user: " + ", ".join(f"{u['user']} {u['own']} own / {u['foreign']} "
                                           "foreign" for u in per_user),
        data={"users": per_user},
    )
    notes = [Evidence("note", f"{_name(c)}: {c.failure}") for c in usable if c.failure]
    silent = [u["user"] for u in per_user if u["own"] == 0]
    if silent:
        notes.append(Evidence("note", f"{len(silent)} user(s) received none of their own "
                              f"run's events ({', '.join(silent[:5])}); event-flow judges "
                              "delivery"))
    if not leaks and lost:
        names = ", ".join(repr(c.label) for c in lost)
        return errored(f"isolation could not be judged for every requested user: {names} "
                       f"could not connect or authenticate ({len(usable)} of "
                       f"{len(captures)} users ran, with no cross-user delivery among them)",
                       *lost_evidence, observed, *notes, fix=fix)
    if not leaks:
        return passed(f"{len(usable)} concurrent users each received only their own runs' "
                      f"events ({total} events, 0 cross-user deliveries)", observed, *notes)
    pairs = leaks.most_common()
    leaked = sum(leaks.values())
    evidence = [Evidence("leak", f"{receiver} received {count} event(s) of {owner}'s run",
                         data={"receiver": receiver, "owner": owner, "count": count})
                for (receiver, owner), count in pairs[:MAX_PAIRS_SHOWN]]
    if len(pairs) > MAX_PAIRS_SHOWN:
        evidence.append(Evidence("note", f"... and {len(pairs) - MAX_PAIRS_SHOWN} more "
                                 "receiver/owner pairs (see the observed counts)"))
    (receiver, owner), count = pairs[0]
    receivers = len({r for r, _ in leaks})
    return failed(f"{leaked} event(s) reached the wrong user: {receiver} received {count} "
                  f"of {owner}'s ({receivers} of {len(usable)} users received others' events)",
                  *evidence, observed, *notes, *lost_evidence)
