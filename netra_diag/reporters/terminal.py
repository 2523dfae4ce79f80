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

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from ..analysis import chain_order, diagnose, why_label
from ..model import CheckResult, RunReport, Status
from ..registry import CheckSpec
from . import strip_controls

__all__ = ["STATUS_STYLE", "LiveProgress", "make_console", "render_report"]

STATUS_STYLE = {
    Status.PASS: "bold green",
    Status.FAIL: "bold red",
    Status.ERROR: "bold yellow",
    Status.SKIP: "dim",
}
_MAX_EVIDENCE_LINES = 40


def interactive(stream: IO[str]) -> bool:
    """True when live progress and colour are allowed on ``stream``."""
    if os.environ.get("NO_COLOR") or os.environ.get("CI"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def make_console(stream: IO[str] | None = None) -> Console:
    """A console on ``stream`` (stdout by default) with colour only where allowed."""
    stream = stream or sys.stdout
    live = interactive(stream)
    return Console(
        file=stream,
        no_color=not live,
        color_system="auto" if live else None,
        highlight=False,
        width=None if live else 120,
        force_terminal=live or None,
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


def render_report(report: RunReport, console: Console, *, comparison: str | None = None) -> None:
    """Print the results table (in chain order), evidence for non-passing checks and the
    diagnosis. Text from the target never reaches the terminal with control characters."""
    target = report.target
    faults = ", ".join(str(f) for f in target.get("faults") or []) or "none"
    console.print(Text.assemble(("netra-diag ", "bold"), _clean(report.tool_version),
                                "  target: ", (_clean(target.get("name")), "bold"),
                                f"  faults: {_clean(faults)}"))
    ordered = chain_order(report.results)
    table = Table(show_lines=False, header_style="bold", expand=False)
    table.add_column("why", justify="right", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("summary", overflow="fold")
    for result in ordered:
        table.add_row(
            escape(_clean(why_label(result.why))),
            escape(_clean(result.id)),
            Text(result.status.value.upper(), style=STATUS_STYLE[result.status]),
            escape(_clean(result.summary)),
        )
    console.print(table)
    for result in ordered:
        if result.status is Status.PASS:
            continue
        console.print(_evidence_block(result))
    if comparison:
        console.print(Text("Compared with the baseline", style="bold"))
        console.print(Text(_clean(comparison)))
    console.print(_diagnosis_block(report))


def _evidence_block(result: CheckResult) -> Group:
    style = STATUS_STYLE[result.status]
    parts: list[Any] = [Text.assemble((f"{result.status.value.upper()} ", style),
                                      (_clean(result.id), "bold"), f": {_clean(result.summary)}")]
    for ev in result.evidence:
        where = f"{_clean(ev.location)}: " if ev.location else ""
        lines = _clean(ev.message).splitlines() or [""]
        if len(lines) > _MAX_EVIDENCE_LINES:
            cut = len(lines) - _MAX_EVIDENCE_LINES
            lines = [*lines[:_MAX_EVIDENCE_LINES], f"... ({cut} more lines in the JSON report)"]
        head = Text.assemble("  - ", (f"[{_clean(ev.kind)}] ", "dim"), (where, "cyan"), lines[0])
        parts.append(head)
        parts.extend(Text("      " + line) for line in lines[1:])
    if result.fix:
        parts.append(Text.assemble("  fix: ", (_clean(result.fix), "italic")))
    parts.append(Text(""))
    return Group(*parts)


def _diagnosis_block(report: RunReport) -> Group:
    # recomputed, like the markdown report's, so a stale stored verdict cannot show
    d = diagnose(report.results, interrupted=report.interrupted)
    counts = report.counts
    line = Text.assemble(
        ("Diagnosis: ", "bold"),
        (str(d.get("verdict", "")).upper() or "-", "bold"),
        f"  ({counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, "
        f"{counts['skip']} skipped in {report.duration_s:.2f} s)",
    )
    parts: list[Any] = [line]
    if report.interrupted:
        parts.append(Text("  interrupted: the run is incomplete (checks cut short are errors, "
                          "checks never started are skipped); health is not proven",
                          style="yellow"))
    if d.get("symptom"):
        parts.append(Text(f"  symptom: {_clean(d['symptom'])}"))
    links = d.get("failing_links") or []
    if links:
        chain = ", ".join(f"{why_label(link.get('why'))} {link.get('id')}" for link in links)
        parts.append(Text(f"  failing links, along the chain: {_clean(chain)}"))
    root = d.get("root_cause")
    if root:
        where = f" at {_clean(root['location'])}" if root.get("location") else ""
        parts.append(Text.assemble("  root-cause candidate: ",
                                   (_clean(root.get("id")), "bold"), where,
                                   f"  (next: netra-diag explain {_clean(root.get('id'))})"))
    for check_id in d.get("undecided") or []:
        parts.append(Text(f"  undecided: {_clean(check_id)} (see its error for how to fix the "
                          "set-up)"))
    return Group(*parts)
