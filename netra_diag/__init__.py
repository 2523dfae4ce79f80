"""netra-diag: a diagnostic CLI for agent event pipelines.

The public API for check authors::

    from netra_diag import check, passed, failed, errored, skipped, Evidence

    @check(id="my-check", why="e2e", title="An example check")
    def my_check(ctx):
        return passed("all good", Evidence("observed", "what was seen"))

Kept light on purpose: importing it loads nothing but the version; the names below are
imported on first use.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__

# Lazy: ``import netra_diag`` (the CLI's first step) runs nothing else; each public name is
# imported from its module on first use (PEP 562).
_LAZY = {
    "CheckContext": "context",
    "ConfigError": "errors", "NetraDiagError": "errors", "SetupError": "errors",
    "NotApplicable": "errors",
    "TargetFailure": "errors",
    "ExitCode": "exitcodes",
    "CheckResult": "model", "Evidence": "model", "RunReport": "model", "Status": "model",
    "Verdict": "model", "errored": "model", "failed": "model", "passed": "model",
    "skipped": "model",
    "CheckSpec": "registry", "Registry": "registry", "check": "registry",
}

if TYPE_CHECKING:
    from .context import CheckContext
    from .errors import ConfigError, NetraDiagError, NotApplicable, SetupError, TargetFailure
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netra_diag' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "CheckContext",
    "CheckResult",
    "CheckSpec",
    "ConfigError",
    "Evidence",
    "ExitCode",
    "NetraDiagError",
    "NotApplicable",
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
