"""The ``json`` format: the run as a ``netra-diag/run/v1`` document.

With a baseline, the document gains a ``comparison`` object (``Comparison.to_dict()``: the
two runs' labels and every check id sorted into ``regressed``, ``still_failing``, ``fixed``,
``new``, ``removed`` and ``other``). It is an added field of ``netra-diag/run/v1``: readers
of the schema, ``RunReport.from_dict`` included, ignore it.

Every string is stripped of control characters (``strip_controls``, as every format does)
and a non-finite number in evidence data is written as the string ``"NaN"``, ``"Infinity"``
or ``"-Infinity"`` (``model.json_safe``): the document is always strict JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import RunReport

__all__ = ["render_json"]


def render_json(report: RunReport, baseline: RunReport | None = None) -> str:
    from ..model import json_safe
    from .common import strip_controls

    document = report.to_dict()
    if baseline is not None:
        from .comparison import compare

        document["comparison"] = compare(baseline, report).to_dict()
    return json.dumps(_clean(json_safe(document), strip_controls), indent=2, default=repr,
                      allow_nan=False) + "\n"


def _clean(value: Any, strip: Callable[[str], str]) -> Any:
    """Every string (keys included) without control characters: a terminal escape from a
    plugin or a server (``\\u001b[2J``) must not survive into a document that others print."""
    if isinstance(value, str):
        return strip(value)
    if isinstance(value, dict):
        return {strip(k) if isinstance(k, str) else k: _clean(v, strip)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, strip) for v in value]
    return value
