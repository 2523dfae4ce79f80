"""Calling into unknown code: build arguments from real signatures, await what needs it.

Backends drift (a method sync in one release and async in the next; a notify method taking
``(agent_name, ...)`` here and ``(result)`` there), so checks never hard-code a call shape:
``fill_arguments`` reads the callee's signature and fills each parameter by name from the
profile's overrides, then from the values the check has at hand, then (only when the check
offers ``samples``) from a value the harness *invents*; a required parameter nobody can fill
is a ``SetupError`` naming it and the profile key that would supply it. ``settle`` awaits
whatever is awaitable and says so, so a coroutine never stands in for an object.

Invented values (``sample_value``) honour the parameter's annotation: a parameter annotated
``str`` gets a string, ``int`` an int, ``float`` a float, ``bool`` a bool, ``dict``/``Mapping``
a dict, ``list``/``Sequence`` a list, ``tuple`` a tuple, ``set`` a set (``Optional[X]`` and
``X | None`` as ``X``; ``Any`` or no annotation: the value offered for the parameter's name,
if any). A parameter annotated with any other class is never invented: the profile must
supply it.

Whose crash is it (``blame_invented``)? When a call made with invented values raises, the
exception is put down to an invented value, and so to the harness (an ``error`` naming
``build.<method>.<param>``), when all of these hold:

* it is a ``TypeError``, ``AttributeError``, ``ValueError``, ``KeyError`` or ``IndexError``
  (what a value of the wrong shape causes);
* its message names the type of an invented value (``'dict' object has no attribute
  'strip'``, ``must be str, not int``), or quotes the invented value itself (``invalid
  literal for int() with base 10: 'netra-diag ...'``); or it is a ``KeyError``/``IndexError``
  and an invented value is a container (the key was missing from what the harness made up).

Anything else (a ``RuntimeError``, the target's own exception classes, a ``TypeError`` about
a type the harness never passed, such as ``Object of type datetime is not JSON
serializable``) is the target's own crash: a ``fail`` with its traceback.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import SetupError

__all__ = [
    "SAMPLE_VALUES",
    "Call",
    "blame_invented",
    "describe_type",
    "fill_arguments",
    "sample_value",
    "settle",
    "signature_text",
]

#: Values a check may invent for a parameter, by the names real backends use.
SAMPLE_VALUES: dict[str, Any] = {
    "agent_name": "netra-diag-probe-agent",
    "agent_type": "netra-diag-probe-agent",
    "name": "netra-diag-probe-agent",
    "thought": "netra-diag is checking that thoughts reach the user",
    "reasoning": "netra-diag is checking that thoughts reach the user",
    "tool_name": "netra_diag_probe_tool",
    "tool": "netra_diag_probe_tool",
    "tool_args": {},
    "parameters": {},
    "result": {"ok": True},
    "metadata": {"source": "netra-diag"},
    "data": {"source": "netra-diag"},
    "message": "netra-diag probe",
    "step_number": 1,
    "progress": 0.5,
}

_BY_TYPE: dict[type, Callable[[str], Any]] = {
    str: lambda name: f"netra-diag {name}",
    int: lambda name: 1,
    float: lambda name: 1.0,
    bool: lambda name: True,
    dict: lambda name: {"source": "netra-diag"},
    list: lambda name: [],
    tuple: lambda name: (),
    set: lambda name: set(),
}
_ABSTRACT = {"Mapping": dict, "MutableMapping": dict, "Sequence": list,
             "MutableSequence": list, "Iterable": list, "Collection": list, "Set": set,
             "AbstractSet": set, "MutableSet": set}
_NAMES = {"str": str, "int": int, "float": float, "bool": bool, "dict": dict, "list": list,
          "tuple": tuple, "set": set, "Dict": dict, "List": list, "Tuple": tuple, "Set": set,
          "frozenset": set, "FrozenSet": set, **_ABSTRACT}
_UNKNOWN = object()


@dataclass(frozen=True)
class Call:
    """Positional and keyword arguments for one call, and which names came from where."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    filled: dict[str, str]
    #: parameter -> the value the harness invented for it (see the module doc)
    invented: dict[str, Any] = field(default_factory=dict)


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
    samples: Mapping[str, Any] | None = None,
) -> Call:
    """Arguments for ``func`` from ``overrides`` (the profile), then ``available``, then
    (when ``samples`` is given) a value invented from the parameter's annotation and name:
    for every required parameter, and for optional ones whose name ``samples`` offers.

        A parameter whose name nothing offers, annotated with a class, takes the one value at
    hand of that class (or a subclass), whatever its name (``_by_annotation``).

    ``profile_key`` is where the profile supplies overrides (``build.registry``); it is
    named in the ``SetupError`` for an unfillable required parameter.
    """
    overrides = overrides or {}
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise SetupError(f"cannot read the signature of {what}: {exc}") from None
    hints = _hints(func) if samples is not None else {}
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    filled: dict[str, str] = {}
    invented: dict[str, Any] = {}
    for name, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if isinstance(overrides.get(name), Offered):
            wanted = overrides[name].name
            if wanted not in available:
                raise SetupError(
                    f"'{profile_key}.{name}' asks for the run's {wanted!r}, which {what}'s "
                    "call does not offer", fix=f"name one of {sorted(available)} under "
                    f"'{profile_key}.{name}: {{offered: ...}}', or give a literal")
            value = available[wanted]
            origin = f"run context ({wanted}, as profile {profile_key}.{name} says)"
        elif name in overrides:
            value, origin = overrides[name], f"profile {profile_key}.{name}"
        elif name in available:
            value, origin = available[name], "run context"
        elif (typed := _by_annotation(param.annotation, available)) is not _UNKNOWN:
            value, origin = typed, "run context (by annotation)"
        elif samples is not None and (param.default is param.empty or name in samples) and (
                value := sample_value(name, hints.get(name, param.annotation), samples)
        ) is not _UNKNOWN:
            origin = "invented by the harness"
            invented[name] = value
        elif param.default is not param.empty:
            continue
        elif name in ("self", "cls") and not filled:
            raise SetupError(
                f"{what} is a method of a class, not bound to an object (its first parameter "
                f"is '{name}')",
                fix="name a method of an object instead ('module:OBJECT.method', for a "
                "module-level object), or a function of your hooks file that calls it")
        else:
            raise SetupError(
                f"{what} needs the parameter '{name}', and neither the run nor the profile "
                "supplies it",
                fix=f"set '{profile_key}.{name}' in the profile: a literal, "
                "{factory: 'module:attr'} to call a factory, {import: 'module:attr'}, or "
                f"{{offered: NAME}} for a value the run offers under another name",
            )
        filled[name] = origin
        if param.kind is param.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[name] = value
    return Call(tuple(args), kwargs, filled, invented)


@dataclass(frozen=True)
class Offered:
    """A ``build:`` value ``{offered: NAME}``: the value the run offers under ``NAME`` for
    this call (the agent's name, the user context...), passed under the parameter's own
    name."""

    name: str


def _by_annotation(annotation: Any, available: Mapping[str, Any]) -> Any:
    """The one value at hand whose class (or a base) the parameter's annotation names
    (``sessions: "SessionHub"`` gets the manager offered under another name); ``_UNKNOWN``
    when the annotation names no class, or none or several distinct values fit."""
    if annotation is inspect.Parameter.empty or annotation is None:
        return _UNKNOWN
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    wanted = text.strip("'\" ").split("|")[0].strip().rsplit(".", 1)[-1]
    if not wanted.isidentifier() or wanted in _NAMES or wanted in ("Any", "object"):
        return _UNKNOWN
    fits = {id(v): v for v in available.values()
            if v is not None and wanted in {k.__name__ for k in type(v).__mro__[:-1]}}
    return next(iter(fits.values())) if len(fits) == 1 else _UNKNOWN


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Evaluated annotations where they can be (``from __future__ import annotations``
    leaves strings); unevaluable ones stay as written."""
    target = func.__init__ if isinstance(func, type) else func  # type: ignore[misc]
    try:
        return typing.get_type_hints(target)
    except Exception:  # noqa: BLE001 - a forward reference we cannot resolve: read the text
        return dict(getattr(target, "__annotations__", {}) or {})


def sample_value(name: str, annotation: Any, samples: Mapping[str, Any]) -> Any:
    """An invented value for parameter ``name`` honouring ``annotation`` (module doc), or
    the module's ``_UNKNOWN`` marker when none fits."""
    kind = _kind(annotation)
    offered = samples.get(name, _UNKNOWN)
    if kind is None:  # no annotation, or Any: go by the name
        return offered
    if kind is _UNKNOWN:  # a class of the target's (or a type we do not model)
        return _UNKNOWN
    if offered is not _UNKNOWN and isinstance(offered, kind) and not (
            kind is not bool and isinstance(offered, bool)):
        return offered
    if kind is float and isinstance(offered, int) and not isinstance(offered, bool):
        return float(offered)
    return _BY_TYPE[kind](name)


def _kind(annotation: Any) -> Any:
    """The simple type an annotation asks for: a key of ``_BY_TYPE``; ``None`` for none or
    ``Any``; ``_UNKNOWN`` for anything else."""
    if annotation is inspect.Parameter.empty or annotation is None or annotation is Any:
        return None
    if isinstance(annotation, str):
        return _kind_from_text(annotation)
    if annotation in _BY_TYPE:
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        kinds = [_kind(a) for a in typing.get_args(annotation) if a is not type(None)]
        return kinds[0] if len(kinds) == 1 else _UNKNOWN
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin is not None:
        return _kind(origin) if origin in _BY_TYPE else _NAMES.get(
            getattr(origin, "__name__", ""), _UNKNOWN)
    return _NAMES.get(getattr(annotation, "__name__", ""), _UNKNOWN) \
        if getattr(annotation, "__module__", "") in ("typing", "collections.abc") else _UNKNOWN


def _kind_from_text(text: str) -> Any:
    """``_kind`` of an annotation left as text: ``'str | None'``, ``'Optional[dict]'``..."""
    text = text.strip().strip("'\"")
    if text in ("", "Any", "typing.Any", "None"):
        return None
    parts = [p.strip() for p in text.split("|")]
    if len(parts) > 1:
        kinds = [_kind_from_text(p) for p in parts if p != "None"]
        return kinds[0] if len(kinds) == 1 else _UNKNOWN
    outer, _, inner = text.partition("[")
    outer = outer.rsplit(".", 1)[-1]
    if outer == "Optional" and inner:
        return _kind_from_text(inner.rstrip("]"))
    return _NAMES.get(outer, _UNKNOWN)


_SHAPE_ERRORS = (TypeError, AttributeError, ValueError, KeyError, IndexError)


def blame_invented(exc: BaseException, invented: Mapping[str, Any]) -> str | None:
    """The invented parameter ``exc`` is put down to, or ``None`` when the crash is the
    target's own (the rule is in the module docstring)."""
    if not invented or not isinstance(exc, _SHAPE_ERRORS):
        return None
    message = str(exc)
    for name, value in invented.items():
        type_name = type(value).__name__
        if re.search(rf"(?<![\w.]){re.escape(type_name)}(?![\w.])", message):
            return name
        text = value if isinstance(value, str) else repr(value)
        if len(text) >= 3 and text in message:
            return name
    if isinstance(exc, KeyError | IndexError):
        for name, value in invented.items():
            if isinstance(value, dict | list | tuple | set):
                return name
    return None


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
