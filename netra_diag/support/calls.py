"""Calling into unknown code: build arguments from real signatures, await what needs it.

Backends drift (a method sync in one release and async in the next; a notify method taking
``(agent_name, ...)`` here and ``(result)`` there), so checks never hard-code a call shape:
``fill_arguments`` reads the callee's signature and fills each parameter by name from the
profile's overrides, then from the values the check has at hand; a required parameter
nobody can fill is a ``SetupError`` naming it and the profile key that would supply it.
``settle`` awaits whatever is awaitable and says so, so a coroutine never stands in for an
object.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import SetupError

__all__ = ["Call", "describe_type", "fill_arguments", "settle", "signature_text"]


@dataclass(frozen=True)
class Call:
    """Positional and keyword arguments for one call, and which names came from where."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    filled: dict[str, str]


def signature_text(func: Callable[..., Any]) -> str:
    try:
        return f"{getattr(func, '__qualname__', func)}{inspect.signature(func)}"
    except (TypeError, ValueError):
        return repr(func)


def fill_arguments(
    func: Callable[..., Any],
    *,
    available: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    profile_key: str,
    what: str,
) -> Call:
    """Arguments for ``func`` from ``overrides`` (the profile), then ``available``.

    ``profile_key`` is where the profile supplies overrides (``build.registry``); it is
    named in the ``SetupError`` for an unfillable required parameter.
    """
    overrides = overrides or {}
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise SetupError(f"cannot read the signature of {what}: {exc}") from None
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    filled: dict[str, str] = {}
    for name, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name in overrides:
            value, origin = overrides[name], f"profile {profile_key}.{name}"
        elif name in available:
            value, origin = available[name], "run context"
        elif param.default is not param.empty:
            continue
        else:
            raise SetupError(
                f"{what} needs the parameter '{name}', and neither the run nor the profile "
                "supplies it",
                fix=f"set '{profile_key}.{name}' in the profile: a literal, "
                "{factory: 'module:attr'} to call a factory, or {import: 'module:attr'}",
            )
        filled[name] = origin
        if param.kind is param.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[name] = value
    return Call(tuple(args), kwargs, filled)


async def settle(value: Any) -> tuple[Any, bool]:
    """``(value, awaited)``: await ``value`` (repeatedly) while it is awaitable."""
    awaited = False
    for _ in range(3):  # a coroutine returning a coroutine is odd but bounded
        if not inspect.isawaitable(value):
            break
        value = await value
        awaited = True
    return value, awaited


def describe_type(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"
