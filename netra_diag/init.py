"""``netra-diag init``: propose a profile for a source tree, from ``ast`` alone.

Nothing in the tree is imported. The tree is surveyed (``support.survey``) and each role is
recognised by the pipeline's vocabulary and shape, never by a known path:

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

Deprecated entry points are what warns with ``DeprecationWarning`` or says so in its
docstring, named by the package that re-exports it (the path old call sites import), with
the replacement its message names. Constructor arguments the checks do not supply are
settled from the roles (a ``registry`` parameter gets the registry role's factory), from
annotations naming a class of the tree that needs no arguments (or such a subclass), else
written as a ``# TODO``. Deprecated and test code never fill a role.

The rendered YAML is valid as written (every unsettled item is a comment), so ``run`` then
says precisely what is missing. This module never writes unless asked (``write_profile``).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .profile import CRITICAL_EVENTS, DEFAULT_METHODS, PROFILE_FILENAME, PROFILE_SCHEMA
from .support.survey import ClassInfo, FunctionDefInfo, Param, Survey, survey

__all__ = ["Proposal", "infer_profile", "render_profile", "write_profile"]

Definition = ClassInfo | FunctionDefInfo

#: Parameter names under which the checks pass the user context (checks/_common.py).
CONTEXT_NAMES = frozenset({"user_context", "context", "ctx", "user_execution_context",
                           "execution_context"})
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
_FAKE_WORDS = ("Scripted", "Fake", "Stub", "Echo", "Mock", "Dummy", "Offline", "InMemory",
               "Null", "Local")
_MAX_DEPTH = 3

TODO = "TODO"


@dataclass
class RoleChoice:
    """A role the survey settled: the definition and a comment describing it."""

    role: str
    definition: Definition
    note: str = ""

    @property
    def entry(self) -> str:
        return self.definition.entry


@dataclass
class BuildValue:
    """A ``build:`` value: a factory (with nested args) or a TODO with its reason."""

    factory: str | None = None
    args: dict[str, BuildValue] = field(default_factory=dict)
    todo: str | None = None


@dataclass
class DeprecatedChoice:
    entry: str
    replacement: str | None
    where: str
    how: str
    message: str


@dataclass
class Proposal:
    """Everything ``init`` found, before rendering."""

    name: str
    roles: dict[str, RoleChoice] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # role -> why it is a TODO
    methods: dict[str, str] = field(default_factory=dict)
    method_todos: dict[str, str] = field(default_factory=dict)
    event_methods: dict[str, str] = field(default_factory=dict)
    deprecated: list[DeprecatedChoice] = field(default_factory=list)
    build: dict[str, dict[str, BuildValue]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    problems: list[str] = field(default_factory=list)
    tree: Survey | None = field(default=None, repr=False)

    @property
    def todo_count(self) -> int:
        def count(values: dict[str, BuildValue]) -> int:
            return sum((v.todo is not None) + count(v.args) for v in values.values())

        return (len(self.missing) + len(self.method_todos)
                + sum(1 for d in self.deprecated if d.replacement is None)
                + sum(count(v) for v in self.build.values()))


# -- recognising the roles -----------------------------------------------------------------

_VOCABULARY = ("Context", "context", "manager", "Manager", "Emitter", "emitter", "notify_",
               "Bridge", "bridge", "Registry", "registry", "Engine", "engine", "upervisor",
               "server", "serve", "LLM", "Llm", "llm", "warn", "eprecat", "EPRECAT")


def infer_profile(root: Path, *, exclude: tuple[str, ...] = (), name: str | None = None
                  ) -> Proposal:
    """Survey ``root`` and propose roles, methods, deprecated entries and build arguments."""
    tree = survey(root, _VOCABULARY, exclude)
    _extend_with_annotated(tree, root, exclude)
    proposal = Proposal(name=name or _default_name(root), files=tree.files, tree=tree,
                        problems=[f"{p.relpath}{f':{p.line}' if p.line else ''}: {p.message}"
                                  for p in tree.problems])
    _choose_roles(tree, proposal)
    _choose_methods(tree, proposal)
    _choose_deprecated(tree, proposal)
    _choose_build(tree, proposal)
    return proposal


def _default_name(root: Path) -> str:
    packages = sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file()) \
        if root.is_dir() else []
    return packages[0] if len(packages) == 1 else (root.resolve().name or "target")


def _extend_with_annotated(tree: Survey, root: Path, exclude: tuple[str, ...]) -> None:
    """Survey the files defining classes that parameters name but the first pass skipped."""
    known = {c.name for c in tree.classes}
    wanted = {p.annotation for d in [*tree.functions, *tree.classes]
              for p in (d.params if isinstance(d, FunctionDefInfo) else tree.constructor(d))
              if p.annotation and p.annotation[:1].isupper() and p.annotation not in known}
    if not wanted:
        return
    seen = set(tree.imports)
    extra = survey(root, [f"class {n}" for n in sorted(wanted)], exclude)
    extra.classes = [c for c in extra.classes if c.module not in seen]
    extra.functions = [f for f in extra.functions if f.module not in seen]
    extra.imports = {m: v for m, v in extra.imports.items() if m not in seen}
    tree.add(extra)


def _live(defs: list[Any]) -> list[Any]:
    return [d for d in defs if d.deprecation is None and not getattr(d, "is_protocol", False)]


def _best(scored: list[tuple[int, Definition]]) -> list[Definition]:
    scored = [(s, d) for s, d in scored if s > 0]
    if not scored:
        return []
    top = max(s for s, _ in scored)
    return sorted((d for s, d in scored if s == top), key=lambda d: (d.relpath, d.line))


def _params_of(tree: Survey, d: Definition) -> tuple[Param, ...]:
    return d.params if isinstance(d, FunctionDefInfo) else tree.constructor(d)


def _takes_context(tree: Survey, d: Definition, context: str | None) -> bool:
    return any(p.name in CONTEXT_NAMES or (context and p.annotation == context)
               for p in _params_of(tree, d))


def _choose_roles(tree: Survey, proposal: Proposal) -> None:
    classes, functions = _live(tree.classes), _live(tree.functions)
    choose = proposal.roles

    def settle(role: str, found: list[Definition], why_missing: str, note: str = "") -> None:
        if found:
            choose[role] = RoleChoice(role, found[0], note)
        else:
            proposal.missing[role] = why_missing

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
    return 1 + any(word in c.name for word in _FAKE_WORDS)


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
    d = choice.definition
    if isinstance(d, ClassInfo):
        return d
    return tree.class_for(d.returns, d.module) if d.returns else None


def _choose_methods(tree: Survey, proposal: Proposal) -> None:
    for key, (role, words) in _METHOD_HOMES.items():
        cls = _role_class(tree, proposal, role)
        if cls is None:
            continue
        methods = {n: m for n, m in tree.methods(cls).items() if not n.startswith("_")}
        if DEFAULT_METHODS[key] in methods:
            continue
        alternatives = sorted(n for n in methods if any(w in n.lower() for w in words))
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


def _choose_deprecated(tree: Survey, proposal: Proposal) -> None:
    for d in sorted([*tree.classes, *tree.functions], key=lambda d: (d.relpath, d.line)):
        if d.deprecation is None:
            continue
        module = _public_module(tree, d)
        proposal.deprecated.append(DeprecatedChoice(
            f"{module}:{d.name}", d.deprecation.replacement, f"{d.relpath}:{d.line}",
            d.deprecation.how, d.deprecation.message))


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
    for param in _params_of(tree, d):
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
    return sorted(classes, key=lambda c: (not any(w in c.name for w in _FAKE_WORDS), c.name))


# -- rendering ------------------------------------------------------------------------------

def _describe(tree: Survey, choice: RoleChoice) -> str:
    """``async function, path:line; required: a, b`` (for a class: its constructor)."""
    d = choice.definition
    kind = "class" if isinstance(d, ClassInfo) else \
        "async function" if d.is_async else "function"
    required = [p.name for p in _params_of(tree, d) if p.required]
    return f"{kind}, {d.relpath}:{d.line}; required: {', '.join(required) or 'none'}"


def render_profile(proposal: Proposal, *, root: str) -> str:
    """The commented YAML for ``proposal`` (``root`` relative to the profile's folder)."""
    lines = [
        "# netra-diag profile written by `netra-diag init` from the source alone (nothing was",
        "# imported). Review every TODO, then run `netra-diag run` (or `run --static`).",
        f"# Surveyed {proposal.files} file(s) under {root}.",
        f"schema: {PROFILE_SCHEMA}",
        f"name: {_scalar(proposal.name)}",
        f"root: {_scalar(root)}",
        'exclude: ["tests/**"]',
        "",
        "roles:",
    ]
    for problem in proposal.problems:
        lines.insert(3, f"# skipped (could not parse): {problem}")
    tree = proposal.tree or Survey()
    from .profile import ROLES

    for role in ROLES:
        choice = proposal.roles.get(role)
        if choice is not None:
            lines.append(f"  {role}: {choice.entry}  # {_describe(tree, choice)}")
            if choice.note:
                lines.append(f"  # NOTE: {_comment(choice.note)}")
        elif role in proposal.missing:
            lines.append(f"  # {role}: {TODO}  # {_comment(proposal.missing[role])}")
    if proposal.methods or proposal.method_todos:
        lines += ["", "methods:  # method names on the roles, where they differ from the defaults"]
        for key, name in proposal.methods.items():
            lines.append(f"  {key}: {name}")
        for key, why in proposal.method_todos.items():
            lines.append(f"  # {key}: {TODO}  # {_comment(why)}")
    lines += ["", "deprecated:" + ("" if proposal.deprecated else
                                   "  # none found (nothing warns or says so): add any here")]
    if not proposal.deprecated:
        lines[-1] = "deprecated: []" + lines[-1][len("deprecated:"):]
    for dep in proposal.deprecated:
        how = "warns DeprecationWarning" if dep.how == "warns" else "docstring says deprecated"
        lines.append(f"  # {dep.where} {how}: {_comment(dep.message)}")
        lines.append(f"  - entry: {dep.entry}")
        if dep.replacement:
            lines.append(f"    replacement: {dep.replacement}")
        else:
            lines.append(f"    replacement: {TODO}  # {TODO}: the message names no replacement")
    if proposal.build:
        lines += ["", "build:  # constructor arguments the checks cannot supply themselves"]
        for role, values in proposal.build.items():
            lines += _render_values(role, values, indent=2)
    lines += ["", "events:", f"  critical: [{', '.join(CRITICAL_EVENTS)}]"]
    if proposal.event_methods:
        lines.append("  methods:")
        lines += [f"    {event}: {name}" for event, name in proposal.event_methods.items()]
    for note in proposal.notes:
        lines.append(f"# NOTE: {_comment(note)}")
    lines += ["", "budgets:", "  event_latency_ms: 50", "  run_timeout_s: 10", ""]
    return "\n".join(lines)


def _render_values(key: str, values: dict[str, BuildValue], indent: int) -> list[str]:
    """``key:`` and its values; commented out entirely when nothing in it is settled."""
    pad = " " * indent
    settled = {k: v for k, v in values.items() if v.todo is None}
    lines = [f"{pad}{key}:" if settled else f"{pad}# {key}:  # nothing settled yet"]
    for name, value in values.items():
        inner = pad + "  "
        if value.todo is not None:
            lines.append(f"{inner}# {name}: {TODO}  # {_comment(value.todo)}")
        elif not value.args:
            lines.append(f'{inner}{name}: {{factory: "{value.factory}"}}')
        else:
            lines.append(f"{inner}{name}:")
            lines.append(f'{inner}  factory: "{value.factory}"')
            lines += _render_values("args", value.args, indent + 4)
    return lines


def _scalar(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_./-]+", text) else json.dumps(text)


def _comment(text: str) -> str:
    return " ".join(text.split())[:300]


# -- writing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class InitResult:
    path: Path
    proposal: Proposal


def source_root_for(folder: Path, root: Path | None) -> Path:
    """The tree to survey: ``root`` when given, else ``folder/src`` when it holds a package,
    else ``folder``."""
    if root is not None:
        if not root.is_dir():
            raise ConfigError(f"--root {root}: not a folder")
        return root
    src = folder / "src"
    if src.is_dir() and any((p / "__init__.py").is_file() for p in src.iterdir()):
        return src
    return folder


def write_profile(target: Path, *, root: Path | None = None, force: bool = False,
                  name: str | None = None) -> InitResult:
    """Write a proposed profile to ``target`` (a folder, or a ``.yaml`` path). An existing
    file is a ``ConfigError`` (exit 4) unless ``force``."""
    is_yaml = target.suffix in (".yaml", ".yml")
    if not is_yaml and target.exists() and not target.is_dir():
        raise ConfigError(f"{target} is a file: init takes a folder to write "
                          f"{PROFILE_FILENAME} into (or the path of a .yaml file to write)")
    path = target if is_yaml else target / PROFILE_FILENAME
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder (init writes into an existing folder)")
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; pass --force to overwrite it")
    source = source_root_for(folder, root)
    proposal = infer_profile(source, name=name)
    rel = os.path.relpath(source.resolve(), folder.resolve())
    where = source.resolve().as_posix() if rel.startswith("..") else Path(rel).as_posix()
    text = render_profile(proposal, root=where)
    from .reporters.atomic import write_atomic

    write_atomic(path, text)
    return InitResult(path, proposal)
