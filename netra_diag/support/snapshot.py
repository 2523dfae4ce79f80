"""The run's snapshot of the shared scan: one scan in the parent, read by every check.

``shared_scan(profile)`` wraps a run: it scans the target once (``warm``) for the names the
static checks look for (``profile_needles``) and writes a snapshot folder (a small index of
which file mentions which needle, and one pickled ``ModuleSummary`` per matching file),
exported to the check interpreters through ``SNAPSHOT_ENV``. A check's
``summaries.summarize_matching`` is then ``served`` from it: no walk, no read, no parse,
only the summaries it asks for. A needle the snapshot was not made for, another root, or no
snapshot at all: the check scans on its own, as before. The snapshot lives for one run, so
it is made even under ``--no-cache``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .snapshot_index import SNAPSHOT_ENV
from .source import SourceProblem
from .summaries import SUMMARY_VERSION, _scan, cache_enabled

__all__ = ["SNAPSHOT_ENV", "profile_needles", "shared_scan", "warm"]


def warm(root: Path, needles: Iterable[str], exclude: Iterable[str], folder: Path) -> bool:
    """Scan ``root`` once for ``needles`` (the union of the names the checks look for) and
    write the run's snapshot into ``folder``: a small index (which file mentions which
    needle) and one summary per matching file, so that every check of the run reads only
    the summaries it needs, without walking the tree again. The caller exports
    ``SNAPSHOT_ENV``. The snapshot lives for one run, so it is made even under
    ``--no-cache`` (which only keeps the persistent cache out). False when there is no
    needle."""
    wanted = tuple(dict.fromkeys(n for n in needles if n))
    if not wanted:
        return False
    root = root.resolve()
    excluded = tuple(exclude)
    order, entries = _scan(root, wanted, excluded, False, None, cache_enabled())
    mentions: dict[str, list[str]] = {n: [] for n in wanted}
    unreadable: dict[str, SourceProblem] = {}
    for position, relpath in enumerate(order):
        entry = entries[relpath]
        if isinstance(entry.summary, SourceProblem) and \
                entry.summary.message.startswith("cannot read"):
            unreadable[relpath] = entry.summary
            continue
        found = [n for n in wanted if entry.mentions.get(n)]
        for n in found:
            mentions[n].append(relpath)
        if found and entry.summary is not None:
            with open(folder / f"{position}.pickle", "wb") as fh:
                pickle.dump(entry.summary, fh, protocol=pickle.HIGHEST_PROTOCOL)
    index = {"version": SUMMARY_VERSION, "root": str(root), "exclude": list(excluded),
             "needles": set(wanted), "order": order, "mentions": mentions,
             "unreadable": unreadable}
    with open(folder / "index.pickle", "wb") as fh:
        pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return True


def profile_needles(profile: object) -> list[str]:
    """The needles the built-in static scans ask for on a profile's target (``warm`` scans
    them once): import-chain the deprecated entry points; emitter-methods the emitter
    factory and ``send_event`` methods, the event methods and the emitter class;
    registry-wiring the registry class; engine-factory the engine factory and engine and
    the emitter factory; context-identity the definition of the context class. A check
    asking for another needle scans on its own."""
    roles = getattr(profile, "roles", {}) or {}

    def attr(role: str) -> str:
        return str(roles.get(role, "")).partition(":")[2].split(".")[-1]

    method = profile.method  # type: ignore[attr-defined]
    out = [d.attr for d in getattr(profile, "deprecated", ()) or ()]
    out += [method("create_user_emitter"), method("send_event"),
            *(getattr(profile, "event_methods", {}) or {}).values()]
    out += [attr(r) for r in ("emitter", "registry", "engine_factory", "engine")]
    if attr("user_context"):
        out.append(f"class {attr('user_context')}")
    return [n for n in dict.fromkeys(out) if n]


@contextlib.contextmanager
def shared_scan(profile: object, *, enabled: bool = True) -> Iterator[bool]:
    """For the duration of a run: scan the profile's root once (``warm``) and export the
    snapshot to the check interpreters (they inherit the environment). Yields whether a
    snapshot is in place; a scan that fails leaves the checks to scan on their own.
    Nothing is done when not ``enabled`` (no selected check reads the source) or when the
    profile names no role nor deprecated entry (nothing to look for: a probe)."""
    root = getattr(profile, "root", None)
    if not enabled or not (getattr(profile, "roles", None) or getattr(profile, "deprecated",
                                                                      None)):
        yield False
        return
    with tempfile.TemporaryDirectory(prefix="netra-diag-scan-") as tmp:
        ok = False
        if isinstance(root, Path) and root.is_dir():
            try:
                ok = warm(root, profile_needles(profile), getattr(profile, "exclude", ()),
                          Path(tmp))
            except (OSError, ValueError, RecursionError, pickle.PicklingError):
                ok = False
        previous = os.environ.get(SNAPSHOT_ENV)
        if ok:
            os.environ[SNAPSHOT_ENV] = tmp
        try:
            yield ok
        finally:
            if previous is None:
                os.environ.pop(SNAPSHOT_ENV, None)
            else:
                os.environ[SNAPSHOT_ENV] = previous
