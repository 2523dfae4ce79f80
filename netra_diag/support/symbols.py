"""Name resolution in a target's source, by ``ast`` only: which module binds which symbol.

A role ``pkg.mod:Name`` is a ``Symbol`` (see ``resolve_symbol``): the module defining it
(re-exports followed: ``pkg/mod.py`` may only import ``Name`` from elsewhere), and every
module binding it (defining it, importing it, under any alias, relative imports resolved,
re-exports of re-exports too). A call counts only where its name is bound to the symbol:
``Name(...)`` where ``Name`` is such a binding, or ``m.Name(...)`` where ``m`` is an imported
module binding it (``calls_of``). An unrelated class of the same name elsewhere in the tree
is never confused with the role's.

This module owns resolution only; it knows nothing of findings, checks or roles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from .source import ParsedModule

__all__ = [
    "Symbol",
    "calls_of",
    "defines",
    "dotted_name",
    "is_package",
    "resolve_relative",
    "resolve_symbol",
]

#: How many re-export hops (and rounds of re-export propagation) are followed.
_MAX_HOPS = 8


@dataclass(frozen=True)
class Symbol:
    """A top-level class or function of the target, resolved (see the module doc).

    ``name``/``home``: its name and module where it is defined (``home`` is the role's own
    module when no definition was parsed); ``exports``: module -> the names under which
    that module binds it (its definition, its imports, re-exports)."""

    name: str
    home: str
    exports: dict[str, frozenset[str]]
    defined: bool = False

    def names_in(self, module: str) -> frozenset[str]:
        return self.exports.get(module, frozenset())


def resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    """Absolute module name of ``from <level dots><target> import ...`` inside ``module``."""
    if level == 0:
        return target or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, target] if target else base)


def is_package(mod: ParsedModule) -> bool:
    return mod.relpath.endswith("__init__.py")


def defines(mod: ParsedModule, name: str) -> ast.AST | None:
    for node in mod.tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) \
                and node.name == name:
            return node
    return None


def _imported_as(mod: ParsedModule, local: str) -> tuple[str, str] | None:
    """``(absolute source module, original name)`` when ``mod`` binds ``local`` by a
    ``from ... import``."""
    for node in mod.index[ast.ImportFrom]:
        source = resolve_relative(mod.module, is_package(mod), node.level, node.module)
        for alias in node.names:
            if (alias.asname or alias.name) == local and alias.name != "*":
                return source, alias.name
    return None


def resolve_symbol(modules: Iterable[ParsedModule], module: str, name: str) -> Symbol:
    """The symbol ``module:name`` names: its definition (re-exports followed) and every
    module that binds it (see the module doc). Cheap: only the parsed modules' import nodes
    are read."""
    mods = list(modules)
    by_name = {m.module: m for m in mods}
    home, attr, defined = module, name, False
    for _ in range(_MAX_HOPS):
        mod = by_name.get(home)
        if mod is None:
            break
        if defines(mod, attr) is not None:
            defined = True
            break
        source = _imported_as(mod, attr)
        if source is None or source == (home, attr):
            break
        home, attr = source
    exports: dict[str, set[str]] = {home: {attr}}
    for _ in range(_MAX_HOPS):
        changed = False
        for mod in mods:
            for node in mod.index[ast.ImportFrom]:
                source = resolve_relative(mod.module, is_package(mod), node.level, node.module)
                names = exports.get(source)
                if not names:
                    continue
                bound = exports.setdefault(mod.module, set())
                for alias in node.names:
                    new = set(names) if alias.name == "*" else (
                        {alias.asname or alias.name} if alias.name in names else set())
                    if new - bound:
                        bound |= new
                        changed = True
        if not changed:
            break
    return Symbol(attr, home, {m: frozenset(n) for m, n in exports.items() if n}, defined)


def _call_targets(mod: ParsedModule, symbol: Symbol) -> tuple[frozenset[str], set[str]]:
    """The bare names and dotted names (``m.Name``) under which ``mod`` can call ``symbol``."""
    names = symbol.names_in(mod.module)
    dotted: set[str] = set()
    for node in mod.index[ast.Import]:
        for alias in node.names:
            attrs = symbol.names_in(alias.name)
            if attrs:
                prefix = alias.asname or alias.name
                dotted |= {f"{prefix}.{a}" for a in attrs}
    for node in mod.index[ast.ImportFrom]:
        source = resolve_relative(mod.module, is_package(mod), node.level, node.module)
        for alias in node.names:
            attrs = symbol.names_in(f"{source}.{alias.name}" if source else alias.name)
            if attrs:
                dotted |= {f"{alias.asname or alias.name}.{a}" for a in attrs}
    return names, dotted


def calls_of(mod: ParsedModule, symbol: Symbol) -> list[ast.Call]:
    names, dotted = _call_targets(mod, symbol)
    if not names and not dotted:
        return []
    out = []
    for node in mod.index[ast.Call]:
        func = node.func
        if (isinstance(func, ast.Name) and func.id in names) or (
                isinstance(func, ast.Attribute) and dotted and dotted_name(func) in dotted):
            out.append(node)
    return out


def dotted_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted_name(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""
