"""``netra-diag run``: parse the options into a ``RunRequest`` and hand it to the session."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import typer

from .cli_app import choice, fail_usage, guard, guard_value
from .cli_options import (
    RUN_FORMATS,
    BackplaneEnvOpt,
    BackplaneOpt,
    BaselineOpt,
    ChecksDirOpt,
    ColorOpt,
    InjectOpt,
    JobsOpt,
    NoCacheOpt,
    OnlyOpt,
    OutputOpt,
    ProfileArg,
    QuietOpt,
    ReportOpt,
    RunFormatOpt,
    ScenarioOpt,
    SkipOpt,
    StaticOpt,
    TimeoutOpt,
    VerboseOpt,
    verbosity,
)
from .errors import ConfigError


def run(
    profile: ProfileArg = None,
    format: RunFormatOpt = "rich",
    output: OutputOpt = None,
    report: ReportOpt = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    inject: InjectOpt = None,
    scenario: ScenarioOpt = None,
    jobs: JobsOpt = None,
    timeout: TimeoutOpt = 60.0,
    checks_dir: ChecksDirOpt = None,
    static: StaticOpt = False,
    baseline: BaselineOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    color: ColorOpt = "auto",
    no_cache: NoCacheOpt = False,
    backplane: BackplaneOpt = None,
    backplane_env: BackplaneEnvOpt = None,
) -> None:
    """Run the checks against a target and report pass / fail / error / skip with evidence."""
    choice(format, RUN_FORMATS, "--format")
    level = guard_value(verbosity, quiet, verbose, color)
    from .fleet import BACKPLANE_ENV, backplane_run_options, private_env
    from .redaction import redact
    from .session import RunRequest, execute_run

    try:
        fleet_options, fleet_secrets, private = backplane_run_options(backplane, backplane_env)
    except ConfigError as exc:
        raise fail_usage(str(exc)) from None
    if inject and not fleet_options:
        from .faults import FAULTS

        between = [n for n in inject if n in FAULTS and "backplane" in FAULTS[n].needs]
        if between:
            print(f"netra-diag: note: {', '.join(between)} acts only between instances: add "
                  "--backplane redis://HOST:PORT to run the fleet checks that catch it",
                  file=sys.stderr)
    request = RunRequest(
        profile=profile, format=format, output=output, reports=report or [],
        only=only or [], skip=skip or [], inject=tuple(inject or ()), scenario=scenario,
        jobs=jobs, timeout=timeout, checks_dirs=checks_dir or [], static=static,
        baseline=baseline, verbosity=level, color=color,
        command=tuple(redact(arg, fleet_secrets, min_len=1)
                      for arg in ("netra-diag", *sys.argv[1:])),
        options=fleet_options, secrets=tuple(fleet_secrets),
    )
    with private_env(BACKPLANE_ENV, private), _no_cache(no_cache):
        code = guard(execute_run, request, defer=True)
    raise typer.Exit(int(code))


@contextlib.contextmanager
def _no_cache(on: bool) -> Iterator[None]:
    """``--no-cache``: for this run, the scan caches are neither read nor written (the check
    interpreters inherit the variable: ``support.summaries.cache_enabled``)."""
    if not on:
        yield
        return
    previous = os.environ.get("NETRA_DIAG_NO_CACHE")
    os.environ["NETRA_DIAG_NO_CACHE"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("NETRA_DIAG_NO_CACHE", None)
        else:
            os.environ["NETRA_DIAG_NO_CACHE"] = previous
