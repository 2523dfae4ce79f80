"""The wiring path's import graph, read with ``ast`` alone (nothing is imported).

``walk_imports(root, starts)`` follows ``import`` and ``from ... import`` statements from
the modules the profile's roles name, through the target's own packages (the top-level
packages and modules under ``root``), and returns:

* ``reachable``: every module of the target reached (the production wiring path), so that
  evidence can lead with what matters;
* ``broken``: imports of the target's own packages that cannot work, with file and line: a
  module that does not exist in the tree, or a name that the existing module does not
  define (nor re-export, nor offer as a submodule). A module with a module-level
  ``__getattr__`` or a star import is taken to define every name.

Imports inside ``if TYPE_CHECKING:`` blocks are not followed (they never run). Imports of
anything that is not the target's own (the standard library, installed packages) are not
judged. The walk is bounded (``MAX_MODULES``). This module knows nothing of checks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BrokenImport", "ImportGraph", "walk_imports"]

#: Modules the walk reads at most.
MAX_MODULES = 5_000


@dataclass(frozen=True)
class BrokenImport:
    """An import of the target's own code that cannot work."""

    relpath: str
    line: int
    module: str  # the importing module
    target: str  # what it imports (``pkg.mod`` or ``pkg.mod:Name``)
    message: str
    code: str


@dataclass
class ImportGraph:
    reachable: set[str] = field(default_factory=set)
    broken: list[BrokenImport] = field(default_factory=list)


@dataclass
class _Module:
    name: str
    relpath: str
    is_package: bool
    tree: ast.Module | None
    lines: list[str]
    _names: tuple[set[str], bool] | None = None
    _guarded: set[int] | None = None

    def names(self) -> tuple[set[str], bool]:
        """``_defined_names`` of this module, worked out once."""
        if self._names is None:
            self._names = _defined_names(self.tree) if self.tree else (set(), True)
        return self._names

    def guarded(self, node: ast.stmt) -> bool:
        """Whether import ``node`` sits in a try that catches ImportError (worked out once)."""
        if self._guarded is None:
            self._guarded = _guarded_imports(self.tree) if self.tree else set()
        return id(node) in self._guarded


def _locate(root: Path, module: str) -> tuple[Path, bool] | None:
    """The file of ``module`` under ``root``, and whether it is a package (a compiled
    extension module counts: it is there, though not read)."""
    import importlib.machinery

    base = root.joinpath(*module.split("."))
    init = base / "__init__.py"
    if init.is_file():
        return init, True
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py"), False
    if base.is_dir():  # a namespace package
        return base, True
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        compiled = base.parent / f"{base.name}{suffix}"
        if compiled.is_file():
            return compiled, False
    return None


def _load(root: Path, module: str) -> _Module | None:
    found = _locate(root, module)
    if found is None:
        return None
    path, is_package = found
    if path.is_dir() or path.suffix != ".py":  # a namespace package, a compiled module
        return _Module(module, path.relative_to(root).as_posix(), path.is_dir(), None, [])
    try:
        data = path.read_bytes()
        tree = ast.parse(data, filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
        data = b""
    text = data.decode("utf-8", errors="replace")
    return _Module(module, path.relative_to(root).as_posix(), is_package, tree,
                   text.splitlines())


def _defined_names(tree: ast.Module) -> tuple[set[str], bool]:
    """Names ``tree`` binds at module level (in its body, and in top-level ``if``, ``try``
    and ``with`` blocks), and whether it may define any name at all (a module-level
    ``__getattr__`` or a star import)."""
    names: set[str] = set()
    anything = False
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            anything = anything or node.name == "__getattr__"
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                anything = anything or alias.name == "*"
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
            for field in ("body", "orelse", "finalbody"):
                stack.extend(getattr(node, field, []) or [])
            for handler in getattr(node, "handlers", []) or []:
                stack.extend(handler.body)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names, anything


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else \
                test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                for child in node.body:
                    for sub in ast.walk(child):
                        if hasattr(sub, "lineno"):
                            out.add(sub.lineno)
    return out


def _absolute(mod: _Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = mod.name.split(".")
    base = parts if mod.is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, *([node.module] if node.module else [])])


def walk_imports(root: Path, starts: Iterable[str]) -> ImportGraph:
    """Follow the target's own imports from ``starts`` (module names); see the module doc."""
    root = root.resolve()
    own = {p.name for p in root.iterdir() if p.is_dir() and p.name.isidentifier()} | \
        {p.stem for p in root.glob("*.py")}
    # a namespace package may be split between this tree and installed paths: a module of
    # it that is not here may well be elsewhere, so it is not judged
    namespaces = {p.name for p in root.iterdir() if p.is_dir() and p.name.isidentifier()
                  and not (p / "__init__.py").is_file()}
    graph = ImportGraph()
    cache: dict[str, _Module | None] = {}

    def load(name: str) -> _Module | None:
        if name not in cache:
            cache[name] = _load(root, name)
        return cache[name]

    queue = [s for s in starts if s.split(".")[0] in own]
    while queue and len(graph.reachable) < MAX_MODULES:
        name = queue.pop(0)
        if name in graph.reachable:
            continue
        mod = load(name)
        if mod is None:
            continue
        graph.reachable.add(name)
        parent = name.rsplit(".", 1)[0] if "." in name else None
        if parent:
            queue.append(parent)  # importing pkg.mod runs pkg/__init__.py first
        if mod.tree is None:
            continue
        skip = _type_checking_lines(mod.tree)
        for node in ast.walk(mod.tree):
            if getattr(node, "lineno", None) in skip:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    _follow(graph, mod, node, alias.name, None, own, load, queue, namespaces)
            elif isinstance(node, ast.ImportFrom):
                target = _absolute(mod, node)
                for alias in node.names:
                    _follow(graph, mod, node, target, alias.name, own, load, queue,
                            namespaces)
    return graph


def _follow(graph: ImportGraph, mod: _Module, node: ast.stmt, target: str, name: str | None,
            own: set[str], load: object, queue: list[str], namespaces: set[str]) -> None:
    if not target or target.split(".")[0] not in own:
        return
    code = mod.lines[node.lineno - 1].strip() if node.lineno <= len(mod.lines) else ""
    found = load(target)  # type: ignore[operator]
    if found is None:
        if mod.guarded(node) or target.split(".")[0] in namespaces:
            return
        graph.broken.append(BrokenImport(
            mod.relpath, node.lineno, mod.name, target,
            f"imports {target}, which does not exist in the source tree", code))
        return
    queue.append(target)
    if name is None or name == "*":
        return
    if found.is_package and load(f"{target}.{name}") is not None:  # type: ignore[operator]
        queue.append(f"{target}.{name}")
        return
    if found.tree is None:
        return
    names, anything = found.names()
    if name not in names and not anything and not mod.guarded(node):
        graph.broken.append(BrokenImport(
            mod.relpath, node.lineno, mod.name, f"{target}:{name}",
            f"imports {name} from {target}, which does not define it", code))


_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _guarded_imports(tree: ast.Module) -> set[int]:
    """Ids of import statements inside a ``try`` that catches ``ImportError`` (or a
    subclass, a broader class, or anything): those may fail by design."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = set()
        for handler in node.handlers:
            kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else \
                [handler.type] if handler.type is not None else []
            caught |= {k.id if isinstance(k, ast.Name) else getattr(k, "attr", "")
                       for k in kinds} if kinds else {"BaseException"}
        if caught & _IMPORT_ERRORS:
            out |= {id(sub) for stmt in node.body for sub in ast.walk(stmt)
                    if isinstance(sub, ast.Import | ast.ImportFrom)}
    return out
