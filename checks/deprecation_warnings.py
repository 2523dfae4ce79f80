"""WHY #5: deprecations. Does every deprecated entry point warn, naming its replacement?"""

from __future__ import annotations

import warnings
from typing import Any

from netra_diag import CheckContext, Evidence, Verdict, check, failed, passed, skipped
from netra_diag.support.calls import SAMPLE_VALUES, fill_arguments

from ._calling import attach_recorder, call_built, context_values, make_user_context, run_async
from ._dynamic import first_failures
from ._source import guard_unparsed, problem_evidence, skip_static

EXPLAIN = """\
Verifies that every deprecated entry point listed in the profile (`deprecated:`) emits a
DeprecationWarning (or PendingDeprecationWarning / FutureWarning) when used, and that the
warning names its replacement.

Why it matters: during a migration the old and new paths coexist. Warnings are the only
signal that code still takes the old path; a deprecated entry point that stops warning lets
a regression back onto the shared singleton go unnoticed.

How it is judged: each entry point is imported and called (a class is instantiated) in a
fresh interpreter with every warning recorded, arguments built from its real signature; the
warnings it raises are listed with their category, text and the line they point at. Under
`--static`, each entry point's definition is read instead (nothing runs): it must call
`warnings.warn(..., DeprecationWarning)` with a message naming the replacement.

Typical causes: a warnings filter or `stacklevel`-less shim that swallows the warning; the
warning call deleted during a refactor; a message that does not say what to use instead.

How to fix: call `warnings.warn("X is deprecated; use Y", DeprecationWarning, stacklevel=2)`
at the top of each deprecated entry point."""

_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


@check(id="deprecation-warnings", why=5, title="Deprecation Warnings", explain=EXPLAIN,
       fix="make each deprecated entry point warn with DeprecationWarning naming its replacement")
@guard_unparsed
def deprecation_warnings(ctx: CheckContext) -> Verdict:
    if not ctx.profile.deprecated:
        return skipped("the profile lists no deprecated entry points")
    if ctx.static:
        return _judge_source(ctx)
    failures, evidence = run_async(ctx, lambda: _exercise(ctx))
    if failures:
        return failed(first_failures(failures, limit=1), *evidence)
    n = len(ctx.profile.deprecated)
    return passed(f"deprecation warnings working: all {n} deprecated entry points warn and "
                  "name their replacement", *evidence)


async def _exercise(ctx: CheckContext) -> tuple[list[str], list[Evidence]]:
    failures: list[str] = []
    evidence: list[Evidence] = []
    user_context = await make_user_context(ctx, "deprecations")
    _recorder, manager = await attach_recorder(ctx, user_context)
    available: dict[str, Any] = {**context_values(user_context),
                                 "manager": manager, "websocket_manager": manager}
    for dep in ctx.profile.deprecated:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            target = ctx.import_entry(dep.entry, f"deprecated entry '{dep.entry}'")
            if callable(target):
                call = fill_arguments(target, available=available,
                                      overrides=ctx.build_kwargs(dep.attr),
                                      profile_key=f"build.{dep.attr}", what=dep.entry,
                                      samples=SAMPLE_VALUES)
                await call_built(ctx, f"{dep.attr}()", target, call, f"build.{dep.attr}")
        ours = [w for w in caught if issubclass(w.category, _CATEGORIES)]
        if not ours:
            failures.append(f"{dep.attr} raised no DeprecationWarning when used")
            evidence.append(Evidence("observed", f"{dep.entry}: used it; no deprecation "
                                     f"warning (expected one naming {dep.replacement})"))
            continue
        named = [w for w in ours if dep.replacement.lower() in str(w.message).lower()]
        for w in ours:
            where = ctx.relpath(w.filename) if ctx.in_target(w.filename) else None
            evidence.append(Evidence("warning", f"{w.category.__name__}: {w.message}",
                                     where, w.lineno if where else None))
        if not named:
            failures.append(f"{dep.attr} warns but does not name its replacement "
                            f"{dep.replacement}")
    return failures, evidence


def _judge_source(ctx: CheckContext) -> Verdict:
    """``--static``: read each entry point's definition for a ``warnings.warn(...,
    DeprecationWarning)`` naming its replacement (nothing is imported or run)."""
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
        if how is None or how.how != "warns":
            said = "" if how is None else f" (it warns {how.category})" \
                if how.how == "message" else " (its docstring says deprecated)"
            failures.append(f"{dep.attr} does not warn with DeprecationWarning when used{said}")
            evidence.append(Evidence("location", f"{dep.attr} defined here emits no "
                                     f"DeprecationWarning{said}", d.relpath, d.line))
        elif dep.replacement.lower() not in how.message.lower():
            failures.append(f"{dep.attr} warns but does not name its replacement "
                            f"{dep.replacement}")
            evidence.append(Evidence("location", f"warning without {dep.replacement}: "
                                     f"{how.message}", d.relpath, how.line))
        else:
            evidence.append(Evidence("location", f"{dep.attr} warns: {how.message}",
                                     d.relpath, how.line))
    if failures:
        return failed(first_failures(failures, limit=1), *evidence)
    if not judged:
        return skip_static("no deprecated entry point is defined in the scanned source")
    return passed(f"from source: all {judged} deprecated entry points warn and name their "
                  "replacement", *evidence)
