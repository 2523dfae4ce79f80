"""Choose and prepare the target a run diagnoses.

A target is a profile whose ``root`` points at the source tree to diagnose: a user's profile
(given on the command line, or the nearest ``netra-diag.yaml`` or ``[tool.netra-diag]`` from
the working directory up to the repository root: see ``netra_diag.locate``), or the embedded
reference pipeline. The reference is always diagnosed from a private copy, so faults (source
mutations) apply to the copy and the installed package is never touched.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .locate import locate_profile
from .profile import Profile, load_profile, reference_profile_path

__all__ = ["Target", "open_target"]


@dataclass
class Target:
    """A prepared target; ``close()`` removes the private copy, if any."""

    profile: Profile
    builtin: bool
    faults: tuple[str, ...] = ()
    scenario: str | None = None
    #: Which target this is and why (the profile file and how it was found, or why the
    #: embedded reference): the first line a run prints.
    origin: str = ""
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def describe(self) -> dict[str, Any]:
        """The ``target`` object of the run JSON.

        ``source_prefix`` is the target root relative to the root of the git work tree that
        holds it (POSIX form), so that SARIF and GitHub annotations can name files relative
        to the repository while evidence ``file`` values stay relative to the target root;
        ``""`` when the root is the repository root or lies in no repository (the embedded
        reference's private copy).
        """
        return {
            "name": self.profile.name,
            "root": "<embedded reference>" if self.builtin else str(self.profile.root),
            "source_prefix": "" if self.builtin else source_prefix(self.profile.root),
            "profile": "<built-in>" if self.builtin else self.profile.source,
            "builtin": self.builtin,
            "scenario": self.scenario,
            "faults": list(self.faults),
            "origin": self.origin,
        }

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def source_prefix(root: Path) -> str:
    """``root`` relative to the enclosing git work tree (the nearest folder, ``root`` itself
    included, holding a ``.git`` folder or file), POSIX form; ``""`` when ``root`` is that
    work tree's root or no folder above it holds ``.git``."""
    root = Path(root).resolve()
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            relative = root.relative_to(folder).as_posix()
            return "" if relative == "." else relative
    return ""


def open_target(
    profile_arg: Path | None,
    *,
    inject: tuple[str, ...] = (),
    scenario: str | None = None,
    cwd: Path | None = None,
) -> Target:
    """Load the profile and, for the reference, copy it and apply the requested faults.

    Faults name the reference, so ``--inject``/``--scenario`` without a profile argument
    diagnose the embedded reference even where ``./netra-diag.yaml`` exists.
    """
    if profile_arg is None and (inject or scenario):
        origin = ("the embedded reference (--scenario/--inject name its faults; a profile "
                  "nearby is not used)")
    else:
        located = locate_profile(profile_arg, cwd or Path.cwd())
        if located.profile is not None:
            if inject or scenario:
                raise ConfigError("--inject and --scenario apply only to the embedded "
                                  f"reference target, not to the profile {profile_arg}")
            return Target(profile=located.profile, builtin=False, origin=located.origin)
        origin = located.origin
    from . import faults as faults_mod  # deferred: only the reference needs the fault table

    names = faults_mod.resolve_faults(scenario, inject)
    base = load_profile(reference_profile_path())
    tmp = tempfile.TemporaryDirectory(prefix="netra-diag-reference-")
    try:
        copy = faults_mod.copy_reference(Path(tmp.name) / "src")
        faults_mod.apply_faults(copy, names)
    except BaseException:
        tmp.cleanup()
        raise
    return Target(profile=base.with_root(copy), builtin=True, faults=names,
                  scenario=_scenario_label(scenario, names), origin=origin, _tmp=tmp)


def _scenario_label(scenario: str | None, faults: tuple[str, ...]) -> str | None:
    """The scenario as the run records it: as given (``healthy`` when nothing was asked,
    the reference as shipped); ``SCENARIO+inject`` when ``--inject`` added faults beyond
    the scenario's; ``None`` for ``--inject`` alone (``faults`` lists what was applied)."""
    from .faults import SCENARIOS

    if scenario is None:
        return None if faults else "healthy"
    extra = [name for name in faults if name not in SCENARIOS.get(scenario, ())]
    return f"{scenario}+inject" if extra else scenario
