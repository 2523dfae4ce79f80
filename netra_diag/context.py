"""The context a check receives: the target's profile and ways to reach its code.

A check runs in its own fresh interpreter with the target's source root first on
``sys.path``. It reads everything about the target from ``ctx.profile`` (role names, build
arguments, deprecated entry points, events, budgets): never a hard-coded path of the
reference pipeline, never the list of injected faults (the context does not carry it).

Contract for check authors:

* ``ctx.resolve(role)`` imports a role's object. A role the profile does not name, a module
  that is not there or a dependency that is not installed raises ``SetupError`` (an
  ``error`` result saying how to fix the set-up); an exception raised by the target's own
  module while importing raises ``TargetFailure`` with its traceback (a ``fail``).
* ``ctx.build_value(spec)`` turns a ``build:`` entry into a value (literal, ``import`` or
  ``factory``).
* ``ctx.relpath(path)`` renders a path relative to the target root for evidence.
* ``ctx.budgets`` (``netra_diag.budgets.Budgets``) says how long a run, the wire or a fleet's
  start may take, and how many users or runs to use: never clamp the profile's numbers.
* ``ctx.endpoint`` is the live endpoint under ``probe`` (``LiveEndpoint``: the URL, the
  instances of a fleet, the token variables), else None: the check starts the target's
  ``server`` role itself.
* Return a ``Verdict`` (``passed``/``failed``/``errored``/``skipped``) or ``None`` (a pass).
"""

from __future__ import annotations

import importlib
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .budgets import Budgets
from .errors import NotApplicable, SetupError
from .finding import COROUTINE_FROM, CRASH
from .model import Evidence
from .profile import ROLES, Profile

__all__ = ["CheckContext", "LiveEndpoint", "import_string", "target_traceback"]


@dataclass(frozen=True)
class LiveEndpoint:
    """The live endpoint a ``probe`` diagnoses. ``token_envs`` maps each user's label to the
    name of the environment variable holding its token (tokens never travel in a job);
    ``fleet`` lists every instance's URL when two or more were probed (``url`` is the first)."""

    url: str
    token_envs: dict[str, str] = field(default_factory=dict)
    fleet: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "token_envs": dict(self.token_envs), "fleet": list(self.fleet)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> LiveEndpoint | None:
        if not raw:
            return None
        return cls(str(raw["url"]), dict(raw.get("token_envs") or {}),
                   tuple(raw.get("fleet") or ()))


@dataclass
class CheckContext:
    """Everything a check may know about its run (see the module docstring)."""

    profile: Profile
    check_id: str
    timeout_s: float = 60.0
    static: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    #: The live endpoint under ``probe``; None under ``run`` (see the module docstring).
    endpoint: LiveEndpoint | None = None

    @property
    def root(self) -> Path:
        return self.profile.root

    @property
    def budgets(self) -> Budgets:
        """The profile's budgets and ``--timeout``, bounded (``netra_diag.budgets``)."""
        return Budgets.of(self.profile.budgets, self.timeout_s, live=self.endpoint is not None)

    @property
    def hooks(self) -> Any:
        """The user's hooks (``netra_diag.hooks.Hooks``; empty when the profile names none)."""
        from .hooks import load_hooks

        return load_hooks(self.profile.hooks)

    def has_role(self, role: str) -> bool:
        return role in self.profile.roles

    def role(self, role: str) -> str:
        """The ``module:attr`` string for ``role``; ``SetupError`` when the profile lacks it."""
        try:
            return self.profile.roles[role]
        except KeyError:
            what = ROLES.get(role, role)
            if role in self.profile.absent_roles:
                raise self.not_applicable(role) from None
            raise SetupError(
                f"the profile does not name the '{role}' role ({what})",
                fix=f"add 'roles: {{{role}: package.module:attr}}' to {self.profile.source}",
            ) from None

    def not_applicable(self, role: str) -> NotApplicable:
        """The ``skip`` of a check that needs ``role``, which the profile declares absent
        (``roles: {<role>: none}``)."""
        return NotApplicable(f"not applicable: the profile declares no '{role}' "
                             f"(roles.{role}: none): this backend has no "
                             f"{ROLES.get(role, role)}")

    def resolve(self, role: str) -> Any:
        """Import the object a role names (see the module docstring for the error rules)."""
        return import_string(self.role(role), root=self.root, what=f"role '{role}'")

    def import_entry(self, entry: str, what: str) -> Any:
        """Import any ``module:attr`` in the target with the same error rules as roles."""
        return import_string(entry, root=self.root, what=what)

    def build_value(self, value: Any, key: str) -> Any:
        """Turn one ``build:`` value into an object: ``{factory:}``, ``{import:}``, a marker
        for ``{offered:}`` (a value of the run, filled at the call) or a literal."""
        if isinstance(value, dict) and "factory" in value:
            factory = import_string(value["factory"], root=self.root, what=f"'{key}.factory'")
            kwargs = {k: self.build_value(v, f"{key}.args.{k}")
                      for k, v in (value.get("args") or {}).items()}
            try:
                return factory(**kwargs)
            except Exception as exc:  # the profile's factory is set-up, not the target's code
                raise SetupError(
                    f"the profile's factory {value['factory']} (for '{key}') raised "
                    f"{type(exc).__name__}: {exc}",
                    fix=f"fix '{key}' in {self.profile.source}: the factory must build a "
                    "value without failing",
                ) from exc
        if isinstance(value, dict) and "import" in value:
            return import_string(value["import"], root=self.root, what=f"'{key}.import'")
        if isinstance(value, dict) and "offered" in value:
            from .support.calls import Offered

            return Offered(value["offered"])
        return value

    def build_kwargs(self, role: str) -> dict[str, Any]:
        """The profile's keyword arguments for constructing ``role``, built into objects."""
        raw = self.profile.build.get(role, {})
        return {name: self.build_value(v, f"build.{role}.{name}") for name, v in raw.items()}

    def relpath(self, path: str | Path) -> str:
        """``path`` relative to the target root (POSIX form), or as given when outside it."""
        p = Path(path)
        try:
            return p.resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, OSError):
            return str(path)

    def in_target(self, path: str | Path) -> bool:
        try:
            Path(path).resolve().relative_to(self.root.resolve())
        except (ValueError, OSError):
            return False
        return True


def import_string(entry: str, *, root: Path, what: str) -> Any:
    """Import ``module:attr`` from the target (error rules in the module docstring)."""
    module_name, _, attr_path = entry.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or "?"
        top = missing.split(".")[0]
        if missing == module_name or module_name.startswith(missing + "."):
            raise SetupError(
                f"{what}: module '{module_name}' was not found under {root}",
                fix="check the profile's module path and 'root'",
            ) from None
        if (root / top).exists() or (root / f"{top}.py").exists():
            # the target's own code imports a module of its own that is not there: the
            # import chain is broken at the source (import-chain owns it); here, set-up
            raise _import_crash(f"{what}: importing '{module_name}' failed: the target "
                                f"imports '{missing}', which does not exist", exc, root) \
                from exc
        raise SetupError(
            f"{what}: importing '{module_name}' needs the module '{missing}', "
            "which is not installed here",
            fix=f"install '{top}' into this environment, or run with --static to judge "
            "what the source alone can show",
        ) from None
    except Exception as exc:
        raise _import_crash(f"{what}: importing '{module_name}' raised "
                            f"{type(exc).__name__}: {exc}", exc, root) from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SetupError(
                f"{what}: '{module_name}' has no attribute '{attr_path}'",
                fix="check the attribute name in the profile",
            ) from None
    return obj


def _import_crash(summary: str, exc: BaseException, root: Path) -> SetupError:
    """A target module that cannot be imported: no check can exercise its link, so it is a
    set-up failure ("could not set up"), keeping the crash's site (``data.blocked_at``) so
    that the check owning the broken import (import-chain, from source) is named."""
    crash = target_traceback(exc, root)
    site = next((e for e in crash if e.kind == "location" and e.file), None)
    return SetupError(
        f"could not set up: {summary}", fix="fix the import in the target (import-chain "
        "locates broken imports from source), or run with --static",
        evidence=(Evidence("observed", f"set-up step failed: importing the target"
                           f"{f' at {site.location}' if site else ''}",
                           data={"blocked_at": site.location if site else None,
                                 "step": "importing the target"}),
                  *(e for e in crash if e.kind != "location")))


def target_traceback(exc: BaseException, root: Path) -> list[Evidence]:
    """Evidence for an exception from the target: its location and a traceback trimmed to
    the target's own frames (frames of the tool and the standard library are dropped)."""
    root_r = root.resolve()
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if _inside(f.filename, root_r)
    ]
    message = f"{type(exc).__name__}: {exc}"
    evidence: list[Evidence] = []
    if frames:
        last = frames[-1]
        rel = Path(last.filename).resolve().relative_to(root_r).as_posix()
        data: dict[str, object] = {CRASH: True, "exception": type(exc).__name__}
        origin = _coroutine_origin(exc, root_r)
        if origin is not None:  # the crash used a coroutine nobody awaited: made there
            data[COROUTINE_FROM] = origin
        evidence.append(Evidence("location", f"raised here: {message}", rel, last.lineno,
                                 data=data))
        lines = ["Traceback (target frames only):"]
        for f in frames:
            frel = Path(f.filename).resolve().relative_to(root_r).as_posix()
            lines.append(f'  File "{frel}", line {f.lineno}, in {f.name}')
            if f.line:
                lines.append(f"    {f.line}")
        lines.append(message)
        evidence.append(Evidence("traceback", "\n".join(lines)))
    else:
        evidence.append(Evidence("traceback", message))
    return evidence


def _coroutine_origin(exc: BaseException, root: Path) -> str | None:
    """Where (``path:line``, in the target) a coroutine held by the crashing frame (a local,
    or an attribute of one) was created, when the check process tracks coroutine origins
    (``sys.set_coroutine_origin_tracking_depth``): the un-awaited call behind a crash such
    as "'coroutine' object has no attribute ...". None otherwise."""
    import inspect

    tb, frame = exc.__traceback__, None
    while tb is not None:
        if _inside(tb.tb_frame.f_code.co_filename, root):
            frame = tb.tb_frame
        tb = tb.tb_next
    if frame is None:
        return None
    values = list(frame.f_locals.values())
    for value in list(values):
        values += list(getattr(value, "__dict__", {}).values())[:32]
    for value in values:
        origin = getattr(value, "cr_origin", None) if inspect.iscoroutine(value) else None
        for filename, line, _ in origin or ():
            if _inside(filename, root):
                return f"{Path(filename).resolve().relative_to(root).as_posix()}:{line}"
    return None


def _inside(filename: str, root: Path) -> bool:
    try:
        Path(filename).resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return True


def ensure_on_path(root: Path) -> None:
    """Put the target root first on ``sys.path`` (done once by the worker)."""
    entry = str(root)
    if sys.path[:1] != [entry]:
        sys.path.insert(0, entry)
