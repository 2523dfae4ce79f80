"""WHY #5: deprecations. Does every deprecated entry point warn, naming its replacement?"""

from __future__ import annotations

import re
import warnings
from typing import Any

from netra_diag import (
    CheckContext,
    Evidence,
    SetupError,
    TargetFailure,
    Verdict,
    check,
    errored,
    failed,
    passed,
    skipped,
)
from netra_diag.support.calls import SAMPLE_VALUES, fill_arguments

from ._calling import (
    build_role,
    call_built,
    context_values,
    located,
    make_user_context,
    run_async,
)
from ._dynamic import first_failures
from ._source import guard_unparsed, problem_evidence, skip_static

EXPLAIN = """\
Verifies that every deprecated entry point listed in the profile (`deprecated:`) warns when
used, and that the warning names its replacement. A DeprecationWarning (or Pending-/Future-)
counts, and so does a warning of any other category whose text says the entry point is
deprecated (a UserWarning is even shown by default; a note says DeprecationWarning would be
conventional). The evidence always lists every warning that was emitted.

Why it matters: during a migration the old and new paths coexist. Warnings are the only
signal that code still takes the old path; a deprecated entry point that stops warning lets
a regression back onto the shared singleton go unnoticed.

How it is judged: each entry point is imported and called (a class is instantiated) in a
fresh interpreter with every warning recorded, arguments built from its real signature (no
manager or connection is set up: only a user context is offered); the warnings it raises
are listed with their category, text and the line they point at. An entry point that
crashes before warning cannot be judged (error, naming 'build.<name>'). Under `--static`,
each entry point's definition is read instead (nothing runs): it must call
`warnings.warn(...)` with a deprecation category or a message saying deprecated, naming the
replacement.

Typical causes: a warnings filter or `stacklevel`-less shim that swallows the warning; the
warning call deleted during a refactor; a message that does not say what to use instead.

How to fix: call `warnings.warn("X is deprecated; use Y", DeprecationWarning, stacklevel=2)`
at the top of each deprecated entry point."""

_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
_DEPRECATED_RE = re.compile(r"deprecat", re.IGNORECASE)


@check(id="deprecation-warnings", why=5, title="Deprecation Warnings", explain=EXPLAIN,
       order=50, criterion="Every deprecated entry point warns and names its replacement",
       caveat="the deprecated entry points warn, but they are still importable and usable, "
       "so nothing stops code from calling them.",
       fix="make each deprecated entry point warn with DeprecationWarning naming its replacement")
@guard_unparsed
def deprecation_warnings(ctx: CheckContext) -> Verdict:
    if not ctx.profile.deprecated:
        return skipped("the profile lists no deprecated entry points")
    if ctx.static:
        return _judge_source(ctx)
    failures, evidence, undecided = run_async(ctx, lambda: _exercise(ctx))
    if failures:
        return failed(first_failures(failures, limit=1), *evidence)
    if undecided:
        return errored(first_failures([u for u, _ in undecided], limit=1), *evidence,
                       fix=undecided[0][1] or "supply the entry points' arguments under "
                       "'build.<name>' in the profile, or set up what they need in your "
                       "hooks' setup()")
    n = len(ctx.profile.deprecated)
    return passed(f"deprecation warnings working: all {n} deprecated entry points warn and "
                  "name their replacement", *evidence)


async def _exercise(ctx: CheckContext
                    ) -> tuple[list[str], list[Evidence], list[tuple[str, str | None]]]:
    """Use each entry point under a warnings recorder: ``(failures, evidence, undecided)``.
    Least set-up: no manager, no connection; a user context is offered when one can be
    built, since deprecated getters often take one."""
    failures: list[str] = []
    undecided: list[tuple[str, str | None]] = []  # (what could not be used, its fix)
    evidence: list[Evidence] = []
    available: dict[str, Any] = {}
    try:
        available = context_values(await make_user_context(ctx, "deprecations"))
    except (SetupError, TargetFailure) as exc:
        evidence.append(Evidence("note", f"no user context to offer the entry points ({exc}); "
                                 "they are called without one"))
    for dep in ctx.profile.deprecated:
        crash: SetupError | TargetFailure | None = None
        target: Any = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                target = ctx.import_entry(dep.entry, f"deprecated entry '{dep.entry}'")
                if callable(target):
                    await _offer_manager(ctx, target, available, evidence)
                    call = fill_arguments(target, available=available,
                                          overrides=ctx.build_kwargs(dep.attr),
                                          profile_key=f"build.{dep.attr}", what=dep.entry,
                                          samples=SAMPLE_VALUES)
                    await call_built(ctx, f"{dep.attr}()", target, call, f"build.{dep.attr}")
            except (SetupError, TargetFailure) as exc:
                crash = exc
        emitted = [w for w in caught if not issubclass(w.category, RuntimeWarning)
                   or says_deprecated(str(w.message))]
        for w in emitted:
            where = ctx.relpath(w.filename) if ctx.in_target(w.filename) else None
            evidence.append(Evidence("warning", f"{dep.attr}: {w.category.__name__}: "
                                     f"{w.message}", where, w.lineno if where else None))
        ours = [w for w in emitted if issubclass(w.category, _CATEGORIES)
                or says_deprecated(str(w.message))]
        if crash is not None:
            evidence.append(Evidence("observed", f"{dep.entry}: using it raised: {crash}"))
        if not ours:
            if crash is not None:  # it never got as far as warning: cannot tell
                undecided.append((f"{dep.attr} could not be used ({crash})", crash.fix))
                continue
            other = ", ".join(f"{w.category.__name__}: {w.message}" for w in emitted)
            said = f"; it emitted only {other}" if other else ""
            failures.append(f"{dep.attr} emitted no deprecation warning when used{said}")
            evidence.append(located(ctx, target, f"{dep.entry}: used it; no warning says it "
                                    f"is deprecated (expected one naming {dep.replacement})"
                                    f"{said}"))
            continue
        unconventional = [w for w in ours if not issubclass(w.category, _CATEGORIES)]
        if unconventional and len(unconventional) == len(ours):
            kind = unconventional[0].category.__name__
            evidence.append(Evidence("note", f"{dep.attr} warns with {kind}, not "
                                     "DeprecationWarning: DeprecationWarning would be "
                                     f"conventional, but a {kind} is shown by default, so "
                                     "users see it; not a failure"))
        if not any(dep.replacement.lower() in str(w.message).lower() for w in ours):
            failures.append(f"{dep.attr} warns but does not name its replacement "
                            f"{dep.replacement}")
    return failures, evidence, undecided


_MANAGER_NAMES = ("manager", "websocket_manager", "ws_manager")


async def _offer_manager(ctx: CheckContext, target: Any, available: dict[str, Any],
                         evidence: list[Evidence]) -> None:
    """Build a per-user manager (no connection) only for an entry point that asks for one."""
    import inspect

    if "manager" in available or not ctx.has_role("manager_factory") or "user_context" \
            not in available:
        return
    try:
        params = set(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        return
    if not params & set(_MANAGER_NAMES):
        return
    try:
        manager, _ = await build_role(ctx, "manager_factory",
                                      context_values(available["user_context"]))
    except (SetupError, TargetFailure) as exc:
        evidence.append(Evidence("note", f"no manager to offer the entry points: {exc}"))
        return
    available.update(dict.fromkeys(_MANAGER_NAMES, manager))


def says_deprecated(text: str) -> bool:
    """Whether a warning's text says its subject is deprecated."""
    return _DEPRECATED_RE.search(text) is not None


def _judge_source(ctx: CheckContext) -> Verdict:
    """``--static``: read each entry point's definition for a ``warnings.warn(...)`` of a
    deprecation category, or of any category saying deprecated, naming its replacement
    (nothing is imported or run)."""
    from netra_diag.support.survey import survey

    tree = survey(ctx.root, [d.attr for d in ctx.profile.deprecated], ctx.profile.exclude)
    failures: list[str] = []
    evidence: list[Evidence] = [Evidence("note", "--static: judged from source; the entry "
                                         "points were not run"),
                                *(problem_evidence(p) for p in tree.problems)]
    judged = 0
    for dep in ctx.profile.deprecated:
        defs = [d for d in [*tree.classes, *tree.functions] if d.name == dep.attr]
        home = [d for d in defs if d.module == dep.module
                or (d.module, d.name) in tree.imports.get(dep.module, ())]
        found = (home or defs)[:1]
        if not found:
            evidence.append(Evidence("note", f"{dep.entry}: no definition of {dep.attr} in the "
                                     "source, so it was not judged"))
            continue
        judged += 1
        d = found[0]
        how = d.deprecation
        if how is None or how.how not in ("warns", "message"):  # a message saying so counts
            said = " (its docstring says deprecated)" if how is not None else ""
            failures.append(f"{dep.attr} does not warn that it is deprecated when used{said}")
            evidence.append(Evidence("location", f"{dep.attr} defined here emits no "
                                     f"deprecation warning{said}", d.relpath, d.line))
        elif dep.replacement.lower() not in how.message.lower():
            failures.append(f"{dep.attr} warns but does not name its replacement "
                            f"{dep.replacement}")
            evidence.append(Evidence("location", f"warning without {dep.replacement}: "
                                     f"{how.message}", d.relpath, how.line))
        else:
            evidence.append(Evidence("location", f"{dep.attr} warns: {how.message}",
                                     d.relpath, how.line))
        if how is not None and how.how == "message":
            evidence.append(Evidence("note", f"{dep.attr} warns with {how.category}: "
                                     "DeprecationWarning would be conventional; not a failure"))
    if failures:
        return failed(first_failures(failures, limit=1), *evidence)
    if not judged:
        return skip_static("no deprecated entry point is defined in the scanned source")
    return passed(f"from source: all {judged} deprecated entry points warn and name their "
                  "replacement", *evidence)
