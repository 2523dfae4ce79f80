"""What a source tree defines, read with ``ast`` alone (nothing is imported).

A ``Survey`` summarises the production modules of a tree: its top-level classes and
functions with their parameters (name, annotation, required or not), async-ness, docstring
and whether they are *deprecated by behaviour*; each module's ``from ... import`` names (to
see re-exports and who imports what); and the files that could not be read or parsed. Trees
are parsed one at a time and only summaries are kept, so memory stays flat on large trees.

Deprecation rules (``deprecation_of``): a function, or a class through ``__init__``,
``__new__`` or ``__post_init__``, is deprecated when its body calls ``warnings.warn`` (or a
bare ``warn``) with ``DeprecationWarning``, ``PendingDeprecationWarning`` or
``FutureWarning`` (or with any category, ``UserWarning`` by default, whose message says
"deprecated"); or when the first line of its docstring says "deprecated" (and not "not
deprecated"). The replacement is read from the warning text, then the docstring: the name
after "use" (``use create_websocket_manager(...)`` -> ``create_websocket_manager``), when it
looks like an identifier of code (has ``_``, a capital, or a call) rather than prose.

This module knows nothing about roles, checks or profiles.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .definitions import Param, annotation_name, parameters
from .source import ParsedModule, SourceProblem, parse_matching
from .symbols import resolve_relative

__all__ = [
    "ClassInfo",
    "Deprecation",
    "FunctionDefInfo",
    "Param",
    "Survey",
    "annotation_name",
    "deprecation_of",
    "survey",
]

_WARNING_CATEGORIES = {"DeprecationWarning", "PendingDeprecationWarning", "FutureWarning"}
_USE_RE = re.compile(r"\b[Uu]se\s+[`'\"]*([A-Za-z_][\w.]*)(\()?")
_DEPRECATED_RE = re.compile(r"(?<![\w-])(?<!not )deprecated\b", re.IGNORECASE)
_SAYS_DEPRECATED_RE = re.compile(r"deprecat", re.IGNORECASE)
_CLASS_HOOKS = ("__init__", "__new__", "__post_init__")


@dataclass(frozen=True)
class Deprecation:
    """How a definition says it is deprecated, its message and the replacement it names."""

    how: str  # "warns" or "docstring"
    message: str
    replacement: str | None
    line: int
    #: the warning's category name ("DeprecationWarning", "UserWarning", ...)
    category: str = ""


@dataclass(frozen=True)
class FunctionDefInfo:
    """A top-level function or a method."""

    name: str
    module: str
    relpath: str
    line: int
    is_async: bool
    params: tuple[Param, ...]
    doc: str
    returns: str
    deprecation: Deprecation | None

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.required)

    @property
    def entry(self) -> str:
        return f"{self.module}:{self.name}"


@dataclass(frozen=True)
class ClassInfo:
    """A top-level class. ``own_params`` is its constructor's parameters when it defines
    ``__init__`` or is a dataclass (``None``: inherited, see ``Survey.constructor``)."""

    name: str
    module: str
    relpath: str
    line: int
    bases: tuple[str, ...]
    methods: dict[str, FunctionDefInfo]
    own_params: tuple[Param, ...] | None
    doc: str
    deprecation: Deprecation | None
    is_protocol: bool

    @property
    def entry(self) -> str:
        return f"{self.module}:{self.name}"


@dataclass
class Survey:
    """Summaries of a tree's production modules (see the module docstring)."""

    classes: list[ClassInfo] = field(default_factory=list)
    functions: list[FunctionDefInfo] = field(default_factory=list)
    #: module -> [(absolute source module, imported name)] for every ``from ... import``
    imports: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    packages: set[str] = field(default_factory=set)
    problems: list[SourceProblem] = field(default_factory=list)
    files: int = 0

    def add(self, other: Survey) -> None:
        self.classes += other.classes
        self.functions += other.functions
        self.imports.update(other.imports)
        self.packages |= other.packages
        self.problems += other.problems
        self.files += other.files

    def classes_named(self, name: str) -> list[ClassInfo]:
        return [c for c in self.classes if c.name == name]

    def class_for(self, name: str, near: str = "") -> ClassInfo | None:
        """The class ``name``, preferring one whose module is imported by ``near``."""
        found = self.classes_named(name)
        if len(found) > 1 and near:
            imported = {src for src, n in self.imports.get(near, ()) if n == name}
            found = [c for c in found if c.module in imported] or found
        return found[0] if found else None

    def methods(self, cls: ClassInfo, _seen: frozenset[str] = frozenset()) -> dict[
            str, FunctionDefInfo]:
        """Methods of ``cls``, with those inherited from bases defined in the tree."""
        out: dict[str, FunctionDefInfo] = {}
        for base in cls.bases:
            parent = self.class_for(base, cls.module)
            if parent is not None and parent.name not in _seen:
                out.update(self.methods(parent, _seen | {cls.name}))
        out.update(cls.methods)
        return out

    def constructor(self, cls: ClassInfo, _seen: frozenset[str] = frozenset()
                    ) -> tuple[Param, ...]:
        """Constructor parameters (``self`` dropped), following inheritance in the tree."""
        if cls.own_params is not None:
            return cls.own_params
        for base in cls.bases:
            parent = self.class_for(base, cls.module)
            if parent is not None and parent.name not in _seen:
                return self.constructor(parent, _seen | {cls.name})
        return ()

    def subclasses(self, name: str) -> list[ClassInfo]:
        return [c for c in self.classes if name in c.bases]

    def importers(self, module: str, name: str) -> list[str]:
        """Modules that import ``name`` from ``module``."""
        return sorted(m for m, names in self.imports.items() if (module, name) in names)


def survey(root: Path, needles: Iterable[str] = (), exclude: Iterable[str] = ()) -> Survey:
    """Survey the production files under ``root`` that mention any of ``needles``."""
    out = Survey()
    for item in parse_matching(root, needles, exclude):
        if isinstance(item, SourceProblem):
            out.problems.append(item)
            continue
        out.add(survey_module(item))
    return out


def survey_module(mod: ParsedModule) -> Survey:
    """The summary of one parsed module."""
    out = Survey(files=1)
    if mod.relpath.endswith("__init__.py"):
        out.packages.add(mod.module)
    is_package = mod.relpath.endswith("__init__.py")
    imports: list[tuple[str, str]] = []
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.ImportFrom):
            source = resolve_relative(mod.module, is_package, node.level, node.module)
            imports += [(source, a.name) for a in node.names]
    out.imports[mod.module] = imports
    for node in mod.tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out.functions.append(_function(node, mod, method=False))
        elif isinstance(node, ast.ClassDef):
            out.classes.append(_class(node, mod))
    return out


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef, mod: ParsedModule, *,
              method: bool) -> FunctionDefInfo:
    is_static = any(_dotted(d) == "staticmethod" for d in node.decorator_list)
    return FunctionDefInfo(
        name=node.name, module=mod.module, relpath=mod.relpath, line=node.lineno,
        is_async=isinstance(node, ast.AsyncFunctionDef),
        params=parameters(node.args, skip_first=method and not is_static),
        doc=ast.get_docstring(node) or "",
        returns=annotation_name(node.returns),
        deprecation=deprecation_of(node),
    )


def _class(node: ast.ClassDef, mod: ParsedModule) -> ClassInfo:
    methods = {item.name: _function(item, mod, method=True) for item in node.body
               if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)}
    bases = tuple(_dotted(b).split(".")[-1] for b in node.bases if _dotted(b))
    own: tuple[Param, ...] | None = None
    if "__init__" in methods:
        own = methods["__init__"].params
    elif any(_dotted(d.func if isinstance(d, ast.Call) else d).split(".")[-1] == "dataclass"
             for d in node.decorator_list):
        own = _dataclass_fields(node)
    return ClassInfo(
        name=node.name, module=mod.module, relpath=mod.relpath, line=node.lineno, bases=bases,
        methods=methods, own_params=own, doc=ast.get_docstring(node) or "",
        deprecation=deprecation_of(node), is_protocol="Protocol" in bases or "ABC" in bases,
    )


def _dataclass_fields(node: ast.ClassDef) -> tuple[Param, ...]:
    out = []
    for item in node.body:
        if not isinstance(item, ast.AnnAssign) or not isinstance(item.target, ast.Name):
            continue
        annotation = annotation_name(item.annotation)
        if annotation == "ClassVar":
            continue
        required = item.value is None
        if isinstance(item.value, ast.Call) and _dotted(item.value.func).endswith("field"):
            given = {k.arg for k in item.value.keywords}
            required = not ({"default", "default_factory"} & given)
        out.append(Param(item.target.id, annotation, required))
    return tuple(out)


def deprecation_of(node: ast.AST) -> Deprecation | None:
    """How ``node`` (a function or class) is deprecated, or None (rules in the module doc)."""
    bodies: list[ast.AST] = [node]
    if isinstance(node, ast.ClassDef):
        bodies = [item for item in node.body
                  if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                  and item.name in _CLASS_HOOKS]
    doc = ast.get_docstring(node) if isinstance(node, ast.ClassDef | ast.FunctionDef |
                                               ast.AsyncFunctionDef) else None
    for body in bodies:
        for call in _walk_calls(body):
            if _dotted(call.func).split(".")[-1] != "warn":
                continue
            category = call.args[1] if len(call.args) > 1 else next(
                (k.value for k in call.keywords if k.arg == "category"), None)
            kind = _dotted(category).split(".")[-1] if category is not None else "UserWarning"
            message = _text(call.args[0]) if call.args else ""
            # a conventional category, or any warning whose text says deprecated
            if kind not in _WARNING_CATEGORIES and not _SAYS_DEPRECATED_RE.search(message):
                continue
            return Deprecation("warns", message, _replacement(message, doc or ""),
                               call.lineno, kind)
    first = (doc or "").strip().splitlines()[0] if (doc or "").strip() else ""
    if _DEPRECATED_RE.search(first):
        return Deprecation("docstring", first, _replacement(doc or "", ""),
                           getattr(node, "lineno", 0))
    return None


def _walk_calls(node: ast.AST) -> Iterator[ast.Call]:
    """Calls in ``node``'s own body (nested functions and classes are their own business)."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(child, ast.Call):
            yield child
        stack.extend(ast.iter_child_nodes(child))


def _replacement(*texts: str) -> str | None:
    for text in texts:
        for match in _USE_RE.finditer(text):
            name = match.group(1).rstrip(".").split(".")[-1]
            if match.group(2) or "_" in name or any(ch.isupper() for ch in name):
                return name
    return None


def _text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{...}" for v in node.values)
    return ""


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    return ""
