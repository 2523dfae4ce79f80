"""Phrase templates: how a check's declaration (``@check``) turns into text about a result.

A check declares its checklist criterion, its symptom phrases and its headline as
*alternatives*: a tuple of templates, the first that applies is used. A template is text
with ``{name}`` placeholders (``str.format`` syntax, format specs allowed: ``{p95_ms:.1f}``),
optionally led by guards in brackets that must all hold:

- ``[name]``: the field is present and true;
- ``[name=value]`` / ``[name<value]``: compares the field with another field of that name, or
  else with a JSON literal (``[wire=false]``, ``[delivered=0]``, ``[delivered<total]``).

Fields are the result's ``id``, ``title`` and ``summary``, then the keys of its evidence
``data`` (the first item carrying a key wins). A template applies when every guard holds and
every placeholder formats; when none applies the result is ``None``. Pure: no I/O, no
knowledge of any particular check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["fields_of", "guard_holds", "render"]

_GUARD_RE = re.compile(r"^\[([^\]]*)\]\s*")
_COMPARE_RE = re.compile(r"^\s*([\w.-]+)\s*(=|<)\s*(.+?)\s*$")
_MISSING = object()


def fields_of(result: Any) -> dict[str, Any]:
    """The fields a template may use about ``result`` (a ``CheckResult``)."""
    fields: dict[str, Any] = {}
    for ev in result.evidence:
        if isinstance(ev.data, dict):
            for key, value in ev.data.items():
                fields.setdefault(str(key), value)
    fields.update(id=result.id, title=result.title or result.id, summary=result.summary)
    return fields


def _operand(text: str, fields: Mapping[str, Any]) -> Any:
    if text in fields:
        return fields[text]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _holds(guard: str, fields: Mapping[str, Any]) -> bool:
    match = _COMPARE_RE.match(guard)
    if match is None:
        return bool(fields.get(guard.strip()))
    name, op, other = match.groups()
    left = fields.get(name, _MISSING)
    if left is _MISSING:
        return False
    right = _operand(other, fields)
    if op == "=":
        return left == right and isinstance(left, bool) == isinstance(right, bool)
    try:
        return bool(left < right)
    except TypeError:
        return False


def guard_holds(guards: str, fields: Mapping[str, Any]) -> bool:
    """True when every ``[guard]`` in ``guards`` holds (``""``: no guard, always true)."""
    rest = guards.strip()
    while rest:
        match = _GUARD_RE.match(rest)
        if match is None:
            return False
        if not _holds(match.group(1), fields):
            return False
        rest = rest[match.end():]
    return True


def render(templates: Iterable[str], fields: Mapping[str, Any]) -> str | None:
    """The first of ``templates`` that applies to ``fields``, filled; ``None`` if none does."""
    for template in templates:
        text = template
        ok = True
        while (match := _GUARD_RE.match(text)) is not None:
            if not _holds(match.group(1), fields):
                ok = False
                break
            text = text[match.end():]
        if not ok:
            continue
        try:
            return text.format_map(_Strict(fields))
        except (KeyError, ValueError, TypeError, IndexError, AttributeError):
            continue
    return None


class _Strict(dict):  # type: ignore[type-arg]
    """A mapping for ``format_map`` that refuses unknown names (the template does not apply)."""

    def __missing__(self, key: str) -> Any:
        raise KeyError(key)
