"""The ``json`` format: the run as a ``netra-diag/run/v1`` document.

With a baseline, the document gains a ``comparison`` object (``Comparison.to_dict()``: the
two runs' labels and every check id sorted into ``regressed``, ``still_failing``, ``fixed``,
``new``, ``removed`` and ``other``). It is an added field of ``netra-diag/run/v1``: readers
of the schema, ``RunReport.from_dict`` included, ignore it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model import RunReport

__all__ = ["render_json"]


def render_json(report: RunReport, baseline: RunReport | None = None) -> str:
    document = report.to_dict()
    if baseline is not None:
        from .comparison import compare

        document["comparison"] = compare(baseline, report).to_dict()
    return json.dumps(document, indent=2, default=repr) + "\n"
