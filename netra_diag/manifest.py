"""The built-in checks' metadata without importing them: a cache keyed by their source files.

``list``, ``explain``, selection, ordering and the diagnosis need each check's metadata (id,
why, title, order, depends_on, tags, explanation, checklist criterion, phrases: everything
``@check`` declares), not its code; importing the nine check modules (and what
they import: asyncio, ast helpers...) costs the parent 100 ms or more. So the first run
imports them once, as ``Registry.load_builtin`` always did, and writes their specs to a
manifest in the user's cache folder (``$XDG_CACHE_HOME/netra-diag``, else
``~/.cache/netra-diag``); later runs read it. The manifest's name is a digest of the tool's
version and the path, size and modification time of every file of the checks package, so
an edited, added or removed check file (an editable install) is never served stale.
``NETRA_DIAG_NO_CACHE=1`` bypasses it. A cache that cannot be read or written is ignored.

The specs it yields carry no function (``func`` raises): the worker imports the check
itself, in the check's own process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ._version import __version__
from .registry import BUILTIN_PACKAGE, CheckSpec, Origin, Registry

__all__ = ["load_builtin_cached", "spec_from_dict", "spec_to_dict", "static_modules"]

#: Bumped when the manifest rows change shape (a cached file of another shape is rebuilt).
_FORMAT = 3


def spec_to_dict(spec: CheckSpec) -> dict[str, Any]:
    """A spec's metadata as JSON (what a parent needs, never the function)."""
    return {**spec.describe(), **spec.meta(), "static_skip": spec.static_skip,
            "origin": spec.origin.to_dict() if spec.origin else None}


def spec_from_dict(raw: dict[str, Any]) -> CheckSpec:
    """A spec for the parent: metadata only (the worker imports the function itself)."""
    return CheckSpec(id=raw["id"], why=raw["why"], title=raw["title"], func=_not_loaded,
                     depends_on=tuple(raw["depends_on"]), tags=tuple(raw["tags"]),
                     explain=raw["explain"], fix=raw["fix"], static=raw["static"],
                     origin=Origin.from_dict(raw["origin"]) if raw["origin"] else None,
                     order=raw["order"], criterion=tuple(raw["criterion"]),
                     symptom=tuple((k, tuple(v)) for k, v in raw["symptom"].items()),
                     headline=tuple(raw["headline"]), critical=raw["critical"],
                     caveat=raw["caveat"], static_skip=raw.get("static_skip"))


def _not_loaded(ctx: Any) -> None:  # pragma: no cover - never called in the parent
    raise RuntimeError("a check runs in its own process, not in the parent")


def load_builtin_cached(registry: Registry) -> None:
    """Add the built-in specs from the manifest, building it when missing or stale."""
    path = _manifest_path()
    if path is not None:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            specs = [spec_from_dict(raw) for raw in rows]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        else:
            for spec in specs:
                registry.add(spec)
            return
    fresh = Registry(import_timeout_s=registry.import_timeout_s)
    fresh.load_builtin()
    for spec in fresh.specs:
        registry.add(spec)
    registry.failures.extend(fresh.failures)
    if path is not None and not fresh.failures:
        _write(path, [spec_to_dict(s) for s in fresh.specs])


def static_modules() -> set[str] | None:
    """The built-in check modules holding a check that runs under ``--static`` (one without
    ``static_skip``), from the manifest; None when there is no usable manifest."""
    path = _manifest_path()
    if path is None:
        return None
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {raw["origin"]["ref"] for raw in rows
                if raw.get("static_skip") is None and raw["origin"]["kind"] == "module"}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def modules_for(names: set[str]) -> list[str] | None:
    """The built-in check modules holding a check whose id or a tag is in ``names``, from
    the manifest; None when there is no usable manifest or a name is neither (a plugin's:
    then every module is wanted)."""
    path = _manifest_path()
    if path is None:
        return None
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        known = {raw["id"] for raw in rows} | {t for raw in rows for t in raw.get("tags", ())}
        if not names <= known:
            return None
        return sorted({raw["origin"]["ref"] for raw in rows
                       if raw["origin"]["kind"] == "module"
                       and (raw["id"] in names or names & set(raw.get("tags", ())))})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _package_dir() -> Path | None:
    from importlib.util import find_spec

    try:
        found = find_spec(BUILTIN_PACKAGE)
    except (ImportError, ValueError):
        return None
    locations = list(found.submodule_search_locations or []) if found else []
    return Path(locations[0]) if locations else None


def _manifest_path() -> Path | None:
    if os.environ.get("NETRA_DIAG_NO_CACHE"):
        return None
    package = _package_dir()
    if package is None:
        return None
    digest = hashlib.sha256(f"{__version__}\0{_FORMAT}".encode())
    try:
        for entry in sorted(os.scandir(package), key=lambda e: e.name):
            if entry.name.endswith(".py"):
                st = entry.stat()
                digest.update(f"\0{entry.path}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    except OSError:
        return None
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except RuntimeError:  # no home folder: no cache
        return None
    return Path(base) / "netra-diag" / f"checks-{digest.hexdigest()[:24]}.json"


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rows), encoding="utf-8")
        os.replace(tmp, path)
