"""Where the scan caches live, and whether they are used (``NETRA_DIAG_NO_CACHE``)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "cache_enabled"]


def cache_dir() -> Path:
    """Where scan caches live: ``<user cache dir>/netra-diag/scan``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("netra-diag", appauthor=False)) / "scan"


def cache_enabled() -> bool:
    return os.environ.get("NETRA_DIAG_NO_CACHE", "") in ("", "0")
