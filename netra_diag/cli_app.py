"""The typer app of ``netra-diag`` and the plumbing every command shares: usage errors
(exit 4) and ``guard``, which turns the tool's own errors into messages and exit codes."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from ._version import __version__
from .errors import ConfigError, NetraDiagError, OutputError
from .exitcodes import ExitCode

__all__ = ["LIST_FORMATS", "app", "choice", "fail_usage", "guard", "guard_value"]

app = typer.Typer(
    name="netra-diag",
    help="Diagnose agent event pipelines: from the import chain to events on the wire.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

LIST_FORMATS = ("rich", "json")


def _version(value: bool) -> None:
    if value:
        print(f"netra-diag {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """netra-diag: a Five Whys diagnosis of an agent event pipeline, as a tool."""


def fail_usage(message: str) -> typer.Exit:
    """Print a usage/configuration error to stderr and return the exit (code 4)."""
    print(f"netra-diag: error: {message}", file=sys.stderr)
    return typer.Exit(int(ExitCode.USAGE_ERROR))


def choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    """``value`` when it is one of ``allowed``; else a usage error (exit 4) naming them."""
    if value not in allowed:
        raise fail_usage(f"{option} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def guard_value(func: Any, *args: Any) -> Any:
    """``func(*args)``, a ``ConfigError`` becoming a usage error (exit 4)."""
    try:
        return func(*args)
    except ConfigError as exc:
        raise fail_usage(str(exc)) from None


def guard(func: Any, *args: Any, defer: bool = False) -> ExitCode:
    """Run a command body, turning the tool's own errors into messages and exit codes.

    Ctrl-C and SIGTERM raise ``KeyboardInterrupt`` in the body (one that arrived while the CLI
    started acts now), or, with ``defer`` (``run``, ``probe``), stay remembered until the run
    can report them (``session.execute_run``)."""
    from . import interrupts

    try:
        with interrupts.handlers("defer" if defer else "raise"):
            if not defer:
                interrupts.raise_pending()
            return func(*args)
    except OutputError as exc:
        print(f"netra-diag: error: {exc}", file=sys.stderr)
        return ExitCode.OUTPUT_ERROR
    except ConfigError as exc:
        print(f"netra-diag: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE_ERROR
    except NetraDiagError as exc:
        print(f"netra-diag: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE_ERROR
    except KeyboardInterrupt:
        print("netra-diag: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
