"""Exit codes (a contract, docs/exit-codes.md; pytest's numbering where the meaning is the same)."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from .model import CheckResult, Status

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(enum.IntEnum):
    OK = 0  #: every check passed or was skipped
    FAILED = 1  #: at least one check failed
    INTERRUPTED = 2  #: interrupted (Ctrl-C); what finished is still reported
    UNDECIDED = 3  #: no failure, but at least one check could not decide (error)
    USAGE_ERROR = 4  #: bad usage or configuration; nothing ran
    NO_CHECKS = 5  #: no check selected


def exit_code_for(results: Iterable[CheckResult], *, interrupted: bool = False) -> ExitCode:
    """The exit code a run with these results ends with."""
    if interrupted:
        return ExitCode.INTERRUPTED
    statuses = [r.status for r in results]
    if not statuses:
        return ExitCode.NO_CHECKS
    if Status.FAIL in statuses:
        return ExitCode.FAILED
    if Status.ERROR in statuses:
        return ExitCode.UNDECIDED
    return ExitCode.OK
