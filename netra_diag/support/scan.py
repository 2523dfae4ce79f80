"""One scan of a source tree per run: one walk, one read and at most one parse per file.

A ``Scan`` walks the production files of a root once (``source``'s rules: exclude globs and
test code left out) and reads each file once, computing its ``FileFacts``: cheap facts from a
few byte searches (top-level class and function names, ``from ... import`` names, marker
words), never a syntax tree. The analyses then ask ``parse`` for the few files their facts
make relevant; each file is parsed at most once per run, into a per-file summary (a
``support.survey.Survey`` of one module: definitions, parameters, imports, what each function
calls and constructs), and the tree is dropped. Deprecation is read only in files that
mention ``warn`` or ``deprecat``, and only for the definitions whose own lines do.

Speed: above ``POOL_MIN_FILES`` files the reading (and above ``POOL_MIN_PARSES`` the parsing)
runs in a forked process pool (summaries are small to send back; trees never travel).
Summaries and facts are cached per file, keyed by path, size and modification time, under the
user's cache folder (``platformdirs``; ``XDG_CACHE_HOME`` moves it), so a re-run on an
unchanged tree reads no file at all; ``cache=False`` (the CLI's ``--no-cache``) or
``NETRA_DIAG_NO_CACHE=1`` neither reads nor writes it. A cache that cannot be read or
written is ignored, never an error.

This module knows nothing of roles, checks or profiles.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .cache import cache_dir, cache_enabled, load_pickle, save_pickle
from .source import SourceProblem, _read, _walk, module_name_for, parse_bytes
from .symbols import resolve_relative

__all__ = ["FileFacts", "Scan", "cache_dir"]

#: Bump when facts or summaries change shape: older cache files are then ignored.
#: What cached scan facts were made by: this module's own source (a change to the scan
#: invalidates every cache made before it).
SCAN_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
#: Below these the work stays in this process. Measured on the realistic 3,000-module tree
#: (2 cores, loaded): the reading pool alone ties with one process, a second pool for 73
#: parses made init 2x slower (two pool start-ups), so parses get a pool only by hundreds.
POOL_MIN_FILES = 1500
POOL_MIN_PARSES = 200
_KEEP_CACHES = 32
_MARKERS = (b"user_id", b"warn", b"eprecat", b"EPRECAT")  # searched one by one
#: the method markers, in one pass (a literal prefix: the regex engine skips to each "def ")
_METHOD_MARKERS_RE = re.compile(rb"def (notify_|get_agent|run_agent|create_for_user)")
_CLASS_RE = re.compile(rb"\nclass[ \t]+(\w+)")
_DEF_RE = re.compile(rb"\ndef[ \t]+(\w+)")
_ASYNC_RE = re.compile(rb"\nasync[ \t]+def[ \t]+(\w+)")
_FROM_RE = re.compile(rb"\nfrom[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)")
_WORD_RE = re.compile(rb"\b(host|port)\b")


@dataclass(frozen=True)
class FileFacts:
    """What one read of a file tells without parsing it (see the module doc)."""

    relpath: str
    module: str
    size: int
    mtime_ns: int
    classes: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    async_functions: tuple[str, ...] = ()
    #: async top-level functions whose signature mentions both ``host`` and ``port``
    host_port: tuple[str, ...] = ()
    imports: tuple[tuple[str, str], ...] = ()  # (absolute source module, name)
    markers: frozenset[str] = frozenset()
    problem: str | None = None  # the file could not be read

    @property
    def is_package(self) -> bool:
        return self.relpath.endswith("__init__.py")


def facts_of(relpath: str, data: bytes, size: int, mtime_ns: int) -> FileFacts:
    """The byte-search facts of one file's ``data``."""
    text = b"\n" + data
    module = module_name_for(relpath)
    is_package = relpath.endswith("__init__.py")
    imports = []
    for match in _FROM_RE.finditer(text):
        source = match.group(1).decode("ascii", "replace")
        level = len(source) - len(source.lstrip("."))
        absolute = resolve_relative(module, is_package, level, source.lstrip(".") or None)
        names = match.group(2).split(b"#")[0] if b"(" not in match.group(2) else match.group(2)
        for part in re.split(rb"[,\s()\\]+(?:as\s+\w+)?", names):
            name = part.strip().decode("ascii", "replace")
            if name.isidentifier() or name == "*":
                imports.append((absolute, name))
    host_port = []
    asyncs = []
    for match in _ASYNC_RE.finditer(text):
        asyncs.append(match.group(1).decode())
        head = text[match.end():match.end() + 400].split(b":\n", 1)[0]
        if {m.group(1) for m in _WORD_RE.finditer(head)} == {b"host", b"port"}:
            host_port.append(match.group(1).decode())
    return FileFacts(
        relpath, module, size, mtime_ns,
        classes=tuple(m.group(1).decode() for m in _CLASS_RE.finditer(text)),
        functions=tuple(m.group(1).decode() for m in _DEF_RE.finditer(text)),
        async_functions=tuple(asyncs), host_port=tuple(host_port), imports=tuple(imports),
        markers=frozenset([*(m.decode() for m in _MARKERS if m in data),
                           *(f"def {m.group(1).decode()}"
                             for m in _METHOD_MARKERS_RE.finditer(data))]))


def _facts_batch(batch: list[tuple[str, str, int, int]]) -> list[FileFacts]:
    out = []
    for path, relpath, size, mtime_ns in batch:
        try:
            data = _read(path)
        except OSError as exc:
            out.append(FileFacts(relpath, module_name_for(relpath), size, mtime_ns,
                                 problem=f"cannot read: {exc.strerror or exc}"))
            continue
        out.append(facts_of(relpath, data, size, mtime_ns))
    return out


def _parse_batch(batch: list[tuple[str, str]]) -> list[tuple[str, object]]:
    """Summaries (or problems) of ``(path, relpath)`` files: trees never leave this call."""
    from .survey import survey_module

    out: list[tuple[str, object]] = []
    for path, relpath in batch:
        try:
            data = _read(path)
        except OSError as exc:
            out.append((relpath, SourceProblem(relpath, None,
                                               f"cannot read: {exc.strerror or exc}")))
            continue
        parsed = parse_bytes(relpath, data)
        if isinstance(parsed, SourceProblem):
            out.append((relpath, parsed))
            continue
        deprecation = b"warn" in data or b"eprecat" in data or b"EPRECAT" in data
        out.append((relpath, survey_module(parsed, deprecation=deprecation)))
    return out


@dataclass
class Scan:
    """The shared scan of ``root`` (see the module doc). Build it with ``Scan.of``."""

    root: Path
    exclude: tuple[str, ...] = ()
    files: dict[str, FileFacts] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)  # relpath -> absolute path
    summaries: dict[str, object] = field(default_factory=dict)  # relpath -> Survey|problem
    use_cache: bool = True
    workers: int | None = None
    reads: int = 0    # files read this run (0 on a fully cached re-run)
    parses: int = 0   # files parsed this run
    _cached: dict[str, tuple[int, int, FileFacts, object]] = field(default_factory=dict)
    _dirty: bool = False

    @classmethod
    def of(cls, root: Path, exclude: Iterable[str] = (), *, cache: bool = True,
           workers: int | None = None) -> Scan:
        """Walk ``root`` once and compute every production file's facts."""
        scan = cls(root.resolve(), tuple(exclude), use_cache=cache and cache_enabled(),
                   workers=workers)
        scan._load_cache()
        todo: list[tuple[str, str, int, int]] = []
        for path, relpath in _walk(scan.root, scan.exclude, False):
            try:
                st = os.stat(path)
            except OSError as exc:
                scan.files[relpath] = FileFacts(relpath, module_name_for(relpath), 0, 0,
                                                problem=f"cannot read: {exc.strerror or exc}")
                continue
            scan.paths[relpath] = path
            hit = scan._cached.get(relpath)
            if hit is not None and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
                scan.files[relpath] = hit[2]
                if hit[3] is not None:
                    scan.summaries[relpath] = hit[3]
            else:
                todo.append((path, relpath, st.st_size, st.st_mtime_ns))
        if todo:
            scan._dirty = True
            scan.reads = len(todo)
            for facts in scan._map(_facts_batch, todo, POOL_MIN_FILES):
                scan.files[facts.relpath] = facts
        if len(scan._cached) != len(scan.paths):
            scan._dirty = True
        return scan

    # -- parsing ---------------------------------------------------------------------------

    def parse(self, relpaths: Iterable[str]) -> dict[str, object]:
        """Summaries (``Survey`` of one module, or ``SourceProblem``) of ``relpaths``, each
        file parsed at most once per scan (and not at all when cached)."""
        wanted = [r for r in dict.fromkeys(relpaths) if r in self.files]
        todo = [(self.paths[r], r) for r in wanted
                if r not in self.summaries and r in self.paths and self.files[r].problem is None]
        for r in wanted:
            problem = self.files[r].problem
            if problem is not None and r not in self.summaries:
                self.summaries[r] = SourceProblem(r, None, problem)
        if todo:
            self._dirty = True
            self.parses += len(todo)
            for relpath, summary in self._map(_parse_batch, todo, POOL_MIN_PARSES):
                self.summaries[relpath] = summary
        return {r: self.summaries[r] for r in wanted if r in self.summaries}

    def _map(self, func, items: list, threshold: int) -> list:
        workers = self._workers(len(items), threshold)
        if workers <= 1:
            return func(items)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        size = max(8, len(items) // (workers * 4))
        batches = [items[i:i + size] for i in range(0, len(items), size)]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            return [x for part in pool.map(func, batches) for x in part]

    def _workers(self, count: int, threshold: int) -> int:
        import multiprocessing

        if "fork" not in multiprocessing.get_all_start_methods():
            return 1
        if self.workers is not None:
            return max(1, self.workers) if count > 1 else 1
        cpus = os.cpu_count() or 1
        return min(cpus, 4) if cpus > 1 and count >= threshold else 1

    # -- the cache -------------------------------------------------------------------------

    def _cache_path(self) -> Path:
        key = "\0".join([str(SCAN_VERSION), str(self.root), *self.exclude]).encode()
        return cache_dir() / f"init-{hashlib.sha256(key).hexdigest()[:32]}.pickle"

    def _load_cache(self) -> None:
        if not self.use_cache:
            return
        loaded = load_pickle(self._cache_path())
        if not isinstance(loaded, tuple) or len(loaded) != 2:
            return
        version, entries = loaded
        if version == SCAN_VERSION and isinstance(entries, dict):
            self._cached = entries

    def save(self) -> None:
        """Write the cache (when enabled and something changed); failures are ignored."""
        if not self.use_cache or not self._dirty:
            return
        entries = {r: (f.size, f.mtime_ns, f, self.summaries.get(r))
                   for r, f in self.files.items() if f.problem is None}
        save_pickle(self._cache_path(), (SCAN_VERSION, entries), prune="init-*.pickle",
                    keep=_KEEP_CACHES)
        self._dirty = False
