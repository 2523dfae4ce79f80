"""The commands around ``run``: list, explain, faults, init, report, schema, serve, probe.
Each parses its options, calls the library, and sets the exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .cli_app import LIST_FORMATS, choice, fail_usage, guard, guard_value
from .cli_options import (
    RUN_FORMATS,
    BaselineOpt,
    ChecksDirOpt,
    ColorOpt,
    InjectOpt,
    JobsOpt,
    ListFormatOpt,
    NoCacheOpt,
    OnlyOpt,
    OutputOpt,
    QuietOpt,
    ReportOpt,
    RunFormatOpt,
    ScenarioOpt,
    SkipOpt,
    VerboseOpt,
    finite_number,
    verbosity,
)
from .errors import ConfigError
from .exitcodes import ExitCode
from .limits import MAX_TIMEOUT_S


def list_checks(format: ListFormatOpt = "rich", checks_dir: ChecksDirOpt = None) -> None:
    """List the available checks."""
    choice(format, LIST_FORMATS, "--format")

    def body() -> ExitCode:
        from .checkset import build_registry

        registry = build_registry(checks_dir or [])
        from .analysis import chain_order

        rows = [s.describe() for s in chain_order(registry.specs)]  # the order of `run`
        if format == "json":
            import json

            print(json.dumps(rows, indent=2))
        else:
            from rich.table import Table

            from .analysis import why_label
            from .reporters.terminal import make_console

            table = Table(header_style="bold")
            for col in ("why", "id", "title", "depends on", "tags"):
                table.add_column(col)
            for row in rows:
                table.add_row(why_label(row["why"]), row["id"], row["title"],
                              ", ".join(row["depends_on"]), ", ".join(row["tags"]))
            make_console().print(table)
        for failure in registry.failures:
            print(f"netra-diag: warning: {failure.origin.label} failed to load: "
                  f"{failure.message}", file=sys.stderr)
        return ExitCode.OK

    raise typer.Exit(int(guard(body)))


def explain(
    check_id: Annotated[str, typer.Argument(metavar="ID", help="A check id (see `list`).")],
    checks_dir: ChecksDirOpt = None,
) -> None:
    """Explain what a check verifies, why it matters, typical causes and how to fix."""

    def body() -> ExitCode:
        from .checkset import build_registry

        registry = build_registry(checks_dir or [])
        if check_id not in registry:
            known = [s.id for s in registry.specs]
            from .selection import suggest

            raise ConfigError(f"unknown check id {check_id!r}{suggest(check_id, known)}")
        spec = registry.get(check_id)
        from .analysis import why_label

        print(f"{spec.id} (WHY {why_label(spec.why)}): {spec.title}\n")
        print(spec.explain or "(no explanation given)")
        if spec.fix:
            print(f"\nFix hint: {spec.fix}")
        if spec.depends_on:
            print(f"\nDepends on: {', '.join(spec.depends_on)}")
        from .blocking import RULES

        print(f"\n{RULES}")
        return ExitCode.OK

    raise typer.Exit(int(guard(body)))


def faults(format: ListFormatOpt = "rich") -> None:
    """List the named faults of the reference pipeline and the checks that must catch each."""
    choice(format, LIST_FORMATS, "--format")
    from . import faults as faults_mod

    rows = [{"name": f.name, "description": f.description, "detected_by": list(f.detected_by),
             "needs": list(f.needs)} for f in faults_mod.FAULTS.values()]
    if format == "json":
        import json

        print(json.dumps(rows, indent=2))
        raise typer.Exit(0)
    from rich.table import Table

    from .reporters.terminal import make_console

    table = Table(header_style="bold")
    for col in ("fault", "description", "caught by"):
        table.add_column(col, overflow="fold")
    for row in rows:
        needs = " (with --backplane URL)" if "backplane" in row["needs"] else ""
        table.add_row(row["name"], row["description"], ", ".join(row["detected_by"]) + needs)
    console = make_console()
    console.print(table)
    for name, members in faults_mod.SCENARIOS.items():
        console.print(f"scenario {name}: {', '.join(members) or 'no faults'}")


def init(
    path: Annotated[Path, typer.Argument(
        help="Folder to write netra-diag.yaml into (or a .yaml path). Default: the current "
        "folder.", show_default=False)] = Path("."),
    root: Annotated[Path | None, typer.Option(
        "--root", help="The source tree to scan (default: PATH/src when it holds a package, "
        "else PATH).")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="The profile's name (default: the top-level package).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite an existing profile (and hooks template).")] = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Write a commented profile for a source tree, found with ast alone (nothing imported)."""

    def body() -> ExitCode:
        from .init import write_profile

        result = write_profile(path, root=root, force=force, name=name, cache=not no_cache)
        proposal = result.proposal
        active = sum(1 for d in proposal.deprecated if d.active)
        others = len(proposal.deprecated) - active
        listed = f" ({others} more listed, commented out)" if others else ""
        print(f"netra-diag: wrote {result.path}: {len(proposal.roles)} role(s) found, "
              f"{active} deprecated entry point(s) connected to the pipeline{listed}, "
              f"{proposal.todo_count} TODO(s) to review")
        from .init import source_root_for
        from .support.source import unfollowed_links

        skipped = unfollowed_links(source_root_for(result.path.parent, root))
        if skipped:  # loops, dangling links, links out of the root: never followed
            print(f"netra-diag: note: skipped {len(skipped)} symbolic link(s) that loop, "
                  f"dangle or leave the source root: {', '.join(skipped[:10])}",
                  file=sys.stderr)
        if result.hooks is not None:
            print(f"netra-diag: wrote {result.hooks}: a hooks template, all commented out")
        return ExitCode.OK

    raise typer.Exit(int(guard(body)))


def report_cmd(
    run_json: Annotated[Path, typer.Argument(metavar="RUN.json", help="A saved JSON run.")],
    format: RunFormatOpt = "rich",
    output: OutputOpt = None,
    baseline: BaselineOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    color: ColorOpt = "auto",
) -> None:
    """Render a saved JSON run in another format, without re-running anything."""
    choice(format, RUN_FORMATS, "--format")
    level = guard_value(verbosity, quiet, verbose, color)
    from .outputs import render_saved

    raise typer.Exit(int(guard(render_saved, run_json, format, output, baseline, level,
                                color)))


def schema(
    name: Annotated[str, typer.Argument(
        metavar="run|profile", help="run: the netra-diag/run/v1 JSON document; profile: the "
        "netra-diag/profile/v1 YAML profile.")],
) -> None:
    """Print the JSON Schema of the run JSON or of the profile (for editors and validators)."""
    from .schemas import SCHEMAS, schema_text

    choice(name, tuple(SCHEMAS), "the schema name")
    sys.stdout.write(schema_text(name))


def serve(
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(
        "--port", "-p", help="Port to listen on; 0 picks a free one.")] = 0,
    user: Annotated[list[str] | None, typer.Option(
        "--user", metavar="NAME=TOKEN", help="A user and its bearer token (repeatable); the "
        "token is visible in ps: prefer --user-env. Default: two generated demo users, their "
        "tokens printed at start.")] = None,
    user_env: Annotated[list[str] | None, typer.Option(
        "--user-env", metavar="NAME=VAR", help="A user and the environment variable holding "
        "its bearer token (repeatable; preferred).")] = None,
    inject: InjectOpt = None,
    scenario: ScenarioOpt = None,
    instances: Annotated[int, typer.Option(
        "--instances", help="Serve a fleet: this many instances, each its own process and "
        "port, sharing --backplane.")] = 1,
    backplane: Annotated[str | None, typer.Option(
        "--backplane", metavar="URL", help="The Redis URL the instances share "
        "(redis://HOST:PORT).")] = None,
    backplane_env: Annotated[str | None, typer.Option(
        "--backplane-env", metavar="VAR", help="The environment variable holding the "
        "backplane URL.")] = None,
) -> None:
    """Serve the reference pipeline's WebSocket endpoint (or a fleet) until Ctrl-C or SIGTERM."""

    from .serve import ServeRequest
    from .serve import serve as serve_endpoint

    if backplane is not None and backplane_env is not None:
        raise fail_usage("give the backplane once: --backplane URL or --backplane-env VAR")
    if backplane_env is not None:
        backplane = os.environ.get(backplane_env, "").strip() or None
        if backplane is None:
            raise fail_usage(f"--backplane-env: the environment variable {backplane_env} is "
                             f"not set or is empty; export {backplane_env}=redis://HOST:PORT")
    request = ServeRequest(host=host, port=port, users=user or [], user_envs=user_env or [],
                           inject=tuple(inject or ()), scenario=scenario,
                           instances=instances, backplane=backplane)
    raise typer.Exit(int(guard(serve_endpoint, request)))


def probe(
    url: Annotated[list[str] | None, typer.Argument(
        metavar="URL...", help="The live endpoint, ws://HOST:PORT/PATH or wss://...; two or "
        "more: the instances of one fleet (the fleet checks run across them). Default: the "
        "profile's fleet: list.", show_default=False)] = None,
    token_env: Annotated[str | None, typer.Option(
        "--token-env", metavar="VAR",
        help="The environment variable holding the bearer token (preferred).")] = None,
    token: Annotated[str | None, typer.Option(
        "--token", help="The bearer token itself (visible in the process list: prefer "
        "--token-env).")] = None,
    user_token_env: Annotated[list[str] | None, typer.Option(
        "--user-token-env", metavar="NAME=VAR",
        help="Another user's token, from an environment variable (repeatable); "
        "user-isolation needs two users or more.")] = None,
    profile: Annotated[Path | None, typer.Option(
        "--profile", help="Take the critical events and budgets from this profile.")] = None,
    latency_budget_ms: Annotated[float | None, typer.Option(
        "--latency-budget-ms", callback=finite_number(3_600_000.0),
        help="Per-event latency budget (default 50, or the profile's).")] = None,
    format: RunFormatOpt = "rich",
    output: OutputOpt = None,
    report: ReportOpt = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    jobs: JobsOpt = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.1, callback=finite_number(MAX_TIMEOUT_S),
        help="Seconds each check may take; every network wait ends within it.")] = 30.0,
    checks_dir: ChecksDirOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    color: ColorOpt = "auto",
) -> None:
    """Run the end-to-end checks (tagged wire) against a live WebSocket endpoint (or fleet)."""
    choice(format, RUN_FORMATS, "--format")
    level = guard_value(verbosity, quiet, verbose, color)
    from .probe import ProbeRequest
    from .probe import probe as probe_endpoint

    urls = list(url or [])
    request = ProbeRequest(
        url=urls[0] if urls else "", fleet=tuple(urls), token=token, token_env=token_env,
        user_token_envs=user_token_env or [],
        profile=profile, latency_budget_ms=latency_budget_ms, format=format, output=output,
        reports=report or [], only=only or [], skip=skip or [], jobs=jobs, timeout=timeout,
        checks_dirs=checks_dir or [], command=("netra-diag", *sys.argv[1:]),
        verbosity=level, color=color,
    )
    raise typer.Exit(int(guard(probe_endpoint, request, defer=True)))
