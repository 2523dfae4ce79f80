"""What ``init`` proposes for a source tree: the ``Proposal`` and how it is inferred.

Owns the proposal model and everything in it besides the roles themselves (``init_roles``
chooses those): method names that differ from the defaults, deprecated entry points and the
constructor arguments the checks cannot supply. Nothing in the tree is imported; this module
knows nothing of YAML (``init_render``) nor of files to write (``init``).

Deprecated entry points are what warns with ``DeprecationWarning`` or says so in its
docstring, named by the package that re-exports it (the path old call sites import), with
the replacement its message names. Constructor arguments the checks do not supply are
settled from the roles (a ``registry`` parameter gets the registry role's factory), from
annotations naming a class of the tree that needs no arguments (or such a subclass), else
left as a TODO with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .init_roles import (
    CONTEXT_NAMES,
    FAKE_WORDS,
    Definition,
    RoleChoice,
    choose_roles,
    params_of,
    returned_class,
)
from .init_survey import survey_tree
from .profile import CRITICAL_EVENTS, DEFAULT_METHODS
from .support.source import SourceProblem
from .support.survey import ClassInfo, Param, Survey

__all__ = ["BuildValue", "Proposal", "infer_profile"]

#: What the checks supply themselves when they build each role; the rest needs ``build:``.
RUN_SUPPLIED: dict[str, frozenset[str]] = {
    "user_context": frozenset({"user_id", "request_id", "thread_id", "run_id"}),
    "manager_factory": CONTEXT_NAMES,
    "bridge_factory": CONTEXT_NAMES,
    "wiring_entry": CONTEXT_NAMES,
    "server": frozenset({"host", "port", "users", "tokens"}),
}
#: Roles whose constructor arguments the profile may need to give (emitter and engine are
#: made by the target itself).
BUILT_ROLES = ("user_context", "manager_factory", "bridge_factory", "registry",
               "engine_factory", "wiring_entry", "server", "llm_manager")
#: Parameter names that mean "an instance of this role".
ROLE_PARAMS: dict[str, frozenset[str]] = {
    "registry": frozenset({"registry", "agent_registry"}),
    "bridge_factory": frozenset({"bridge", "websocket_bridge", "agent_bridge",
                                 "agent_websocket_bridge"}),
    "llm_manager": frozenset({"llm_manager", "llm", "llm_client", "model_client"}),
}
_MAX_DEPTH = 3


@dataclass
class BuildValue:
    """A ``build:`` value: a factory (with nested args) or a TODO with its reason."""

    factory: str | None = None
    args: dict[str, BuildValue] = field(default_factory=dict)
    todo: str | None = None


@dataclass
class DeprecatedChoice:
    """A deprecated entry point; ``active`` when connected to the event pipeline (else it is
    written commented out, for the user to opt in), ``why`` says how it connects."""

    entry: str
    replacement: str | None
    where: str
    how: str
    message: str
    category: str = ""
    active: bool = True
    why: str = ""


@dataclass
class Proposal:
    """Everything ``init`` found, before rendering."""

    name: str
    roles: dict[str, RoleChoice] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # role -> why it is a TODO
    #: role -> candidates of a TODO role, each with why it was not taken
    candidates: dict[str, list[tuple[Definition, str]]] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)
    method_todos: dict[str, str] = field(default_factory=dict)
    event_methods: dict[str, str] = field(default_factory=dict)
    deprecated: list[DeprecatedChoice] = field(default_factory=list)
    build: dict[str, dict[str, BuildValue]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    files: int = 0  # distinct production files read
    parsed: int = 0  # of which parsed
    problems: list[str] = field(default_factory=list)
    tree: Survey | None = field(default=None, repr=False)

    @property
    def todo_count(self) -> int:
        def count(values: dict[str, BuildValue]) -> int:
            return sum((v.todo is not None) + count(v.args) for v in values.values())

        return (len(self.missing) + len(self.method_todos)
                + sum(1 for d in self.deprecated if d.replacement is None and d.active)
                + sum(count(v) for v in self.build.values()))


def infer_profile(root: Path, *, exclude: tuple[str, ...] = (), name: str | None = None,
                  cache: bool = True) -> Proposal:
    """Survey ``root`` and propose roles, methods, deprecated entries and build arguments
    (one read of each file, and one parse of the few that can matter: ``init_survey``)."""
    tree, scan = survey_tree(root, exclude, cache=cache)
    proposal = Proposal(name=name or _default_name(root), files=len(scan.files),
                        parsed=sum(1 for s in scan.summaries.values()
                                   if not isinstance(s, SourceProblem)), tree=tree,
                        problems=[f"{p.relpath}{f':{p.line}' if p.line else ''}: {p.message}"
                                  for p in tree.problems])
    proposal.roles, proposal.missing, proposal.candidates = choose_roles(tree)
    _choose_methods(tree, proposal)
    _choose_deprecated(tree, proposal)
    _choose_build(tree, proposal)
    return proposal


def _default_name(root: Path) -> str:
    packages = sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file()) \
        if root.is_dir() else []
    return packages[0] if len(packages) == 1 else (root.resolve().name or "target")


# -- methods, events, deprecations ---------------------------------------------------------

#: method key -> (role whose class defines it, words an alternative name would contain)
_METHOD_HOMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "create_user_emitter": ("bridge_factory", ("emitter",)),
    "create_engine": ("engine_factory", ("engine", "for_user")),
    "set_websocket_manager": ("registry", ("manager",)),
    "get_agent": ("registry", ("agent",)),
    "list_agents": ("registry", ("agents", "names")),
    "run_agent": ("engine", ("run",)),
    "send_event": ("emitter", ("send", "emit")),
    "add_connection": ("manager_factory", ("add", "attach", "register")),
    "run": ("wiring_entry", ("run",)),
}


def _role_class(tree: Survey, proposal: Proposal, role: str) -> ClassInfo | None:
    """The class whose instances a role yields: the class itself, or what a function's
    return annotation names."""
    choice = proposal.roles.get(role)
    if choice is None:
        return None
    return returned_class(tree, choice.definition)


def _choose_methods(tree: Survey, proposal: Proposal) -> None:
    for key, (role, words) in _METHOD_HOMES.items():
        cls = _role_class(tree, proposal, role)
        if cls is None:
            continue
        methods = {n: m for n, m in tree.methods(cls).items() if not n.startswith("_")}
        if DEFAULT_METHODS[key] in methods:
            continue
        alternatives = sorted(n for n in methods if _alternative(key, n, words))
        if len(alternatives) == 1:
            proposal.methods[key] = alternatives[0]
        else:
            options = f" (candidates: {', '.join(alternatives)})" if alternatives else ""
            proposal.method_todos[key] = (f"{cls.name} has no {DEFAULT_METHODS[key]}()"
                                          f"{options}: name the method that does this")
    emitter = _role_class(tree, proposal, "emitter")
    if emitter is not None:
        methods = tree.methods(emitter)
        for event in CRITICAL_EVENTS:
            if f"notify_{event}" in methods:
                continue
            named = [n for n in methods if event in n and not n.startswith("_")]
            if len(named) == 1:
                proposal.event_methods[event] = named[0]
        absent = [f"notify_{e}" for e in CRITICAL_EVENTS
                  if f"notify_{e}" not in methods and e not in proposal.event_methods]
        if absent:
            proposal.notes.append(f"{emitter.name} ({emitter.relpath}:{emitter.line}) defines "
                                  f"no {', '.join(absent)}: emitter-methods will report it")


def _alternative(key: str, name: str, words: tuple[str, ...]) -> bool:
    """Whether method ``name`` can stand for ``key`` (``send_event``: a verb that sends, never
    a getter such as ``get_emitter_status``)."""
    lower = name.lower()
    if lower.startswith(("get_", "is_", "has_")) and key != "get_agent":
        return False
    if key == "send_event":
        return lower.startswith(("send", "emit"))
    return any(w in lower for w in words)


_SOCKET_WORDS = ("socket", "ws", "websocket", "websockets", "websocket_core", "realtime")


def _connection(tree: Survey, proposal: Proposal, d: Definition, module: str) -> str:
    """How deprecated ``d`` connects to the event pipeline ('' when it does not): the
    manager getter, a notifier or emitter, what a role's module imports, or what a role
    replaces it with."""
    lower = d.name.lower()
    parts = set(d.module.split("."))
    if "manager" in lower and ("socket" in lower or parts & set(_SOCKET_WORDS)):
        return "the WebSocket manager getter"
    if any(w in lower for w in ("notifier", "emitter", "notify")):
        return "a notifier or emitter"
    replacement = d.deprecation.replacement if d.deprecation else None
    for role, choice in proposal.roles.items():
        names = {choice.definition.name}
        made = returned_class(tree, choice.definition)
        if made is not None:
            names.add(made.name)
        if replacement and replacement in names:
            return f"replaced by the {role} role ({replacement})"
        imports = tree.imports.get(choice.definition.module, ())
        if (d.module, d.name) in imports or (module, d.name) in imports:
            return f"imported by the {role} role's module"
    return ""


def _choose_deprecated(tree: Survey, proposal: Proposal) -> None:
    for d in sorted([*tree.classes, *tree.functions], key=lambda d: (d.relpath, d.line)):
        if d.deprecation is None:
            continue
        module = _public_module(tree, d)
        why = _connection(tree, proposal, d, module)
        proposal.deprecated.append(DeprecatedChoice(
            f"{module}:{d.name}", d.deprecation.replacement, f"{d.relpath}:{d.line}",
            d.deprecation.how, d.deprecation.message, d.deprecation.category,
            active=bool(why), why=why))


def _public_module(tree: Survey, d: Definition) -> str:
    """The shortest ancestor package that re-exports ``d`` (what old call sites import)."""
    parts = d.module.split(".")
    for i in range(1, len(parts)):
        package = ".".join(parts[:i])
        if package in tree.packages and (d.module, d.name) in tree.imports.get(package, ()):
            return package
    return d.module


# -- build arguments -----------------------------------------------------------------------

def _choose_build(tree: Survey, proposal: Proposal) -> None:
    for role in BUILT_ROLES:
        choice = proposal.roles.get(role)
        if choice is None:
            continue
        values = _settle_params(tree, proposal, choice.definition,
                                RUN_SUPPLIED.get(role, frozenset()), depth=0, avoid={role})
        if values:
            proposal.build[role] = values


def _settle_params(tree: Survey, proposal: Proposal, d: Definition, supplied: frozenset[str],
                   *, depth: int, avoid: set[str]) -> dict[str, BuildValue]:
    out: dict[str, BuildValue] = {}
    for param in params_of(tree, d):
        if not param.required or param.name in supplied:
            continue
        out[param.name] = _settle(tree, proposal, d, param, depth=depth, avoid=avoid)
    return out


def _settle(tree: Survey, proposal: Proposal, owner: Definition, param: Param, *, depth: int,
            avoid: set[str]) -> BuildValue:
    where = f"required by {owner.name}() ({owner.relpath}:{owner.line})"
    if depth >= _MAX_DEPTH:
        return BuildValue(todo=f"{where}; nested too deep to settle")
    for role, names in ROLE_PARAMS.items():
        choice = proposal.roles.get(role)
        if choice is None or role in avoid:
            continue
        role_class = _role_class(tree, proposal, role)
        classes = {choice.definition.name, role_class.name if role_class else ""} - {""}
        if param.name in names or (param.annotation and param.annotation in classes):
            args = _settle_params(tree, proposal, choice.definition,
                                  RUN_SUPPLIED.get(role, frozenset()), depth=depth + 1,
                                  avoid=avoid | {role})
            return BuildValue(factory=choice.entry, args=args)
    if param.annotation:
        cls = tree.class_for(param.annotation, owner.module)
        if cls is not None:
            for candidate in [cls, *_fakes_first(tree.subclasses(cls.name))]:
                if candidate.is_protocol or candidate.deprecation is not None:
                    continue
                args = _settle_params(tree, proposal, candidate, frozenset(), depth=depth + 1,
                                      avoid=avoid)
                if not any(v.todo for v in args.values()):
                    return BuildValue(factory=candidate.entry, args=args)
    hint = f" (annotated {param.annotation})" if param.annotation else ""
    return BuildValue(todo=f"{where}{hint}; no value found: give a literal, "
                      "{factory: 'module:attr'} or {import: 'module:attr'}")


def _fakes_first(classes: list[ClassInfo]) -> list[ClassInfo]:
    return sorted(classes, key=lambda c: (not any(w in c.name for w in FAKE_WORDS), c.name))
