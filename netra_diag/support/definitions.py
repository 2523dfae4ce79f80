"""What a target's classes and functions declare, by ``ast`` only: parameters and methods.

Owns the one reading of parameters (``parameters``: which are required, the class each
annotation names), shared by the checks' scans and ``support.survey``; and the methods of a
class (``class_methods``: inherited ones too, from bases defined in the tree), where it is
(``class_location``), and which method names are async everywhere (``async_method_names``).
Classes and bases are found by name resolution (``support.symbols``). This module knows
nothing of findings, checks or roles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from .source import ParsedModule
from .symbols import defines, dotted_name, is_package, resolve_relative, resolve_symbol

__all__ = [
    "FunctionInfo",
    "Param",
    "annotation_name",
    "async_method_names",
    "class_location",
    "class_methods",
    "method_definitions",
    "parameters",
    "required_params",
]


@dataclass(frozen=True)
class Param:
    """One parameter: its name, the class its annotation names (``''`` if none), required."""

    name: str
    annotation: str
    required: bool


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    is_async: bool
    line: int
    relpath: str
    params: tuple[str, ...]
    required: tuple[str, ...]


def parameters(args: ast.arguments, *, skip_first: bool) -> tuple[Param, ...]:
    """The parameters of a ``def`` (``self``/``cls`` dropped when ``skip_first``): name,
    annotated class and whether it is required (no default). The one reading of
    parameters, shared by the checks' scans and ``init``'s survey."""
    positional = [*args.posonlyargs, *args.args]
    if skip_first and positional:
        positional = positional[1:]
    first_default = len(positional) - len(args.defaults)
    out = [Param(a.arg, annotation_name(a.annotation), i < first_default)
           for i, a in enumerate(positional)]
    out += [Param(a.arg, annotation_name(a.annotation), d is None)
            for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    return tuple(out)


def annotation_name(node: ast.AST | None) -> str:
    """The class an annotation names: ``X``, ``mod.X``, ``X | None``, ``Optional[X]``,
    ``"X"`` all give ``X``; ``''`` when there is none."""
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return annotation_name(ast.parse(node.value, mode="eval").body)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # not a usable name
            return ""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return annotation_name(node.left) or annotation_name(node.right)
    if isinstance(node, ast.Subscript):
        outer = _last_name(node.value)
        if outer in ("Optional", "Annotated", "Union"):
            inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
            return annotation_name(inner)
        return outer
    if isinstance(node, ast.Constant) and node.value is None:
        return ""
    return _last_name(node)


def _last_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _function_info(node: ast.FunctionDef | ast.AsyncFunctionDef, relpath: str,
                   skip_first: bool) -> FunctionInfo:
    params = parameters(node.args, skip_first=skip_first)
    return FunctionInfo(node.name, isinstance(node, ast.AsyncFunctionDef), node.lineno,
                        relpath, tuple(p.name for p in params),
                        tuple(p.name for p in params if p.required))


def _class_def(modules: list[ParsedModule], module: str, name: str
               ) -> tuple[ParsedModule, ast.ClassDef] | None:
    symbol = resolve_symbol(modules, module, name)
    mod = next((m for m in modules if m.module == symbol.home), None)
    node = defines(mod, symbol.name) if mod is not None else None
    return (mod, node) if mod is not None and isinstance(node, ast.ClassDef) else None


def _base_class(modules: list[ParsedModule], mod: ParsedModule, base: ast.expr
                ) -> tuple[ParsedModule, ast.ClassDef] | None:
    """The class a base expression of a class in ``mod`` names, when it is in the tree."""
    if isinstance(base, ast.Name):
        return _class_def(modules, mod.module, base.id)
    dotted = dotted_name(base)
    if "." not in dotted:
        return None
    prefix, _, attr = dotted.rpartition(".")
    for node in mod.index[ast.Import]:
        for alias in node.names:
            if (alias.asname or alias.name) == prefix:
                return _class_def(modules, alias.name, attr)
    for node in mod.index[ast.ImportFrom]:
        source = resolve_relative(mod.module, is_package(mod), node.level, node.module)
        for alias in node.names:
            if (alias.asname or alias.name) == prefix:
                return _class_def(modules, f"{source}.{alias.name}", attr)
    return None


def class_methods(modules: list[ParsedModule], class_name: str, module: str,
                  _seen: set[tuple[str, str]] | None = None
                  ) -> dict[str, FunctionInfo] | None:
    """Methods of the class ``module:class_name`` (re-exports followed to the class defined
    there), with those inherited from bases defined in the tree (resolved the same way);
    None when that class is not among the parsed modules."""
    found = _class_def(modules, module, class_name)
    if found is None:
        return None
    mod, node = found
    seen = _seen if _seen is not None else set()
    if (mod.module, node.name) in seen:
        return {}
    seen.add((mod.module, node.name))
    methods: dict[str, FunctionInfo] = {}
    for base in node.bases:
        parent = _base_class(modules, mod, base)
        if parent is not None:
            methods.update(class_methods(modules, parent[1].name, parent[0].module, seen) or {})
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            is_static = any(dotted_name(d) == "staticmethod" for d in item.decorator_list)
            methods[item.name] = _function_info(item, mod.relpath, not is_static)
    return methods


def class_location(modules: list[ParsedModule], class_name: str, module: str
                   ) -> tuple[str, int, int] | None:
    """``(relpath, first line, last line)`` of the class ``module:class_name``."""
    found = _class_def(modules, module, class_name)
    if found is None:
        return None
    mod, node = found
    return mod.relpath, node.lineno, node.end_lineno or node.lineno


def method_definitions(modules: Iterable[ParsedModule], name: str) -> list[FunctionInfo]:
    """Every method called ``name`` defined in a top-level class (sync/async drift shows)."""
    out = []
    for mod in modules:
        for node in mod.tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == name:
                    out.append(_function_info(item, mod.relpath, True))
    return out


def async_method_names(modules: list[ParsedModule], names: Iterable[str]) -> set[str]:
    """Those of ``names`` whose calls can be judged by name: every method of that name in
    the tree is async (a plain homonym in another class would make ``x.name()`` without
    await legitimate for its instances)."""
    out = set()
    for name in names:
        defs = method_definitions(modules, name)
        if defs and all(d.is_async for d in defs):
            out.add(name)
    return out


def required_params(modules: list[ParsedModule], class_name: str, module: str
                    ) -> tuple[str, ...] | None:
    """Required constructor parameters of ``module:class_name`` (None when unknown)."""
    methods = class_methods(modules, class_name, module)
    if methods is None:
        return None
    init = methods.get("__init__")
    return init.required if init else ()
