"""The readings of a definition's shape that ``init_roles`` ranks candidates by.

Owns the vocabulary constants (the parameter names of the user context, the words naming a
stand-in, the parameters a web framework injects), the small readings of a surveyed
definition (its parameters, kind, what class it yields, how many modules import it, whether
the tool can supply its arguments) and the per-role name scores. Nothing here chooses.
"""

from __future__ import annotations

from typing import Any

from .profile import CRITICAL_EVENTS
from .support.survey import ClassInfo, FunctionDefInfo, Param, Survey

__all__ = ["CONTEXT_NAMES", "FAKE_WORDS", "FRAMEWORK_PARAMS", "Definition", "context_score",
           "describe_kind", "emitter_score", "engine_factory_score", "is_side_path", "live",
           "manager_factory_score", "method_result", "params_of", "registry_score",
           "required_names", "returned_class", "takes_context", "unsuppliable", "used_by"]

Definition = ClassInfo | FunctionDefInfo

#: Parameter names under which the checks pass the user context (checks/_calling.py).
CONTEXT_NAMES = frozenset({"user_context", "context", "ctx", "user_execution_context",
                           "execution_context"})
#: Words naming a scripted stand-in (preferred for the LLM manager and for built arguments).
FAKE_WORDS = ("Scripted", "Fake", "Stub", "Echo", "Mock", "Dummy", "Offline", "InMemory",
              "Null", "Local")
#: Parameters a web framework injects: the tool can never supply them.
FRAMEWORK_PARAMS = frozenset({"request", "response", "websocket", "background_tasks", "db",
                              "session", "current_user", "user_id", "token", "credentials"})
#: Path segments of code that is not the application's own path (a tie-break only).
_SIDE_SEGMENTS = frozenset({"demo", "demos", "example", "examples", "sample", "samples",
                            "legacy", "scripts", "experimental", "playground"})


def live(defs: list[Any]) -> list[Any]:
    return [d for d in defs if d.deprecation is None and not getattr(d, "is_protocol", False)]


def params_of(tree: Survey, d: Definition) -> tuple[Param, ...]:
    return d.params if isinstance(d, FunctionDefInfo) else tree.constructor(d)


def describe_kind(d: Definition) -> str:
    return "class" if isinstance(d, ClassInfo) else \
        "async function" if d.is_async else "function"


def required_names(tree: Survey, d: Definition) -> list[str]:
    return [p.name for p in params_of(tree, d) if p.required]


def takes_context(tree: Survey, d: Definition, context: str | None) -> bool:
    return any(p.name in CONTEXT_NAMES or (context and p.annotation == context)
               for p in params_of(tree, d))


def returned_class(tree: Survey, d: Definition) -> ClassInfo | None:
    """The class of the tree that ``d`` yields: a class itself, else what a function's
    return annotation names, else the class it returns a call of."""
    if isinstance(d, ClassInfo):
        return d
    for name in (d.returns, *d.constructs):
        if name and name[:1].isupper():
            cls = tree.class_for(name, d.module)
            if cls is not None:
                return cls
    return None


def method_result(tree: Survey, cls: ClassInfo, names: tuple[str, ...], word: str
                   ) -> ClassInfo | None:
    """The class returned by ``cls``'s method named in ``names`` (else one whose name has
    ``word``)."""
    methods = tree.methods(cls)
    picked = [methods[n] for n in names if n in methods] or \
        [m for n, m in sorted(methods.items()) if word in n.lower() and not n.startswith("_")]
    for method in picked:
        found = returned_class(tree, method)
        if found is not None:
            return found
    return None


def is_side_path(d: Definition) -> bool:
    return bool(_SIDE_SEGMENTS & set(d.module.split(".")))


def used_by(tree: Survey, d: Definition) -> int:
    """How many other modules import ``d`` (from its module or a package re-exporting it)."""
    sources = {d.module} | {m for m in tree.importer_modules(d.module, d.name)
                            if m in tree.packages}
    users: set[str] = set()
    for source in sources:
        users |= tree.importer_modules(source, d.name)
    return len(users - sources)



def unsuppliable(tree: Survey, d: Definition, supplied: frozenset[str]) -> list[str]:
    """Required parameters of ``d`` that nothing can supply (the framework injects them,
    or neither the run, a role's name nor an annotated class of the tree gives one)."""
    out = []
    for p in params_of(tree, d):
        if not p.required or p.name in supplied:
            continue
        known = p.annotation and tree.class_for(p.annotation, d.module) is not None
        if p.name in FRAMEWORK_PARAMS or not known:
            out.append(p.name)
    return out


def context_score(tree: Survey, c: ClassInfo) -> int:
    if "user_id" not in {p.name for p in tree.constructor(c)}:
        return 0
    if c.name == "UserExecutionContext":
        return 4
    if c.name.endswith(("ExecutionContext", "UserContext")):
        return 3
    return 1 if c.name.endswith("Context") else 0


def manager_factory_score(tree: Survey, f: FunctionDefInfo, ctx: str | None) -> int:
    if not takes_context(tree, f, ctx):
        return 0
    if f.name == "create_websocket_manager":
        return 3
    lower = f.name.lower()
    if "manager" in lower and lower.startswith(("create", "make", "build", "new")):
        return 2 if "socket" in lower else 1
    return 0


def emitter_score(tree: Survey, c: ClassInfo) -> int:
    methods = tree.methods(c)
    notify = sum(1 for e in CRITICAL_EVENTS if f"notify_{e}" in methods)
    named = "Emitter" in c.name
    if not named and notify < 3:
        return 0
    return 2 * notify + 3 * named + ("send_event" in methods)


def registry_score(tree: Survey, c: ClassInfo) -> int:
    if "Registry" not in c.name:
        return 0
    methods = tree.methods(c)
    if "get_agent" not in methods:
        return 0
    return 3 + ("list_agents" in methods) + ("set_websocket_manager" in methods) \
        + c.name.endswith("AgentRegistry")


def engine_factory_score(tree: Survey, d: Definition) -> int:
    if "EngineFactory" in d.name:
        return 3
    if isinstance(d, ClassInfo) and "create_for_user" in tree.methods(d):
        return 2
    lower = d.name.lower()
    return 1 if "engine" in lower and "factory" in lower else 0
