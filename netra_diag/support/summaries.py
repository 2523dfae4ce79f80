"""Per-file summaries for the static checks: one read and at most one parse per file per run.

``summarize_matching(root, needles, exclude)`` is ``source.parse_matching`` for the checks
that judge from source, but it yields ``ModuleSummary`` values (a ``ParsedModule`` whose
``tree`` and ``index`` hold only what the scans read: top-level definitions with their
signatures but no bodies, imports, and every call reduced to its callee's dotted name, its
arity, its keyword names and whether its coroutine is awaited or handed on). Bodies,
expressions and the source text are dropped (only the lines that evidence quotes are kept),
so a summary is small, picklable and cacheable.

Each file that mentions a needle is parsed whole, once (a file that does not parse is a
``SourceProblem``, as before: a check must not pass over it); the garbage collector is
paused while trees are built and dropped (it would walk every summary kept so far).

Sharing: within a run, ``support.snapshot`` scans once in the parent and each check reads
the summaries it needs from that run's snapshot. Across runs, a cache per source root
(``scan.cache_dir()``, keyed by path, size and modification time; ``NETRA_DIAG_NO_CACHE=1``
or ``--no-cache`` turns it off) keeps, per file, which needles it mentions and its summary.
A cache that cannot be used is ignored.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .cache import cache_dir, cache_enabled, load_pickle, save_pickle
from .snapshot_index import served
from .source import ParsedModule, SourceProblem, _read, _walk, parse_bytes

__all__ = ["ModuleSummary", "cache_enabled", "summarize", "summarize_matching"]

#: What a cached summary was made by: this module's own source, so that any change to how
#: files are summarised (the awaited rule, say) invalidates every cache made before it.
SUMMARY_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
POOL_MIN_FILES = 1500  # files to read before a forked pool pays (2 cores)
_KEEP_CACHES = 32
_CORO_CONSUMERS = {"create_task", "ensure_future", "gather", "wait_for", "run", "shield",
                   "run_until_complete", "run_coroutine_threadsafe", "wait", "as_completed",
                   "start_soon", "TaskGroup"}
_STARTS = re.compile(rb"\n(?=[A-Za-z_@])")
_CONTINUATIONS = (b"else", b"elif", b"except", b"finally", b"case")


@dataclass(frozen=True)
class ModuleSummary(ParsedModule):
    """What the static scans read of one module (see the module doc)."""

    text: dict[int, str] = field(default_factory=dict)
    names: frozenset[str] = frozenset()
    nodes: tuple[tuple[ast.AST, ...], tuple[ast.AST, ...], tuple[ast.AST, ...]] = ((), (), ())

    def line(self, lineno: int) -> str:
        return self.text.get(lineno, "")

    def mentions(self, name: str) -> bool:
        return name in self.names

    @functools.cached_property
    def index(self) -> dict[type, list[ast.AST]]:
        imports, froms, calls = self.nodes
        return {ast.Import: list(imports), ast.ImportFrom: list(froms), ast.Call: list(calls)}


# -- reducing a tree to its summary ------------------------------------------------------------

def _expr(node: ast.AST) -> ast.expr:
    """A callee, base or decorator: ``Name``/``Attribute`` chains kept, the rest a
    placeholder (so ``dotted_name`` reads it exactly as it read the original)."""
    if isinstance(node, ast.Name):
        new: ast.expr = ast.Name(id=node.id, ctx=ast.Load())
    elif isinstance(node, ast.Attribute):
        new = ast.Attribute(value=_expr(node.value), attr=node.attr, ctx=ast.Load())
    elif isinstance(node, ast.Call):
        new = _call(node, False)
    else:
        new = ast.Constant(value=None)
    return ast.copy_location(new, node) if hasattr(node, "lineno") else new


def _call(node: ast.Call, awaited: bool) -> ast.Call:
    args: list[ast.expr] = [ast.Starred(value=ast.Constant(value=None), ctx=ast.Load())
                            if isinstance(a, ast.Starred) else ast.Constant(value=None)
                            for a in node.args]
    new = ast.Call(func=_expr(node.func), args=args,
                   keywords=[ast.keyword(arg=k.arg, value=ast.Constant(value=None))
                             for k in node.keywords])
    ast.copy_location(new, node)
    new.awaited = awaited  # type: ignore[attr-defined]
    return new


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
    a = node.args
    args = ast.arguments(posonlyargs=a.posonlyargs, args=a.args, vararg=a.vararg,
                         kwonlyargs=a.kwonlyargs, kwarg=a.kwarg,
                         kw_defaults=[None if d is None else ast.Constant(value=None)
                                      for d in a.kw_defaults],
                         defaults=[ast.Constant(value=None) for _ in a.defaults])
    new = type(node)(name=node.name, args=args, body=[],
                     decorator_list=[_expr(d) for d in node.decorator_list],
                     returns=node.returns, type_comment=None)
    return ast.copy_location(new, node)


def _definition(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return _function(node)
    if isinstance(node, ast.ClassDef):
        body = [_function(item) for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)]
        new = ast.ClassDef(name=node.name, bases=[_expr(b) for b in node.bases],
                           keywords=[], body=body,
                           decorator_list=[_expr(d) for d in node.decorator_list])
        return ast.copy_location(new, node)
    return None


def _awaited(node: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether a call's coroutine is awaited or handed on: awaited, returned, yielded,
    returned by a lambda, handed to a consumer (``create_task``...) or to a call that is
    itself awaited. The one rule: ``static`` reads it from the summaries."""
    parent = parents.get(node)
    if isinstance(parent, ast.Await | ast.Return | ast.Yield | ast.YieldFrom | ast.Lambda):
        return True  # a lambda hands its coroutine to whoever calls it
    if isinstance(parent, ast.Call) and _call_name(parent) in _CORO_CONSUMERS:
        return True
    if isinstance(parent, ast.Call) and node in parent.args and \
            isinstance(parents.get(parent), ast.Await):
        return True  # handed to a call that is itself awaited: await helper(coro())
    return isinstance(parent, ast.keyword) and isinstance(parents.get(parent), ast.Call) \
        and _call_name(parents[parent]) in _CORO_CONSUMERS  # type: ignore[arg-type]


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else \
        func.attr if isinstance(func, ast.Attribute) else None


def summarize(mod: ParsedModule) -> ModuleSummary:
    """The summary of a parsed module (see the module doc)."""
    parents: dict[ast.AST, ast.AST] = {}
    imports: list[ast.AST] = []
    froms: list[ast.AST] = []
    calls: list[ast.AST] = []
    names: set[str] = set()
    keep: set[int] = set()
    for node in ast.walk(mod.tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
        kind = type(node)
        if kind is ast.Name:
            names.add(node.id)  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            names.add(node.attr)  # type: ignore[attr-defined]
        elif kind is ast.Import or kind is ast.ImportFrom:
            (imports if kind is ast.Import else froms).append(node)
            keep.add(node.lineno)  # type: ignore[attr-defined]
            for alias in node.names:  # type: ignore[attr-defined]
                names.update(alias.name.split("."))
                if alias.asname:
                    names.add(alias.asname)
        elif kind is ast.Call:
            calls.append(node)
    reduced = [_call(c, _awaited(c, parents)) for c in calls]  # type: ignore[arg-type]
    keep.update(c.lineno for c in reduced)
    body = []
    for node in mod.tree.body:
        new = _definition(node)
        if new is not None:
            body.append(new)
            keep.add(node.lineno)
            names.add(node.name)  # type: ignore[attr-defined]
    lines = mod.lines
    text = {n: lines[n - 1].strip() for n in keep if 0 < n <= len(lines)}
    tree = ast.Module(body=body, type_ignores=[])
    return ModuleSummary(mod.relpath, mod.module, "", tree, text=text,
                         names=frozenset(names), nodes=(tuple(imports), tuple(froms),
                                                        tuple(reduced)))


def _summary_of(relpath: str, data: bytes) -> ModuleSummary | SourceProblem:
    """Parse ``data`` whole (a file that does not parse is a ``SourceProblem``: checks must
    not pass over it) and keep its summary; the tree is dropped here."""
    parsed = parse_bytes(relpath, data)
    return parsed if isinstance(parsed, SourceProblem) else summarize(parsed)


# -- the cache and the scan ----------------------------------------------------------------------

@dataclass
class _Entry:
    size: int
    mtime_ns: int
    mentions: dict[str, bool] = field(default_factory=dict)
    summary: ModuleSummary | SourceProblem | None = None


def _cache_folder(root: Path, exclude: tuple[str, ...], include_tests: bool) -> Path:
    key = "\0".join([f"static{SUMMARY_VERSION}", str(root), str(include_tests), *exclude])
    return cache_dir() / f"static-{hashlib.sha256(key.encode()).hexdigest()[:32]}.pickle"


def _load(path: Path) -> dict[str, _Entry]:
    loaded = load_pickle(path)
    if not isinstance(loaded, tuple) or len(loaded) != 2:
        return {}
    version, entries = loaded
    return entries if version == SUMMARY_VERSION and isinstance(entries, dict) else {}


def _save(path: Path, entries: dict[str, _Entry]) -> None:
    save_pickle(path, (SUMMARY_VERSION, entries), prune="static-*.pickle", keep=_KEEP_CACHES)


def _mentions(data: bytes, needles: tuple[str, ...]) -> dict[str, bool]:
    """Which ``needles`` ``data`` contains. Needles sharing their first 7 bytes are guarded
    by that prefix (absent: all are, in one pass instead of one each): the five
    ``notify_*`` methods, say."""
    out: dict[str, bool] = {}
    groups: dict[bytes, list[str]] = {}
    for n in needles:
        groups.setdefault(n.encode()[:7], []).append(n)
    for prefix, names in groups.items():
        if len(names) > 1 and prefix not in data:
            out.update(dict.fromkeys(names, False))
        else:
            out.update((n, n.encode() in data) for n in names)
    return out


def _work(batch: list[tuple[str, str, _Entry, tuple[str, ...]]]
          ) -> list[tuple[str, _Entry]]:
    """Read each file once: record which needles it mentions, summarise it when it
    mentions one its summary does not cover yet."""
    out = []
    for path, relpath, entry, needles in batch:
        try:
            data = _read(path)
        except OSError as exc:
            entry.summary = SourceProblem(relpath, None, f"cannot read: {exc.strerror or exc}")
            out.append((relpath, entry))
            continue
        entry.mentions.update(_mentions(data, needles))
        if entry.summary is None and (not needles or any(entry.mentions[n] for n in needles)):
            entry.summary = _summary_of(relpath, data)
        out.append((relpath, entry))
    return out


def _run(todo: list, workers: int | None) -> list[tuple[str, _Entry]]:
    count = workers if workers is not None else (
        min(os.cpu_count() or 1, 4) if len(todo) >= POOL_MIN_FILES else 1)
    if count <= 1 or len(todo) < 2:
        return _paused_gc(_work, todo)
    import multiprocessing  # only here: the parent's cached run never needs it
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        return _paused_gc(_work, todo)

    size = max(16, len(todo) // (count * 4))
    batches = [todo[i:i + size] for i in range(0, len(todo), size)]
    with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork")) as pool:
        return [item for part in pool.map(_paused_gc, [_work] * len(batches), batches)
                for item in part]


def _paused_gc(func, items):  # type: ignore[no-untyped-def]
    """``func(items)`` with the cyclic garbage collector paused (trees hold no cycles that
    outlive the call; without it, each parse walks every object kept so far)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        return func(items)
    finally:
        if enabled:
            gc.enable()


def summarize_matching(root: Path, needles: Iterable[str], exclude: Iterable[str] = (), *,
                       include_tests: bool = False, workers: int | None = None,
                       cache: bool | None = None) -> Iterator[ModuleSummary | SourceProblem]:
    """Summaries of the production files whose bytes mention any of ``needles`` (every file
    when empty), in walk order; unreadable or unparsable files as ``SourceProblem``. Served
    from the run's snapshot when one covers the needles (unless ``cache=False``)."""
    wanted = tuple(dict.fromkeys(n for n in needles if n))
    root = root.resolve()
    excluded = tuple(exclude)
    if cache is not False and wanted and not include_tests:
        found = served(root, excluded, wanted, SUMMARY_VERSION)
        if found is not None:
            yield from found
            return
    use_cache = cache_enabled() if cache is None else cache
    order, fresh = _scan(root, wanted, excluded, include_tests, workers, use_cache)
    for relpath in order:
        entry = fresh[relpath]
        if isinstance(entry.summary, SourceProblem):
            if not wanted or any(entry.mentions.get(n) for n in wanted) or \
                    entry.summary.message.startswith("cannot read"):
                yield entry.summary
        elif entry.summary is not None and (not wanted or any(entry.mentions.get(n)
                                                              for n in wanted)):
            yield entry.summary


#: One walked file: its path, its path relative to the root, and its ``os.stat`` (or the
#: error that stat raised).
Listed = tuple[str, str, "os.stat_result | OSError"]


def listing(root: Path, excluded: tuple[str, ...], include_tests: bool) -> list[Listed]:
    """One walk of ``root`` (``source``'s rules) with each file's stat: what says whether
    anything changed since a scan, without reading a file."""
    out: list[Listed] = []
    for file, relpath in _walk(root, excluded, include_tests):
        try:
            out.append((file, relpath, os.stat(file)))
        except OSError as exc:
            out.append((file, relpath, exc))
    return out


def _scan(root: Path, wanted: tuple[str, ...], excluded: tuple[str, ...], include_tests: bool,
          workers: int | None, use_cache: bool, listed: list[Listed] | None = None
          ) -> tuple[list[str], dict[str, _Entry]]:
    """One walk (or the ``listing`` given): every file's entry, read (and parsed when it
    mentions a needle) only when the cache cannot answer; the cache is updated when
    enabled."""
    path = _cache_folder(root, excluded, include_tests)
    entries = _load(path) if use_cache else {}
    order: list[str] = []
    todo = []
    fresh: dict[str, _Entry] = {}
    for file, relpath, st in listing(root, excluded, include_tests) if listed is None \
            else listed:
        order.append(relpath)
        if isinstance(st, OSError):
            fresh[relpath] = _Entry(0, 0, summary=SourceProblem(
                relpath, None, f"cannot read: {st.strerror or st}"))
            continue
        entry = entries.get(relpath)
        if entry is None or entry.size != st.st_size or entry.mtime_ns != st.st_mtime_ns:
            entry = _Entry(st.st_size, st.st_mtime_ns)
        fresh[relpath] = entry
        unknown = [n for n in wanted if n not in entry.mentions]
        needed = not wanted or any(entry.mentions.get(n) for n in wanted)
        if unknown or (needed and entry.summary is None):
            todo.append((file, relpath, entry, wanted))
    changed = bool(todo) or len(entries) != len(fresh)
    for relpath, entry in _run(todo, workers):
        fresh[relpath] = entry
    if use_cache and changed:
        _save(path, fresh)
    return order, fresh
