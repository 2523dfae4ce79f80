"""The layers of the code base (docs/architecture.md, "Layers and I/O"): no import cycle
among the modules of netra_diag and netra_diag_checks, nothing imports the CLI but the
console-script entry point, and no module above about 400 lines.

What counts as an import: every ``import`` and ``from ... import`` statement, at module
level **and inside functions** (a deferred import is still a dependency: ``cli`` <->
``session`` <-> ``probe`` was a cycle of deferred imports), except those under
``if TYPE_CHECKING:`` (never executed). ``from package import name`` is an edge to the
submodule ``package.name`` when there is one, else to the package. A package's implicit
import of its parent ``__init__`` is not an edge. Read with ``ast`` only: nothing imported.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"netra_diag": ROOT / "netra_diag", "netra_diag_checks": ROOT / "checks"}
#: The embedded reference pipeline is the diagnosed target, not the tool: excluded from
#: the import graph, included in the size rule.
TARGET = ROOT / "netra_diag" / "reference"

#: Cycles tolerated for now, each with its reason; a cycle is accepted only when all its
#: modules are in one of these sets (so a smaller cycle left after a partial fix passes,
#: and a new module joining one fails).
KNOWN_CYCLES: dict[frozenset[str], str] = {}

MAX_LINES = 400
#: Modules allowed above MAX_LINES, each with its reason.
SIZE_EXCEPTIONS: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            if TARGET in path.parents:
                continue
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """``name`` or its nearest enclosing module of ours; None for a third-party name."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ours that ``name`` imports anywhere but under ``if TYPE_CHECKING``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit_all(child.orelse)
                continue
            if isinstance(child, ast.Import):
                out.update(filter(None, (_known(a.name, modules) for a in child.names)))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    source = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    source = child.module or ""
                for alias in child.names:
                    target = f"{source}.{alias.name}"
                    hit = target if target in modules else _known(source, modules)
                    if hit:
                        out.add(hit)
            visit(child)

    def visit_all(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            visit(ast.Module(body=[node], type_ignores=[]))

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    out.discard(name)
    return out


@functools.cache
def _graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (read once per test session)."""
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _path_through(graph: dict[str, set[str]], members: list[str]) -> str:
    """One concrete cycle inside a component, for the message: ``a -> b -> a``."""
    inside = set(members)
    start = members[0]
    trail = [start]
    seen = {start}
    while True:
        step = sorted(graph[trail[-1]] & inside)
        back = [m for m in step if m == start]
        if back and len(trail) > 1:
            return " -> ".join([*trail, start])
        nxt = next((m for m in step if m not in seen), None)
        if nxt is None:
            nxt = step[0]
            return " -> ".join([*trail[trail.index(nxt):], nxt]) if nxt in trail else \
                " -> ".join(trail)
        trail.append(nxt)
        seen.add(nxt)


def test_no_import_cycle():
    graph = _graph()
    assert "netra_diag.cli" in graph and "netra_diag_checks.event_flow" in graph
    bad = [c for c in _cycles(graph)
           if not any(set(c) <= known for known in KNOWN_CYCLES)]
    assert not bad, "import cycles:\n" + "\n".join(
        f"  {_path_through(graph, c)}   (component: {', '.join(c)})" for c in bad)


def test_the_cycle_finder_finds_a_deferred_cycle():
    """The walker itself: a cycle made only of imports inside functions is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _path_through(graph, ["a", "b", "c"]) == "a -> b -> c -> a"
    modules = {"pkg": Path("pkg/__init__.py"), "pkg.x": Path("pkg/x.py")}
    assert _known("pkg.x.attr", modules) == "pkg.x" and _known("json", modules) is None


def test_deferred_and_relative_imports_are_edges(tmp_path):
    """Imports inside functions count, ``TYPE_CHECKING`` ones do not, and ``from . import
    x`` resolves to the submodule ``x``."""
    (tmp_path / "pkg").mkdir()
    init = tmp_path / "pkg" / "__init__.py"
    init.write_text("")
    mod = tmp_path / "pkg" / "a.py"
    mod.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n"
                   "def f():\n    from . import b\n    from .d import name\n")
    modules = {"pkg": init, "pkg.a": mod, "pkg.b": mod, "pkg.c": mod, "pkg.d": mod}
    assert _imports("pkg.a", mod, modules) == {"pkg.b", "pkg.d"}


def test_nothing_imports_the_cli():
    graph = _graph()
    importers = sorted(name for name, deps in graph.items()
                       if "netra_diag.cli" in deps and name != "netra_diag._entry")
    assert not importers, f"the CLI is the top layer; imported by {', '.join(importers)}"


#: What a check may not import: the commands and the run machinery above it.
ABOVE_THE_CHECKS = ("netra_diag.cli", "netra_diag.session", "netra_diag.outputs",
                    "netra_diag.probe", "netra_diag.serve", "netra_diag.init",
                    "netra_diag.runner", "netra_diag.checkset", "netra_diag.discover",
                    "netra_diag.reporters", "netra_diag.analysis", "netra_diag.blocking")


def test_the_checks_never_import_the_commands_or_the_run_machinery():
    graph = _graph()
    bad = sorted(f"{name} -> {dep}" for name, deps in graph.items()
                 if name.startswith("netra_diag_checks") for dep in deps
                 if any(dep == top or dep.startswith(top + ".") or dep.startswith(top + "_")
                        for top in ABOVE_THE_CHECKS))
    assert not bad, "checks importing above their layer:\n  " + "\n  ".join(bad)


def test_no_module_above_400_lines():
    too_long = []
    for folder in PACKAGES.values():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES and rel not in SIZE_EXCEPTIONS:
                too_long.append(f"{rel}: {lines} lines")
    assert not too_long, (f"modules above {MAX_LINES} lines (split them by job, or list "
                          "one in SIZE_EXCEPTIONS with its reason):\n  " + "\n  ".join(too_long))
