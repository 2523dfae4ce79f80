"""The ``netra-diag`` command line (typer). Thin: parse, call the library, render, exit.

Heavy modules (rich, websockets, yaml, the reporters) are imported inside the commands that
need them, so ``netra-diag --help`` starts fast. When stdout carries a machine format it
carries only that document: progress, logs and errors go to stderr.
"""

from __future__ import annotations

import sys

import typer

from . import cli_commands as _commands
from .cli_app import app
from .cli_options import RUN_FORMATS
from .cli_run import run as _run
from .exitcodes import ExitCode
from .timings import mark

__all__ = ["RUN_FORMATS", "app", "main"]

# the commands, in the order --help lists them
app.command()(_run)
app.command("list")(_commands.list_checks)
app.command()(_commands.explain)
app.command()(_commands.faults)
app.command()(_commands.init)
app.command("report")(_commands.report_cmd)
app.command()(_commands.schema)
app.command()(_commands.serve)
app.command()(_commands.probe)

mark("parent", "cli imported")


def main() -> None:
    """Console-script entry point: usage errors exit 4 (docs/exit-codes.md), not click's 2."""
    try:
        if sys.argv[1:2] in (["run"], ["probe"]):
            from .checkserver import prestart

            prestart()  # its imports overlap ours; stopped with the run, or when we exit
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # a usage error: bad option, missing argument
        show = getattr(exc, "show", None)
        if show is not None:
            show(file=sys.stderr)
        else:
            print(f"netra-diag: error: {exc.format_message()}", file=sys.stderr)
        sys.exit(int(ExitCode.USAGE_ERROR))
    except typer.Abort:
        print("netra-diag: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except KeyboardInterrupt:  # between the commands' own handling (parsing, start-up)
        print("netra-diag: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception:  # noqa: BLE001 - a defect of the tool: say so, never exit 1 ("failed")
        import traceback

        traceback.print_exc(file=sys.stderr)
        print("netra-diag: internal error: this is a defect in netra-diag, not a finding "
              "about the target; please report it with the traceback above", file=sys.stderr)
        sys.exit(int(ExitCode.INTERNAL_ERROR))
    from . import interrupts

    if interrupts.pending() is not None:  # arrived after the command's own handling
        print("netra-diag: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> None:
    """Flush what we wrote, then end at once: the interpreter's tear-down (collecting every
    module, running finalizers) costs 10-40 ms and nothing of ours needs it (outputs are
    written, children ended, temporary folders removed by then)."""
    import contextlib
    import os

    mark("parent", "exit")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`)
            stream.flush()
    os._exit(code)
