"""Sending one event through an emitter, whatever its shape: its ``send_event``, else its
notify method for the first critical event (an emitter without a generic send is still an
emitter)."""

from __future__ import annotations

from typing import Any

from netra_diag import CheckContext
from netra_diag.support.calls import SAMPLE_VALUES, describe_type, fill_arguments

from ._calling import call_built, method_call, missing_method

__all__ = ["notify_method", "probe_event", "send_probe"]


def notify_method(ctx: CheckContext, emitter: Any) -> str | None:
    """The name of ``emitter``'s notify method for the first critical event, when it has one
    (an emitter without a generic ``send_event`` is still an emitter)."""
    name = ctx.profile.event_methods.get(ctx.profile.critical_events[0])
    return name if name and callable(getattr(emitter, name, None)) else None


async def send_probe(ctx: CheckContext, emitter: Any, agent_name: str, what: str) -> str:
    """Send one event through ``emitter``: by its ``send_event`` (``methods.send_event``),
    else by its notify method for the first critical event, filled as emitter-methods fills
    it; the method used. Neither: ``missing_method``."""
    if callable(getattr(emitter, ctx.profile.method("send_event"), None)):
        await method_call(ctx, emitter, "send_event", probe_event(agent_name), what=what)
        return f"{ctx.profile.method('send_event')}()"
    name = notify_method(ctx, emitter)
    if name is None:
        raise missing_method(ctx, emitter, "send_event", what)
    method = getattr(emitter, name)
    offered = {"agent_name": agent_name, "agent": agent_name, "name": agent_name}
    call = fill_arguments(method, available=offered, overrides=ctx.build_kwargs(name),
                          profile_key=f"build.{name}", what=f"{describe_type(emitter)}.{name}()",
                          samples=SAMPLE_VALUES)
    await call_built(ctx, what, method, call, f"build.{name}")
    return f"{name}()"


def probe_event(agent_name: str, event: str = "agent_started") -> dict[str, Any]:
    """Arguments for a ``send_event``-like call, by the names backends use."""
    data = {"agent_name": agent_name, "source": "netra-diag"}
    return {"event_type": event, "event": event, "type": event, "event_name": event,
            "data": data, "payload": data}
