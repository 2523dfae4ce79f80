"""Discover third-party checks in a child interpreter, never in the tool's own process.

Plugin files (``--checks-dir``, the profile's ``checks_dirs``) and entry-point modules
(group ``netra_diag.checks``) are someone else's code. Importing them in the tool's process
would let one print into a JSON document on stdout, end the tool with ``os._exit`` or a
signal, or hang it. So the parent lists them (no import), and a child interpreter
(``python -P -m netra_diag.discover RESULT_FD``) imports them and reports, item by item,
their specs (metadata only: the function itself is loaded again by the worker that runs it)
and their load failures.

Rules this module owns:

* the job (the items, a nonce) reaches the child on its stdin, read whole before any plugin
  runs; results come back on a private pipe, one JSON line per item, each carrying the
  nonce: what a plugin writes to files, stdout or stderr can never pass for a result;
* the child announces each item before importing it, so when it dies (``os._exit``, a
  signal) the culprit is known: it becomes a ``LoadFailure`` naming the exit code or signal,
  and a new child carries on with the items after it;
* discovery has **one** deadline (the import timeout plus a grace): a plugin that ignores
  SIGALRM and spins is killed at the deadline and reported as timed out, and the items not
  reached by then are reported as not imported (never a wait per plugin);
* the child runs in its own session and dies with the parent; however discovery ends
  (normally, at the deadline, on Ctrl-C or SIGTERM) the child's process group is killed.

The built-in checks are the tool's own and load in-process (``Registry.load_builtin``).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import interrupts
from .errors import ConfigError, DuplicateCheckError
from .loader import entry_point_items
from .manifest import spec_from_dict, spec_to_dict
from .procs import PARENT_ENV, die_with_parent, end_process, kill_group, open_pidfd
from .registry import LoadFailure, Origin, Registry

__all__ = ["list_plugins", "load_external"]

_GRACE_S = 2.0


def list_plugins(folders: list[Path]) -> list[dict[str, str]]:
    """The plugin items to discover: each ``*.py`` of each folder, then the entry points."""
    items: list[dict[str, str]] = []
    seen: set[Path] = set()
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"checks folder {folder} does not exist or is not a folder")
        for path in sorted(folder.glob("*.py")):
            path = path.resolve()
            if not path.name.startswith("_") and path not in seen:
                seen.add(path)
                items.append({"kind": "file", "ref": str(path), "label": str(path)})
    return items + entry_point_items()


def load_external(registry: Registry, folders: list[Path]) -> None:
    """Add the specs and failures of every plugin in ``folders`` and the entry points."""
    items = list_plugins(folders)
    if not items:
        return
    timeout = registry.import_timeout_s
    deadline = time.monotonic() + timeout + _GRACE_S
    remaining = list(items)
    while remaining:
        batch = _Batch(remaining, timeout, deadline)
        batch.run()
        if interrupts.pending() is not None:  # Ctrl-C or SIGTERM: the run reports it
            return
        if batch.output.strip():  # what plugins printed while importing: stderr only
            print(batch.output.rstrip(), file=sys.stderr)
        for outcome in batch.outcomes:
            if "duplicate" in outcome:
                raise DuplicateCheckError(outcome["duplicate"])
            for raw in outcome["specs"]:
                registry.add(spec_from_dict(raw))
            for raw in outcome["failures"]:
                registry.failures.append(LoadFailure(Origin.from_dict(raw["origin"]),
                                                     raw["message"], raw["traceback"]))
        done = len(batch.outcomes)
        if batch.finished:
            return
        if batch.timed_out:  # one deadline for all: what was not reached is not imported
            for index, item in enumerate(remaining[done:]):
                registry.failures.append(LoadFailure(
                    Origin.from_dict(item),
                    f"did not finish importing within {timeout:g} s" if index == 0 else
                    f"not imported: plugin discovery's deadline ({timeout:g} s) passed "
                    "before it was reached",
                    "the plugin blocks at import time (a wait or a loop at module level?)"
                    if index == 0 else "another plugin used up the time (see its error)"))
            return
        # the item it was importing when it died; none announced: it died before any
        culprits = (remaining[done:] if batch.in_progress is None
                    else [remaining[batch.in_progress]])
        for item in culprits:
            raw = _death(item, batch.code, batch.output)
            registry.failures.append(LoadFailure(Origin.from_dict(item), raw["message"],
                                                 raw["traceback"]))
        remaining = remaining[done + len(culprits):]


#: How often discovery looks for a deferred signal while it waits on its child.
_SIGNAL_POLL_S = 0.05


class _Batch:
    """One discovery child over ``items``, read until it finishes, dies or the deadline."""

    def __init__(self, items: list[dict[str, str]], timeout_s: float, deadline: float) -> None:
        self.items = items
        self.timeout_s = timeout_s
        self.deadline = deadline
        self.nonce = secrets.token_hex(16)
        self.outcomes: list[dict[str, Any]] = []
        self.in_progress: int | None = None
        self.finished = False
        self.timed_out = False
        self.code: int | None = None
        self.output = ""

    def run(self) -> None:
        with tempfile.TemporaryDirectory(prefix="netra-diag-discover-") as tmp:
            log = Path(tmp) / "output.log"
            read_fd, write_fd = os.pipe()
            try:
                with open(log, "wb") as out:
                    proc = subprocess.Popen(
                        [sys.executable, "-P", "-m", "netra_diag.discover", str(write_fd)],
                        stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                        pass_fds=(write_fd,), start_new_session=True,
                        env={**os.environ, PARENT_ENV: str(os.getpid())})
            finally:
                os.close(write_fd)
            pidfd = open_pidfd(proc.pid)
            try:
                job = {"items": self.items, "timeout_s": self.timeout_s, "nonce": self.nonce}
                try:
                    assert proc.stdin is not None
                    proc.stdin.write(json.dumps(job).encode())
                    proc.stdin.close()
                except OSError:  # it died at once: reported below from its exit code
                    pass
                self._read(read_fd)
            finally:  # on any exit, Ctrl-C and SIGTERM included: its group goes too
                kill_group(proc.pid)
                os.close(read_fd)
                self.code = end_process(proc, pidfd, 5.0)
            self.output = log.read_text(encoding="utf-8", errors="replace")[-2000:]

    def _read(self, fd: int) -> None:
        pending = b""
        while not self.finished:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.timed_out = True
                return
            # a deferred Ctrl-C or SIGTERM does not wake select (it is retried): look
            # for one every _SIGNAL_POLL_S, and stop reading (the caller acts on it)
            ready, _, _ = select.select([fd], [], [], min(left, _SIGNAL_POLL_S))
            if interrupts.pending() is not None:
                return
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                self._line(line)

    def _line(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("nonce") != self.nonce:
            return  # not the child's own (a plugin wrote into the pipe)
        if message.get("done"):
            self.finished = True
        elif "start" in message:
            self.in_progress = int(message["start"])
        elif message.get("index") == len(self.outcomes):
            self.outcomes.append(message)
            self.in_progress = None


def _death(item: dict[str, str], code: int | None, output: str) -> dict[str, Any]:
    if code is not None and code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"ended the interpreter with exit code {code}"
    return {"origin": item, "message": f"importing it {how}",  # "...: importing it ..."
            "traceback": output.strip() or "(no output)"}


def main(argv: list[str]) -> int:
    """The child: import every item, reporting each on the result pipe (never stdout)."""
    die_with_parent()
    result_fd = int(argv[0])
    os.set_inheritable(result_fd, False)
    job = json.loads(sys.stdin.buffer.read())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # plugins reading stdin get EOF, never the job
    os.close(null)
    nonce = job["nonce"]

    def send(message: dict[str, Any]) -> None:
        data = (json.dumps({**message, "nonce": nonce}) + "\n").encode()
        while data:
            data = data[os.write(result_fd, data):]

    for index, item in enumerate(job["items"]):
        send({"start": index})
        registry = Registry(import_timeout_s=float(job["timeout_s"]))
        outcome: dict[str, Any] = {"index": index}
        try:
            if item["kind"] == "file":
                registry.load_file(Path(item["ref"]))
            else:
                registry.load_module(item["ref"], label=item["label"])
        except DuplicateCheckError as exc:
            outcome["duplicate"] = str(exc)
        outcome["specs"] = [spec_to_dict(replace(s)) for s in registry.specs]
        outcome["failures"] = [{"origin": f.origin.to_dict(), "message": f.message,
                                "traceback": f.traceback} for f in registry.failures]
        send(outcome)
        if "duplicate" in outcome:
            break
    send({"done": True})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
