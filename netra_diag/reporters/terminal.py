"""The ``rich`` format: a live view while checks run, then the results table.

The only module that imports rich (with the CLI's console factory). It renders a
``RunReport``; it never runs a check. Colour and the live view appear only on a terminal,
never under ``NO_COLOR`` or when ``CI`` is set.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from ..analysis import chain_order, why_label
from ..diagnosis import RootCause
from ..model import CheckResult, RunReport, Status
from ..registry import CheckSpec
from .common import short_summary, shown_evidence, strip_controls

__all__ = ["COLOR_CHOICES", "STATUS_STYLE", "LiveProgress", "make_console", "render_report"]

STATUS_STYLE = {
    Status.PASS: "bold green",
    Status.FAIL: "bold red",
    Status.ERROR: "bold yellow",
    Status.SKIP: "dim",
}
_MAX_EVIDENCE_LINES = 40
_DEFAULT_WIDTH = 120
#: Below this many columns for the summary, the results table stacks each summary under its
#: check instead of squeezing it into a narrow column (where paths would be split).
_MIN_SUMMARY_WIDTH = 60


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 error``, ``2 errors`` (``many`` for irregular plurals)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def _width(stream: IO[str]) -> int:
    """The real width of the terminal ``stream`` is on (whatever NO_COLOR or CI say: they
    remove colour, not width); else ``COLUMNS`` when it is a positive integer; else 120."""
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        pass
    try:
        width = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return _DEFAULT_WIDTH
    return width if width > 0 else _DEFAULT_WIDTH


def interactive(stream: IO[str]) -> bool:
    """True when live progress (and, with ``--color auto``, colour) is allowed on
    ``stream``: a terminal, without ``NO_COLOR`` or ``CI`` set."""
    if os.environ.get("NO_COLOR") or os.environ.get("CI"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


COLOR_CHOICES = ("auto", "always", "never")


def make_console(stream: IO[str] | None = None, color: str = "auto") -> Console:
    """A console on ``stream`` (stdout by default), as wide as its terminal; colour per
    ``color``: ``auto`` (only where ``interactive``), ``always`` or ``never``."""
    stream = stream or sys.stdout
    coloured = interactive(stream) if color == "auto" else color == "always"
    return Console(
        file=stream,
        no_color=not coloured,
        color_system="auto" if coloured else None,
        highlight=False,
        width=_width(stream),
        force_terminal=coloured or None,
    )


class LiveProgress:
    """A spinner and elapsed time per running check; finished ones show their status."""

    def __init__(self, console: Console, specs: list[CheckSpec]) -> None:
        self.console = console
        self.rows: dict[str, dict[str, Any]] = {
            s.id: {"spec": s, "started": None, "result": None} for s in specs
        }
        self.started = time.monotonic()
        self.live = Live(get_renderable=self._render, console=console, transient=True,
                         refresh_per_second=8, redirect_stdout=False, redirect_stderr=False)

    def __enter__(self) -> LiveProgress:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def on_start(self, spec: CheckSpec) -> None:
        self.rows[spec.id]["started"] = time.monotonic()

    def on_result(self, result: CheckResult) -> None:
        row = self.rows.setdefault(result.id, {"spec": None, "started": None, "result": None})
        row["result"] = result

    def _render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        now = time.monotonic()
        for check_id, row in self.rows.items():
            result: CheckResult | None = row["result"]
            if result is not None:
                mark: Any = Text(result.status.value.upper(), style=STATUS_STYLE[result.status])
                detail = f"{result.duration_s:.2f} s"
            elif row["started"] is not None:
                mark = Spinner("dots", style="cyan")
                detail = f"{now - row['started']:.1f} s"
            else:
                mark, detail = Text("queued", style="dim"), ""
            table.add_row(mark, Text(check_id), Text(detail, style="dim"))
        table.add_row("", Text(f"elapsed {now - self.started:.1f} s", style="dim"), "")
        return table


def _clean(value: Any) -> str:
    """Text from the report made safe for a terminal: control characters (ESC sequences,
    NUL, ...) stripped as in every other format; newlines and tabs kept."""
    return strip_controls(str(value))


def _hanging(label: Text | str, body: RenderableType, indent: int = 0) -> Table:
    """``label`` then ``body``, whose wrapped lines stay indented under its first line (a
    hanging indent), the whole ``indent`` columns in."""
    grid = Table.grid(padding=0)
    cells: list[RenderableType] = []
    if indent:
        grid.add_column(no_wrap=True, width=indent)
        cells.append(Text(" " * indent))
    if label:
        grid.add_column(no_wrap=True)
        cells.append(Text(label) if isinstance(label, str) else label)
    grid.add_column(overflow="fold")
    grid.add_row(*cells, body)
    return grid


def _header(report: RunReport) -> Group:
    target = report.target
    parts: list[RenderableType] = [
        Text.assemble(("netra-diag ", "bold"), _clean(report.tool_version),
                      "  target: ", (_clean(target.get("name")), "bold"))]
    if target.get("builtin") or target.get("faults"):  # faults exist only for the reference
        faults = ", ".join(_clean(f) for f in target.get("faults") or []) or "none"
        parts.append(_hanging("faults: ", Text(faults)))
    return Group(*parts)


def _results_table(ordered: list[CheckResult], width: int) -> RenderableType:
    """The results: a table when the summary column gets at least ``_MIN_SUMMARY_WIDTH``
    columns, otherwise each summary stacked under its check (so it gets the width)."""
    why_w = max([3, *(len(why_label(r.why)) for r in ordered)])
    check_w = max([5, *(len(_clean(r.id)) for r in ordered)])
    fixed = why_w + check_w + len("status") + 8  # three padded columns and the gutter
    if width - fixed >= _MIN_SUMMARY_WIDTH:
        table = Table(box=box.SIMPLE_HEAD, header_style="bold", expand=False,
                      padding=(0, 1), pad_edge=False, show_edge=False)
        table.add_column("why", justify="right", no_wrap=True, min_width=why_w)
        table.add_column("check", no_wrap=True, min_width=check_w)
        table.add_column("status", no_wrap=True)
        table.add_column("summary", ratio=1, overflow="fold")
        for result in ordered:
            table.add_row(
                escape(_clean(why_label(result.why))),
                escape(_clean(result.id)),
                Text(result.status.value.upper(), style=STATUS_STYLE[result.status]),
                escape(_clean(short_summary(result)[0])),
            )
        return table
    rows: list[RenderableType] = []
    for result in ordered:
        rows.append(Text.assemble(f"{_clean(why_label(result.why)):>{why_w}} ",
                                  (f"{_clean(result.id)} ", "bold"),
                                  (result.status.value.upper(), STATUS_STYLE[result.status])))
        rows.append(_hanging("", Text(_clean(short_summary(result)[0])), indent=why_w + 1))
    return Group(*rows)


def render_report(report: RunReport, console: Console, *, comparison: str | None = None,
                  verbosity: int = 0) -> None:
    """Print the results table (in chain order), evidence for non-passing checks and the
    diagnosis. Text from the target never reaches the terminal with control characters.
    Wrapped lines keep a hanging indent under their bullet or label.

    ``verbosity`` -1 (``-q``) prints the verdict line alone; 1 (``-v``) the evidence of every
    check, passing ones included."""
    if verbosity < 0:
        console.print(_verdict_line(report))
        return
    console.print(_header(report))
    ordered = chain_order(report.results, report.checks)
    console.print(_results_table(ordered, console.width))
    for result in ordered:
        if result.status is Status.PASS and verbosity < 1:
            continue
        if not result.evidence and not result.fix and not short_summary(result)[1]:
            continue
        console.print(_evidence_block(result))
    if comparison:
        console.print(Text("Compared with the baseline", style="bold"))
        console.print(Text(_clean(comparison)))
    console.print(_diagnosis_block(report))


def _evidence_block(result: CheckResult) -> Group:
    """A check's evidence under its id (its summary is in the table above: said once)."""
    style = STATUS_STYLE[result.status]
    parts: list[Any] = [Text.assemble((f"{result.status.value.upper()} ", style),
                                      (_clean(result.id), "bold"))]
    rest = short_summary(result)[1]
    if rest:  # what the table's one line could not hold
        parts.append(_hanging("- ", Text.assemble(("[summary] ", "dim"), _clean(rest)),
                              indent=2))
    items, more = shown_evidence(list(result.evidence))
    for ev in items:
        where = f"{_clean(ev.location)}: " if ev.location else ""
        lines = _clean(ev.message).splitlines() or [""]
        if len(lines) > _MAX_EVIDENCE_LINES:
            cut = len(lines) - _MAX_EVIDENCE_LINES
            lines = [*lines[:_MAX_EVIDENCE_LINES], f"... ({cut} more lines in the JSON report)"]
        body = Text.assemble((f"[{_clean(ev.kind)}] ", "dim"), (where, "cyan"),
                             "\n".join(lines))
        parts.append(_hanging("- ", body, indent=2))
    if more:
        parts.append(_hanging("- ", Text(f"... and {more} more location{'s' * (more > 1)} "
                                         "(all of them in the json, sarif and github "
                                         "reports)", style="dim"), indent=2))
    if result.fix:
        parts.append(_hanging("fix: ", Text(_clean(result.fix), style="italic"), indent=2))
    parts.append(Text(""))
    return Group(*parts)


def _verdict_line(report: RunReport) -> Text:
    d = report.diagnosis
    counts = report.counts
    return Text.assemble(
        ("Diagnosis: ", "bold"),
        (d.verdict.upper() or "-", "bold"),
        f"  ({counts['pass']} passed, {counts['fail']} failed, "
        f"{plural(counts['error'], 'error')}, {counts['skip']} skipped in "
        f"{report.duration_s:.2f} s)",
    )


def _without_summary(report: RunReport, root: RootCause) -> str:
    """The root cause's reasoning without its opening ``WHY #n fails: <summary>; `` (the
    table shows the summary already)."""
    reasoning = root.reasoning
    result = report.result(root.id)
    if result is not None:
        for sep in ("; ", ". "):
            head = f" fails: {result.summary}{sep}"
            at = reasoning.find(head)
            if 0 <= at <= 20:
                rest = reasoning[at + len(head):]
                return rest[:1].upper() + rest[1:]
    return reasoning


def _diagnosis_block(report: RunReport) -> Group:
    d = report.diagnosis
    parts: list[Any] = [_verdict_line(report)]
    if report.interrupted:
        parts.append(_hanging("interrupted: ", Text(
            "the run is incomplete (checks cut short are errors, checks never started are "
            "skipped); health is not proven", style="yellow"), indent=2))
    if d.symptom:
        parts.append(_hanging("symptom: ", Text(_clean(d.symptom)), indent=2))
    links = d.failing_links
    if links:
        chain = ", ".join(f"{why_label(link.why)} {link.id}" for link in links)
        parts.append(_hanging("failing links, along the chain: ", Text(_clean(chain)),
                              indent=2))
    root = d.root_cause
    if root:
        where = f" at {_clean(root.location)}" if root.location else ""
        parts.append(_hanging("first to fix: ", Text.assemble(
            (_clean(root.id), "bold"), where,
            f"  (next: netra-diag explain {_clean(root.id)})"), indent=2))
        reasoning = _without_summary(report, root)
        if reasoning:
            parts.append(_hanging("why: ", Text(_clean(reasoning)), indent=2))
    for check_id in d.undecided:
        parts.append(_hanging("undecided: ", Text(f"{_clean(check_id)} (see its error for how "
                                                  "to fix the set-up)"), indent=2))
    return Group(*parts)
