"""The command line's shared conventions, as pytest, ruff and goss users know them.

``-q``/``-v`` (quiet: the verdict line only; verbose: every evidence item), ``--color
auto|always|never``, and check selection by ids, tags and comma lists (``--only wire``,
``--skip event-latency,user-isolation``). Typer option types live here so that every command
spells them the same; ``cli`` only wires them to the library. Imports nothing heavy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import ConfigError
from .limits import MAX_TIMEOUT_S

__all__ = ["RUN_FORMATS", "ColorOpt", "QuietOpt", "VerboseOpt", "finite_number",
           "parse_report_option", "verbosity"]

COLOR_CHOICES = ("auto", "always", "never")
#: One default format rule: every command that renders a run (run, probe, report) prints the
#: ``rich`` view unless ``-f`` says otherwise.
RUN_FORMATS = ("rich", "json", "markdown", "junit", "sarif", "github")

ProfileArg = Annotated[Path | None, typer.Argument(
    metavar="PROFILE",
    help="Profile file, or a folder holding netra-diag.yaml. Default: the nearest "
    "netra-diag.yaml or [tool.netra-diag] in pyproject.toml from here up to the repository "
    "root, else the embedded reference pipeline.", show_default=False)]
RunFormatOpt = Annotated[str, typer.Option(
    "--format", "-f", metavar="FORMAT", help=f"Output format: {', '.join(RUN_FORMATS)}.")]
ListFormatOpt = Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                            help="rich or json.")]
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", metavar="FILE",
    help="Write the output to FILE (atomically) instead of stdout.")]
ReportOpt = Annotated[list[str] | None, typer.Option(
    "--report", metavar="FORMAT:PATH",
    help="Also write FORMAT:PATH (repeatable), e.g. junit:results.xml.")]
OnlyOpt = Annotated[list[str] | None, typer.Option(
    "--only", metavar="ID|TAG[,...]",
    help="Run only these checks: ids or tags, repeatable or comma-separated (--only wire).")]
SkipOpt = Annotated[list[str] | None, typer.Option(
    "--skip", metavar="ID|TAG[,...]",
    help="Do not run these checks: ids or tags, repeatable or comma-separated.")]
InjectOpt = Annotated[list[str] | None, typer.Option(
    "--inject", metavar="FAULT",
    help="Inject a named fault into the reference (repeatable); see `faults`.")]
ScenarioOpt = Annotated[str | None, typer.Option(
    "--scenario", metavar="NAME",
    help="A named set of faults for the reference: healthy, incident.")]
JobsOpt = Annotated[int | None, typer.Option(
    "--jobs", "-j", min=1, metavar="N", help="Checks run in parallel (default: the CPU count).")]
def finite_number(maximum: float) -> Any:
    """An option callback: the value must be finite, above 0 and at most ``maximum``
    (``nan``, ``inf`` and ``1e10`` parse as floats; a usage error, exit 4)."""

    def check(value: float | None) -> float | None:
        import math

        if value is not None and (not math.isfinite(value) or value <= 0 or value > maximum):
            raise typer.BadParameter(f"must be a finite number above 0 and at most "
                                     f"{maximum:g} (got {value!r})")
        return value

    return check


TimeoutOpt = Annotated[float, typer.Option(
    "--timeout", min=0.1, metavar="S", callback=finite_number(MAX_TIMEOUT_S),
    help="Seconds before a check is killed and reported as error.")]
ChecksDirOpt = Annotated[list[Path] | None, typer.Option(
    "--checks-dir", metavar="DIR", help="A folder of check plugins (repeatable).")]
StaticOpt = Annotated[bool, typer.Option(
    "--static", help="Judge from source only; never import the target.")]
NoCacheOpt = Annotated[bool, typer.Option(
    "--no-cache", help="Neither read nor write the per-file scan cache (in the user's cache "
    "folder).")]
BaselineOpt = Annotated[Path | None, typer.Option(
    "--baseline", metavar="OLD.json",
    help="A saved JSON run to compare against (fixed, regressed, ...).")]

QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Print the verdict line only (and no notes on stderr).")]
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", "-v", help="Print every evidence item, passing checks' too.")]
ColorOpt = Annotated[str, typer.Option(
    "--color", metavar="auto|always|never",
    help="Colour: auto (a terminal without NO_COLOR or CI), always or never.")]


def verbosity(quiet: bool, verbose: bool, color: str) -> int:
    """-1, 0 or 1; ``ConfigError`` for ``-q`` with ``-v`` or an unknown ``--color``."""
    if quiet and verbose:
        raise ConfigError("-q/--quiet and -v/--verbose exclude each other")
    if color not in COLOR_CHOICES:
        raise ConfigError(f"--color must be one of {', '.join(COLOR_CHOICES)} (got {color!r})")
    return -1 if quiet else 1 if verbose else 0


def parse_report_option(values: list[str]) -> list[tuple[str, Path]]:
    out = []
    for value in values:
        fmt, sep, path = value.partition(":")
        if not sep or not path:
            raise ConfigError(f"--report takes FORMAT:PATH (got {value!r})")
        if fmt not in RUN_FORMATS or fmt == "rich":
            raise ConfigError(f"--report format must be one of "
                              f"{', '.join(f for f in RUN_FORMATS if f != 'rich')} (got {fmt!r})")
        out.append((fmt, Path(path)))
    return out


BackplaneOpt = Annotated[str | None, typer.Option(
    "--backplane", metavar="URL", help="A Redis URL (redis://HOST:PORT): the fleet checks "
    "start instances of the server role sharing it. Default: no fleet (they are skipped).")]
BackplaneEnvOpt = Annotated[str | None, typer.Option(
    "--backplane-env", metavar="VAR", help="The environment variable holding the backplane "
    "URL (preferred when it holds a password).")]
