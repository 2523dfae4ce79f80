"""Walk a target's production source and parse only the files that can matter.

Scanning rules: files under the root ending in ``.py``, minus the profile's ``exclude``
patterns (gitignore semantics, see ``exclusion``) and test code (``tests/`` and ``test/``
folders, ``test_*.py``, ``*_test.py``, ``conftest.py``). Folders reached through symbolic
links are never entered, and a linked file is read only when it resolves to a regular file
inside the root (a link loop, a dangling link or a link out of the root is skipped). A cheap
byte search picks the files that mention any wanted symbol, and only those are parsed with
``ast``, one at a time (never all trees in memory). Files are parsed from their bytes, as
the interpreter reads them (a UTF-8 BOM and a ``coding:`` cookie are honoured). A file that
cannot be read, decoded or parsed (a syntax error, or code nested too deeply for the parser:
``RecursionError``, ``MemoryError``) becomes a ``SourceProblem``, never an exception: checks
must not pass from source over such a file (it mentions what they look for, and was not
judged).

Speed (measured by ``benchmarks/static_scan.py``): the walk is one ``os.scandir`` per folder
with test folders pruned whole; each file is read with one raw ``os.read`` (no buffered file
object) and searched for the needles as bytes; threads do not pay (the GIL serialises the
per-file work). A forked process pool does the read-and-search stage when the tree is large
enough to repay starting it (``PARALLEL_MIN_FILES``, and only where ``fork`` exists);
parsing stays in this process, since pickling syntax trees costs more than parsing the few
files that match.
"""

from __future__ import annotations

import ast
import functools
import io
import os
import tokenize
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ParsedModule",
    "SourceProblem",
    "is_test_path",
    "iter_python_files",
    "module_name_for",
    "parse_bytes",
    "parse_matching",
    "unfollowed_links",
]

#: Below this many candidate files the read-and-search stage runs in this process.
PARALLEL_MIN_FILES = 8000  # measured crossover on 2 cores (benchmarks/static_scan.py)
_READ_CHUNK = 1 << 16

_SKIP_DIRS = {"__pycache__", ".git", ".hg", ".venv", "venv", "node_modules", ".tox",
              "build", "dist", ".mypy_cache", ".pytest_cache", "site-packages"}
_TEST_DIRS = {"tests", "test", "testing"}


@dataclass(frozen=True)
class ParsedModule:
    """One parsed file: its path relative to the root, dotted module name, source and tree."""

    relpath: str
    module: str
    source: str
    tree: ast.Module

    def line(self, lineno: int) -> str:
        lines = self.lines
        return lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""

    def mentions(self, name: str) -> bool:
        """Whether the module's text mentions ``name`` at all."""
        return name in self.source

    @functools.cached_property
    def lines(self) -> list[str]:
        return self.source.splitlines()

    @functools.cached_property
    def parents(self) -> dict[ast.AST, ast.AST]:
        """Each node's parent (computed on first use)."""
        out: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                out[child] = node
        return out

    @functools.cached_property
    def index(self) -> dict[type, list[ast.AST]]:
        """Import, import-from and call nodes, from one walk of the tree (shared by every
        analysis of this module)."""
        out: dict[type, list[ast.AST]] = {ast.Import: [], ast.ImportFrom: [], ast.Call: []}
        for node in ast.walk(self.tree):
            bucket = out.get(type(node))
            if bucket is not None:
                bucket.append(node)
        return out


@dataclass(frozen=True)
class SourceProblem:
    """A file that could not be read or parsed (reported as evidence, then skipped)."""

    relpath: str
    line: int | None
    message: str


def is_test_path(relpath: str) -> bool:
    parts = relpath.split("/")
    name = parts[-1]
    return (
        any(p in _TEST_DIRS for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def module_name_for(relpath: str) -> str:
    """``pkg/sub/mod.py`` -> ``pkg.sub.mod``; ``pkg/__init__.py`` -> ``pkg``."""
    parts = relpath[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def iter_python_files(root: Path, exclude: Iterable[str] = (), *,
                      include_tests: bool = False) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, relpath)`` for production Python files under ``root``, sorted."""
    for path, relpath in _walk(root, exclude, include_tests):
        yield Path(path), relpath


def exclusion(patterns: Iterable[str]) -> Callable[[str], bool] | None:
    """``exclude:`` patterns with gitignore semantics (pathspec): ``legacy/*.py`` is one
    folder level, ``legacy/`` or ``legacy/**`` a whole tree, ``tests/`` or ``**/tests/**``
    at any depth, the top level included; ``!keep.py`` re-includes. None when empty."""
    patterns = list(patterns)
    if not patterns:
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns).match_file


def _walk(root: Path, exclude: Iterable[str], include_tests: bool) -> Iterator[tuple[str, str]]:
    """``(path, relpath)`` as strings, depth first in name order (see the module doc)."""
    excluded = exclusion(exclude)
    root_real = os.path.realpath(root)
    stack = [(root_real, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            if name.endswith(".py") and _regular_inside(entry, root_real):
                relpath = rel + name
                if not include_tests and (name.startswith("test_") or name.endswith("_test.py")
                                          or name == "conftest.py"):
                    continue
                if excluded is None or not excluded(relpath):
                    yield entry.path, relpath
            elif name not in _SKIP_DIRS and not name.startswith(".") and \
                    (include_tests or name not in _TEST_DIRS) and \
                    entry.is_dir(follow_symlinks=False):
                subdirs.append((entry.path, f"{rel}{name}/"))
        stack.extend(reversed(subdirs))


def _regular_inside(entry: os.DirEntry[str], root_real: str) -> bool:
    """A regular file; a symbolic link only when it resolves to one inside the root (a link
    loop, a dangling link, a link out of the root or to a device is skipped, never read)."""
    try:
        if not entry.is_symlink():
            return entry.is_file(follow_symlinks=False)
    except OSError:
        return False
    return _link_inside(entry.path, root_real)


def _link_inside(path: str, root_real: str) -> bool:
    try:
        real = os.path.realpath(path, strict=True)
        return os.path.commonpath([real, root_real]) == root_real and os.path.isfile(real)
    except (OSError, ValueError):  # ELOOP, ENOENT; paths on different drives
        return False


def unfollowed_links(root: Path) -> list[str]:
    """The ``.py`` symbolic links under ``root`` that the scan skips (a loop, a dangling
    link, a link out of the root or to something not a regular file), relative, sorted:
    for a note, since a skipped file is never judged."""
    root_real = os.path.realpath(root)
    out: list[str] = []
    for folder, dirs, files in os.walk(root_real):  # never follows linked folders
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")]
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and os.path.islink(path) and \
                    not _link_inside(path, root_real):
                out.append(os.path.relpath(path, root_real).replace(os.sep, "/"))
    return sorted(out)


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, _READ_CHUNK)
        if len(data) == _READ_CHUNK:
            parts = [data]
            while chunk := os.read(fd, 1 << 20):
                parts.append(chunk)
            data = b"".join(parts)
        return data
    finally:
        os.close(fd)


def _search(batch: list[tuple[str, str]], wanted: tuple[bytes, ...]
            ) -> list[tuple[str, bytes | str]]:
    """The files of ``batch`` whose bytes mention a needle: ``(relpath, bytes)``, or
    ``(relpath, why)`` when a file cannot be read."""
    out: list[tuple[str, bytes | str]] = []
    for path, relpath in batch:
        try:
            data = _read(path)
        except OSError as exc:
            out.append((relpath, f"cannot read: {exc.strerror or exc}"))
            continue
        if not wanted or any(n in data for n in wanted):
            out.append((relpath, data))
    return out


def _parallel_workers(requested: int | None, files: int) -> int:
    """How many processes the search uses (1: in this process)."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if requested is None:
        cpus = os.cpu_count() or 1
        return min(cpus, 8) if cpus > 1 and files >= PARALLEL_MIN_FILES else 1
    return max(1, requested)


def _matching(files: list[tuple[str, str]], wanted: tuple[bytes, ...], workers: int
              ) -> Iterator[tuple[str, bytes | str]]:
    if workers <= 1:
        for item in files:
            yield from _search([item], wanted)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = max(64, len(files) // (workers * 4))
    batches = [files[i:i + size] for i in range(0, len(files), size)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for found in pool.map(_search, batches, [wanted] * len(batches)):
            yield from found


def parse_matching(
    root: Path,
    needles: Iterable[str],
    exclude: Iterable[str] = (),
    *,
    include_tests: bool = False,
    workers: int | None = None,
) -> Iterator[ParsedModule | SourceProblem]:
    """Parse the production files whose bytes mention any of ``needles`` (all if empty).

    ``workers``: processes for the read-and-search stage; ``None`` decides from the tree's
    size (see the module doc), 1 keeps it in this process."""
    wanted = tuple(n.encode() for n in needles if n)
    files = list(_walk(root, exclude, include_tests))
    for relpath, data in _matching(files, wanted, _parallel_workers(workers, len(files))):
        if isinstance(data, str):
            yield SourceProblem(relpath, None, data)
            continue
        yield parse_bytes(relpath, data)


def parse_bytes(relpath: str, data: bytes) -> ParsedModule | SourceProblem:
    """Parse one file's bytes as Python does: a UTF-8 BOM and a ``coding:`` cookie are
    honoured (``ast.parse`` of bytes), so a valid Latin-1 module is read, not skipped."""
    try:
        tree = ast.parse(data, filename=relpath)
    except SyntaxError as exc:  # also bytes that do not decode in the declared encoding
        line = exc.lineno if exc.lineno and exc.lineno > 0 else None
        if str(exc.msg).startswith("(unicode error)"):
            declared = "its coding: cookie" if b"coding" in data[:400] else "UTF-8 (no " \
                "coding: cookie)"
            reason = str(exc.msg).removeprefix("(unicode error)").strip()
            return SourceProblem(relpath, line, f"not UTF-8: does not decode as {declared}: "
                                 f"{reason}")
        return SourceProblem(relpath, line, f"syntax error: {exc.msg}")
    except (ValueError, UnicodeError) as exc:  # null bytes; an unknown encoding
        return SourceProblem(relpath, None, f"cannot parse: {exc}")
    except (RecursionError, MemoryError) as exc:  # 200k `1+1+...` terms, 100k nested ops
        return SourceProblem(relpath, None, f"cannot parse: nested too deeply for Python's "
                             f"parser ({type(exc).__name__}; generated code?)")
    return ParsedModule(relpath, module_name_for(relpath), _decode(data), tree)


def _decode(data: bytes) -> str:
    """The text of source ``data`` in its declared encoding (BOM or cookie; UTF-8 else)."""
    if not data.startswith(b"\xef\xbb\xbf") and b"coding" not in data[:400]:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    return data.decode(encoding, errors="replace")
