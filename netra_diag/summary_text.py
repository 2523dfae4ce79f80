"""A result's summary: about one line, the rest carried as the first evidence item.

``concise`` cuts a verdict's summary at a clause; ``full_summary`` joins it again for readers
that want the whole sentence (tests, comparisons). Plain text functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["CONTINUED", "SUMMARY_MAX", "concise", "full_summary"]

#: How long a result's summary may be: about one line; the rest goes to the evidence.
SUMMARY_MAX = 120
#: How the rest of a cut summary starts, as the first evidence item.
CONTINUED = "(summary, continued) "
_CUT = " (...)"


def concise(summary: str, limit: int = SUMMARY_MAX) -> tuple[str, str, str]:
    """``summary`` cut to about ``limit`` characters at a clause (``; `` or ``: ``, else a
    comma or a space), the rest (empty when it fits) and the separator at the cut."""
    if len(summary) <= limit:
        return summary, "", ""
    for mark in ("; ", ": ", ", ", " "):
        cut = summary.rfind(mark, 40, limit)
        if cut > 0:
            return summary[:cut] + _CUT, summary[cut + len(mark):], mark
    return summary[:limit] + _CUT, summary[limit:], ""


def full_summary(summary: str, evidence: Sequence[Any]) -> str:
    """A cut summary joined again with its continuation (``evidence`` as objects or dicts),
    for readers that want the whole sentence: tests, comparisons."""
    if not summary.endswith(_CUT):
        return summary
    for ev in evidence:
        message = ev.get("message", "") if isinstance(ev, dict) else getattr(ev, "message", "")
        data = ev.get("data") if isinstance(ev, dict) else getattr(ev, "data", None)
        if isinstance(message, str) and message.startswith(CONTINUED):
            mark = data.get("cut_at", " ") if isinstance(data, dict) else " "
            return f"{summary[:-len(_CUT)]}{mark}{message[len(CONTINUED):]}"
    return summary
