"""Check declaration and discovery.

Declaration is not registration (pluggy's lesson): ``@check(...)`` only attaches a frozen
``CheckSpec`` to the function. A ``Registry`` instance collects specs from modules, plugin
files and plugin folders (``checkset.build_registry`` adds the ``netra_diag.checks``
entry-point group), validating them and rejecting duplicate ids at load time; once all are
loaded, ``check_dependencies`` refuses a ``depends_on`` naming no loaded check, and
``select`` picks a run's checks. A module that raises while importing becomes a
``LoadFailure`` (reported as an ``error`` result) and never stops the others loading.

A check is a function ``(ctx: CheckContext) -> Verdict | None``. Returning ``None`` means
the check ran to the end without finding a problem: a pass, as in pytest. An exception
escaping the check is an ``error`` (the check could not decide), never a ``fail``.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import selection
from .errors import ConfigError, DuplicateCheckError
from .loader import import_file, plugin_module_name

__all__ = ["BUILTIN_PACKAGE", "UNORDERED", "CheckSpec", "LoadFailure", "Origin", "Registry",
           "check"]

BUILTIN_PACKAGE = "netra_diag_checks"
_ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_WHYS: tuple[object, ...] = (1, 2, 3, 4, 5, "e2e")
_SPEC_ATTR = "__netra_check__"
_SYMPTOM_CASES = frozenset({"pass", "fail", "error", "skip", "pass+others", "fail+others",
                            "error+others", "skip+others"})


@dataclass(frozen=True)
class Origin:
    """Where a check was loaded from, enough for a fresh interpreter to load it again.

    ``kind`` is ``module`` (an importable module name in ``ref``) or ``file`` (a path).
    """

    kind: str
    ref: str
    label: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "ref": self.ref, "label": self.label}

    @classmethod
    def from_dict(cls, raw: dict[str, str]) -> Origin:
        return cls(raw["kind"], raw["ref"], raw["label"])


@dataclass(frozen=True)
class CheckSpec:
    """A check's metadata, fixed at declaration."""

    id: str
    why: int | str
    title: str
    func: Callable[..., Any] = field(repr=False, compare=False)
    depends_on: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    explain: str = ""
    fix: str | None = None
    static: bool = False
    origin: Origin | None = None
    #: What the run's reading of the chain needs (``docs/architecture.md``, "A check's
    #: declaration"): its place, its checklist criterion and its phrases, as JSON-able data.
    order: int | None = None
    criterion: tuple[str, ...] = ()
    symptom: tuple[tuple[str, tuple[str, ...]], ...] = ()
    headline: tuple[str, ...] = ()
    critical: str | None = None
    caveat: str | None = None
    #: The summary of the ``skip`` a check that only a run can judge gives under ``--static``
    #: (None: the check runs and decides). Such a check is not run under ``--static``: the
    #: runner reports this skip itself, without a process.
    static_skip: str | None = None

    def describe(self) -> dict[str, Any]:
        """The public description used by ``list --format json``."""
        return {
            "id": self.id,
            "why": self.why,
            "title": self.title,
            "tags": list(self.tags),
            "depends_on": list(self.depends_on),
            "static": self.static,
            "source": self.origin.label if self.origin else None,
            "order": self.order,
        }

    def meta(self) -> dict[str, Any]:
        """The metadata a run report carries for this check (``RunReport.checks``): enough
        to order, diagnose and render a saved run without importing the check."""
        return {"title": self.title, "why": self.why, "explain": self.explain, "fix": self.fix,
                "tags": list(self.tags), "depends_on": list(self.depends_on),
                "order": self.order, "criterion": list(self.criterion),
                "symptom": {key: list(texts) for key, texts in self.symptom},
                "headline": list(self.headline), "critical": self.critical,
                "caveat": self.caveat}


def check(
    *,
    id: str,
    why: int | str,
    title: str,
    depends_on: Iterable[str] = (),
    tags: Iterable[str] = (),
    explain: str | None = None,
    fix: str | None = None,
    static: bool = False,
    order: int | None = None,
    criterion: str | Iterable[str] = (),
    symptom: Mapping[str, str | Iterable[str]] | None = None,
    headline: str | Iterable[str] = (),
    critical: str | None = None,
    caveat: str | None = None,
    static_skip: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a check: everything the tool knows about it is said here.

    ``id`` is a stable kebab-case id; ``why`` is 1..5 for the five whys or ``"e2e"``;
    ``order`` places it along the chain (checks sort by their why, then by ``order``, then
    by id; a check without one comes after those with one at its level);
    ``depends_on`` lists ids that must pass before this check can judge anything (use it
    sparingly: dependants of a non-passing check are skipped); ``explain`` defaults to the
    function's docstring (what it verifies, why it matters, causes, how to fix); ``fix`` is a
    one-line hint attached to fail/error results; ``static`` says the check can decide from
    source alone (it still runs under ``run --static``); ``static_skip`` is the summary of
    the ``skip`` of a check that only a run can judge: under ``--static`` the check is not
    called (nor given a process) and reports that skip.

    The run's reading of the chain (``netra_diag.analysis``) uses these phrase templates,
    filled from the result (``{id}``, ``{title}``, ``{summary}``) and its evidence ``data``
    (``{delivered}``), each given as alternatives, the first that applies used (syntax:
    ``netra_diag.phrasing``): ``criterion`` the line a post-fix checklist ticks (default:
    the title); ``symptom`` how the check describes the symptom, by case (``fail`` for a
    failing end-to-end check; a check that declares ``pass`` describes the symptom whatever
    its status, with ``pass``/``fail``/``error``/``skip`` and the ``...+others`` forms
    joining the other checks' phrases); ``headline`` a short phrase beside its result in a
    summary; ``critical`` a guard (``""``: always) under which its failure is critical;
    ``caveat`` what its pass does not prove while the chain is broken.
    """
    if not isinstance(id, str) or not _ID_RE.match(id):
        raise ConfigError(f"check id {id!r} must be kebab-case: lowercase letters, digits, '-'")
    if why not in _WHYS:
        raise ConfigError(f"check {id!r}: why must be one of 1, 2, 3, 4, 5 or 'e2e', not {why!r}")
    if order is not None and (not isinstance(order, int) or isinstance(order, bool)):
        raise ConfigError(f"check {id!r}: order must be an int, not {order!r}")
    unknown = sorted(set(symptom or {}) - _SYMPTOM_CASES)
    if unknown:
        raise ConfigError(f"check {id!r}: unknown symptom case(s) {unknown}: use "
                          f"{', '.join(sorted(_SYMPTOM_CASES))}")

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        spec = CheckSpec(
            id=id,
            why=why,
            title=title,
            func=func,
            depends_on=tuple(depends_on),
            tags=tuple(tags),
            explain=(explain or func.__doc__ or "").strip(),
            fix=fix,
            static=static,
            order=order,
            criterion=_texts(criterion),
            symptom=tuple((key, _texts(texts)) for key, texts in (symptom or {}).items()),
            headline=_texts(headline),
            critical=critical,
            caveat=caveat,
            static_skip=static_skip,
        )
        setattr(func, _SPEC_ATTR, spec)
        return func

    return mark


def _texts(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class LoadFailure:
    """A check module that raised while importing."""

    origin: Origin
    message: str
    traceback: str


class Registry:
    """Collects check specs; one instance per run (tests build their own)."""

    def __init__(self, *, import_timeout_s: float = 30.0) -> None:
        self._specs: dict[str, CheckSpec] = {}
        self._loaded: set[Origin] = set()
        self.failures: list[LoadFailure] = []
        self.import_timeout_s = import_timeout_s

    def __contains__(self, check_id: str) -> bool:
        return check_id in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def get(self, check_id: str) -> CheckSpec:
        return self._specs[check_id]

    def select(self, only: Iterable[str] = (), skip: Iterable[str] = (),
               tags: Iterable[str] = ()) -> list[CheckSpec]:
        """The specs ``--only``/``--skip`` (ids, tags, comma lists) and ``tags`` select, in
        ``specs`` order; ``ConfigError`` (exit 4) for a name that matches nothing."""
        return selection.select(self.specs, only, skip, tags)

    def check_dependencies(self) -> None:
        """``ConfigError`` (exit 4) when a ``depends_on`` names no check of this registry:
        run once every module is loaded, before any check runs."""
        selection.check_dependencies(self.specs, [f.origin.label for f in self.failures])

    @property
    def specs(self) -> list[CheckSpec]:
        """Specs in a stable order: the five whys in order, then end-to-end, then by id."""
        return sorted(self._specs.values(), key=_order_key)

    def add(self, spec: CheckSpec) -> None:
        known = self._specs.get(spec.id)
        if known is not None:
            first = known.origin.label if known.origin else "?"
            second = spec.origin.label if spec.origin else "?"
            raise DuplicateCheckError(
                f"duplicate check id {spec.id!r}: defined in {first} and in {second}; "
                "rename one of them"
            )
        self._specs[spec.id] = spec

    def add_from_namespace(self, namespace: dict[str, Any], origin: Origin) -> int:
        """Register every decorated function found in a module namespace."""
        found = 0
        for value in list(namespace.values()):
            spec = getattr(value, _SPEC_ATTR, None)
            if isinstance(spec, CheckSpec) and spec.func is value:
                self.add(_with_origin(spec, origin))
                found += 1
        return found

    def load_module(self, name: str, label: str | None = None) -> None:
        """Import ``name`` and register its checks; an import crash becomes a LoadFailure."""
        origin = Origin("module", name, label or name)
        namespace = self._guarded(origin, lambda: vars(importlib.import_module(name)))
        if namespace is not None:
            self.add_from_namespace(namespace, origin)

    def load_file(self, path: Path) -> None:
        """Import a plugin file by path under a private module name."""
        path = path.resolve()
        origin = Origin("file", str(path), str(path))
        if origin in self._loaded:  # the same folder named twice (CLI and profile)
            return
        namespace = self._guarded(origin, lambda: load_file_namespace(path))
        if namespace is not None:
            self.add_from_namespace(namespace, origin)

    def load_dir(self, folder: Path) -> None:
        """Load every ``*.py`` in ``folder`` (not recursive; ``_``-prefixed files ignored);
        a folder loaded before (named on the command line and in the profile) is skipped."""
        if not folder.is_dir():
            raise ConfigError(f"checks folder {folder} does not exist or is not a folder")
        for path in sorted(folder.glob("*.py")):
            if not path.name.startswith("_"):
                self.load_file(path)

    def load_builtin(self) -> None:
        """Load every module of the ``netra_diag_checks`` package (``_``-prefixed helpers
        skipped): adding a check is adding a file."""
        package = importlib.import_module(BUILTIN_PACKAGE)
        names = sorted(info.name for info in pkgutil.iter_modules(package.__path__)
                       if not info.name.startswith("_"))
        for name in names:
            self.load_module(f"{BUILTIN_PACKAGE}.{name}", label=f"built-in {name}")

    def _guarded(self, origin: Origin, load: Any) -> dict[str, Any] | None:
        """Run a plugin import safely: its prints go to stderr (stdout may carry a document),
        ``SystemExit`` and any exception become a LoadFailure, and an import that does not
        finish within ``import_timeout_s`` is interrupted (main thread only)."""
        self._loaded.add(origin)
        try:
            with contextlib.redirect_stdout(sys.stderr), _deadline(self.import_timeout_s):
                return load()
        except KeyboardInterrupt:
            raise
        except _ImportTimeout:
            self.failures.append(LoadFailure(
                origin, f"did not finish importing within {self.import_timeout_s:g} s",
                "the plugin blocks at import time (a wait at module level?)"))
        except BaseException as exc:  # noqa: BLE001 - any plugin crash is reported, never raised
            self._record_failure(origin, exc)
        return None

    def _record_failure(self, origin: Origin, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(exc))
        self.failures.append(LoadFailure(origin, f"{type(exc).__name__}: {exc}", tb))


class _ImportTimeout(Exception):
    """Raised inside a plugin import that ran past its deadline."""


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` with ``_ImportTimeout`` (SIGALRM, main thread)."""
    if threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _ImportTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_file_namespace(path: Path) -> dict[str, Any]:
    """Execute a plugin file as a module named after its path and return its namespace."""
    return vars(import_file(path, plugin_module_name(path)))


def _with_origin(spec: CheckSpec, origin: Origin) -> CheckSpec:
    from dataclasses import replace

    return replace(spec, origin=origin)


def _order_key(spec: CheckSpec) -> tuple[int, int, str]:
    rank = spec.why if isinstance(spec.why, int) else 6
    return (rank, UNORDERED if spec.order is None else spec.order, spec.id)


#: Where a check without an ``order`` sorts within its level: after every ordered one.
UNORDERED = 1_000_000
