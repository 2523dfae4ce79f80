"""The user's hooks file: set-up steps the user owns, in the manner of pytest's conftest.py.

A profile may name a Python file under ``hooks:`` (relative to the profile). In each check
interpreter the file's folder is put on ``sys.path`` (after the target root) and the file
is imported under its stem, so its functions can also serve as ``build:`` factories
(``{factory: "netra_diag_hooks:make_llm"}``). Each function below is optional; when it is
defined it **replaces the tool's guess for that step**, and evidence says so ("via
hooks.connect()"). Each may be sync or async; arguments are filled **by name** from what the
tool has at hand (so a hook may take fewer parameters than listed, in any order).

``setup()``
    once per check interpreter (and per fleet instance), before the target is imported:
    environment, configuration.
``make_user_context(user_id, thread_id, run_id, request_id)``
    the context object the application would build for one request.
``connect(user_context, connection)``
    make ``connection`` receive that user's events. ``connection`` speaks ``send(text)``,
    ``send_text(text)`` and ``send_json(obj)`` (and has ``user_id`` and ``connection_id``
    attributes for code that reads them). It may return a handle, passed to ``disconnect``.
``disconnect(user_context, connection, handle)``
    undo ``connect``.
``run_agent(user_context, message)``
    drive one agent run for that user, in-process, to completion.
``publish(backplane, instance_id, channel_prefix)`` / ``subscribe(...)``
    join one in-process fleet instance to the backplane (when the profile's
    ``backplane.publish`` / ``backplane.subscribe`` name nothing; ``profile_backplane``).

The boundary (docs/statuses.md): an exception raised *inside a hook's own code*
is the user's set-up failing, an ``error``; an exception raised by the target while a hook
drives it is judged like any other call into the target. This module knows nothing of checks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import SetupError
from .loader import NotImportable, import_file

__all__ = ["HOOK_NAMES", "Hooks", "load_hooks", "prepare", "run_setup"]

#: The functions a hooks file may define, with what each replaces.
HOOK_NAMES: dict[str, str] = {
    "setup": "runs once per check interpreter before the target is imported",
    "make_user_context": "builds the user context (instead of the 'user_context' role)",
    "connect": "joins a connection to a user's events (instead of manager.add_connection)",
    "disconnect": "removes a connection again",
    "run_agent": "drives one agent run in-process (instead of the wiring entry or engine)",
    "publish": "joins one in-process fleet instance's publishing side to the backplane",
    "subscribe": "joins one in-process fleet instance's listening side to the backplane",
}


class Hooks:
    """The hooks a file defines (an empty ``Hooks`` when the profile names none)."""

    def __init__(self, module: ModuleType | None = None, path: Path | None = None) -> None:
        self.module = module
        self.path = path

    @property
    def stem(self) -> str:
        return self.path.stem if self.path is not None else "hooks"

    def get(self, name: str) -> Callable[..., Any] | None:
        """The hook function ``name``, or None when the file does not define it."""
        if self.module is None:
            return None
        func = getattr(self.module, name, None)
        return func if callable(func) else None

    def label(self, name: str) -> str:
        """How evidence names a hook: ``hooks.connect()`` (with the file's stem)."""
        return f"{self.stem}.{name}()"

    def arguments(self, name: str, available: Mapping[str, Any]) -> tuple[tuple, dict]:
        """Positional and keyword arguments for hook ``name``, filled by parameter name."""
        from .support.calls import fill_arguments

        func = self.get(name)
        assert func is not None
        call = fill_arguments(func, available=available, profile_key=f"hooks: {self.stem}",
                              what=self.label(name))
        return call.args, call.kwargs


_loaded: dict[Path, Hooks] = {}


def load_hooks(path: Path | None) -> Hooks:
    """Import the hooks file at ``path`` once per interpreter (its folder goes on
    ``sys.path`` after the target root). A file that fails to import is a ``SetupError``."""
    if path is None:
        return Hooks()
    if path in _loaded:
        return _loaded[path]
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(1 if sys.path else 0, folder)
    try:
        module = sys.modules.get(path.stem)
        if module is None or Path(getattr(module, "__file__", "") or "").resolve() != path:
            try:
                module = import_file(path, path.stem)
            except NotImportable:
                raise SetupError(f"the hooks file {path} cannot be imported",
                                 fix="name a .py file under 'hooks:' in the profile") from None
    except SetupError:
        raise
    except (Exception, SystemExit) as exc:  # sys.exit() at import is a set-up failure too
        sys.modules.pop(path.stem, None)
        raise SetupError(f"importing the hooks file {path.name} raised "
                         f"{type(exc).__name__}: {exc}",
                         fix=f"fix {path} (it is your set-up code, not the target's)") from exc
    hooks = Hooks(module, path)
    _loaded[path] = hooks
    return hooks


def run_setup(hooks: Hooks) -> bool:
    """Call ``setup()`` when the file defines it (awaiting it when async); True when it ran.
    Its crash is a ``SetupError``: the user's set-up, not the target, failed."""
    import asyncio
    import inspect

    func = hooks.get("setup")
    if func is None:
        return False
    args, kwargs = hooks.arguments("setup", {})
    try:
        result = func(*args, **kwargs)
        if inspect.isawaitable(result):
            asyncio.run(_awaited(result))
    except (Exception, SystemExit) as exc:  # sys.exit() in setup() is a set-up failure too
        raise SetupError(f"{hooks.label('setup')} raised {type(exc).__name__}: {exc}",
                         fix=f"fix setup() in {hooks.path}") from exc
    return True


async def _awaited(value: Any) -> Any:
    return await value


_setup_done: set[Path] = set()


def prepare(path: Path | None) -> Hooks:
    """What a check interpreter does first, before the target is imported: load the hooks
    file and run its ``setup()``, at most once per process (a process forked after it ran,
    as under ``isolation: shared-import``, inherits that). ``SetupError`` when either fails."""
    hooks = load_hooks(path)
    if path is not None and path not in _setup_done:
        run_setup(hooks)
        _setup_done.add(path)
    return hooks
