"""Choose and prepare the target a run diagnoses.

A target is a profile whose ``root`` points at the source tree to diagnose: a user's
profile (given on the command line, or ``netra-diag.yaml`` in the working directory), or
the embedded reference pipeline. The reference is always diagnosed from a private copy, so
faults (source mutations) apply to the copy and the installed package is never touched.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .profile import PROFILE_FILENAME, Profile, load_profile, reference_profile_path

__all__ = ["Target", "open_target"]


@dataclass
class Target:
    """A prepared target; ``close()`` removes the private copy, if any."""

    profile: Profile
    builtin: bool
    faults: tuple[str, ...] = ()
    scenario: str | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def describe(self) -> dict[str, Any]:
        """The ``target`` object of the run JSON."""
        return {
            "name": self.profile.name,
            "root": "<embedded reference>" if self.builtin else str(self.profile.root),
            "profile": "<built-in>" if self.builtin else self.profile.source,
            "builtin": self.builtin,
            "scenario": self.scenario,
            "faults": list(self.faults),
        }

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def find_profile(arg: Path | None, cwd: Path) -> Path | None:
    """The profile file a run uses: the argument, else ``./netra-diag.yaml``, else None."""
    if arg is not None:
        path = arg / PROFILE_FILENAME if arg.is_dir() else arg
        if not path.exists():
            raise ConfigError(f"{path}: profile not found")
        return path
    local = cwd / PROFILE_FILENAME
    return local if local.exists() else None


def open_target(
    profile_arg: Path | None,
    *,
    inject: tuple[str, ...] = (),
    scenario: str | None = None,
    cwd: Path | None = None,
) -> Target:
    """Load the profile and, for the reference, copy it and apply the requested faults."""
    path = find_profile(profile_arg, cwd or Path.cwd())
    if path is not None:
        if inject or scenario:
            raise ConfigError("--inject and --scenario apply only to the embedded reference "
                              f"target, not to the profile {path}")
        return Target(profile=load_profile(path), builtin=False)
    from . import faults as faults_mod  # deferred: only the reference needs the fault table

    names = faults_mod.resolve_faults(scenario, inject)
    base = load_profile(reference_profile_path())
    tmp = tempfile.TemporaryDirectory(prefix="netra-diag-reference-")
    try:
        copy = Path(tmp.name) / "src"
        shutil.copytree(faults_mod.reference_source(), copy,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        faults_mod.apply_faults(copy, names)
    except BaseException:
        tmp.cleanup()
        raise
    return Target(profile=base.with_root(copy), builtin=True, faults=names,
                  scenario=scenario or ("healthy" if not names else None), _tmp=tmp)
