"""Static findings from a target's source, by ``ast`` only (nothing is imported).

Each function takes parsed modules (see ``source.parse_matching``) and returns plain
``Finding`` values with a path relative to the target root and a 1-based line. Names are
resolved, never matched bare (``support.symbols``: a call counts only where its name is bound
to the symbol). The rules:

* a deprecated entry point ``pkg.mod:name`` is *used* by a module that imports ``name`` from
  ``pkg.mod`` or from the module defining ``name`` (relative imports resolved), or that
  reaches it as an attribute of an imported module; the entry's own module and the modules
  defining ``name`` are its home and never count;
* an async callable's call is *un-awaited* when it is not the operand of ``await`` and not
  handed to a coroutine consumer (``create_task``, ``gather``, ``run``...), nor returned or
  yielded as is. Async functions are resolved symbols; an async *method* is called on a
  value whose class ``ast`` cannot know, so method calls count by name, and only for names
  the caller vouches for (see ``definitions.async_method_names``: no class of the tree
  defines a plain, sync method of that name);
* a constructor call *misses* a required parameter when neither a positional argument nor
  a keyword supplies it (calls with ``*args``/``**kwargs`` are not judged).

This module owns the scanners and their messages; reading declarations is
``support.definitions``'s, resolving names ``support.symbols``'s.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from .source import ParsedModule
from .summaries import _awaited as awaited_rule
from .symbols import Symbol, calls_of, dotted_name, is_package, resolve_relative

__all__ = [
    "Finding",
    "constructor_calls_missing",
    "deprecated_usages",
    "find_definitions",
    "unawaited_calls",
]



@dataclass(frozen=True)
class Finding:
    relpath: str
    line: int
    message: str
    code: str = ""
    data: dict = field(default_factory=dict, compare=False)


def find_definitions(modules: Iterable[ParsedModule], name: str) -> list[Finding]:
    """Top-level classes and functions called ``name`` (every one of them, by name: for
    finding copies of a class, as context-identity does)."""
    out = []
    for mod in modules:
        for node in mod.tree.body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) \
                    and node.name == name:
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                out.append(Finding(mod.relpath, node.lineno, f"{kind} {name} defined in "
                                   f"{mod.module}", data={"module": mod.module, "kind": kind}))
    return out


def deprecated_usages(modules: list[ParsedModule], entry_module: str, name: str,
                      replacement: str = "") -> list[Finding]:
    """Imports and uses of a deprecated entry point outside its home modules."""
    homes = {entry_module} | {f.data["module"] for f in find_definitions(modules, name)}
    hint = f" (use {replacement} instead)" if replacement else ""
    out: list[Finding] = []
    for mod in modules:
        if mod.module in homes:
            continue
        if not mod.mentions(name):  # parsed for another needle: cannot use this one
            continue
        local_names: set[str] = set()
        module_aliases: set[str] = set()
        for node in [*mod.index[ast.ImportFrom], *mod.index[ast.Import]]:
            if isinstance(node, ast.ImportFrom):
                source = resolve_relative(mod.module, is_package(mod), node.level, node.module)
                for alias in node.names:
                    if source in homes and alias.name == name:
                        local_names.add(alias.asname or alias.name)
                        out.append(Finding(
                            mod.relpath, node.lineno,
                            f"imports deprecated {name} from {source}{hint}",
                            mod.line(node.lineno), {"symbol": name, "kind": "import"}))
                    elif f"{source}.{alias.name}" in homes:
                        module_aliases.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in homes:
                        module_aliases.add(alias.asname or alias.name)
        if not local_names and not module_aliases:
            continue
        for node in mod.index[ast.Call]:
            func = node.func
            hit = (isinstance(func, ast.Name) and func.id in local_names) or (
                isinstance(func, ast.Attribute) and func.attr == name
                and dotted_name(func.value) in module_aliases)
            if hit:
                out.append(Finding(mod.relpath, node.lineno,
                                   f"calls deprecated {name}(){hint}", mod.line(node.lineno),
                                   {"symbol": name, "kind": "call"}))
    return sorted(out, key=lambda f: (f.relpath, f.line))


def _awaited(mod: ParsedModule, node: ast.Call) -> bool:
    """True when the coroutine of call ``node`` is awaited or handed on (the one rule:
    ``summaries._awaited``; a summary's call carries its answer)."""
    known = getattr(node, "awaited", None)
    if known is not None:
        return bool(known)
    return awaited_rule(node, mod.parents)


def unawaited_calls(modules: Iterable[ParsedModule], async_methods: Iterable[str] = (),
                    async_functions: Iterable[Symbol] = ()) -> list[Finding]:
    """Calls whose coroutine is never awaited: of the method names ``async_methods`` (calls
    on a value: ``x.name(...)``, never a bare ``name(...)``), and of the resolved async
    functions ``async_functions`` (where their names are bound: see the module doc)."""
    methods = set(async_methods)
    functions = list(async_functions)
    out = []
    for mod in modules:
        hits: list[tuple[ast.Call, str]] = []
        for symbol in functions:
            hits += [(node, symbol.name) for node in calls_of(mod, symbol)]
        if methods:
            modules_here = _module_aliases(mod)
            for node in mod.index[ast.Call]:
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in methods \
                        and dotted_name(func.value) not in modules_here:
                    hits.append((node, func.attr))
        seen: set[int] = set()
        for node, name in hits:
            if id(node) in seen or _awaited(mod, node):
                continue
            seen.add(id(node))
            out.append(Finding(
                mod.relpath, node.lineno,
                f"calls async {name}() without await: the result is a coroutine, not its value",
                mod.line(node.lineno), {"symbol": name}))
    return sorted(out, key=lambda f: (f.relpath, f.line))


def _module_aliases(mod: ParsedModule) -> set[str]:
    """Local names ``mod`` binds to modules by ``import`` (``m.f()`` is a function call)."""
    out = set()
    for node in mod.index[ast.Import]:
        for alias in node.names:
            out.add(alias.asname or alias.name)
    return out


def constructor_calls_missing(modules: Iterable[ParsedModule], symbol: Symbol,
                              params: tuple[str, ...], required: tuple[str, ...]) -> list[Finding]:
    """Calls of the class ``symbol`` (where its name is bound to it: see the module doc)
    that leave a required parameter without a value."""
    out = []
    for mod in modules:
        for node in calls_of(mod, symbol):
            if any(isinstance(a, ast.Starred) for a in node.args) or \
                    any(k.arg is None for k in node.keywords):
                continue
            given = set(params[: len(node.args)]) | {k.arg for k in node.keywords if k.arg}
            missing = [p for p in required if p not in given]
            if missing:
                names = ", ".join(repr(m) for m in missing)
                out.append(Finding(
                    mod.relpath, node.lineno,
                    f"calls {symbol.name}() without the required argument"
                    f"{'s' * (len(missing) > 1)} {names}", mod.line(node.lineno),
                    {"missing": missing}))
    return sorted(out, key=lambda f: (f.relpath, f.line))
