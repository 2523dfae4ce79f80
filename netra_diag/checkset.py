"""The checks a command sees: the built-in ones (from the manifest), the plugins (discovered
in a child interpreter) and the ``netra_diag.checks`` entry points, validated as one set."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .discover import load_external
from .manifest import load_builtin_cached
from .registry import Registry

__all__ = ["build_registry"]


def build_registry(checks_dirs: Sequence[Path], profile_dirs: Sequence[Path] = (),
                   import_timeout_s: float = 30.0) -> Registry:
    """A fresh registry with the built-in, entry-point and folder checks; ``ConfigError``
    (exit 4) when a ``depends_on`` names no loaded check."""
    registry = Registry(import_timeout_s=import_timeout_s)
    load_builtin_cached(registry)  # metadata from the manifest: no check module imported
    load_external(registry, [*checks_dirs, *profile_dirs])  # in a child interpreter
    registry.check_dependencies()
    return registry
