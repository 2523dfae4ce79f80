"""The tool's own exceptions: one root type, so the CLI can turn any of them into a message.

Problems found in a target are results, never exceptions; these are about the tool's input
(profiles, plugins, options) and its environment.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DuplicateCheckError",
    "NetraDiagError",
    "NotApplicable",
    "OutputError",
    "SetupError",
    "TargetFailure",
]


class NetraDiagError(Exception):
    """Root of every error the tool raises on purpose."""


class ConfigError(NetraDiagError):
    """Bad usage or configuration (exit code 4): a profile, an option, a check selection."""


class DuplicateCheckError(ConfigError):
    """Two checks claim one id."""


class OutputError(NetraDiagError):
    """A report could not be written."""


class SetupError(NetraDiagError):
    """Raised inside a check when the harness cannot build what it needs.

    The runner turns it into an ``error`` result: the target was not shown to be broken.
    The message must say how to fix the set-up (the profile key, the missing argument).
    """

    def __init__(self, message: str, *, fix: str | None = None,
                 evidence: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.fix = fix
        #: what was observed on the way (a set-up crash's site and traceback, say)
        self.evidence = tuple(evidence)


class TargetFailure(NetraDiagError):
    """Raised inside a check when the target's own code is shown to be broken.

    The runner turns it into a ``fail`` result with the given summary and evidence, for a
    check that finds the failure deep in a helper and wants to stop there.
    """

    def __init__(self, summary: str, *evidence: object, fix: str | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.evidence = evidence
        self.fix = fix


class NotApplicable(SetupError):
    """Raised inside a check that needs a role the profile declares absent (``roles:
    {<role>: none}``): the backend has no such part, by the user's own word. The runner
    turns it into ``skip`` ("not applicable"), never ``error`` or ``fail``."""
