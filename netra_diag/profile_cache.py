"""Parsed profile documents, cached: a re-run reads its profile without importing YAML.

Reading a profile costs the parent PyYAML's import (10-15 ms: it compiles its regular
expressions) and a parse. What the parse yields for a given text (the data, and the line of
each key) is kept under the user's cache folder (``<cache>/netra-diag/profiles``), named by
a digest of the text itself, of the code that reads it (``profile.py``,
``profile_validate.py``, ``limits.py``) and of the installed PyYAML (its path, size and
modification time): any other text, reader or PyYAML is another name. Only documents
that parsed are kept, so a malformed profile is parsed, and reported, every time;
validation (the keys, the files and folders they name) runs on every run all the same.
``NETRA_DIAG_NO_CACHE=1`` (``--no-cache``) neither reads nor writes it; a cache that
cannot be read or written is ignored.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .support.cache import load_pickle, save_pickle

__all__ = ["load", "save"]

_KEEP = 32
_READERS = ("profile.py", "profile_validate.py", "limits.py")


def _name(text: str) -> Path | None:
    """The cache file for ``text``; None when the cache is off or PyYAML is not found."""
    if os.environ.get("NETRA_DIAG_NO_CACHE", "") not in ("", "0"):
        return None
    from importlib.util import find_spec

    try:
        spec = find_spec("yaml")
        st = os.stat(spec.origin) if spec is not None and spec.origin else None
        here = Path(__file__).parent
        readers = b"".join((here / name).read_bytes() for name in _READERS)
    except (OSError, ImportError, ValueError):
        return None
    if st is None:
        return None
    digest = hashlib.sha256(readers)
    digest.update(f"\0{spec.origin}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())  # type: ignore[union-attr]
    digest.update(text.encode("utf-8", "surrogatepass"))
    import platformdirs  # the scan caches' folder (``support.scan.cache_dir``), beside them

    base = Path(platformdirs.user_cache_dir("netra-diag", appauthor=False))
    return base / "profiles" / f"{digest.hexdigest()[:32]}.pickle"


def load(text: str) -> tuple[Any, dict[str, int]] | None:
    """The data and key lines a parse of ``text`` gave, or None (not cached)."""
    path = _name(text)
    if path is None:
        return None
    loaded = load_pickle(path)
    if not isinstance(loaded, tuple) or len(loaded) != 2:
        return None
    data, lines = loaded
    return (data, lines) if isinstance(lines, dict) else None


def save(text: str, data: Any, lines: dict[str, int]) -> None:
    """Keep what a successful parse of ``text`` gave (failures are ignored)."""
    path = _name(text)
    if path is None:
        return
    save_pickle(path, (data, lines), prune="*.pickle", keep=_KEEP)
