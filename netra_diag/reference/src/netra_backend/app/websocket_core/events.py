"""Agent events: their shape, encoding and validation (pure functions, no I/O).

An event is one JSON text frame with exactly these keys::

    {"type": "agent_started", "user_id": "...", "thread_id": "...", "run_id": "...",
     "seq": 1, "timestamp": 1735776000.123, "data": {...}}

``seq`` counts 1, 2, 3... within a run so gaps, duplicates and reordering are visible;
``timestamp`` is the emission time in seconds since the epoch (float). Frames are compact
JSON (no spaces), UTF-8, never containing NaN or infinities.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

__all__ = [
    "CRITICAL_EVENTS",
    "EVENT_KEYS",
    "build_event",
    "decode",
    "encode",
    "validate_event",
]

#: The five lifecycle events a user must see for every agent run, in order.
CRITICAL_EVENTS: tuple[str, ...] = (
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
)

EVENT_KEYS: tuple[str, ...] = (
    "type",
    "user_id",
    "thread_id",
    "run_id",
    "seq",
    "timestamp",
    "data",
)


def build_event(
    event_type: str,
    *,
    user_id: str,
    thread_id: str,
    run_id: str,
    seq: int,
    data: dict[str, Any] | None = None,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """Build a valid event; ``timestamp`` defaults to now. Raises ``ValueError`` if invalid."""
    event = {
        "type": event_type,
        "user_id": user_id,
        "thread_id": thread_id,
        "run_id": run_id,
        "seq": seq,
        "timestamp": time.time() if timestamp is None else timestamp,
        "data": {} if data is None else data,
    }
    problems = validate_event(event)
    if problems:
        raise ValueError("invalid event: " + "; ".join(problems))
    return event


def validate_event(event: Any) -> list[str]:
    """Every way ``event`` departs from the shape above (empty when it is valid)."""
    if not isinstance(event, dict):
        return [f"an event is a JSON object, not {type(event).__name__}"]
    problems = []
    missing = [k for k in EVENT_KEYS if k not in event]
    extra = sorted(set(event) - set(EVENT_KEYS))
    if missing:
        problems.append("missing keys: " + ", ".join(missing))
    if extra:
        problems.append("unexpected keys: " + ", ".join(extra))
    for key in ("type", "user_id", "thread_id", "run_id"):
        value = event.get(key)
        if key in event and (not isinstance(value, str) or not value.strip()):
            problems.append(f"{key} must be a non-empty string")
    seq = event.get("seq")
    if "seq" in event and (isinstance(seq, bool) or not isinstance(seq, int) or seq < 1):
        problems.append("seq must be an integer >= 1")
    ts = event.get("timestamp")
    if "timestamp" in event and (
        isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts)
    ):
        problems.append("timestamp must be a finite number of seconds since the epoch")
    if "data" in event and not isinstance(event.get("data"), dict):
        problems.append("data must be a JSON object")
    return problems


def encode(event: dict[str, Any]) -> str:
    """Compact JSON text for one frame (control frames use it too)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode(text: str | bytes) -> Any:
    """Parse one frame; raises ``ValueError`` on malformed JSON."""
    return json.loads(text)
