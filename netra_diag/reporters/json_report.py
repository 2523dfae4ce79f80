"""The ``json`` format: the run as a ``netra-diag/run/v1`` document."""

from __future__ import annotations

import json

from ..model import RunReport

__all__ = ["render_json"]


def render_json(report: RunReport) -> str:
    return json.dumps(report.to_dict(), indent=2, default=repr) + "\n"
