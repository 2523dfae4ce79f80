"""Judge the events one agent run delivered: completeness, order, pairing, ids, seq, schema.

Pure: takes the decoded frames a client received (in arrival order) and what the request
was, returns a ``Judgement``. The same rules serve ``run`` (reference server), ``probe``
(a live endpoint) and the in-process flow. Rules (docs/wire-protocol.md "3. Events"):

* every critical event arrives; exactly one ``agent_started``, first; exactly one
  ``agent_completed``, last;
* each ``tool_executing`` is followed by its ``tool_completed`` (by tool name when given);
* ``user_id``, ``thread_id`` and ``run_id`` match the request and the accepted run;
* ``seq`` runs 1, 2, 3... in arrival order, with no gap, duplicate or reordering;
* each event carries ``type``, ``user_id``, ``thread_id``, ``run_id`` (strings), ``seq``
  (int), ``timestamp`` (a finite number above 0: seconds since the epoch) and ``data``
  (object);
* when the receipt times are given with a known clock offset (the same host: 0), no event is
  stamped after it was received (beyond ``clock_tolerance_s``): such a timestamp is
  impossible, a failed schema rule like a missing one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CONTROL_TYPES", "EVENT_FIELDS", "Judgement", "judge_run", "normalise_events",
           "received_text"]

EVENT_FIELDS: dict[str, tuple[type, ...]] = {
    "type": (str,),
    "user_id": (str,),
    "thread_id": (str,),
    "run_id": (str,),
    "seq": (int,),
    "timestamp": (int, float),
    "data": (dict,),
}
#: Frames of the endpoint's own protocol, not agent events.
CONTROL_TYPES = {"auth_ok", "run_accepted", "run_finished", "error", "pong", "connected"}


@dataclass
class Judgement:
    ok: bool
    delivered: int
    total: int
    received: list[str]
    problems: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str:
        return f"{self.delivered}/{self.total} critical events"


def normalise_events(frames: Sequence[dict[str, Any]], fields: dict[str, str | None]
                     ) -> list[dict[str, Any]]:
    """Frames with the target's field names (profile ``events.fields``) renamed to the
    canonical ones, so one set of rules judges every backend."""
    renames = {theirs: ours for ours, theirs in fields.items() if theirs and theirs != ours}
    if not renames:
        return list(frames)
    out = []
    for frame in frames:
        # a canonical name the target uses for something else never shadows the mapped
        # field; a frame without the mapped field (a control frame of the wire protocol,
        # ``{"type": "auth_ok"}``) keeps its own
        mapped = {renames[k] for k in frame if k in renames}
        out.append({renames.get(k, k): v for k, v in frame.items()
                    if k in renames or k not in mapped})
    return out


def received_text(types: Sequence[str], limit: int = 20) -> str:
    """The received event types for a message: all of them, or the first ``limit`` and how
    many in all (a flood must not make a message of thousands of names)."""
    if not types:
        return "none"
    if len(types) <= limit:
        return str(list(types))
    return f"{list(types[:limit])} ... ({len(types)} events in all)"


def judge_run(
    frames: Sequence[dict[str, Any]],
    *,
    critical: Sequence[str],
    user_id: str | None,
    thread_id: str | None,
    run_id: str | None,
    absent: frozenset[str] = frozenset(),
    received_at: Sequence[float] | None = None,
    clock_offset_s: float | None = None,
    clock_tolerance_s: float = 1.0,
) -> Judgement:
    """Judge the events of one run among ``frames`` (see the module docstring). Fields in
    ``absent`` are ones the target's events do not carry (profile ``events.fields``): they
    are neither required nor compared.

    ``received_at`` (one client-clock time per frame, aligned with ``frames``) and
    ``clock_offset_s`` (server clock minus client clock; 0 on the same host) enable the
    rule that no event is stamped after it arrived."""
    future = _future_problems(frames, received_at, clock_offset_s, clock_tolerance_s, run_id)
    events = [f for f in frames if f.get("type") not in CONTROL_TYPES]
    mine = [e for e in events if run_id is None or e.get("run_id") == run_id]
    foreign = [e for e in events if run_id is not None and e.get("run_id") != run_id]
    types = [str(e.get("type")) for e in mine]
    delivered = sum(1 for name in critical if name in types)
    problems: list[str] = []
    missing = [name for name in critical if name not in types]
    if missing:
        problems.append(f"missing critical events: {missing}")
    if foreign:
        problems.append(f"{len(foreign)} event(s) of another run arrived on this connection: "
                        f"{sorted({str(e.get('run_id')) for e in foreign})}")
    if mine:
        problems += _order_problems(types, critical)
        problems += _pairing_problems(mine)
        problems += _id_problems(mine, None if "user_id" in absent else user_id,
                                 None if "thread_id" in absent else thread_id)
        if "seq" not in absent:
            problems += _seq_problems(mine)
        problems += _schema_problems(mine, absent)
        problems += future
    return Judgement(not problems, delivered, len(critical), types, problems)


def _order_problems(types: list[str], critical: Sequence[str]) -> list[str]:
    out = []
    first, last = critical[0], critical[-1]
    if types.count(first) > 1:
        out.append(f"{first} arrived {types.count(first)} times (expected once)")
    if types.count(last) > 1:
        out.append(f"{last} arrived {types.count(last)} times (expected once)")
    if first in types and types[0] != first:
        out.append(f"{first} is not the first event (first was {types[0]})")
    if last in types and types[-1] != last:
        out.append(f"{last} is not the last event (last was {types[-1]})")
    positions = [types.index(name) for name in critical if name in types]
    if positions != sorted(positions):
        out.append(f"critical events out of order: {received_text(types)}")
    return out


def _pairing_problems(events: list[dict[str, Any]]) -> list[str]:
    open_tools: list[str | None] = []
    out = []
    for e in events:
        data = e.get("data") if isinstance(e.get("data"), dict) else {}
        tool = data.get("tool_name") if data else None
        if e.get("type") == "tool_executing":
            open_tools.append(tool)
        elif e.get("type") == "tool_completed":
            if not open_tools:
                out.append(f"tool_completed ({tool}) without a tool_executing before it")
            elif tool is not None and tool in open_tools:
                open_tools.remove(tool)
            else:
                open_tools.pop(0)
    if open_tools:
        out.append(f"tool_executing without tool_completed: {open_tools}")
    return out


def _id_problems(events: list[dict[str, Any]], user_id: str | None,
                 thread_id: str | None) -> list[str]:
    out = []
    for key, expected in (("user_id", user_id), ("thread_id", thread_id)):
        if expected is None:
            continue
        wrong = sorted({str(e.get(key)) for e in events if e.get(key) != expected})
        if wrong:
            out.append(f"{key} {wrong} does not match the request's {expected!r}")
    return out


def _seq_problems(events: list[dict[str, Any]]) -> list[str]:
    seqs = [e.get("seq") for e in events]
    if not all(isinstance(s, int) for s in seqs):
        return []  # reported by the schema rule
    start = 0 if seqs and seqs[0] == 0 else 1  # numbered from 1 (the protocol's) or from 0
    expected = list(range(start, start + len(seqs)))
    if seqs == expected:
        return []
    if len(set(seqs)) != len(seqs):
        return [f"duplicate seq numbers: {_short(seqs)}"]
    if sorted(seqs) != seqs:
        return [f"seq out of order (events reordered): {_short(seqs)}"]
    return [f"seq has gaps: {_short(seqs)} (expected {_short(expected)})"]


def _short(values: list[Any], limit: int = 20) -> str:
    return str(values) if len(values) <= limit else f"{values[:limit]} ... ({len(values)} in all)"


def _field_ok(event: dict[str, Any], key: str, kinds: tuple[type, ...]) -> bool:
    value = event.get(key)
    if not isinstance(value, kinds) or isinstance(value, bool):
        return False
    return key != "timestamp" or (math.isfinite(value) and value > 0)


def _future_problems(frames: Sequence[dict[str, Any]], received_at: Sequence[float] | None,
                     offset: float | None, tolerance: float, run_id: str | None) -> list[str]:
    """Events stamped after they arrived (by more than ``tolerance`` s), as one line."""
    if received_at is None or offset is None or len(received_at) != len(frames):
        return []
    ahead = []
    for frame, received in zip(frames, received_at, strict=True):
        stamp = frame.get("timestamp")
        if frame.get("type") in CONTROL_TYPES or (run_id is not None
                                                   and frame.get("run_id") != run_id):
            continue
        if isinstance(stamp, int | float) and not isinstance(stamp, bool) and \
                math.isfinite(stamp) and stamp - offset > received + tolerance:
            ahead.append(stamp - offset - received)
    if not ahead:
        return []
    return [f"{len(ahead)} event(s) carry an impossible timestamp: stamped up to "
            f"{max(ahead):.1f} s after they were received"]


def _schema_problems(events: list[dict[str, Any]],
                     absent: frozenset[str] = frozenset()) -> list[str]:
    """One problem per (event type, fields wrong), counted: a thousand bad frames are one
    line, not a thousand. A timestamp that is not finite or not above 0 is wrong."""
    counts: dict[tuple[str, tuple[str, ...]], int] = {}
    for e in events:
        bad = tuple(k for k, kinds in EVENT_FIELDS.items()
                    if k not in absent and not _field_ok(e, k, kinds))
        if bad:
            key = (str(e.get("type")), bad)
            counts[key] = counts.get(key, 0) + 1
    return [f"{kind} event lacks or mistypes {list(bad)}" if n == 1 else
            f"{n} {kind} events lack or mistype {list(bad)}"
            for (kind, bad), n in counts.items()]
