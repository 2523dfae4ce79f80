"""Where the scan caches live, and whether they are used (``NETRA_DIAG_NO_CACHE``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "cache_enabled", "load_pickle", "save_pickle"]

#: What an unreadable, truncated or foreign cache file raises when unpickled.
_LOAD_ERRORS = (OSError, EOFError, ValueError, TypeError, AttributeError, ImportError,
                IndexError)


def cache_dir() -> Path:
    """Where scan caches live: ``<user cache dir>/netra-diag/scan``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("netra-diag", appauthor=False)) / "scan"


def cache_enabled() -> bool:
    return os.environ.get("NETRA_DIAG_NO_CACHE", "") in ("", "0")


def load_pickle(path: Path) -> Any | None:
    """The value pickled at ``path``, or None when it cannot be read (a cache is only a
    cache: any problem means "not cached")."""
    import pickle

    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (*_LOAD_ERRORS, pickle.UnpicklingError):
        return None


def save_pickle(path: Path, value: Any, *, prune: str, keep: int = 32) -> bool:
    """Write ``value`` to ``path`` atomically, then delete all but the ``keep`` most recent
    files matching ``prune`` beside it (one cache per tree: keep the recent ones). False
    when it could not be written (ignored by callers: the next run rebuilds it)."""
    import pickle
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        olds = sorted(path.parent.glob(prune), key=lambda p: p.stat().st_mtime)
        for old in olds[:-keep]:
            old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, RecursionError):
        return False
    return True
