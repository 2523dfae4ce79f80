"""Exit codes (a contract, docs/exit-codes.md; pytest's numbering where the meaning is the same).

0-5 keep pytest's meanings where they overlap (0 ok, 1 failed, 2 interrupted, 4 usage error,
5 nothing selected); 3 is netra-diag's own "undecided" (pytest's 3 is an internal error,
which here is 7, so that "health not proven" and "the tool crashed" never share a code);
6 says an output could not be written, apart from an interrupt.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from .model import CheckResult, Status

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(enum.IntEnum):
    OK = 0  #: every check passed or was skipped
    FAILED = 1  #: at least one check failed
    INTERRUPTED = 2  #: interrupted (Ctrl-C, SIGTERM); what finished is still reported
    UNDECIDED = 3  #: no failure, but at least one check could not decide (error)
    USAGE_ERROR = 4  #: bad usage or configuration; nothing ran
    NO_CHECKS = 5  #: no check selected
    OUTPUT_ERROR = 6  #: an output (file, stdout, step summary) could not be written
    INTERNAL_ERROR = 7  #: a defect of netra-diag itself (printed with its traceback)


def exit_code_for(results: Iterable[CheckResult], *, interrupted: bool = False) -> ExitCode:
    """The exit code a run with these results ends with."""
    if interrupted:
        return ExitCode.INTERRUPTED
    statuses = [r.status for r in results]
    if not statuses:
        return ExitCode.NO_CHECKS
    if Status.FAIL in statuses:
        return ExitCode.FAILED
    if Status.ERROR in statuses or Status.PASS not in statuses:
        return ExitCode.UNDECIDED  # an error, or every check skipped: nothing judged
    return ExitCode.OK
