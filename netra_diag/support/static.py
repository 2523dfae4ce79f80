"""Static findings from a target's source, by ``ast`` only (nothing is imported).

Each function takes parsed modules (see ``source.parse_matching``) and returns plain
``Finding`` values with a path relative to the target root and a 1-based line. The rules:

* names are resolved, never matched bare: a role ``pkg.mod:Name`` is a ``Symbol`` (see
  ``resolve_symbol``): the module defining it (re-exports followed: ``pkg/mod.py`` may only
  import ``Name`` from elsewhere), and every module binding it (defining it, importing it,
  under any alias, relative imports resolved, re-exports of re-exports too). A call counts
  only where its name is bound to the symbol: ``Name(...)`` where ``Name`` is such a
  binding, or ``m.Name(...)`` where ``m`` is an imported module binding it. An unrelated
  class of the same name elsewhere in the tree is never confused with the role's;
* a deprecated entry point ``pkg.mod:name`` is *used* by a module that imports ``name`` from
  ``pkg.mod`` or from the module defining ``name`` (relative imports resolved), or that
  reaches it as an attribute of an imported module; the entry's own module and the modules
  defining ``name`` are its home and never count;
* an async callable's call is *un-awaited* when it is not the operand of ``await`` and not
  handed to a coroutine consumer (``create_task``, ``gather``, ``run``...), nor returned or
  yielded as is. Async functions are resolved as above; an async *method* is called on a
  value whose class ``ast`` cannot know, so method calls count by name, and only for names
  the caller vouches for (see ``async_method_names``: no class of the tree defines a
  plain, sync method of that name);
* a constructor call *misses* a required parameter when neither a positional argument nor
  a keyword supplies it (calls with ``*args``/``**kwargs`` are not judged).

Parameters (which are required, their annotations) are read by ``parameters``, shared with
``support.survey``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from .source import ParsedModule

__all__ = [
    "Finding",
    "FunctionInfo",
    "Param",
    "Symbol",
    "annotation_name",
    "async_method_names",
    "class_location",
    "class_methods",
    "constructor_calls_missing",
    "deprecated_usages",
    "find_definitions",
    "method_definitions",
    "parameters",
    "required_params",
    "resolve_symbol",
    "unawaited_calls",
]

CORO_CONSUMERS = {"create_task", "ensure_future", "gather", "wait_for", "run", "shield",
                  "run_until_complete", "run_coroutine_threadsafe", "wait", "as_completed",
                  "start_soon", "TaskGroup"}
#: How many re-export hops (and rounds of re-export propagation) are followed.
_MAX_HOPS = 8


@dataclass(frozen=True)
class Finding:
    relpath: str
    line: int
    message: str
    code: str = ""
    data: dict = field(default_factory=dict, compare=False)


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


def _is_package(mod: ParsedModule) -> bool:
    return mod.relpath.endswith("__init__.py")


def _defines(mod: ParsedModule, name: str) -> ast.AST | None:
    for node in mod.tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) \
                and node.name == name:
            return node
    return None


def _imported_as(mod: ParsedModule, local: str) -> tuple[str, str] | None:
    """``(absolute source module, original name)`` when ``mod`` binds ``local`` by a
    ``from ... import``."""
    for node in mod.index[ast.ImportFrom]:
        source = resolve_relative(mod.module, _is_package(mod), node.level, node.module)
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
        if _defines(mod, attr) is not None:
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
                source = resolve_relative(mod.module, _is_package(mod), node.level, node.module)
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
        source = resolve_relative(mod.module, _is_package(mod), node.level, node.module)
        for alias in node.names:
            attrs = symbol.names_in(f"{source}.{alias.name}" if source else alias.name)
            if attrs:
                dotted |= {f"{alias.asname or alias.name}.{a}" for a in attrs}
    return names, dotted


def _calls_of(mod: ParsedModule, symbol: Symbol) -> list[ast.Call]:
    names, dotted = _call_targets(mod, symbol)
    if not names and not dotted:
        return []
    out = []
    for node in mod.index[ast.Call]:
        func = node.func
        if (isinstance(func, ast.Name) and func.id in names) or (
                isinstance(func, ast.Attribute) and dotted and _dotted(func) in dotted):
            out.append(node)
    return out


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
        if name not in mod.source:  # parsed for another needle: cannot use this one
            continue
        local_names: set[str] = set()
        module_aliases: set[str] = set()
        for node in [*mod.index[ast.ImportFrom], *mod.index[ast.Import]]:
            if isinstance(node, ast.ImportFrom):
                source = resolve_relative(mod.module, _is_package(mod), node.level, node.module)
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
                and _dotted(func.value) in module_aliases)
            if hit:
                out.append(Finding(mod.relpath, node.lineno,
                                   f"calls deprecated {name}(){hint}", mod.line(node.lineno),
                                   {"symbol": name, "kind": "call"}))
    return sorted(out, key=lambda f: (f.relpath, f.line))


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _awaited(mod: ParsedModule, node: ast.Call) -> bool:
    """True when the coroutine of call ``node`` is awaited or handed on (module doc)."""
    parents = mod.parents
    parent = parents.get(node)
    if isinstance(parent, ast.Await | ast.Return | ast.Yield | ast.YieldFrom):
        return True
    if isinstance(parent, ast.Call) and _call_name(parent) in CORO_CONSUMERS:
        return True
    return isinstance(parent, ast.keyword) and isinstance(parents.get(parent), ast.Call) \
        and _call_name(parents[parent]) in CORO_CONSUMERS


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
            hits += [(node, symbol.name) for node in _calls_of(mod, symbol)]
        if methods:
            modules_here = _module_aliases(mod)
            for node in mod.index[ast.Call]:
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in methods \
                        and _dotted(func.value) not in modules_here:
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
        except SyntaxError:
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
    node = _defines(mod, symbol.name) if mod is not None else None
    return (mod, node) if mod is not None and isinstance(node, ast.ClassDef) else None


def _base_class(modules: list[ParsedModule], mod: ParsedModule, base: ast.expr
                ) -> tuple[ParsedModule, ast.ClassDef] | None:
    """The class a base expression of a class in ``mod`` names, when it is in the tree."""
    if isinstance(base, ast.Name):
        return _class_def(modules, mod.module, base.id)
    dotted = _dotted(base)
    if "." not in dotted:
        return None
    prefix, _, attr = dotted.rpartition(".")
    for node in mod.index[ast.Import]:
        for alias in node.names:
            if (alias.asname or alias.name) == prefix:
                return _class_def(modules, alias.name, attr)
    for node in mod.index[ast.ImportFrom]:
        source = resolve_relative(mod.module, _is_package(mod), node.level, node.module)
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
            is_static = any(_dotted(d) == "staticmethod" for d in item.decorator_list)
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


def constructor_calls_missing(modules: Iterable[ParsedModule], symbol: Symbol,
                              params: tuple[str, ...], required: tuple[str, ...]) -> list[Finding]:
    """Calls of the class ``symbol`` (where its name is bound to it: see the module doc)
    that leave a required parameter without a value."""
    out = []
    for mod in modules:
        for node in _calls_of(mod, symbol):
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
