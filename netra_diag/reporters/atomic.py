"""Writing reports safely: atomic replacement (redaction: ``netra_diag.redaction``).

A report file is either the old one or the complete new one, never half written: the text
goes to a temporary file in the same folder (same file system, so ``os.replace`` is atomic),
is flushed and fsynced, then replaces the destination. Failures raise ``OutputError`` (the
CLI turns it into a message and an exit code) and leave no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from netra_diag.errors import OutputError

__all__ = ["write_atomic"]

_DEFAULT_MODE = 0o644


def write_atomic(path: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; ``OutputError`` when that fails.

    An existing file keeps its permission bits; a new one gets ``0o644``. A symbolic link
    is followed (its target is replaced, the link stays); a destination that exists but is
    not a regular file (``/dev/null``, a FIFO, ``/dev/stdout``) is written in place, since
    replacing it would destroy it.
    """
    given = Path(path)
    if given.exists() and not given.is_file():  # follows links: /dev/stdout to a pipe too
        _write_in_place(given, text)
        return
    path = Path(os.path.realpath(given))
    folder = path.parent
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = _DEFAULT_MODE
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8", errors="replace"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, FileNotFoundError) and not folder.is_dir():
            reason = f"folder {folder} does not exist"
        raise OutputError(f"cannot write report {path}: {reason}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _fsync_dir(folder)


def _write_in_place(path: Path, text: str) -> None:
    try:
        with open(path, "wb") as handle:
            handle.write(text.encode("utf-8", errors="replace"))
    except OSError as exc:
        raise OutputError(f"cannot write report {path}: {exc.strerror or exc}") from exc


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself; best effort (not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
