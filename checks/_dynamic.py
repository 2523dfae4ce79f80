"""The dynamic half of a check that also judges from source: fold its outcome in honestly.

Checks such as import-chain and emitter-methods first judge from source (nothing imported),
then exercise the target. Whatever the dynamic half does, the static findings stay in the
result:

* it finds failures: they join the static ones;
* the target's own code crashes (``TargetFailure``): that is a failure, with its traceback;
* the tool cannot set it up (``SetupError``: a dependency that is not installed, a
  constructor argument the profile does not supply): when the source already shows the
  property broken, the verdict is still ``fail`` (on the static evidence) with a note saying
  what could not run; otherwise it is ``error`` naming what is missing (and, for a missing
  module, suggesting ``--static``), carrying the static evidence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from netra_diag import CheckContext, Evidence, SetupError, TargetFailure, Verdict, errored

from ._calling import run_async

__all__ = ["dynamic_half"]


def dynamic_half(
    ctx: CheckContext,
    body: Callable[[], Awaitable[tuple[list[str], list[Evidence]]]],
    failures: list[str],
    evidence: list[Evidence],
    problems: Sequence[Evidence] = (),
) -> Verdict | None:
    """Run ``body`` (returning ``(failures, evidence)``) and fold its outcome into
    ``failures`` and ``evidence`` in place; return a verdict only when it must be ``error``."""
    try:
        more_failures, more_evidence = run_async(ctx, body)
    except TargetFailure as exc:  # what the target did comes first: it is the observation
        failures.insert(0, exc.summary)
        evidence.extend(e for e in exc.evidence if isinstance(e, Evidence))
        return None
    except SetupError as exc:
        if failures:
            hint = f" ({exc.fix})" if exc.fix else ""
            evidence.append(Evidence("note", f"the dynamic part could not run: {exc}{hint}"))
            return None
        return errored(str(exc), *evidence, *problems, fix=exc.fix)
    failures.extend(more_failures)
    evidence.extend(more_evidence)
    return None


def first_failures(failures: list[str], limit: int = 2) -> str:
    """A one-line summary of distinct failures: the first ``limit``, then how many more
    findings the evidence holds ("lacks X; and 1 more finding (see the evidence)")."""
    distinct: list[Any] = list(dict.fromkeys(failures))
    summary = "; ".join(distinct[:limit])
    rest = len(distinct) - limit
    if rest > 0:
        summary += f"; and {rest} more finding{'s' * (rest > 1)} (see the evidence)"
    return summary
