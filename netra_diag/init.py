"""``netra-diag init``: propose a profile for a source tree, from ``ast`` alone, and write it.

Owns the command's entry: which tree to survey and where the profile goes, refusing to
overwrite by accident. Nothing in the tree is imported; the roles are recognised by
``init_roles``, the rest of the proposal by ``init_proposal``, and the YAML is rendered by
``init_render``. This module never writes unless asked (``write_profile``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .init_proposal import Proposal, infer_profile
from .init_render import render_profile
from .profile import PROFILE_FILENAME

__all__ = ["write_profile"]


@dataclass(frozen=True)
class InitResult:
    path: Path
    proposal: Proposal


def source_root_for(folder: Path, root: Path | None) -> Path:
    """The tree to survey: ``root`` when given, else ``folder/src`` when it holds a package,
    else ``folder``."""
    if root is not None:
        if not root.is_dir():
            raise ConfigError(f"--root {root}: not a folder")
        return root
    src = folder / "src"
    if src.is_dir() and any((p / "__init__.py").is_file() for p in src.iterdir()):
        return src
    return folder


def write_profile(target: Path, *, root: Path | None = None, force: bool = False,
                  name: str | None = None) -> InitResult:
    """Write a proposed profile to ``target`` (a folder, or a ``.yaml`` path). An existing
    file is a ``ConfigError`` (exit 4) unless ``force``."""
    is_yaml = target.suffix in (".yaml", ".yml")
    if not is_yaml and target.exists() and not target.is_dir():
        raise ConfigError(f"{target} is a file: init takes a folder to write "
                          f"{PROFILE_FILENAME} into (or the path of a .yaml file to write)")
    path = target if is_yaml else target / PROFILE_FILENAME
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder (init writes into an existing folder)")
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; pass --force to overwrite it")
    source = source_root_for(folder, root)
    proposal = infer_profile(source, name=name)
    rel = os.path.relpath(source.resolve(), folder.resolve())
    where = source.resolve().as_posix() if rel.startswith("..") else Path(rel).as_posix()
    text = render_profile(proposal, root=where)
    from .reporters.atomic import write_atomic

    write_atomic(path, text)
    return InitResult(path, proposal)
