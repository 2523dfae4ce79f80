"""Walk a target's production source and parse only the files that can matter.

Scanning rules: files under the root ending in ``.py``, minus the profile's ``exclude``
globs and test code (``tests/`` and ``test/`` folders, ``test_*.py``, ``*_test.py``,
``conftest.py``); a cheap byte search picks the files that mention any wanted symbol, and
only those are parsed with ``ast``, one at a time (never all trees in memory). A file that
cannot be decoded or parsed becomes a ``SourceProblem``, never an exception.
"""

from __future__ import annotations

import ast
import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ParsedModule",
    "SourceProblem",
    "is_test_path",
    "iter_python_files",
    "module_name_for",
    "parse_matching",
]

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
        lines = self.source.splitlines()
        return lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""


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
    patterns = tuple(exclude)
    root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            relpath = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
            if not include_tests and is_test_path(relpath):
                continue
            if any(fnmatch.fnmatch(relpath, p) for p in patterns):
                continue
            yield Path(dirpath) / name, relpath


def parse_matching(
    root: Path,
    needles: Iterable[str],
    exclude: Iterable[str] = (),
    *,
    include_tests: bool = False,
) -> Iterator[ParsedModule | SourceProblem]:
    """Parse the production files whose bytes mention any of ``needles`` (all if empty)."""
    wanted = [n.encode() for n in needles if n]
    for path, relpath in iter_python_files(root, exclude, include_tests=include_tests):
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield SourceProblem(relpath, None, f"cannot read: {exc.strerror or exc}")
            continue
        if wanted and not any(n in data for n in wanted):
            continue
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield SourceProblem(relpath, None, f"not UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        try:
            tree = ast.parse(source, filename=relpath)
        except SyntaxError as exc:
            yield SourceProblem(relpath, exc.lineno, f"syntax error: {exc.msg}")
            continue
        except ValueError as exc:  # e.g. null bytes
            yield SourceProblem(relpath, None, f"cannot parse: {exc}")
            continue
        yield ParsedModule(relpath, module_name_for(relpath), source, tree)
