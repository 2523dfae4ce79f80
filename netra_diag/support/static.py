"""Static findings from a target's source, by ``ast`` only (nothing is imported).

Each function takes parsed modules (see ``source.parse_matching``) and returns plain
``Finding`` values with a path relative to the target root and a 1-based line. The rules:

* a deprecated entry point ``pkg.mod:name`` is *used* by a module that imports ``name`` from
  ``pkg.mod`` or from the module defining ``name`` (relative imports resolved), or that
  reaches it as an attribute of an imported module; the entry's own module and the modules
  defining ``name`` are its home and never count;
* an async callable's call is *un-awaited* when it is not the operand of ``await`` and not
  handed to a coroutine consumer (``create_task``, ``gather``, ``run``...), nor returned or
  yielded as is;
* a constructor call *misses* a required parameter when neither a positional argument nor
  a keyword supplies it (calls with ``*args``/``**kwargs`` are not judged).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from .source import ParsedModule

__all__ = [
    "Finding",
    "FunctionInfo",
    "class_methods",
    "constructor_calls_missing",
    "deprecated_usages",
    "find_definitions",
    "method_definitions",
    "required_params",
    "unawaited_calls",
]

CORO_CONSUMERS = {"create_task", "ensure_future", "gather", "wait_for", "run", "shield",
                  "run_until_complete", "run_coroutine_threadsafe", "wait", "as_completed",
                  "start_soon", "TaskGroup"}


@dataclass(frozen=True)
class Finding:
    relpath: str
    line: int
    message: str
    code: str = ""
    data: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    is_async: bool
    line: int
    relpath: str
    params: tuple[str, ...]
    required: tuple[str, ...]


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


def find_definitions(modules: Iterable[ParsedModule], name: str) -> list[Finding]:
    """Top-level classes and functions called ``name``."""
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
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def unawaited_calls(modules: Iterable[ParsedModule], async_names: set[str]) -> list[Finding]:
    """Calls to async callables named in ``async_names`` whose coroutine is never awaited."""
    out = []
    for mod in modules:
        for node in mod.index[ast.Call]:
            name = _call_name(node)
            if name not in async_names:
                continue
            parents = mod.parents
            parent = parents.get(node)
            if isinstance(parent, ast.Await | ast.Return | ast.Yield | ast.YieldFrom):
                continue
            if isinstance(parent, ast.Call) and _call_name(parent) in CORO_CONSUMERS:
                continue
            if isinstance(parent, ast.keyword) and isinstance(parents.get(parent), ast.Call) \
                    and _call_name(parents[parent]) in CORO_CONSUMERS:
                continue
            out.append(Finding(
                mod.relpath, node.lineno,
                f"calls async {name}() without await: the result is a coroutine, not its value",
                mod.line(node.lineno), {"symbol": name}))
    return sorted(out, key=lambda f: (f.relpath, f.line))


def _function_info(node: ast.FunctionDef | ast.AsyncFunctionDef, relpath: str,
                   skip_first: bool) -> FunctionInfo:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    if skip_first and positional:
        positional = positional[1:]
    n_defaults = len(args.defaults)
    required = [a.arg for a in positional[: len(positional) - n_defaults]]
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                 if d is None]
    params = [a.arg for a in positional] + [a.arg for a in args.kwonlyargs]
    return FunctionInfo(node.name, isinstance(node, ast.AsyncFunctionDef), node.lineno,
                        relpath, tuple(params), tuple(required))


def class_methods(modules: list[ParsedModule], class_name: str,
                  _seen: set[str] | None = None) -> dict[str, FunctionInfo] | None:
    """Methods of ``class_name`` (with those inherited from bases found in the source),
    or None when no class of that name is defined."""
    seen = _seen or set()
    if class_name in seen:
        return {}
    seen.add(class_name)
    for mod in modules:
        for node in mod.tree.body:
            if isinstance(node, ast.ClassDef) and node.name == class_name:
                methods: dict[str, FunctionInfo] = {}
                for base in node.bases:
                    base_name = _dotted(base).split(".")[-1]
                    inherited = class_methods(modules, base_name, seen) if base_name else None
                    methods.update(inherited or {})
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        is_static = any(_dotted(d) == "staticmethod" for d in item.decorator_list)
                        methods[item.name] = _function_info(item, mod.relpath, not is_static)
                return methods
    return None


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


def required_params(modules: list[ParsedModule], class_name: str) -> tuple[str, ...] | None:
    """Required constructor parameters of ``class_name`` (None when unknown)."""
    methods = class_methods(modules, class_name)
    if methods is None:
        return None
    init = methods.get("__init__")
    return init.required if init else ()


def constructor_calls_missing(modules: Iterable[ParsedModule], class_name: str,
                              params: tuple[str, ...], required: tuple[str, ...]) -> list[Finding]:
    """Calls of ``class_name(...)`` that leave a required parameter without a value."""
    out = []
    for mod in modules:
        for node in mod.index[ast.Call]:
            if _call_name(node) != class_name:
                continue
            if any(isinstance(a, ast.Starred) for a in node.args) or \
                    any(k.arg is None for k in node.keywords):
                continue
            given = set(params[: len(node.args)]) | {k.arg for k in node.keywords if k.arg}
            missing = [p for p in required if p not in given]
            if missing:
                names = ", ".join(repr(m) for m in missing)
                out.append(Finding(
                    mod.relpath, node.lineno,
                    f"calls {class_name}() without the required argument{'s' * (len(missing) > 1)}"
                    f" {names}", mod.line(node.lineno), {"missing": missing}))
    return sorted(out, key=lambda f: (f.relpath, f.line))
