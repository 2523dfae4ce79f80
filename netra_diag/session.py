"""One ``run`` from request to exit code: registry, target, runner, report, outputs.

This is the library behind the CLI's ``run`` and ``report`` commands; it owns the order of
operations and where output goes (stdout carries only the chosen document; progress and
messages go to stderr), not the rendering (reporters) nor the running (runner).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import ConfigError, OutputError
from .exitcodes import ExitCode, exit_code_for
from .model import CheckResult, RunReport
from .timings import mark

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
    #: -1 quiet (the verdict line only, no notes on stderr), 0 normal, 1 verbose (every
    #: evidence item, passing checks' too): the terminal view's detail.
    verbosity: int = 0
    #: ``auto`` (colour on a terminal without NO_COLOR or CI), ``always`` or ``never``.
    color: str = "auto"


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

    checks = {s.id: s.meta() for s in specs}
    ordered = chain_order(mark_blocked(results, checks), checks)
    return RunReport(
        tool_version=__version__,
        target=target,
        started_at=started_at,
        duration_s=duration_s,
        results=tuple(ordered),
        diagnosis=diagnose(ordered, checks=checks, interrupted=interrupted),
        interrupted=interrupted,
        command=tuple(command),
        environment=environment(),
        checks=checks,
    )


def _shared_scan(profile: Any, specs: Sequence[Any], *, keep: bool = True
                 ) -> contextlib.AbstractContextManager:
    """One scan of the source for the whole run, when a selected check reads the source and
    the profile names something to look for (``support.snapshot``); else nothing at all.
    ``keep``: the snapshot may be kept in the cache (not for a private copy, never seen
    again)."""
    if not any(s.static for s in specs) or not (profile.roles or profile.deprecated):
        return contextlib.nullcontext()
    from .support.snapshot import shared_scan

    return shared_scan(profile, keep=keep)


def execute_run(request: RunRequest) -> ExitCode:
    """Run the checks the request selects and write its outputs; returns the exit code.

    The options are validated with interrupts deferred; from then on Ctrl-C and SIGTERM
    (one that arrived earlier included) stop the run, and the reports are written all the
    same: what finished, a check cut short ``error``, one never started ``skip``."""
    from . import interrupts
    from .checkserver import CheckServer

    # started first: its imports overlap ours (the runner adopts it, or it is killed)
    server = CheckServer.start_early()
    try:
        with interrupts.handlers("defer"):
            outputs = _validate(request)
        with interrupts.handlers("raise"):
            return _execute_run(request, *outputs, server=server)
    finally:
        if server is not None:
            server.close()


def _validate(request: RunRequest) -> tuple[list[tuple[str, Path]], RunReport | None]:
    """The ``--report`` outputs and the baseline; ``ConfigError`` (exit 4) for bad options."""
    from .cli_options import parse_report_option
    from .limits import MAX_TIMEOUT_S, finite_positive

    finite_positive(request.timeout, "--timeout", maximum=MAX_TIMEOUT_S)
    extra_reports = parse_report_option(list(request.reports))
    check_distinct_outputs(request.output, extra_reports)
    baseline = load_saved(request.baseline) if request.baseline else None
    return extra_reports, baseline


def _execute_run(request: RunRequest, extra_reports: list[tuple[str, Path]],
                 baseline: RunReport | None, server: Any = None) -> ExitCode:
    from . import interrupts
    from .cli import build_registry, select_specs
    from .runner import ignore_further_interrupts
    from .target import open_target

    started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    known: dict[str, Any] = {}  # what the run knew when an interrupt came: target, specs
    try:
        interrupts.raise_pending()  # a signal during start-up: report every check skip
        prepared = request.target or open_target(request.profile, inject=request.inject,
                                                 scenario=request.scenario)
        with prepared as target:
            mark("parent", "target opened")
            known["target"] = target.describe()
            if request.verbosity >= 0:  # the first line: which target, and why
                origin = known["target"].get("origin")
                print(f"netra-diag: target: {known['target'].get('name')}"
                      + (f": {origin}" if origin else ""), file=sys.stderr)
            registry = build_registry(list(request.checks_dirs), target.profile.checks_dirs,
                                      import_timeout_s=request.timeout)
            mark("parent", "registry loaded")
            specs = select_specs(registry, list(request.only), list(request.skip))
            if request.tags:
                specs = [s for s in specs if set(s.tags) & set(request.tags)]
            known["specs"] = specs
            from .runner import Runner, load_failure_result

            load_errors = [load_failure_result(f) for f in registry.failures]
            if not specs and not load_errors:
                print("netra-diag: no check selected", file=sys.stderr)
                return ExitCode.NO_CHECKS
            started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
            t0 = time.perf_counter()
            progress = _progress(request.format, request.output, specs)
            runner = Runner(target.profile, jobs=request.jobs, timeout_s=request.timeout,
                            static=request.static, options=request.options, server=server,
                            private_copy=target.builtin,
                            on_start=progress.on_start if progress else None,
                            on_result=progress.on_result if progress else None)
            with _shared_scan(target.profile, specs, keep=not target.builtin):
                if progress:
                    with progress:
                        outcome = runner.run(specs)
                else:
                    outcome = runner.run(specs)
            ignore_further_interrupts()  # the results are in: nothing may lose them now
            mark("parent", "checks done")
            results = [*load_errors, *outcome.results]
            report = assemble_report(
                target=known["target"], results=results, started_at=started_at,
                duration_s=time.perf_counter() - t0, interrupted=outcome.interrupted,
                command=request.command, specs=specs,
            )
            from .snippets import code_context  # while the target (a private copy) exists

            report = dataclasses.replace(report, sources=code_context(report.results,
                                                                      target.profile.root))
    except KeyboardInterrupt:
        ignore_further_interrupts()  # a second Ctrl-C must not lose the report
        print("netra-diag: interrupted before any check started", file=sys.stderr)
        report = _not_started(request, known, started_at, time.perf_counter() - t0)
    write_outputs(report, request.format, request.output, extra_reports, baseline,
                  request.secrets, verbosity=request.verbosity, color=request.color)
    mark("parent", "outputs written")
    return exit_code_for(report.results, interrupted=report.interrupted)


def _not_started(request: RunRequest, known: dict[str, Any], started_at: str,
                 duration_s: float) -> RunReport:
    """The report of a run interrupted before any check started: every selected check
    ``skip`` (the built-in ones when the selection was not made yet)."""
    from .model import Status

    specs = known.get("specs")
    if specs is None:
        try:
            from .registry import Registry

            registry = Registry()
            registry.load_builtin()
            specs = [s for s in registry.specs
                     if (not request.only or s.id in request.only)
                     and s.id not in request.skip
                     and (not request.tags or set(s.tags) & set(request.tags))]
        except Exception:  # noqa: BLE001 - the report is written without a check list
            specs = []
    target = known.get("target") or _unopened_target(request)
    results = [CheckResult(id=s.id, why=s.why, title=s.title, status=Status.SKIP,
                           summary="not run: the run was interrupted before it started")
               for s in specs]
    return assemble_report(target=target, results=results, started_at=started_at,
                           duration_s=duration_s, interrupted=True, command=request.command,
                           specs=specs)


def _unopened_target(request: RunRequest) -> dict[str, Any]:
    """The ``target`` of a run interrupted before its target was opened."""
    if request.target is not None:
        return request.target.describe()
    builtin = request.profile is None
    return {"name": "netra-diag reference" if builtin else str(request.profile), "root": None,
            "builtin": builtin, "scenario": request.scenario, "faults": list(request.inject)}


def check_distinct_outputs(output: Path | None, extra: Sequence[tuple[str, Path]]) -> None:
    """``ConfigError`` (exit 4, before anything runs) when two outputs name one file: one
    would silently overwrite the other."""
    import os

    seen: dict[str, str] = {}
    named = ([("--output", output)] if output is not None else []) + \
        [(f"--report {fmt}:{path}", path) for fmt, path in extra]
    for label, path in named:
        key = os.path.realpath(path)
        if key in seen:
            raise ConfigError(f"{seen[key]} and {label} write the same file {path}; give "
                              "each output its own path")
        seen[key] = label


def _progress(fmt: str, output: Path | None, specs: Sequence[Any]) -> Any:
    """A live view on the terminal that is not carrying a document, or None."""
    stream = sys.stdout if fmt == "rich" and output is None else sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        return None  # decided without importing rich (the terminal's reporter needs it)
    from .reporters.terminal import LiveProgress, interactive, make_console

    if not interactive(stream):
        return None
    return LiveProgress(make_console(stream), list(specs))


def write_outputs(report: RunReport, fmt: str, output: Path | None,
                  extra: Sequence[tuple[str, Path]], baseline: RunReport | None,
                  secrets: Sequence[str] = (), *, verbosity: int = 0,
                  color: str = "auto") -> None:
    """Render the main format (stdout or ``output``) and every ``--report`` file; each file
    written is named in one line on stderr (unless ``verbosity`` is quiet)."""
    import os

    from .reporters.atomic import write_atomic

    if secrets:  # every format, the terminal's included, renders the redacted report(s)
        report = redact_report(report, secrets)
        if baseline is not None:
            baseline = redact_report(baseline, secrets)
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
            write_atomic(path, _render(report, extra_fmt, baseline))
            _wrote(extra_fmt, path, verbosity)
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
        render_report(report, make_console(color=color), comparison=comparison,
                      verbosity=verbosity)
    else:
        text = _render(report, fmt, baseline, verbosity)
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            try:
                write_atomic(output, text)
                _wrote(fmt, output, verbosity)
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


def _wrote(fmt: str, path: Path, verbosity: int) -> None:
    """One line on stderr per file written (pytest's ``--junitxml`` does the same)."""
    if verbosity >= 0:
        print(f"netra-diag: wrote {fmt} report to {path}", file=sys.stderr)


#: Fields of the JSON run that hold identifiers or enum values, never rendered free text:
#: redaction leaves them alone (a token equal to ``pass`` must not corrupt a status).
_IDENTIFIER_FIELDS = frozenset({"id", "status", "why", "kind", "line", "depends_on", "tags",
                                "schema", "duration_s", "counts", "verdict", "symptom_checks",
                                "undecided", "interrupted", "builtin", "probe", "ids", "by",
                                "critical", "order", "check"})


def redact_report(report: RunReport, secrets: Sequence[str]) -> RunReport:
    """A copy of ``report`` with every secret replaced in the text it holds (summaries,
    evidence, fixes, the target, the command line, data keys and values), before any
    reporter escapes or wraps the text. Identifiers and enum values are never touched:
    check ids and status names inside text are kept whole."""
    from .model import Status
    from .reporters.atomic import redact

    keep = {r.id for r in report.results} | set(report.checks) | {s.value for s in Status}
    for meta in report.checks.values():
        keep.update(str(d) for d in meta.get("depends_on", ()) or ())

    def clean(value: Any, field: str = "", data: bool = False) -> Any:
        if field in _IDENTIFIER_FIELDS and not data:  # evidence data is all free text
            return value
        if isinstance(value, str):
            return redact(value, secrets, keep)
        if isinstance(value, dict):
            return {(k if k in keep else clean(k)): clean(v, k, data or k == "data")
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v, "", data) for v in value]
        return value

    return RunReport.from_dict(clean(report.to_dict()))


def _render(report: RunReport, fmt: str, baseline: RunReport | None,
            verbosity: int = 0) -> str:
    if fmt == "rich":
        from io import StringIO

        from rich.console import Console

        from .reporters.terminal import render_report

        buf = StringIO()
        render_report(report, Console(file=buf, no_color=True, width=120, color_system=None),
                      verbosity=verbosity)
        return buf.getvalue()
    from .reporters import render

    return render(report, fmt, baseline=baseline)


def load_saved(path: Path) -> RunReport:
    """Read a saved JSON run; ``ConfigError`` (exit 4) when it is missing or foreign."""
    from .limits import MAX_RUN_BYTES, read_bounded_text

    try:
        raw = json.loads(read_bounded_text(path, MAX_RUN_BYTES, "a saved JSON run"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable JSON run: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a JSON run: nested too deeply to read") from None
    try:
        report = RunReport.from_dict(raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if "checklist" not in (raw.get("diagnosis") or {}):  # written before the typed diagnosis
        from .analysis import diagnose

        report = report.with_diagnosis(diagnose(report.results, checks=report.checks,
                                                interrupted=report.interrupted))
    return report


def render_saved(run_json: Path, fmt: str, output: Path | None,
                 baseline_path: Path | None, verbosity: int = 0,
                 color: str = "auto") -> ExitCode:
    """``netra-diag report``: render a saved run without re-running anything."""
    report = load_saved(run_json)
    baseline = load_saved(baseline_path) if baseline_path else None
    write_outputs(report, fmt, output, (), baseline, verbosity=verbosity, color=color)
    return ExitCode.OK
