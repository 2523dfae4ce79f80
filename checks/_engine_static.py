"""WHY #4 from source: what the engine factory's code shows before anything runs.

Un-awaited emitter-factory calls inside the engine factory (observed here: emitter-methods
locates them), constructor calls of the engine and its factory that miss required
arguments (this check's located findings) and where the factory builds an engine.
"""

from __future__ import annotations

from typing import Any

from netra_diag import CheckContext, Evidence
from netra_diag.support.definitions import (
    FunctionInfo,
    async_method_names,
    class_location,
    class_methods,
)
from netra_diag.support.static import constructor_calls_missing, unawaited_calls
from netra_diag.support.symbols import resolve_symbol

from ._source import located_failure, location_evidence, role_parts, scan

__all__ = ["static_findings"]


def static_findings(ctx: CheckContext
                     ) -> tuple[list[str], list[Evidence], list[Evidence], FunctionInfo | None]:
    """From source: un-awaited async emitter-factory calls inside the engine factory (an
    ``observed`` line: the call site is emitter-methods' located finding), constructor
    calls of the engine and its factory that miss required arguments (names resolved to
    the roles' own modules, see ``support.static``), and where the factory builds an engine
    (the definition of its ``create_engine`` method, when the factory is a class)."""
    roles = [role for role in ("engine_factory", "engine") if ctx.has_role(role)]
    parts = {role: role_parts(ctx, role) for role in roles}
    emitter_factory = ctx.profile.method("create_user_emitter")
    modules, problems = scan(ctx, [*(name for _, name in parts.values()), emitter_factory])
    failures: list[str] = []
    evidence: list[Evidence] = []
    if not roles:
        return failures, evidence, problems, None
    span = None
    site = None
    if "engine_factory" in parts:
        module, factory = parts["engine_factory"]
        site = (class_methods(modules, factory, module) or {}).get(
            ctx.profile.method("create_engine"))
        span = class_location(modules, factory, module) or _function_span(modules, module,
                                                                           factory)
        if span is None:
            evidence.append(Evidence("note", f"no definition of the engine factory {factory} "
                                     f"({module}) in the scanned source",
                                     data={"judged": False}))
    async_names = async_method_names(modules, [emitter_factory])
    if span is not None:
        path, start, end = span
        for finding in unawaited_calls(modules, async_names):
            if finding.relpath == path and start <= finding.line <= end:
                # emitter-methods owns an un-awaited emitter factory: observed here only
                evidence.append(Evidence("observed", f"the engine factory {finding.message} "
                                         "(emitter-methods locates that call site)",
                                         finding.relpath, finding.line,
                                         {"unawaited_at": f"{finding.relpath}:"
                                                          f"{finding.line}"}))
    for module, name in parts.values():
        init = (class_methods(modules, name, module) or {}).get("__init__")
        if init is None:
            continue
        symbol = resolve_symbol(modules, module, name)
        for finding in constructor_calls_missing(modules, symbol, init.params, init.required):
            failures.append(located_failure(finding))
            evidence.append(location_evidence(finding))
    return failures, evidence, problems, site


def _function_span(modules: list[Any], module: str, name: str) -> tuple[str, int, int] | None:
    """The span of a function-shaped engine factory ``module:name`` (re-exports followed)."""
    import ast

    symbol = resolve_symbol(modules, module, name)
    for mod in modules:
        if mod.module != symbol.home:
            continue
        for node in mod.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and \
                    node.name == symbol.name:
                return mod.relpath, node.lineno, node.end_lineno or node.lineno
    return None
