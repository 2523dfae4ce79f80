"""Which profile a run uses, and why: the argument, else the nearest one walking up.

From the working folder up to the repository root (the nearest folder holding ``.git``; the
working folder alone when there is none), each folder is asked, in this order, for
``netra-diag.yaml`` and for a ``[tool.netra-diag]`` table in ``pyproject.toml``: the table
either names a profile file (``profile = "ci/netra-diag.yaml"``, relative to the
``pyproject.toml``) or holds the profile itself (the same keys as the YAML). The nearest
folder wins. The answer carries a one-line ``origin`` that the run prints first, so the user
always knows which target is diagnosed and why. This module reads files only; it knows
nothing of checks or the reference's faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .profile import PROFILE_FILENAME, Profile, load_profile, parse_profile

__all__ = ["Located", "locate_profile", "search_folders"]

PYPROJECT = "pyproject.toml"
TOOL_TABLE = "netra-diag"


@dataclass(frozen=True)
class Located:
    """A profile found for a run (``profile`` None: none, the embedded reference)."""

    profile: Profile | None
    origin: str


def search_folders(cwd: Path) -> list[Path]:
    """``cwd`` and its parents up to the repository root (``cwd`` alone outside one)."""
    cwd = cwd.resolve()
    chain = [cwd, *cwd.parents]
    for index, folder in enumerate(chain):
        if (folder / ".git").exists():
            return chain[:index + 1]
    return [cwd]


def locate_profile(arg: Path | None, cwd: Path) -> Located:
    """The profile a run uses: ``arg`` (a file, or a folder holding ``netra-diag.yaml``),
    else the nearest one from ``cwd`` up to the repository root. ``ConfigError`` (exit 4)
    for a missing argument or a malformed ``pyproject.toml`` table."""
    if arg is not None:
        path = arg / PROFILE_FILENAME if arg.is_dir() else arg
        if not path.exists():
            raise ConfigError(f"{path}: profile not found")
        return Located(load_profile(path), f"profile {path} (given on the command line)")
    folders = search_folders(cwd)
    for folder in folders:
        found = _in_folder(folder, cwd)
        if found is not None:
            return found
    where = (f"from {cwd} up to {folders[-1]}" if len(folders) > 1 else f"in {cwd}")
    return Located(None, f"no profile found ({PROFILE_FILENAME} or [tool.{TOOL_TABLE}] in "
                         f"{PYPROJECT}, {where}): the embedded reference")


def _in_folder(folder: Path, cwd: Path) -> Located | None:
    how = "" if folder == cwd.resolve() else f", found walking up from {cwd}"
    yaml_path = folder / PROFILE_FILENAME
    if yaml_path.is_file():
        return Located(load_profile(yaml_path), f"profile {yaml_path}{how}")
    pyproject = folder / PYPROJECT
    if not pyproject.is_file():
        return None
    table = _tool_table(pyproject)
    if table is None:
        return None
    label = f"{pyproject} [tool.{TOOL_TABLE}]"
    if "profile" in table:
        if set(table) != {"profile"} or not isinstance(table["profile"], str):
            raise ConfigError(f"{label}: 'profile' names a profile file (a string), and then "
                              "no other key may be set (or give the profile's keys inline)")
        path = (folder / table["profile"]).resolve()
        if not path.is_file():
            raise ConfigError(f"{label}: profile = {table['profile']!r}: no such file "
                              f"({path})")
        return Located(load_profile(path), f"profile {path} (named by {label}{how})")
    return Located(_inline(table, pyproject, label), f"profile {label}{how}")


def _tool_table(pyproject: Path) -> dict[str, Any] | None:
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: not readable TOML: {exc}") from None
    table = data.get("tool", {}).get(TOOL_TABLE) if isinstance(data.get("tool"), dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.{TOOL_TABLE}] must be a table")
    return table


def _inline(table: dict[str, Any], pyproject: Path, label: str) -> Profile:
    """The inline profile, validated by the profile's own validator (its messages name the
    key and expected form; lines refer to YAML the table was turned into, so they go)."""
    import re

    import yaml

    text = yaml.safe_dump(table, sort_keys=False)
    try:
        return parse_profile(text, pyproject)
    except ConfigError as exc:
        message = re.sub(rf"^{re.escape(str(pyproject))}(:\d+)?", label, str(exc))
        raise ConfigError(message) from None
