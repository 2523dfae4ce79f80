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
        if _crash_at_a_finding(exc, failures, evidence):
            return None
        failures.insert(0, exc.summary)
        evidence.extend(e for e in exc.evidence if isinstance(e, Evidence))
        return None
    except SetupError as exc:
        if failures:
            hint = f" ({exc.fix})" if exc.fix else ""
            evidence.append(Evidence("note", f"the dynamic part could not run: {exc}{hint}"))
            return None
        return errored(str(exc), *evidence, *(e for e in exc.evidence
                                                if isinstance(e, Evidence)),
                       *problems, fix=exc.fix)
    failures.extend(more_failures)
    evidence.extend(more_evidence)
    return None


def _crash_at_a_finding(exc: TargetFailure, failures: list[str],
                        evidence: list[Evidence]) -> bool:
    """A crash raised at the very line of a static finding (``AgentRegistry()`` without
    ``llm_manager``, then the TypeError it raises there) is that finding seen at run time,
    not another one: the static finding stays the one located finding (it says what is
    wrong) and says that it crashes, the crash is kept as observation and traceback, and
    nothing is counted twice. True when ``exc`` was folded in so."""
    crash = [e for e in exc.evidence if isinstance(e, Evidence)]
    site = next((e for e in crash if e.kind == "location" and e.file), None)
    if site is None:
        return False
    static = next((i for i, f in enumerate(failures)
                   if getattr(f, "site", None) == site.location), None)
    located = any(e.kind == "location" and e.location == site.location for e in evidence)
    if static is None or not located:
        return False
    error = site.data.get("exception") if isinstance(site.data, dict) else None
    error = error or "an exception"
    failures[static] += f" (it raises {error} there when run)"
    evidence.append(Evidence("observed", f"{exc.summary} (the located finding at "
                             f"{site.location}, seen at run time)"))
    evidence.extend(e for e in crash if e.kind != "location")
    return True


def first_failures(failures: list[str], limit: int = 2) -> str:
    """A one-line summary of distinct failures: the first ``limit``, then how many more
    findings the evidence holds ("lacks X; and 1 more finding (see the evidence)")."""
    distinct: list[Any] = list(dict.fromkeys(failures))
    summary = "; ".join(distinct[:limit])
    rest = len(distinct) - limit
    if rest > 0:
        summary += f"; and {rest} more finding{'s' * (rest > 1)} (see the evidence)"
    return summary
