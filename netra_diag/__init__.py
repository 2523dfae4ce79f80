"""netra-diag: a diagnostic CLI for agent event pipelines.

The public API for check authors::

    from netra_diag import check, passed, failed, errored, skipped, Evidence

    @check(id="my-check", why="e2e", title="An example check")
    def my_check(ctx):
        return passed("all good", Evidence("observed", "what was seen"))

Kept light on purpose: importing it loads no rich, typer, websockets or yaml.
"""

from ._version import __version__
from .context import CheckContext
from .errors import ConfigError, NetraDiagError, SetupError, TargetFailure
from .exitcodes import ExitCode
from .model import (
    CheckResult,
    Evidence,
    RunReport,
    Status,
    Verdict,
    errored,
    failed,
    passed,
    skipped,
)
from .registry import CheckSpec, Registry, check

__all__ = [
    "CheckContext",
    "CheckResult",
    "CheckSpec",
    "ConfigError",
    "Evidence",
    "ExitCode",
    "NetraDiagError",
    "Registry",
    "RunReport",
    "SetupError",
    "Status",
    "TargetFailure",
    "Verdict",
    "__version__",
    "check",
    "errored",
    "failed",
    "passed",
    "skipped",
]
