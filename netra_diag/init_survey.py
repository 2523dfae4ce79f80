"""Which files ``init`` parses, chosen from the shared scan's facts, and the ``Survey`` of them.

Owns the selection: ``init`` reads every production file once (``support.scan``) and parses
only the files whose facts can hold a role, a deprecated entry point or a class that a
parsed definition names (parameters, return annotations, what a function returns a call of,
base classes), each at most once. Context classes are parsed by tiers (``UserExecutionContext``
first, then ``*ExecutionContext``/``*UserContext``, then any ``*Context``), stopping at the
first tier that holds one taking ``user_id``: a tree with hundreds of request contexts does
not parse them all. Who imports what comes from every file's facts (exact ``ast`` imports for
the parsed files), so the roles can be ranked by how the application uses them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .support.scan import FileFacts, Scan
from .support.source import SourceProblem
from .support.survey import Survey

__all__ = ["survey_tree"]

_WIRING_MODULES = ("dependencies", "wiring", "container", "deps")
_CONTEXT_TIERS = (lambda n: n == "UserExecutionContext",
                  lambda n: n.endswith(("ExecutionContext", "UserContext")),
                  lambda n: n.endswith("Context"))
_ROUNDS = 3


_SERVER_NAMES = frozenset({"start_server", "serve", "run_server", "create_server"})


def _wanted(f: FileFacts) -> bool:
    """Whether ``f`` may define a role (other than the context) or a deprecated entry:
    substring tests on the joined names first (most files fail them all), the per-name
    rule only where one passes."""
    m = f.markers
    if "def notify_" in m or "def create_for_user" in m or "eprecat" in m or "EPRECAT" in m:
        return True
    if f.host_port or f.module.rsplit(".", 1)[-1] in _WIRING_MODULES:
        return True
    names = f.functions + f.async_functions
    functions = "\n".join(names).lower()
    if "supervisor" in functions or "bridge" in functions or not _SERVER_NAMES.isdisjoint(names):
        return True
    if "manager" in functions and any(
            "manager" in n.lower() and n.lower().startswith(("create", "make", "build", "new"))
            for n in names):
        return True
    classes = "\n".join(f.classes)
    if "Emitter" in classes or "Bridge" in classes or "EngineFactory" in classes:
        return True
    lower = classes.lower()
    for c in f.classes if ("factory" in lower or "llm" in lower or "Registry" in classes
                           or "Engine" in classes) else ():
        low = c.lower()
        if ("engine" in low and "factory" in low) or (
                "llm" in low and ("manager" in low or "client" in low)):
            return True
        if ("Registry" in c and "def get_agent" in m) or \
                (c.endswith("Engine") and "def run_agent" in m):
            return True
    return False


def _assemble(scan: Scan, summaries: dict[str, object]) -> Survey:
    tree = Survey(files=len(scan.files))
    for relpath, f in scan.files.items():
        if f.is_package:
            tree.packages.add(f.module)
        if f.problem is not None:
            tree.problems.append(SourceProblem(relpath, None, f.problem))
        tree.imports[f.module] = list(f.imports)
    for summary in summaries.values():
        if isinstance(summary, SourceProblem):
            tree.problems.append(summary)
        elif isinstance(summary, Survey):
            tree.classes += summary.classes
            tree.functions += summary.functions
            tree.imports.update(summary.imports)
    tree.problems.sort(key=lambda p: p.relpath)
    return tree


def _names_used(summaries: Iterable[object]) -> set[str]:
    """Class-like names the parsed definitions refer to (annotations, returns, bases)."""
    out: set[str] = set()
    for summary in summaries:
        if not isinstance(summary, Survey):
            continue
        defs = [*summary.functions, *(m for c in summary.classes for m in c.methods.values())]
        for d in defs:
            out |= {p.annotation for p in d.params if p.annotation}
            out |= {d.returns, *d.constructs} - {""}
        for c in summary.classes:
            out |= set(c.bases)
            out |= {p.annotation for p in c.own_params or () if p.annotation}
    return {n for n in out if n[:1].isupper()}


def survey_tree(root: Path, exclude: Iterable[str] = (), *, cache: bool = True,
                workers: int | None = None) -> tuple[Survey, Scan]:
    """The ``Survey`` ``init`` reasons on, and the scan it came from (for its counts)."""
    scan = Scan.of(root, exclude, cache=cache, workers=workers)
    files = [f for f in scan.files.values() if f.problem is None]
    selected = [f.relpath for f in files if _wanted(f)]
    summaries = scan.parse(selected)
    for rank, tier in enumerate(_CONTEXT_TIERS):
        # the exact name is parsed even without `user_id` in its file (it may inherit it)
        names = [f.relpath for f in files if ("user_id" in f.markers or rank == 0)
                 and any(tier(c) for c in f.classes)]
        found = scan.parse(names)
        summaries.update(found)
        classes = [c for s in found.values() if isinstance(s, Survey) for c in s.classes
                   if tier(c.name)]
        # a class that may inherit user_id: its bases are parsed below, with the other names
        if any(any(p.name == "user_id" for p in (c.own_params or ()))
               or (rank == 0 and c.own_params is None and c.bases) for c in classes):
            break
    for _ in range(_ROUNDS):
        known = {c.name for s in summaries.values() if isinstance(s, Survey)
                 for c in s.classes}
        wanted = _names_used(summaries.values()) - known
        more = [f.relpath for f in files if f.relpath not in summaries
                and wanted.intersection(f.classes)]
        if not more:
            break
        summaries.update(scan.parse(more))
    scan.save()
    return _assemble(scan, summaries), scan
