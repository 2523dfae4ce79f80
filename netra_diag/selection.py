"""Which checks a run selects, and whether their declarations hold together.

Pure functions over specs (anything with ``id``, ``tags`` and ``depends_on``); the registry
exposes them as ``Registry.select`` and ``Registry.check_dependencies``. A name the user
gave that matches nothing is a ``ConfigError`` (exit 4) with the closest known names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import ConfigError

__all__ = ["check_dependencies", "select", "split_list", "suggest"]


def split_list(values: Iterable[str]) -> list[str]:
    """Repeated options and comma lists, flattened: ``["a,b", "c"]`` -> ``["a", "b", "c"]``."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def suggest(unknown: str, known: list[str]) -> str:
    """``; did you mean ...?`` with the closest of ``known``, else the whole list."""
    close = difflib.get_close_matches(unknown, known, n=3, cutoff=0.4)
    return f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"


def select(specs: Sequence[Any], only: Iterable[str] = (), skip: Iterable[str] = (),
           tags: Iterable[str] = ()) -> list[Any]:
    """The specs ``--only``/``--skip`` select, in the given order. Each item is a check id or
    a tag (every check carrying it); a name that is neither is a ``ConfigError`` (exit 4)
    naming the closest ids and tags. With ``tags``, only checks carrying one of them remain
    (``probe``: ``wire``)."""
    ids = [s.id for s in specs]
    known_tags = sorted({t for s in specs for t in s.tags})

    def expand(names: list[str], option: str) -> set[str]:
        chosen: set[str] = set()
        for name in names:
            if name in ids:
                chosen.add(name)
            elif name in known_tags:
                chosen.update(s.id for s in specs if name in s.tags)
            else:
                raise ConfigError(f"unknown check id {name!r} in {option} (no check has that "
                                  f"tag either){suggest(name, [*ids, *known_tags])}")
        return chosen

    wanted, unwanted = split_list(only), split_list(skip)
    keep = expand(wanted, "--only") if wanted else set(ids)
    drop = expand(unwanted, "--skip")
    chosen = [s for s in specs if s.id in keep and s.id not in drop]
    required = set(tags)
    return [s for s in chosen if set(s.tags) & required] if required else chosen


def check_dependencies(specs: Sequence[Any], failed_to_load: Sequence[str] = ()) -> None:
    """``ConfigError`` when a check's ``depends_on`` names no loaded check: the check, the
    unknown id and the closest ids (``failed_to_load``: labels of modules that did not load,
    where the id may live)."""
    ids = [s.id for s in specs]
    for spec in specs:
        for dep in spec.depends_on:
            if dep in ids:
                continue
            source = f" ({spec.origin.label})" if getattr(spec, "origin", None) else ""
            unloaded = (f"; these did not load and may define it: {', '.join(failed_to_load)}"
                        if failed_to_load else "")
            raise ConfigError(f"check {spec.id!r}{source} depends on {dep!r}, which no loaded "
                              f"check has as id{suggest(dep, [i for i in ids if i != spec.id])}"
                              f"{unloaded}; fix its depends_on")
