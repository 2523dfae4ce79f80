"""Faults: named, reviewed source mutations of the embedded reference pipeline.

A fault is a set of exact text replacements in files of the reference source tree
(``reference/src``, paths relative to it). Rules:

* Every mutation's ``old`` text must occur **exactly once** in its file at the moment it is
  applied, or ``apply_faults`` refuses with a ``FaultError`` naming the fault, the file and
  the count. Nothing is written unless every mutation of every requested fault applies.
* Faults are applied in place to a **copy** the caller made (``copy_reference`` makes one);
  the shipped reference is never modified.
* ``detected_by`` names the check ids that must fail when the fault is on: the check that
  owns the defect (whose property it violates) and ``event-flow`` where events are lost. One
  defect, one owner: the test suite proves that these fail and that no other check does
  (a check blocked by the defect is ``skip``, naming the owner). Checks never read this
  module: they judge the tree they are given.
* The incident faults touch disjoint text, so every combination of them applies together.

Scenarios are named sets of faults: ``healthy`` (none) and ``incident`` (the incident
document's five failures). The faults and scenarios themselves are in ``fault_catalog``.
"""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Sequence
from pathlib import Path

from .errors import ConfigError
from .fault_catalog import FAULTS, SCENARIOS, Fault, Mutation

__all__ = [
    "FAULTS",
    "SCENARIOS",
    "Fault",
    "FaultError",
    "Mutation",
    "apply_faults",
    "copy_reference",
    "reference_source",
    "resolve_faults",
]


class FaultError(ConfigError):
    """An unknown fault or scenario, or a mutation that does not apply exactly once."""


def reference_source() -> Path:
    """The embedded reference pipeline's source root (``netra_diag/reference/src``)."""
    return Path(__file__).parent / "reference" / "src"


def copy_reference(dest: Path) -> Path:
    """Copy the reference source into the new folder ``dest`` (without caches); returns it."""
    shutil.copytree(
        reference_source(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]")
    )
    return dest


def _unknown(kind: str, name: str, known: Sequence[str]) -> FaultError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
    return FaultError(f"unknown {kind} {name!r}; {hint}")


def resolve_faults(scenario: str | None, inject: Sequence[str]) -> tuple[str, ...]:
    """The scenario's faults followed by the injected ones, without duplicates, in order.

    An unknown scenario or fault name is a ``FaultError`` suggesting the closest names.
    """
    names: list[str] = []
    if scenario is not None:
        if scenario not in SCENARIOS:
            raise _unknown("scenario", scenario, list(SCENARIOS))
        names.extend(SCENARIOS[scenario])
    for name in inject:
        if name not in FAULTS:
            raise _unknown("fault", name, list(FAULTS))
        names.append(name)
    return tuple(dict.fromkeys(names))


def apply_faults(root: Path, names: Sequence[str]) -> None:
    """Apply the named faults in place to the reference copy at ``root`` (all or nothing)."""
    root = Path(root)
    texts: dict[Path, str] = {}
    for name in dict.fromkeys(names):
        fault = FAULTS.get(name)
        if fault is None:
            raise _unknown("fault", name, list(FAULTS))
        for mutation in fault.mutations:
            path = root / mutation.path
            if path not in texts:
                try:
                    texts[path] = path.read_text(encoding="utf-8")
                except OSError as exc:
                    raise FaultError(
                        f"fault {name!r}: cannot read {mutation.path} under {root}: {exc}"
                    ) from exc
            count = texts[path].count(mutation.old)
            if count != 1:
                first = mutation.old.strip().splitlines()[0] if mutation.old.strip() else ""
                raise FaultError(
                    f"fault {name!r}: {mutation.path}: the text to replace must occur exactly "
                    f"once but occurs {count} times (starting {first!r}); the reference "
                    "source and the fault disagree"
                )
            texts[path] = texts[path].replace(mutation.old, mutation.new, 1)
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
