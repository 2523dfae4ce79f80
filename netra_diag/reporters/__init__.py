"""Reporters: every output format renders one ``RunReport`` and never calls a check.

The reporter interface is ``render(report, fmt, *, baseline=None) -> str``: a complete
document for ``json``, ``markdown``, ``junit``, ``sarif`` and ``github``. The ``rich``
terminal view is printed by ``netra_diag.reporters.terminal`` on a console, not returned as
text. Renderers are imported lazily so that ``netra-diag --help`` stays fast.

The helpers every renderer shares live in ``reporters.common`` (re-exported here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .common import (
    SHOWN_LOCATIONS,
    SUMMARY_LIMIT,
    data_lines,
    evidence_text,
    headline,
    located_evidence,
    located_text,
    primary_findings,
    repository_path,
    repository_root,
    result_text,
    short_summary,
    shown_evidence,
    strip_controls,
)

if TYPE_CHECKING:
    from netra_diag.model import RunReport

__all__ = [
    "FORMATS",
    "SHOWN_LOCATIONS",
    "SUMMARY_LIMIT",
    "data_lines",
    "evidence_text",
    "headline",
    "located_evidence",
    "located_text",
    "primary_findings",
    "render",
    "repository_path",
    "repository_root",
    "result_text",
    "short_summary",
    "shown_evidence",
    "strip_controls",
]

FORMATS: tuple[str, ...] = ("rich", "json", "markdown", "junit", "sarif", "github")


def render(report: RunReport, fmt: str, *, baseline: RunReport | None = None) -> str:
    """Render ``report`` as the document ``fmt``; ``baseline`` adds a before/after section
    to the markdown report and a ``comparison`` object to the JSON run (junit, sarif and
    github ignore it).

    Raises ``ValueError`` for ``rich`` (a console rendering, see ``reporters.terminal``) and
    for unknown formats.
    """
    if fmt == "json":
        from .json_report import render_json

        return render_json(report, baseline)
    if fmt == "markdown":
        from .markdown import render_markdown

        return render_markdown(report, baseline)
    if fmt == "junit":
        from .junit import render_junit

        return render_junit(report)
    if fmt == "sarif":
        from .sarif import render_sarif

        return render_sarif(report)
    if fmt == "github":
        from .github import render_github

        return render_github(report)
    if fmt == "rich":
        raise ValueError("the rich format is printed by reporters.terminal, not rendered as text")
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
