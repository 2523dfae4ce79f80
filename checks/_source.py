"""Judging from source: scanning the target, evidence for findings, unparsed files.

Owns what the checks that judge from source (nothing imported) share: ``scan`` (the
production modules mentioning what a check looks for), ``role_parts``, evidence for a
finding or an unreadable file, ``guard_unparsed`` (a pass over files that could not be
parsed is not proven), and ``skip_static`` (the verdict of a dynamic-only check under
``--static``). It never calls target code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from netra_diag import CheckContext, Evidence, Status, Verdict, errored

__all__ = [
    "guard_unparsed",
    "location_evidence",
    "problem_evidence",
    "role_parts",
    "scan",
    "skip_static",
    "static_skip",
    "unparsed_files",
]


def role_parts(ctx: CheckContext, role: str) -> tuple[str, str]:
    """``(module, name)`` of a role's ``module:attr`` (the last part of a dotted attr)."""
    module, _, attr = ctx.role(role).partition(":")
    return module, attr.split(".")[-1]


class LocatedFailure(str):
    """A failure phrase (``path:line message``) that knows its finding's site (``site``),
    so a later step can find it by site, never by matching its text."""

    site: str


def located_failure(finding: Any) -> LocatedFailure:
    """The failure phrase of a located static finding, carrying its site."""
    text = LocatedFailure(f"{finding.relpath}:{finding.line} {finding.message}")
    text.site = f"{finding.relpath}:{finding.line}"
    return text


def location_evidence(finding: Any, kind: str = "location") -> Evidence:
    message = finding.message + (f": `{finding.code}`" if finding.code else "")
    return Evidence(kind, message, finding.relpath, finding.line)


def scan(ctx: CheckContext, needles: list[str]) -> tuple[list[Any], list[Evidence]]:
    """Summaries of the production modules mentioning ``needles`` (from the run's one scan,
    ``support.snapshot``, else a scan of its own), and evidence for unreadable files."""
    from netra_diag.support.source import ParsedModule
    from netra_diag.support.summaries import summarize_matching

    modules: list[ParsedModule] = []
    problems: list[Evidence] = []
    for item in summarize_matching(ctx.root, needles, ctx.profile.exclude):
        if isinstance(item, ParsedModule):
            modules.append(item)
        else:
            problems.append(problem_evidence(item))
    return modules, problems


def problem_evidence(problem: Any) -> Evidence:
    """Evidence for a ``SourceProblem`` (a file mentioning a wanted symbol that could not be
    read or parsed); ``guard_unparsed`` finds it by its data."""
    return Evidence("note", f"not judged, could not be parsed: {problem.message}",
                    problem.relpath, problem.line, {"unparsed": True})


def unparsed_files(evidence: Iterable[Evidence]) -> list[str]:
    return list(dict.fromkeys(e.file for e in evidence
                              if isinstance(e.data, dict) and e.data.get("unparsed") and e.file))


def guard_unparsed(check: Callable[[CheckContext], Verdict | None]
                   ) -> Callable[[CheckContext], Verdict | None]:
    """Wrap a check that judges from source: a pass over files that mention what it looks
    for but could not be parsed (a syntax error, a NUL byte) is not proven, so it becomes
    an ``error`` naming them; a fail says in its summary that they were not judged."""

    @functools.wraps(check)
    def guarded(ctx: CheckContext) -> Verdict | None:
        verdict = check(ctx)
        if verdict is None:
            return None
        files = unparsed_files(verdict.evidence)
        if not files:
            return verdict
        names = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3
                                        else "")
        if verdict.status is Status.PASS:
            return errored(
                f"{len(files)} file(s) mentioning what this check looks for could not be "
                f"parsed ({names}), so the source was not fully judged: a pass is not "
                f"proven (otherwise: {verdict.summary})", *verdict.evidence,
                fix="fix the file(s), or list them under 'exclude:' in the profile if they "
                "are not production code")
        if verdict.status is Status.FAIL:
            return Verdict(verdict.status, f"{verdict.summary}; and {len(files)} file(s) "
                           f"could not be parsed ({names})", verdict.evidence, verdict.fix)
        return verdict

    return guarded


def static_skip(reason: str) -> str:
    """The summary of a dynamic-only check's ``skip`` under ``--static`` (its ``@check``'s
    ``static_skip``: the runner reports it without running the check)."""
    return f"--static: {reason}; run without --static to judge it"


def skip_static(reason: str) -> Any:
    """The verdict of a check that finds, under ``--static``, that it cannot judge."""
    from netra_diag import skipped

    return skipped(static_skip(reason))
