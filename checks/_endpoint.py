"""End to end: the endpoint a wire check talks to, its budget, and what may leak from it.

Under ``run`` the check starts the target's ``server`` role on 127.0.0.1 with generated
users; under ``probe`` ``ctx.endpoint`` carries the URL and ``token_envs`` (label -> the
name of an environment variable holding that user's token). Tokens travel only through the
environment of the check's interpreter: never in the job file or a result
(``redact_verdict`` replaces any a server echoed). Also the nearest-rank ``percentile`` the
latency measurements use. This module knows nothing of what a check judges on the wire.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from netra_diag import CheckContext, SetupError
from netra_diag.redaction import redact_verdict

from ._calling import build_role, call_target

__all__ = [
    "Endpoint",
    "is_live",
    "live_members",
    "live_token_count",
    "open_endpoint",
    "percentile",
    "redact_verdict",
    "server_url",
    "wire_budget",
]


@dataclass(frozen=True)
class Endpoint:
    """Where a wire check connects, as whom, and within how long."""

    url: str
    members: tuple[tuple[str, str], ...]  # (label, token): one per user
    live: bool
    budget_s: float

    @property
    def secrets(self) -> list[str]:
        return [token for _, token in self.members]


def is_live(ctx: CheckContext) -> bool:
    """True under ``probe``: the checks talk to ``ctx.endpoint``."""
    return ctx.endpoint is not None


def live_token_count(ctx: CheckContext) -> int:
    return len(ctx.endpoint.token_envs) if ctx.endpoint else 0


def wire_budget(ctx: CheckContext) -> float:
    """Seconds a wire check may spend on the network, inside the runner's ``--timeout``
    (interpreter start-up and the verdict need the rest)."""
    return ctx.budgets.wire_s


def live_members(ctx: CheckContext) -> tuple[tuple[str, str], ...]:
    """The probe's users and their tokens, read from the environment variables it names."""
    envs: dict[str, str] = dict(ctx.endpoint.token_envs) if ctx.endpoint else {}
    if not envs:
        raise SetupError("no token was given for the live endpoint",
                         fix="pass --token-env VAR (or --token) to netra-diag probe")
    members = []
    for label, var in envs.items():
        token = os.environ.get(var, "")
        if not token:
            raise SetupError(f"the token of '{label}' is read from the environment variable "
                             f"{var}, which is empty or not set in the check's interpreter",
                             fix=f"export {var} before running netra-diag probe")
        members.append((label, token))
    return tuple(members)


@contextlib.asynccontextmanager
async def open_endpoint(ctx: CheckContext, users: int, label: str) -> AsyncIterator[Endpoint]:
    """The live endpoint of a probe, or the target's ``server`` role started for ``users``
    generated users (closed on exit). ``SetupError`` when neither is available."""
    if ctx.endpoint is not None:
        yield Endpoint(ctx.endpoint.url, live_members(ctx), True, wire_budget(ctx))
        return
    if not ctx.has_role("server"):
        raise SetupError("the profile names no 'server' role, so no WebSocket run can be made",
                         fix="add 'roles: {server: module:start_server}' to the profile, or "
                         "probe a running endpoint with netra-diag probe URL")
    members = tuple((f"netra-diag-{label}-{i + 1}", secrets.token_urlsafe(18))
                    for i in range(max(1, users)))
    table = dict(members)
    available: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "users": table,
                                 "tokens": table}
    server, _ = await build_role(ctx, "server", available)
    try:
        yield Endpoint(server_url(ctx, server), members, False, wire_budget(ctx))
    finally:
        close = getattr(server, "close", None) or getattr(server, "aclose", None)
        if close is not None:
            await call_target(ctx, "closing the server", close)


def server_url(ctx: CheckContext, server: Any) -> str:
    """The URL of a started ``server`` role: its ``url``, else its ``port`` and the profile's
    ``server.path``; ``SetupError`` when it has neither."""
    url = getattr(server, "url", None)
    if isinstance(url, str):
        return url
    port = getattr(server, "port", None)
    if not isinstance(port, int):
        raise SetupError("the server role returned an object with neither 'url' nor 'port'",
                         fix="make the server role return an object with .url or .port")
    path = str(ctx.profile.server.get("path", "/ws"))
    return f"ws://127.0.0.1:{port}{path}"


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty list (``q`` in 0..1)."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
