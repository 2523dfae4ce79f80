"""One ``run`` from request to exit code: registry, target, runner, report, outputs.

This is the library behind the CLI's ``run`` and ``report`` commands; it owns the order of
operations and where output goes (stdout carries only the chosen document; progress and
messages go to stderr), not the rendering (reporters) nor the running (runner).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import ConfigError, OutputError
from .exitcodes import ExitCode, exit_code_for
from .model import CheckResult, RunReport

__all__ = ["RunRequest", "assemble_report", "execute_run", "redact_report", "render_saved"]


@dataclass
class RunRequest:
    """The parsed options of ``netra-diag run``."""

    profile: Path | None = None
    format: str = "rich"
    output: Path | None = None
    reports: Sequence[str] = ()
    only: Sequence[str] = ()
    skip: Sequence[str] = ()
    inject: tuple[str, ...] = ()
    scenario: str | None = None
    jobs: int | None = None
    timeout: float = 60.0
    checks_dirs: Sequence[Path] = ()
    static: bool = False
    baseline: Path | None = None
    command: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    #: A prepared ``Target`` to diagnose instead of opening ``profile`` (``probe`` passes a
    #: live endpoint); the run closes it.
    target: Any = None
    #: When set, only checks carrying one of these tags are selected (``probe``: ``wire``).
    tags: Sequence[str] = ()


def environment() -> dict[str, Any]:
    return {
        "tool_version": __version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
    }


def assemble_report(
    *, target: dict[str, Any], results: Sequence[CheckResult], started_at: str,
    duration_s: float, interrupted: bool, command: Sequence[str], specs: Sequence[Any],
) -> RunReport:
    """Build the RunReport, with the diagnosis and each check's metadata."""
    from .analysis import chain_order, diagnose
    from .blocking import mark_blocked

    ordered = chain_order(mark_blocked(results))
    checks = {
        s.id: {"title": s.title, "why": s.why, "explain": s.explain, "fix": s.fix,
               "tags": list(s.tags), "depends_on": list(s.depends_on)}
        for s in specs
    }
    return RunReport(
        tool_version=__version__,
        target=target,
        started_at=started_at,
        duration_s=duration_s,
        results=tuple(ordered),
        diagnosis=diagnose(ordered, interrupted=interrupted),
        interrupted=interrupted,
        command=tuple(command),
        environment=environment(),
        checks=checks,
    )


def execute_run(request: RunRequest) -> ExitCode:
    """Run the checks the request selects and write its outputs; returns the exit code."""
    with interrupt_handling():
        return _execute_run(request)


def _execute_run(request: RunRequest) -> ExitCode:
    from .cli import build_registry, parse_report_option, select_specs
    from .target import open_target

    extra_reports = parse_report_option(list(request.reports))
    baseline = load_saved(request.baseline) if request.baseline else None
    prepared = request.target or open_target(request.profile, inject=request.inject,
                                             scenario=request.scenario)
    with prepared as target:
        registry = build_registry(list(request.checks_dirs), target.profile.checks_dirs,
                                  import_timeout_s=request.timeout)
        specs = select_specs(registry, list(request.only), list(request.skip))
        if request.tags:
            specs = [s for s in specs if set(s.tags) & set(request.tags)]
        from .runner import Runner, load_failure_result

        load_errors = [load_failure_result(f) for f in registry.failures]
        if not specs and not load_errors:
            print("netra-diag: no check selected", file=sys.stderr)
            return ExitCode.NO_CHECKS
        started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        progress = _progress(request.format, request.output, specs)
        runner = Runner(target.profile, jobs=request.jobs, timeout_s=request.timeout,
                        static=request.static, options=request.options,
                        on_start=progress.on_start if progress else None,
                        on_result=progress.on_result if progress else None)
        if progress:
            with progress:
                outcome = runner.run(specs)
        else:
            outcome = runner.run(specs)
        results = [*load_errors, *outcome.results]
        report = assemble_report(
            target=target.describe(), results=results, started_at=started_at,
            duration_s=time.perf_counter() - t0, interrupted=outcome.interrupted,
            command=request.command, specs=specs,
        )
    write_outputs(report, request.format, request.output, extra_reports, baseline,
                  request.secrets)
    return exit_code_for(report.results, interrupted=report.interrupted)


@contextlib.contextmanager
def interrupt_handling() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) stops a run like Ctrl-C; both handlers are restored on exit.

    The runner ignores further interrupts after the first one, until this block ends: by
    then the partial report has been written.
    """
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (an embedding application): leave it alone
        yield
        return
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def _progress(fmt: str, output: Path | None, specs: Sequence[Any]) -> Any:
    """A live view on the terminal that is not carrying a document, or None."""
    from .reporters.terminal import LiveProgress, interactive, make_console

    stream = sys.stdout if fmt == "rich" and output is None else sys.stderr
    if not interactive(stream):
        return None
    return LiveProgress(make_console(stream), list(specs))


def write_outputs(report: RunReport, fmt: str, output: Path | None,
                  extra: Sequence[tuple[str, Path]], baseline: RunReport | None,
                  secrets: Sequence[str] = ()) -> None:
    """Render the main format (stdout or ``output``) and every ``--report`` file."""
    import os

    from .reporters.atomic import redact, write_atomic

    if secrets:  # every format, the terminal's included, renders the redacted report
        report = redact_report(report, secrets)
    problems: list[str] = []
    ignoring = [f for f in dict.fromkeys((fmt, *(f for f, _ in extra)))
                if f in ("junit", "sarif", "github")] if baseline is not None else []
    if ignoring:
        print(f"netra-diag: note: --baseline shapes only the markdown, json and terminal "
              f"outputs (and the GitHub step summary), not {', '.join(ignoring)}",
              file=sys.stderr)
    # the JSON run first: it is what every other format can be rebuilt from
    for extra_fmt, path in sorted(extra, key=lambda item: item[0] != "json"):
        try:
            write_atomic(path, redact(_render(report, extra_fmt, baseline), secrets))
        except OutputError as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a renderer defect must not lose the others
            problems.append(f"could not render {extra_fmt} for {path}: "
                            f"{type(exc).__name__}: {exc}")
    if fmt == "rich" and output is None:
        from .reporters.terminal import make_console, render_report

        comparison = None
        if baseline is not None:
            from .reporters.comparison import compare

            comparison = compare(baseline, report).to_text()
        render_report(report, make_console(), comparison=comparison)
    else:
        text = redact(_render(report, fmt, baseline), secrets)
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            try:
                write_atomic(output, text)
            except OutputError as exc:
                problems.append(str(exc))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and "github" in (fmt, *(f for f, _ in extra)):
        from .reporters.github import append_step_summary

        try:
            append_step_summary(report, Path(summary), baseline=baseline)
        except OutputError as exc:
            problems.append(str(exc))
    if problems:
        raise OutputError("; ".join(problems))


def redact_report(report: RunReport, secrets: Sequence[str]) -> RunReport:
    """A copy of ``report`` with every secret replaced in every string it holds (keys,
    values, evidence, command line), before any reporter escapes or wraps the text."""
    from .reporters.atomic import redact

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, secrets)
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return RunReport.from_dict(clean(report.to_dict()))


def _render(report: RunReport, fmt: str, baseline: RunReport | None) -> str:
    if fmt == "rich":
        from io import StringIO

        from rich.console import Console

        from .reporters.terminal import render_report

        buf = StringIO()
        render_report(report, Console(file=buf, no_color=True, width=120, color_system=None))
        return buf.getvalue()
    from .reporters import render

    return render(report, fmt, baseline=baseline)


def load_saved(path: Path) -> RunReport:
    """Read a saved JSON run; ``ConfigError`` (exit 4) when it is missing or foreign."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable JSON run: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a JSON run: nested too deeply to read") from None
    try:
        return RunReport.from_dict(raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def render_saved(run_json: Path, fmt: str, output: Path | None,
                 baseline_path: Path | None) -> ExitCode:
    """``netra-diag report``: render a saved run without re-running anything."""
    report = load_saved(run_json)
    baseline = load_saved(baseline_path) if baseline_path else None
    write_outputs(report, fmt, output, (), baseline)
    return ExitCode.OK
