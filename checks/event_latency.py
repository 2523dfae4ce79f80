"""End to end: how long does an event take from emission to the user's socket?"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from netra_diag import CheckContext, Evidence, Verdict, check, errored, failed, passed, skipped
from netra_diag.redaction import public_url
from netra_diag.support.capture import Capture, is_loopback
from netra_diag.support.judge import CONTROL_TYPES, normalise_events
from netra_diag.support.wire_group import drive_runs

from ._calling import run_async
from ._endpoint import open_endpoint, percentile, redact_verdict
from ._inprocess import skip_without_server
from ._source import static_skip

EXPLAIN = """\
Verifies that events reach the user quickly: for every event of a real agent run, the time
from emission (the event's `timestamp`, stamped by the emitter) to receipt by the client is
measured, and the 95th percentile must stay within the profile's `budgets.event_latency_ms`
(50 ms by default). The evidence gives p50, p95 and max in milliseconds, the budget, the
number of samples and the clock method.

Why it matters: the incident's acceptance criteria ask for each event within 50 ms. Events
that arrive late make a live agent look frozen, then dump its whole story at once; an
emitter that blocks between stamping and sending also holds up the agent itself.

How it is judged: several runs (`budgets.latency_runs`, 4 by default) go at once, each on
its own connection, and only each client's own run's events are timed. On the same host
(loopback URL, as under `run`) client and server read the same clock. Against another host,
the clocks may differ: the client first asks the server for its time (`{"type": "time"}`,
five round trips; the fastest one gives the offset by NTP's midpoint rule, with an error
of at most half its round trip) and corrects every timestamp; a server without that
exchange cannot be measured honestly, which is an error saying so. The verdict is judged on
p95, not on the single worst event: one scheduling hiccup on a loaded CI machine must not
fail a healthy pipeline, while a pipeline that is slow for every event fails on every run.
When no events arrive at all, the check is skipped: event-flow says why nothing arrives.

Typical causes: a sleep, a blocking call or a slow lookup between stamping an event and
sending it; a synchronous network call inside the emitter or the manager; an outgoing queue
that waits for batching; a congested event loop.

How to fix: stamp the event right before handing it to the transport, keep the emit path
free of blocking work (move it off the event loop or after the send), and keep per-event
work constant-time."""


#: Receipt before emission by more than this (plus half the clock sync's round trip) is
#: not latency but an impossible timestamp.
_TOLERANCE_MS = 5.0


@dataclass(frozen=True)
class Samples:
    """Latencies (ms) of one measurement and how the clocks were compared."""

    values_ms: list[float]
    method: str
    by_type_ms: dict[str, float]
    #: events whose timestamp is impossible: not finite, or after their receipt (ms ahead)
    impossible: list[str] = field(default_factory=list)


@check(id="event-latency", why="e2e", title="Event latency within budget", explain=EXPLAIN,
       order=90, criterion=("Event latency within the {budget_ms} ms budget",
                            "Event latency within budget"),
       symptom={"fail": ("arrive late ({id}: p95 {p95_ms:.1f} ms over the {budget_ms:g} ms "
                         "budget)", "arrive late ({id}: {summary})")},
       depends_on=("event-flow",), tags=("wire",),
       fix="remove blocking work between stamping an event and sending it (the emitter, the "
       "manager, the outgoing queue)",
       static_skip=static_skip("latency can only be measured while the pipeline runs"))
def event_latency(ctx: CheckContext) -> Verdict:
    if (no_wire := skip_without_server(ctx, "event latency")) is not None:
        return no_wire
    budget_ms = ctx.budgets.event_latency_ms
    runs = ctx.budgets.latency_runs
    captures, url, secrets = run_async(ctx, lambda: _observe(ctx, runs))
    return redact_verdict(judge_latency(captures, url, budget_ms, ctx.profile.event_fields),
                          secrets)


async def _observe(ctx: CheckContext, runs: int) -> tuple[list[Capture], str, list[str]]:
    async with open_endpoint(ctx, runs, "latency") as endpoint:
        members = list(endpoint.members)
        if endpoint.live:  # the probe's first user, on ``runs`` connections
            members = [members[0]] * runs
        same_host = is_loopback(endpoint.url)
        captures = await drive_runs(endpoint.url, members, timeout=endpoint.budget_s,
                                    sync_clock=not same_host)
    return captures, public_url(endpoint.url), endpoint.secrets


def measure(captures: Sequence[Capture], same_host: bool,
            fields: dict[str, str | None] | None = None) -> Samples | None:
    """Per-event latencies of each client's own run; None when the clocks cannot be
    compared (another host and no clock exchange). ``fields``: the backend's names for
    the event fields (profile ``events.fields``)."""
    tolerance_ms = _TOLERANCE_MS
    if same_host:
        method = "same-host clock (client and server read one clock)"
        offsets = {id(c): 0.0 for c in captures}
    else:
        synced = [c for c in captures if c.clock_offset_s is not None]
        if not synced:
            return None
        best = min(synced, key=lambda c: c.clock_rtt_s or 0.0)
        offset, rtt = best.clock_offset_s or 0.0, best.clock_rtt_s or 0.0
        method = (f"round-trip clock sync: server clock {offset * 1000:+.1f} ms from the "
                  f"client's, within +/- {rtt * 500:.1f} ms")
        offsets = {id(c): (c.clock_offset_s if c.clock_offset_s is not None else offset)
                   for c in captures}
        tolerance_ms += rtt * 500
    values: list[float] = []
    by_type: dict[str, float] = {}
    impossible: list[str] = []
    for cap in captures:
        frames = normalise_events(cap.frames, fields or {})
        for frame, received in zip(frames, cap.received_at, strict=True):
            stamp = frame.get("timestamp")
            if (frame.get("type") in CONTROL_TYPES or frame.get("run_id") != cap.run_id
                    or isinstance(stamp, bool) or not isinstance(stamp, int | float)):
                continue
            ms = (received - (stamp - offsets[id(cap)])) * 1000.0
            if not math.isfinite(ms) or ms < -tolerance_ms or stamp <= 0:  # after receipt?
                impossible.append(f"{frame.get('type')} stamped {stamp!r}"
                                  + (f" ({-ms:.0f} ms after it was received)"
                                     if math.isfinite(ms) else ""))
                continue
            values.append(ms)
            kind = str(frame.get("type"))
            by_type[kind] = max(by_type.get(kind, ms), ms)
    return Samples(values, method, by_type, impossible)


def judge_latency(captures: Sequence[Capture], url: str, budget_ms: float,
                  fields: dict[str, str | None] | None = None) -> Verdict:
    """The verdict for the timed runs (see EXPLAIN); ``fields``: profile ``events.fields``."""
    usable = [c for c in captures if c.connected and not c.auth_refused]
    if not usable:
        why = captures[0].failure if captures else "no run was made"
        return errored(f"no run could be made over {url}, so latency cannot be measured: {why}",
                       fix="check that the endpoint is up and the token is valid")
    if sum(len(c.events()) for c in usable) == 0:
        return skipped(f"no events arrived at all for {len(usable)} run(s), so latency cannot "
                       "be measured: see event-flow for why nothing arrives")
    samples = measure(usable, is_loopback(url), fields)
    if samples is None:
        return errored(
            f"{url} is on another host and does not answer the clock exchange "
            '({"type": "time"}), so its clock offset cannot be told apart from latency',
            fix='probe from the same host as the server, or answer {"type":"time"} with '
            '{"type":"time","server_time":<epoch seconds>} (see the reference protocol)')
    if samples.impossible:
        return failed(f"{len(samples.impossible)} event(s) carry an impossible timestamp (not "
                      "finite, or later than their receipt), so the endpoint's latency cannot "
                      f"be trusted: {samples.impossible[0]}",
                      Evidence("observed", "impossible timestamps: "
                               + "; ".join(samples.impossible[:5]),
                               data={"count": len(samples.impossible),
                                     "method": samples.method}),
                      fix="stamp each event with the emission time (seconds since the epoch, "
                      "a finite number) when it is emitted")
    if not samples.values_ms:
        return skipped("the events carry no numeric timestamp, so latency cannot be measured: "
                       "event-flow reports the malformed events")
    ordered = sorted(samples.values_ms)
    p50, p95, worst = percentile(ordered, 0.50), percentile(ordered, 0.95), ordered[-1]
    data = {"p50_ms": round(p50, 3), "p95_ms": round(p95, 3), "max_ms": round(worst, 3),
            "budget_ms": budget_ms, "samples": len(ordered), "method": samples.method,
            "max_ms_by_type": {k: round(v, 3) for k, v in samples.by_type_ms.items()}}
    evidence = Evidence(
        "latency",
        f"emission to receipt over {len(ordered)} events of {len(usable)} concurrent run(s): "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms (budget {budget_ms:g} ms, "
        f"judged on p95); clocks: {samples.method}",
        data=data)
    notes = [Evidence("note", f"{c.label}: {c.failure}") for c in usable if c.failure]
    if p95 > budget_ms:
        slowest = max(samples.by_type_ms, key=lambda k: samples.by_type_ms[k])
        return failed(f"events take too long to arrive: p95 {p95:.1f} ms exceeds the "
                      f"{budget_ms:g} ms budget (p50 {p50:.1f} ms, slowest {slowest} "
                      f"{samples.by_type_ms[slowest]:.1f} ms)", evidence, *notes)
    return passed(f"p95 {p95:.1f} ms within the {budget_ms:g} ms budget (p50 {p50:.1f} ms, "
                  f"max {worst:.1f} ms, {len(ordered)} events)", evidence, *notes)
