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
from .init_hooks import HOOKS_FILENAME, render_hooks
from .init_proposal import Proposal, infer_profile
from .init_render import render_profile
from .profile import PROFILE_FILENAME

__all__ = ["write_profile"]


@dataclass(frozen=True)
class InitResult:
    path: Path
    proposal: Proposal
    hooks: Path | None = None  # the hooks template written (None: one was there already)


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
                  name: str | None = None, cache: bool = True) -> InitResult:
    """Write a proposed profile to ``target`` (a folder, or a ``.yaml`` path), and the
    commented hooks template beside it (``init_hooks``). An existing profile is a
    ``ConfigError`` (exit 4) unless ``force``; an existing hooks file is kept unless
    ``force``. ``cache=False``: the scan neither reads nor writes its per-file cache."""
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
    proposal = infer_profile(source, name=name, cache=cache)
    rel = os.path.relpath(source.resolve(), folder.resolve())
    where = source.resolve().as_posix() if rel.startswith("..") else Path(rel).as_posix()
    text = render_profile(proposal, root=where, hooks=HOOKS_FILENAME)
    from .reporters.atomic import write_atomic

    hooks = folder / HOOKS_FILENAME
    write_atomic(path, text)
    if force or not hooks.exists():
        write_atomic(hooks, render_hooks(proposal))
        return InitResult(path, proposal, hooks)
    return InitResult(path, proposal)
