"""The run's snapshot of the shared scan: one scan in the parent, read by every check.

``shared_scan(profile)`` wraps a run: it scans the target once (``warm``) for the names the
static checks look for (``profile_needles``) and writes a snapshot folder (a small index of
which file mentions which needle, and one pickled ``ModuleSummary`` per matching file),
exported to the check interpreters through ``SNAPSHOT_ENV``. A check's
``summaries.summarize_matching`` is then ``served`` from it: no walk, no read, no parse,
only the summaries it asks for. A needle the snapshot was not made for, another root, or no
snapshot at all: the check scans on its own, as before.

A snapshot is made even under ``--no-cache`` (then in a temporary folder, for one run).
With the cache on, it is kept in the cache folder under a name that digests everything it
was made from: the scan's code (and this module's), the root, the exclusions, the needles
and every walked file's path, size and modification time. A re-run on an unchanged tree
walks and stats the tree (no file read, no cache unpickled), finds the same name and
reuses the folder; any change (a file edited, added, removed or renamed) gives another
name, and the snapshot is made again from the per-file cache, which re-reads only what
changed. The most recent ``KEEP_SNAPSHOTS`` trees' snapshots are kept (one per tree: a new
one replaces the tree's older one); a snapshot removed under a running check only makes
that check scan on its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .snapshot_index import SNAPSHOT_ENV
from .source import SourceProblem
from .summaries import SUMMARY_VERSION, Listed, _scan, cache_enabled, listing

__all__ = ["KEEP_SNAPSHOTS", "SNAPSHOT_ENV", "cached_snapshot", "profile_needles",
           "shared_scan", "warm"]

KEEP_SNAPSHOTS = 32
#: What a kept snapshot was written and is read by: a change to either file (the index's
#: shape, say) names every snapshot anew.
_CODE = hashlib.sha256(b"".join((Path(__file__).parent / name).read_bytes() for name in (
    "snapshot.py", "snapshot_index.py"))).hexdigest()[:16]
_INDEX = "index.pickle"  # the name snapshot_index.served reads
#: A scan that fails so leaves the checks to scan on their own.
_SCAN_ERRORS = (OSError, ValueError, RecursionError, pickle.PicklingError)


def warm(root: Path, needles: Iterable[str], exclude: Iterable[str], folder: Path, *,
         listed: list[Listed] | None = None) -> bool:
    """Scan ``root`` once for ``needles`` (the union of the names the checks look for) and
    write the run's snapshot into ``folder``: a small index (which file mentions which
    needle) and one summary per matching file, so that every check of the run reads only
    the summaries it needs, without walking the tree again. The caller exports
    ``SNAPSHOT_ENV``. The snapshot lives for one run, so it is made even under
    ``--no-cache`` (which only keeps the persistent cache out). ``listed``: the tree's
    ``summaries.listing`` when the caller walked it already. False when there is no
    needle."""
    wanted = tuple(dict.fromkeys(n for n in needles if n))
    if not wanted:
        return False
    root = root.resolve()
    excluded = tuple(exclude)
    order, entries = _scan(root, wanted, excluded, False, None, cache_enabled(), listed)
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
    with open(folder / _INDEX, "wb") as fh:
        pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return True


def cached_snapshot(root: Path, needles: Iterable[str], exclude: Iterable[str]) -> Path | None:
    """The snapshot of ``root`` for ``needles`` in the cache folder (see the module doc):
    reused when nothing it was made from changed, else made (``warm``) and kept. None when
    there is no needle or the cache folder cannot be written."""
    from .scan import cache_dir

    wanted = tuple(dict.fromkeys(n for n in needles if n))
    if not wanted:
        return None
    root = root.resolve()
    excluded = tuple(exclude)
    listed = listing(root, excluded, False)
    tree = hashlib.sha256("\0".join([SUMMARY_VERSION, _CODE, str(root), *excluded, "",
                                     *wanted]).encode()).hexdigest()[:16]
    state = hashlib.sha256("".join(f"\n{relpath}\0{st.st_size}\0{st.st_mtime_ns}"
                                   if not isinstance(st, OSError) else f"\n{relpath}\0!"
                                   for _, relpath, st in listed).encode()).hexdigest()[:24]
    base = cache_dir()
    folder = base / f"run-{tree}-{state}"
    if (folder / _INDEX).is_file():
        with contextlib.suppress(OSError):
            os.utime(folder)  # the most recently used are kept
        return folder
    try:
        base.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".run-", dir=base)
    except OSError:
        return None
    try:
        if not warm(root, wanted, excluded, Path(tmp), listed=listed):
            return None
        try:
            os.rename(tmp, folder)  # complete, or not there at all
        except OSError:  # another run made it meanwhile: theirs is the same
            if not (folder / _INDEX).is_file():
                return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(base, folder, tree)
    return folder


def _prune(base: Path, kept: Path, tree: str) -> None:
    """Drop the older snapshots of the same tree, and keep the ``KEEP_SNAPSHOTS`` most
    recently used of all."""
    def used(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    for old in base.glob(f"run-{tree}-*"):
        if old != kept:
            shutil.rmtree(old, ignore_errors=True)
    for old in sorted(base.glob("run-*"), key=used)[:-KEEP_SNAPSHOTS]:
        shutil.rmtree(old, ignore_errors=True)
    for old in base.glob(".run-*"):  # left by a run that was killed while making one
        if used(old) < time.time() - 3600:
            shutil.rmtree(old, ignore_errors=True)


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
def shared_scan(profile: object, *, enabled: bool = True, keep: bool = True
                ) -> Iterator[bool]:
    """For the duration of a run: scan the profile's root once (``warm``) and export the
    snapshot to the check interpreters (they inherit the environment). Yields whether a
    snapshot is in place; a scan that fails leaves the checks to scan on their own.
    Nothing is done when not ``enabled`` (no selected check reads the source) or when the
    profile names no role nor deprecated entry (nothing to look for: a probe). With the
    cache on and ``keep``, the snapshot is the cache's (``cached_snapshot``); else it
    lives in a temporary folder for this run."""
    root = getattr(profile, "root", None)
    if not enabled or not (getattr(profile, "roles", None) or getattr(profile, "deprecated",
                                                                      None)):
        yield False
        return
    with tempfile.TemporaryDirectory(prefix="netra-diag-scan-") as tmp:
        folder: str | None = None
        if isinstance(root, Path) and root.is_dir():
            needles = profile_needles(profile)
            exclude = getattr(profile, "exclude", ())
            if keep and cache_enabled():
                with contextlib.suppress(*_SCAN_ERRORS):
                    kept = cached_snapshot(root, needles, exclude)
                    folder = str(kept) if kept is not None else None
            if folder is None:
                with contextlib.suppress(*_SCAN_ERRORS):
                    folder = tmp if warm(root, needles, exclude, Path(tmp)) else None
        previous = os.environ.get(SNAPSHOT_ENV)
        if folder is not None:
            os.environ[SNAPSHOT_ENV] = folder
        try:
            yield folder is not None
        finally:
            if previous is None:
                os.environ.pop(SNAPSHOT_ENV, None)
            else:
                os.environ[SNAPSHOT_ENV] = previous
