"""One ``run`` from request to exit code: registry, target, runner, report, outputs.

This is the library behind the CLI's ``run`` command; it owns the order of operations
(progress and messages go to stderr), not where the report goes (``outputs``), the
rendering (reporters) nor the running (runner).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__
from .exitcodes import ExitCode, exit_code_for
from .model import CheckResult, RunReport
from .timings import mark

__all__ = ["RunRequest", "assemble_report", "execute_run"]


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
    #: The live endpoint a ``probe`` diagnoses (``ctx.endpoint`` in every check), or None.
    endpoint: Any = None
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
    from .outputs import check_distinct_outputs, load_saved

    finite_positive(request.timeout, "--timeout", maximum=MAX_TIMEOUT_S)
    extra_reports = parse_report_option(list(request.reports))
    check_distinct_outputs(request.output, extra_reports)
    baseline = load_saved(request.baseline) if request.baseline else None
    return extra_reports, baseline


def _execute_run(request: RunRequest, extra_reports: list[tuple[str, Path]],
                 baseline: RunReport | None, server: Any = None) -> ExitCode:
    from . import interrupts
    from .checkset import build_registry
    from .outputs import write_outputs
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
            specs = registry.select(request.only, request.skip, request.tags)
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
                            endpoint=request.endpoint,
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
            specs = registry.select(request.only, request.skip, request.tags)
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


def _progress(fmt: str, output: Path | None, specs: Sequence[Any]) -> Any:
    """A live view on the terminal that is not carrying a document, or None."""
    stream = sys.stdout if fmt == "rich" and output is None else sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        return None  # decided without importing rich (the terminal's reporter needs it)
    from .reporters.terminal import LiveProgress, interactive, make_console

    if not interactive(stream):
        return None
    return LiveProgress(make_console(stream), list(specs))
