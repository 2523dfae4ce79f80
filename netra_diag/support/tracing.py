"""Observe which functions a code path calls, and from where, without changing the code.

``CallRecorder`` installs a profile hook (``sys.setprofile`` and ``threading.setprofile``)
for the duration of a ``with`` block and records each call to the watched code objects
with the caller's file and line. Watching is by code object identity, so re-exports and
aliases are seen for what they are.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

__all__ = ["CallRecorder", "ObservedCall", "code_of"]


@dataclass
class ObservedCall:
    label: str
    caller_file: str
    caller_line: int
    caller_function: str
    returned: Any = None


def code_of(obj: Any) -> CodeType | None:
    """The code object that runs when ``obj`` is called (a function, or a class's __init__)."""
    func = obj
    if isinstance(obj, type):
        func = obj.__dict__.get("__init__") or obj.__dict__.get("__new__")
    func = getattr(func, "__func__", func)
    func = getattr(func, "__wrapped__", func)
    return getattr(func, "__code__", None)


class CallRecorder:
    """Records calls to ``watched`` (label -> callable) made inside the ``with`` block."""

    def __init__(self, watched: dict[str, Any]) -> None:
        self._codes: dict[CodeType, str] = {}
        for label, obj in watched.items():
            code = code_of(obj)
            if code is not None:
                self._codes[code] = label
        self.calls: list[ObservedCall] = []
        self._active: dict[int, ObservedCall] = {}
        self._previous: Any = None

    def _hook(self, frame: FrameType, event: str, arg: Any) -> None:
        if event not in ("call", "return"):
            return
        label = self._codes.get(frame.f_code)
        if label is None:
            return
        if event == "return":
            seen = self._active.pop(id(frame), None)
            if seen is not None:
                seen.returned = arg
            return
        if id(frame) in self._active:  # a coroutine resuming, not a new call
            return
        caller = frame.f_back
        while caller is not None and caller.f_code in self._codes:
            caller = caller.f_back
        if caller is None:
            return
        seen = ObservedCall(label, caller.f_code.co_filename, caller.f_lineno,
                            caller.f_code.co_name)
        self._active[id(frame)] = seen
        self.calls.append(seen)

    def __enter__(self) -> CallRecorder:
        self._previous = sys.getprofile()
        sys.setprofile(self._hook)
        threading.setprofile(self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self._previous)
        threading.setprofile(None)

    def labels(self) -> list[str]:
        return [c.label for c in self.calls]
