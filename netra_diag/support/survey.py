"""What a source tree defines, read with ``ast`` alone (nothing is imported).

A ``Survey`` summarises the production modules of a tree: its top-level classes and
functions with their parameters (name, annotation, required or not), async-ness, docstring
and whether they are *deprecated by behaviour*; each module's ``from ... import`` names (to
see re-exports and who imports what); and the files that could not be read or parsed. Trees
are parsed one at a time and only summaries are kept, so memory stays flat on large trees.

Deprecation rules (``deprecation_of``): a function, or a class through ``__init__``,
``__new__`` or ``__post_init__``, is deprecated when its body calls ``warnings.warn`` (or a
bare ``warn``) with ``DeprecationWarning``, ``PendingDeprecationWarning`` or
``FutureWarning`` (``how="warns"``), or with another category (``UserWarning``...) whose
message says deprecated (``how="message"``); or when the first line of its docstring says
"deprecated" (and not "not deprecated"). The replacement is read from the warning text,
then the docstring: the name after "use" (``use create_websocket_manager(...)`` ->
``create_websocket_manager``), when it looks like an identifier of code (has ``_``, a
capital, or a call) rather than prose.

This module knows nothing about roles, checks or profiles.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .definitions import Param, annotation_name, parameters
from .source import ParsedModule, SourceProblem, parse_bytes, parse_matching
from .summaries import summarize_matching
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
_CLASS_HOOKS = ("__init__", "__new__", "__post_init__")


@dataclass(frozen=True)
class Deprecation:
    """How a definition says it is deprecated, its message and the replacement it names."""

    how: str  # "warns" (a deprecation category), "message" (another category whose
    #           message says deprecated) or "docstring"
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
    #: names this function calls (``f(...)``, ``x.f(...)``: ``f``), in its own body
    calls: frozenset[str] = frozenset()
    #: names it returns a call of (``return X(...)``): what it constructs for its caller
    constructs: tuple[str, ...] = ()

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
    #: attribute names its instances carry: ``self.x = ...`` in methods, annotated fields,
    #: properties and methods
    attrs: frozenset[str] = frozenset()

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
    _importers: dict[tuple[str, str], set[str]] | None = field(default=None, repr=False,
                                                               compare=False)

    def add(self, other: Survey) -> None:
        self._importers = None
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
        return sorted(self.importer_modules(module, name))

    def importer_modules(self, module: str, name: str) -> set[str]:
        """Modules that import ``name`` from ``module`` (indexed once, on first use)."""
        if self._importers is None:
            index: dict[tuple[str, str], set[str]] = {}
            for importer, names in self.imports.items():
                for key in names:
                    index.setdefault(key, set()).add(importer)
            self._importers = index
        return self._importers.get((module, name), set())


def survey(root: Path, needles: Iterable[str] = (), exclude: Iterable[str] = ()) -> Survey:
    """Survey the production files under ``root`` that mention any of ``needles`` (which
    files do comes from the run's shared scan, ``support.summaries``: only those are read
    again and parsed whole)."""
    wanted = [n for n in needles if n]
    if not wanted:
        items: Iterable[ParsedModule | SourceProblem] = parse_matching(root, (), exclude)
    else:
        items = _parse_those(root, summarize_matching(root, wanted, exclude))
    out = Survey()
    for item in items:
        if isinstance(item, SourceProblem):
            out.problems.append(item)
            continue
        out.add(survey_module(item))
    return out


def _parse_those(root: Path, found: Iterable[object]) -> Iterator[ParsedModule | SourceProblem]:
    base = root.resolve()
    for item in found:
        if isinstance(item, SourceProblem):
            yield item
            continue
        relpath = item.relpath  # type: ignore[attr-defined]
        try:
            data = (base / relpath).read_bytes()
        except OSError as exc:
            yield SourceProblem(relpath, None, f"cannot read: {exc.strerror or exc}")
            continue
        yield parse_bytes(relpath, data)


def survey_module(mod: ParsedModule, *, deprecation: bool = True) -> Survey:
    """The summary of one parsed module (``deprecation=False``: the file mentions neither
    ``warn`` nor ``deprecat``, so no definition is read for it)."""
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
            out.functions.append(_function(node, mod, method=False, deprecation=deprecation))
        elif isinstance(node, ast.ClassDef):
            out.classes.append(_class(node, mod, deprecation=deprecation))
    return out


def _mentions_deprecation(node: ast.AST, mod: ParsedModule) -> bool:
    """Whether the lines of ``node`` mention ``warn`` or ``deprecat`` (else it cannot be
    deprecated, and reading it is skipped)."""
    start, end = getattr(node, "lineno", 1), getattr(node, "end_lineno", None) or 10**9
    text = "\n".join(mod.lines[start - 1:end]).lower()
    return "warn" in text or "deprecat" in text


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef, mod: ParsedModule, *,
              method: bool, deprecation: bool = True) -> FunctionDefInfo:
    is_static = any(_dotted(d) == "staticmethod" for d in node.decorator_list)
    calls: set[str] = set()
    for call in _walk_calls(node):
        name = _dotted(call.func).split(".")[-1]
        if name:
            calls.add(name)
    constructs = []
    for child in _walk_own(node):
        if isinstance(child, ast.Return) and isinstance(child.value, ast.Call):
            name = _dotted(child.value.func).split(".")[-1]
            if name:
                constructs.append(name)
    return FunctionDefInfo(
        name=node.name, module=mod.module, relpath=mod.relpath, line=node.lineno,
        is_async=isinstance(node, ast.AsyncFunctionDef),
        params=parameters(node.args, skip_first=method and not is_static),
        doc=ast.get_docstring(node) or "",
        returns=annotation_name(node.returns),
        deprecation=deprecation_of(node) if deprecation and _mentions_deprecation(node, mod)
        else None,
        calls=frozenset(calls), constructs=tuple(dict.fromkeys(constructs)),
    )


def _class(node: ast.ClassDef, mod: ParsedModule, *, deprecation: bool = True) -> ClassInfo:
    deprecation = deprecation and _mentions_deprecation(node, mod)
    methods = {item.name: _function(item, mod, method=True, deprecation=deprecation)
               for item in node.body
               if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)}
    attrs = set(methods)
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            attrs.add(item.target.id)
        elif isinstance(item, ast.Assign):
            attrs |= {t.id for t in item.targets if isinstance(t, ast.Name)}
        elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            for child in ast.walk(item):
                if isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Store) \
                        and isinstance(child.value, ast.Name) and child.value.id == "self":
                    attrs.add(child.attr)
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
        deprecation=deprecation_of(node) if deprecation else None,
        is_protocol="Protocol" in bases or "ABC" in bases, attrs=frozenset(attrs),
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
            message = _text(call.args[0]) if call.args else ""
            kind = _dotted(category).split(".")[-1] if category is not None else "UserWarning"
            named = kind in _WARNING_CATEGORIES
            if not named and not _DEPRECATED_RE.search(message):
                continue  # another category (UserWarning...) counts when it says deprecated
            return Deprecation("warns" if named else "message", message,
                               _replacement(message, doc or ""), call.lineno, kind)
    first = (doc or "").strip().splitlines()[0] if (doc or "").strip() else ""
    if _DEPRECATED_RE.search(first):
        return Deprecation("docstring", first, _replacement(doc or "", ""),
                           getattr(node, "lineno", 0))
    return None


def _walk_own(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes of ``node``'s own body (nested functions and classes are their own business)."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        yield child
        stack.extend(ast.iter_child_nodes(child))


def _walk_calls(node: ast.AST) -> Iterator[ast.Call]:
    """Calls in ``node``'s own body."""
    return (child for child in _walk_own(node) if isinstance(child, ast.Call))


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
