"""Which definition of a surveyed tree plays each pipeline role, by vocabulary and shape.

Owns the recognition of the roles (``choose_roles``) and the small readings of a definition
it needs (``params_of``). It never relies on a known path, never imports the tree, and knows
nothing of the rest of a proposal (methods, deprecations, build arguments) nor of YAML.
Each role is recognised as:

========================  =================================================================
role                      recognised as
========================  =================================================================
``user_context``          a class named ``UserExecutionContext`` (else ``*ExecutionContext``
                          / ``*UserContext`` / ``*Context``) whose constructor takes
                          ``user_id``; with several definitions, the most imported one
``manager_factory``       a function ``create_websocket_manager`` (else ``create_*manager``)
                          taking the user context
``emitter``               a class with the most ``notify_<event>`` methods and/or ``Emitter``
                          in its name
``bridge_factory``        a function ``create_*bridge*`` / ``build_*bridge*`` (else a class
                          ``*Bridge`` that needs no arguments)
``registry``              a class ``*Registry`` with ``get_agent``/``list_agents``
``engine_factory``        a class or function ``*EngineFactory*`` (else one with
                          ``create_for_user``)
``engine``                a class ``*Engine`` with ``run_agent``
``wiring_entry``          a function whose name says ``supervisor`` (``get_supervisor``,
                          ``supervisor_for``), else a ``dependencies``/``wiring`` function
                          taking the user context
``server``                an async ``start_server``/``serve``/``run_server`` taking host, port
``llm_manager``           a ``*LLM*Manager``/``*LLM*Client`` class that needs no arguments,
                          preferring scripted/fake/echo ones
========================  =================================================================

Deprecated and test code never fill a role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .profile import CRITICAL_EVENTS
from .support.survey import ClassInfo, FunctionDefInfo, Param, Survey

__all__ = ["CONTEXT_NAMES", "FAKE_WORDS", "VOCABULARY", "Definition", "RoleChoice",
           "choose_roles", "params_of"]

Definition = ClassInfo | FunctionDefInfo

#: Parameter names under which the checks pass the user context (checks/_calling.py).
CONTEXT_NAMES = frozenset({"user_context", "context", "ctx", "user_execution_context",
                           "execution_context"})
#: Words naming a scripted stand-in (preferred for the LLM manager and for built arguments).
FAKE_WORDS = ("Scripted", "Fake", "Stub", "Echo", "Mock", "Dummy", "Offline", "InMemory",
              "Null", "Local")
#: Words whose files the survey parses: what the roles, methods and deprecations are named by.
VOCABULARY = ("Context", "context", "manager", "Manager", "Emitter", "emitter", "notify_",
              "Bridge", "bridge", "Registry", "registry", "Engine", "engine", "upervisor",
              "server", "serve", "LLM", "Llm", "llm", "warn", "eprecat", "EPRECAT")


@dataclass
class RoleChoice:
    """A role the survey settled: the definition and a comment describing it."""

    role: str
    definition: Definition
    note: str = ""

    @property
    def entry(self) -> str:
        return self.definition.entry


def _live(defs: list[Any]) -> list[Any]:
    return [d for d in defs if d.deprecation is None and not getattr(d, "is_protocol", False)]


def _best(scored: list[tuple[int, Definition]]) -> list[Definition]:
    scored = [(s, d) for s, d in scored if s > 0]
    if not scored:
        return []
    top = max(s for s, _ in scored)
    return sorted((d for s, d in scored if s == top), key=lambda d: (d.relpath, d.line))


def params_of(tree: Survey, d: Definition) -> tuple[Param, ...]:
    return d.params if isinstance(d, FunctionDefInfo) else tree.constructor(d)


def _takes_context(tree: Survey, d: Definition, context: str | None) -> bool:
    return any(p.name in CONTEXT_NAMES or (context and p.annotation == context)
               for p in params_of(tree, d))


def choose_roles(tree: Survey) -> tuple[dict[str, RoleChoice], dict[str, str]]:
    """The roles ``tree`` settles, and for each other role why it is a TODO."""
    classes, functions = _live(tree.classes), _live(tree.functions)
    choose: dict[str, RoleChoice] = {}
    missing: dict[str, str] = {}

    def settle(role: str, found: list[Definition], why_missing: str, note: str = "") -> None:
        if found:
            choose[role] = RoleChoice(role, found[0], note)
        else:
            missing[role] = why_missing

    contexts = _best([(_context_score(tree, c), c) for c in classes])
    note = ""
    if len(contexts) > 1:
        contexts.sort(key=lambda c: (-len(tree.importers(c.module, c.name)), c.relpath))
        others = ", ".join(f"{c.relpath}:{c.line}" for c in contexts[1:])
        note = (f"{len(contexts)} classes named like this ({others} too): chose the most "
                "imported; context-identity will show which each component accepts")
    settle("user_context", contexts, "no class like UserExecutionContext(user_id, ...) found",
           note)
    ctx_name = choose["user_context"].definition.name if "user_context" in choose else None

    settle("manager_factory", _best([(_manager_factory_score(tree, f, ctx_name), f)
                                     for f in functions]),
           "no create_websocket_manager(user_context)-like function found")
    settle("emitter", _best([(_emitter_score(tree, c), c) for c in classes]),
           "no class with notify_<event> methods or 'Emitter' in its name found")
    bridges = _best([(_bridge_factory_score(tree, d), d) for d in [*functions, *classes]])
    settle("bridge_factory", bridges, "no create_*bridge* function or no-argument *Bridge class "
           "found")
    settle("registry", _best([(_registry_score(tree, c), c) for c in classes]),
           "no *Registry class with get_agent() found")
    settle("engine_factory", _best([(_engine_factory_score(tree, d), d)
                                    for d in [*classes, *functions]]),
           "no *EngineFactory class or function found")
    settle("engine", _best([(_engine_score(tree, c), c) for c in classes]),
           "no *Engine class with run_agent() found")
    settle("wiring_entry", _best([(_wiring_score(tree, f, ctx_name), f) for f in functions]),
           "no get_supervisor-like function (the application's wiring path) found")
    settle("server", _best([(_server_score(f), f) for f in functions]),
           "no async start_server(host, port, ...) found: event-flow will drive an agent run "
           "in-process instead (the wire is then not exercised)")
    settle("llm_manager", _best([(_llm_score(tree, c), c) for c in classes]),
           "no LLM manager/client class that needs no arguments found (optional)")
    return choose, missing


def _context_score(tree: Survey, c: ClassInfo) -> int:
    if "user_id" not in {p.name for p in tree.constructor(c)}:
        return 0
    if c.name == "UserExecutionContext":
        return 4
    if c.name.endswith(("ExecutionContext", "UserContext")):
        return 3
    return 1 if c.name.endswith("Context") else 0


def _manager_factory_score(tree: Survey, f: FunctionDefInfo, ctx: str | None) -> int:
    if not _takes_context(tree, f, ctx):
        return 0
    if f.name == "create_websocket_manager":
        return 3
    lower = f.name.lower()
    if "manager" in lower and lower.startswith(("create", "make", "build", "new")):
        return 2 if "socket" in lower else 1
    return 0


def _emitter_score(tree: Survey, c: ClassInfo) -> int:
    methods = tree.methods(c)
    notify = sum(1 for e in CRITICAL_EVENTS if f"notify_{e}" in methods)
    named = "Emitter" in c.name
    if not named and notify < 3:
        return 0
    return 2 * notify + 3 * named + ("send_event" in methods)


def _bridge_factory_score(tree: Survey, d: Definition) -> int:
    lower = d.name.lower()
    if isinstance(d, FunctionDefInfo):
        if "bridge" in lower and lower.startswith(("create", "build", "make", "get", "new")):
            return 3
        return 0
    if "Bridge" in d.name and not any(p.required for p in tree.constructor(d)):
        return 2
    return 0


def _registry_score(tree: Survey, c: ClassInfo) -> int:
    if "Registry" not in c.name:
        return 0
    methods = tree.methods(c)
    return 1 + 2 * ("get_agent" in methods) + ("list_agents" in methods) \
        + c.name.endswith("AgentRegistry")


def _engine_factory_score(tree: Survey, d: Definition) -> int:
    if "EngineFactory" in d.name:
        return 3
    if isinstance(d, ClassInfo) and "create_for_user" in tree.methods(d):
        return 2
    lower = d.name.lower()
    return 1 if "engine" in lower and "factory" in lower else 0


def _engine_score(tree: Survey, c: ClassInfo) -> int:
    if not c.name.endswith("Engine"):
        return 0
    return 3 if "run_agent" in tree.methods(c) else 1


def _wiring_score(tree: Survey, f: FunctionDefInfo, ctx: str | None) -> int:
    lower = f.name.lower()
    if "supervisor" in lower and not lower.startswith("_"):
        return 3
    module = f.module.rsplit(".", 1)[-1]
    if module in ("dependencies", "wiring", "container", "deps") and \
            _takes_context(tree, f, ctx) and not lower.startswith("_"):
        return 2
    return 0


def _server_score(f: FunctionDefInfo) -> int:
    names = {p.name for p in f.params}
    if not f.is_async or not {"host", "port"} <= names:
        return 0
    return 3 if f.name in ("start_server", "serve", "run_server", "create_server") else 2


def _llm_score(tree: Survey, c: ClassInfo) -> int:
    lower = c.name.lower()
    if "llm" not in lower or not ("manager" in lower or "client" in lower):
        return 0
    if any(p.required for p in tree.constructor(c)):
        return 0
    return 1 + any(word in c.name for word in FAKE_WORDS)
