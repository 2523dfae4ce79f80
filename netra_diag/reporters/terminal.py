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

from ..model import CheckResult, RunReport, Status
from ..registry import CheckSpec

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


def why_label(why: Any) -> str:
    if isinstance(why, int):
        return f"#{why}"
    return str(why) if why is not None else "-"


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


def render_report(report: RunReport, console: Console, *, comparison: str | None = None) -> None:
    """Print the results table, evidence for non-passing checks and the diagnosis."""
    target = report.target
    faults = ", ".join(target.get("faults") or []) or "none"
    console.print(Text.assemble(("netra-diag ", "bold"), report.tool_version, "  target: ",
                                (str(target.get("name")), "bold"), f"  faults: {faults}"))
    table = Table(show_lines=False, header_style="bold", expand=False)
    table.add_column("why", justify="right", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("summary", overflow="fold")
    for result in report.results:
        table.add_row(
            why_label(result.why),
            escape(result.id),
            Text(result.status.value.upper(), style=STATUS_STYLE[result.status]),
            escape(result.summary),
        )
    console.print(table)
    for result in report.results:
        if result.status is Status.PASS:
            continue
        console.print(_evidence_block(result))
    if comparison:
        console.print(Text("Compared with the baseline", style="bold"))
        console.print(Text(comparison))
    console.print(_diagnosis_block(report))


def _evidence_block(result: CheckResult) -> Group:
    style = STATUS_STYLE[result.status]
    parts: list[Any] = [Text.assemble((f"{result.status.value.upper()} ", style),
                                      (result.id, "bold"), f": {result.summary}")]
    for ev in result.evidence:
        where = f"{ev.location}: " if ev.location else ""
        lines = ev.message.splitlines() or [""]
        if len(lines) > _MAX_EVIDENCE_LINES:
            cut = len(lines) - _MAX_EVIDENCE_LINES
            lines = [*lines[:_MAX_EVIDENCE_LINES], f"... ({cut} more lines in the JSON report)"]
        head = Text.assemble("  - ", (f"[{ev.kind}] ", "dim"), (where, "cyan"), lines[0])
        parts.append(head)
        parts.extend(Text("      " + line) for line in lines[1:])
    if result.fix:
        parts.append(Text.assemble("  fix: ", (result.fix, "italic")))
    parts.append(Text(""))
    return Group(*parts)


def _diagnosis_block(report: RunReport) -> Group:
    d = report.diagnosis or {}
    counts = report.counts
    line = Text.assemble(
        ("Diagnosis: ", "bold"),
        (str(d.get("verdict", "")).upper() or "-", "bold"),
        f"  ({counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, "
        f"{counts['skip']} skipped in {report.duration_s:.2f} s)",
    )
    parts: list[Any] = [line]
    if report.interrupted:
        parts.append(Text("  interrupted: only the checks that finished are shown",
                          style="yellow"))
    if d.get("symptom"):
        parts.append(Text(f"  symptom: {d['symptom']}"))
    links = d.get("failing_links") or []
    if links:
        chain = ", ".join(f"{why_label(link.get('why'))} {link.get('id')}" for link in links)
        parts.append(Text(f"  failing links, along the chain: {chain}"))
    root = d.get("root_cause")
    if root:
        where = f" at {root['location']}" if root.get("location") else ""
        parts.append(Text.assemble("  root-cause candidate: ", (str(root.get("id")), "bold"),
                                   where, f"  (next: netra-diag explain {root.get('id')})"))
    for check_id in d.get("undecided") or []:
        parts.append(Text(f"  undecided: {check_id} (see its error for how to fix the set-up)"))
    return Group(*parts)
