"""Finding a role's object inside what the target returned, without running its code.

Owns ``find_attribute`` (a bounded, cycle-safe search of what an object holds: never a
property nor ``__getattr__``) and ``locate_role`` (the profile's ``build.locate`` path, else
that search). It knows nothing of how the holder was obtained, nor of verdicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netra_diag import CheckContext, SetupError
from netra_diag.support.calls import describe_type

__all__ = ["LOCATE_DEPTH", "find_attribute", "follow_path", "locate_role", "located_path"]


def find_attribute(obj: Any, predicate: Callable[[Any], bool], *, depth: int = 1,
                   budget: int = 2000) -> tuple[str, Any] | None:
    """The first value reachable from ``obj`` satisfying ``predicate``, with its path
    (``factory.registry``), searched breadth first up to ``depth`` attributes deep.

    Only what an object holds is read: its instance ``__dict__`` and its ``__slots__``
    (through their member descriptors), and the items of the dicts, lists and tuples it
    holds; never a property or ``__getattr__``, so no code of the target runs. Cycle-safe
    (each object is visited once) and bounded (``budget`` values at most; 32 items per
    container)."""
    seen = {id(obj)}
    frontier: list[tuple[str, Any]] = [("", obj)]
    visited = 0
    for _level in range(max(1, depth)):
        following: list[tuple[str, Any]] = []
        for path, holder in frontier:
            for name, value in held(holder):
                visited += 1
                if visited > budget:
                    return None
                child = f"{path}{name}" if name.startswith("[") or not path else \
                    f"{path}.{name}"
                try:
                    if predicate(value):
                        return child, value
                except Exception:  # noqa: BLE001 - a predicate probing an odd object
                    continue
                if id(value) not in seen and _worth_visiting(value):
                    seen.add(id(value))
                    following.append((child, value))
        frontier = following
        if not frontier:
            break
    return None


_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None))


def _worth_visiting(value: Any) -> bool:
    import types

    return not isinstance(value, (*_LEAVES, type, types.ModuleType, types.FunctionType,
                                  types.BuiltinFunctionType, types.MethodType))


def held(obj: Any) -> list[tuple[str, Any]]:
    """``(name, value)`` for what ``obj`` holds (see ``find_attribute``), without running
    any of its code."""
    import types

    if isinstance(obj, dict):
        return [(f"[{k!r}]", v) for k, v in list(obj.items())[:32]]
    if isinstance(obj, list | tuple):
        return [(f"[{i}]", v) for i, v in enumerate(obj[:32])]
    out: list[tuple[str, Any]] = []
    try:
        instance = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        instance = {}
    if isinstance(instance, dict):
        out += [(str(k), v) for k, v in instance.items()]
    for cls in type(obj).__mro__:
        for name in cls.__dict__.get("__slots__", ()) or ():
            slot = cls.__dict__.get(name)
            if isinstance(slot, types.MemberDescriptorType) and name not in instance:
                try:
                    out.append((name, slot.__get__(obj, type(obj))))
                except AttributeError:  # an empty slot
                    continue
    return out


def locate_role(ctx: CheckContext, holder: Any, role: str) -> tuple[str, Any] | None:
    """Where the ``role`` object sits inside ``holder`` (what the wiring entry returned):
    ``build.locate.<role>`` (a dotted path of attributes or dict keys, e.g.
    ``factory.registry``) when the profile
    gives one, else a bounded search (``find_attribute``, 3 levels deep). ``SetupError``
    when the profile's path does not lead to an instance of the role's class."""
    cls = ctx.resolve(role)
    if isinstance(holder, cls):
        return "(returned)", holder
    path = located_path(ctx, role)
    if path:
        value = follow_path(holder, path, role)
        if not isinstance(value, cls):
            raise SetupError(f"build.locate.{role}: '{path}' is a {describe_type(value)}, "
                             f"not a {cls.__name__}",
                             fix=f"correct 'build.locate.{role}' in the profile")
        return path, value
    return find_attribute(holder, lambda v: isinstance(v, cls), depth=LOCATE_DEPTH)


def located_path(ctx: CheckContext, key: str) -> str | None:
    """The profile's ``build.locate.<key>`` path, stripped, or None when it gives none."""
    path = ctx.profile.build.get("locate", {}).get(key)
    return path.strip() if isinstance(path, str) and path.strip() else None


def follow_path(holder: Any, path: str, key: str) -> Any:
    """The value at dotted ``path`` (attributes or dict keys) from ``holder``; a step that
    does not exist is a ``SetupError`` naming ``build.locate.<key>``."""
    value = holder
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
            continue
        try:
            value = getattr(value, part)
        except AttributeError:
            raise SetupError(f"build.locate.{key}: {describe_type(value)} has no "
                             f"attribute '{part}' (path '{path}')",
                             fix=f"correct 'build.locate.{key}' in the profile") from None
    return value


#: How deep ``locate_role`` searches what the wiring entry returned.
LOCATE_DEPTH = 3
