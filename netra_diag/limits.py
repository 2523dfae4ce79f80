"""Bounds on untrusted input the tool reads: profiles, saved runs, numbers given as options.

Rules this module owns: an input file is read only when it is a regular file no larger than
its bound (a FIFO, a device such as ``/dev/zero`` or a folder is refused before it is read,
so nothing hangs or fills memory); a YAML document may not expand its aliases beyond
``MAX_YAML_NODES`` nodes ("billion laughs"); a number given by the user is finite and
positive. Every refusal is a ``ConfigError`` (exit 4) naming the input.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = [
    "MAX_PROFILE_BYTES",
    "MAX_RUN_BYTES",
    "MAX_TIMEOUT_S",
    "MAX_YAML_NODES",
    "check_yaml_size",
    "finite_positive",
    "read_bounded_text",
]

#: A profile is a few dozen lines; 1 MiB is far beyond any real one.
MAX_PROFILE_BYTES = 1 << 20
#: A saved JSON run (``report``, ``--baseline``).
MAX_RUN_BYTES = 64 << 20
#: Nodes of a YAML document once its aliases are expanded.
MAX_YAML_NODES = 20_000
#: The longest ``--timeout`` accepted (one day); beyond it the timers overflow.
MAX_TIMEOUT_S = 86_400.0


def read_bounded_text(path: Path, limit: int, what: str) -> str:
    """The UTF-8 text of the regular file ``path``; ``ConfigError`` when it is not a regular
    file, is larger than ``limit`` bytes or cannot be read. ``FileNotFoundError`` passes."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: {what} must be a regular file (this is "
                              f"{_file_kind(info.st_mode)})")
        if info.st_size > limit:
            raise ConfigError(f"{path}: {what} is {info.st_size} bytes, more than the "
                              f"{limit} bytes allowed")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(f"{path}: {what} is more than the {limit} bytes allowed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read {what}: not UTF-8 text ({exc})") from None


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_yaml_size(node: Any, path: Path, limit: int = MAX_YAML_NODES) -> None:
    """``ConfigError`` when the composed YAML ``node`` would expand (aliases followed) to more
    than ``limit`` nodes, or when an alias refers to its own ancestor. Each node is counted
    once (memoised), so checking costs the document's size, not its expansion."""
    import yaml

    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(n: Any) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError(f"{path}: malformed YAML: an alias refers to itself")
        active.add(key)
        total = 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for item in n.value:
                total += size(item)
                if total > limit:
                    break
        active.discard(key)
        if total > limit:
            raise ConfigError(f"{path}: the YAML document expands (through its aliases) to "
                              f"more than {limit} nodes; a profile needs no such nesting of "
                              "aliases")
        sizes[key] = total
        return total

    try:
        size(node)
    except RecursionError:
        raise ConfigError(f"{path}: malformed YAML: the document nests too deeply") from None


def finite_positive(value: float, option: str, *, maximum: float | None = None) -> float:
    """``value`` when it is a finite number above zero (and at most ``maximum``);
    ``ConfigError`` naming ``option`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{option} must be a finite number above 0 (got {value!r})")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{option} must be at most {maximum:g} (got {value:g})")
    return float(value)
