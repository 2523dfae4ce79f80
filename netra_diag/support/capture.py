"""What one wire client saw during one run (``Capture``), and the bounds on what it keeps.

Owns the ``Capture`` record and the reading of frames into it (``next_frame``, ``keep``):
every frame is checked against the capture's deadline (an endpoint that floods the
connection never gives the event loop a chance to time out, so the client checks the clock
itself) and against the bounds: at most ``MAX_KEPT_FRAMES`` frames and ``MAX_KEPT_BYTES`` of
them, frames of at most ``MAX_FRAME_BYTES`` (a larger one closes the connection with 1009),
``MAX_KEPT_GARBAGE`` samples of garbage. An endpoint that sends more than that for one run
is *flooding*: the client stops reading, says so in ``failure`` (``flood_failure``) and
counts what it did not keep. A ``Capture`` holds the URL connected to, without user-info
(``connect_url``), and never holds a token; URLs are shown through ``redaction.public_url``.

It knows nothing of connecting, authenticating or the protocol's messages (``support.wire``)
and never imports ``websockets``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_FRAME_BYTES",
    "MAX_KEPT_BYTES",
    "MAX_KEPT_FRAMES",
    "MAX_KEPT_GARBAGE",
    "Capture",
    "Flooded",
    "connect_url",
    "flood_failure",
    "human_size",
    "is_loopback",
    "keep",
    "new_capture",
    "next_frame",
]

#: Bounds of what one ``Capture`` keeps (see the module doc); beyond them the endpoint is
#: flooding the connection.
MAX_KEPT_FRAMES = 2000
MAX_KEPT_BYTES = 8 << 20
MAX_FRAME_BYTES = 1 << 20
MAX_KEPT_GARBAGE = 20


@dataclass
class Capture:
    """What one client saw during one run."""

    url: str
    connected: bool = False
    user_id: str | None = None
    request_id: str = ""
    thread_id: str = ""
    run_id: str | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    garbage: list[str] = field(default_factory=list)
    error_frames: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    failure: str | None = None  # why the run could not be observed (set-up / transport)
    auth_refused: bool = False
    timed_out: bool = False
    completed: bool = False  # the last critical event arrived
    finished: bool = False  # the server said the run is over (run_finished)
    sent_at: float = 0.0
    label: str = ""  # who this client is, for ``drive_runs`` (never the token)
    clock_offset_s: float | None = None  # server clock minus client clock, when estimated
    clock_rtt_s: float | None = None  # round trip of the sample the offset came from
    deadline: float = field(default=float("inf"), repr=False)  # time.monotonic() bound
    frames_seen: int = 0  # every frame received, kept or not
    bytes_seen: int = 0
    kept_bytes: int = 0
    frames_dropped: int = 0  # received but not kept (beyond the bounds)
    garbage_seen: int = 0
    flooded: bool = False  # the endpoint sent more than the bounds allow for one run

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames
                if f.get("type") not in ("auth_ok", "run_accepted", "run_finished", "error")]


def connect_url(url: str) -> str:
    """``url`` without user-info (``user:password@``): what is connected to (user-info would
    add a second Authorization header). Not for showing: that is ``redaction.public_url``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class Flooded(Exception):
    """The endpoint sent more than a ``Capture`` keeps for one run."""


def is_loopback(url: str) -> bool:
    """True when ``url``'s host is this machine (so both ends read the same clock)."""
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_capture(url: str, timeout: float, label: str = "") -> Capture:
    return Capture(connect_url(url), request_id=f"netra-diag-{uuid.uuid4().hex[:12]}",
                   thread_id=f"netra-diag-thread-{uuid.uuid4().hex[:8]}", label=label,
                   deadline=time.monotonic() + timeout)


def human_size(count: int) -> str:
    return f"{count / (1 << 20):.1f} MiB" if count >= 1 << 20 else f"{count} bytes"


def flood_failure(cap: Capture, timeout: float) -> str:
    """Why a flooded run ended, against the bounds it broke."""
    elapsed = max(0.0, timeout - (cap.deadline - time.monotonic()))
    return (f"the endpoint flooded the connection: {cap.frames_seen} frame(s), "
            f"{human_size(cap.bytes_seen)} in {elapsed:.1f} s for one run (more than "
            f"the {MAX_KEPT_FRAMES} frames / {human_size(MAX_KEPT_BYTES)} a run may "
            f"send); the client stopped reading and kept the first "
            f"{len(cap.frames)} frame(s)")


async def next_frame(ws: Any, cap: Capture) -> dict[str, Any] | None:
    """The next frame as a JSON object (``None`` for garbage, which is counted). Raises
    ``TimeoutError`` past the capture's deadline and ``Flooded`` beyond its bounds, checked
    on every frame: a flooding endpoint keeps ``recv()`` from ever waiting."""
    if time.monotonic() >= cap.deadline:
        raise TimeoutError
    raw = await ws.recv()
    now = time.time()
    size = len(raw)
    cap.frames_seen += 1
    cap.bytes_seen += size
    if time.monotonic() >= cap.deadline:
        raise TimeoutError
    if len(cap.frames) >= MAX_KEPT_FRAMES or cap.kept_bytes + size > MAX_KEPT_BYTES or \
            cap.garbage_seen >= MAX_KEPT_FRAMES:
        cap.frames_dropped += 1
        raise Flooded
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        _garbage(cap, raw[:200] if isinstance(raw, str) else repr(raw[:200]))
        return None
    if not isinstance(value, dict):
        _garbage(cap, str(raw)[:200])
        return None
    value.setdefault("_received_at", now)
    value["_size"] = size
    return value


def _garbage(cap: Capture, sample: str) -> None:
    cap.garbage_seen += 1
    if len(cap.garbage) < MAX_KEPT_GARBAGE:
        cap.garbage.append(sample)


def keep(cap: Capture, frame: dict[str, Any]) -> None:
    received = frame.pop("_received_at", time.time())
    cap.kept_bytes += frame.pop("_size", 0)
    if frame.get("type") == "error":
        cap.error_frames.append(frame)
    cap.frames.append(frame)
    cap.received_at.append(received)
