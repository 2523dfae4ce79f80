"""Ctrl-C and SIGTERM from the first instant of the process: never a default death (143).

Rules this module owns:

* the console script installs *deferring* handlers before it imports anything heavy
  (``install_deferred``): a SIGINT or SIGTERM that arrives while the CLI starts, parses its
  options or prepares a run is remembered, not acted on, so that the run can still write its
  reports (every check ``skip``, never started) and exit 2;
* ``handlers("raise")`` turns both signals into ``KeyboardInterrupt`` for a block (the
  caller acts on one already pending with ``raise_pending`` where it can report it);
  ``handlers("defer")`` remembers them for a block; both restore the previous handlers;
* outside the main thread (an embedding application) nothing is changed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any, Literal

__all__ = ["handlers", "install_deferred", "pending", "raise_pending"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_pending: int | None = None


def _defer(signum: int, frame: Any) -> None:
    global _pending
    _pending = signum


def _raise(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def install_deferred() -> None:
    """Remember SIGINT and SIGTERM from now on (the console script's first act)."""
    if _main_thread():
        for signum in _SIGNALS:
            signal.signal(signum, _defer)


def pending() -> int | None:
    """The signal received while deferred and not yet acted on, if any."""
    return _pending


def raise_pending() -> None:
    """``KeyboardInterrupt`` if a signal arrived while deferred (and forget it)."""
    global _pending
    if _pending is not None:
        _pending = None
        raise KeyboardInterrupt


@contextlib.contextmanager
def handlers(mode: Literal["raise", "defer"]) -> Iterator[None]:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` (or are deferred) inside the block."""
    if not _main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in _SIGNALS}
    for signum in _SIGNALS:
        signal.signal(signum, _raise if mode == "raise" else _defer)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
