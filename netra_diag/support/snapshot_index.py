"""Reading the run's scan snapshot (written by ``snapshot.warm``): which summaries it holds.

Apart from the writer, so that ``summaries`` can ask it without importing the writer.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

__all__ = ["SNAPSHOT_ENV", "served"]

SNAPSHOT_ENV = "NETRA_DIAG_SCAN_SNAPSHOT"


def served(root: Path, exclude: tuple[str, ...], wanted: tuple[str, ...], version: str
           ) -> list[Any] | None:
    """What the run's snapshot (``warm``) holds for ``wanted``; None when it cannot answer
    (no snapshot, another root, a needle it was not built for, summaries of another
    ``version``: ``summaries.SUMMARY_VERSION``)."""
    folder = os.environ.get(SNAPSHOT_ENV)
    if not folder:
        return None
    try:
        with open(os.path.join(folder, "index.pickle"), "rb") as fh:
            index = pickle.load(fh)
        if index["version"] != version or index["root"] != str(root) or \
                tuple(index["exclude"]) != exclude or not set(wanted) <= index["needles"]:
            return None
        hits = set().union(*(index["mentions"].get(n, ()) for n in wanted))
        out: list[Any] = []  # ModuleSummary | SourceProblem
        for position, relpath in enumerate(index["order"]):
            if relpath in index["unreadable"]:
                out.append(index["unreadable"][relpath])
            elif relpath in hits:
                with open(os.path.join(folder, f"{position}.pickle"), "rb") as fh:
                    out.append(pickle.load(fh))
        return out
    except (OSError, EOFError, KeyError, TypeError, ValueError, AttributeError, ImportError,
            pickle.UnpicklingError):
        return None
