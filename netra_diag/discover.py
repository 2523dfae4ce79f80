"""Discover third-party checks in a child interpreter, never in the tool's own process.

Plugin files (``--checks-dir``, the profile's ``checks_dirs``) and entry-point modules
(group ``netra_diag.checks``) are someone else's code. Importing them in the tool's process
would let one print into a JSON document on stdout, end the tool with ``os._exit`` or a
signal, or hang it. So the parent lists them (no import), and one child interpreter
(``python -P -m netra_diag.discover JOB RESULT``) imports them all and writes back their
specs (metadata only: the function itself is loaded again by the worker that runs it) and
their load failures. If that child dies without a result, each plugin is discovered alone,
so the culprit becomes a ``LoadFailure`` naming the exit code or signal and the others load.
The built-in checks are the tool's own and load in-process (``Registry.load_builtin``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import ConfigError, DuplicateCheckError
from .registry import CheckSpec, LoadFailure, Origin, Registry

__all__ = ["list_plugins", "load_external"]

_GRACE_S = 5.0


def list_plugins(folders: list[Path]) -> list[dict[str, str]]:
    """The plugin items to discover: each ``*.py`` of each folder, then the entry points."""
    from importlib.metadata import entry_points

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
    for ep in entry_points(group="netra_diag.checks"):
        module = ep.value.split(":", 1)[0].strip()
        items.append({"kind": "module", "ref": module,
                      "label": f"entry point {ep.name} ({ep.value})"})
    return items


def load_external(registry: Registry, folders: list[Path]) -> None:
    """Add the specs and failures of every plugin in ``folders`` and the entry points."""
    items = list_plugins(folders)
    if not items:
        return
    outcome, _, output = _discover(items, registry.import_timeout_s)
    if output.strip():  # what plugins printed while importing: stderr, never stdout
        print(output.rstrip(), file=sys.stderr)
    if outcome is None:  # the batch died: find the culprit(s) one plugin at a time
        found: dict[str, Any] = {"specs": [], "failures": []}
        for item in items:
            alone, code, output = _discover([item], registry.import_timeout_s)
            if alone is None:
                alone = {"specs": [], "failures": [_death(item, code, output)]}
            if "duplicate" in alone:
                raise DuplicateCheckError(alone["duplicate"])
            found["specs"] += alone["specs"]
            found["failures"] += alone["failures"]
        outcome = found
    if "duplicate" in outcome:
        raise DuplicateCheckError(outcome["duplicate"])
    for raw in outcome["specs"]:
        registry.add(_spec_from_dict(raw))
    for raw in outcome["failures"]:
        registry.failures.append(LoadFailure(Origin.from_dict(raw["origin"]), raw["message"],
                                             raw["traceback"]))


def _discover(items: list[dict[str, str]], timeout_s: float
              ) -> tuple[dict[str, Any] | None, int | None, str]:
    """Run one discovery child over ``items``: (its result or None when it died without
    one, its exit code, the tail of its output)."""
    with tempfile.TemporaryDirectory(prefix="netra-diag-discover-") as tmp:
        job, result = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job.write_text(json.dumps({"items": items, "timeout_s": timeout_s}), encoding="utf-8")
        log = Path(tmp) / "output.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "netra_diag.discover", str(job), str(result)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
            try:
                proc.wait(timeout=timeout_s * max(1, len(items)) + _GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        output = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        if not result.exists():
            return None, proc.returncode, output
        return json.loads(result.read_text(encoding="utf-8")), proc.returncode, output


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


def _spec_to_dict(spec: CheckSpec) -> dict[str, Any]:
    return {**spec.describe(), "explain": spec.explain, "fix": spec.fix,
            "origin": spec.origin.to_dict() if spec.origin else None}


def _spec_from_dict(raw: dict[str, Any]) -> CheckSpec:
    """A spec for the parent: metadata only (the worker imports the function itself)."""
    return CheckSpec(id=raw["id"], why=raw["why"], title=raw["title"], func=_not_loaded,
                     depends_on=tuple(raw["depends_on"]), tags=tuple(raw["tags"]),
                     explain=raw["explain"], fix=raw["fix"], static=raw["static"],
                     origin=Origin.from_dict(raw["origin"]))


def _not_loaded(ctx: Any) -> None:  # pragma: no cover - never called in the parent
    raise RuntimeError("a discovered check runs in its worker, not in the parent")


def main(argv: list[str]) -> int:
    """The child: import every item, write specs and failures (never to stdout)."""
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    registry = Registry(import_timeout_s=float(job["timeout_s"]))
    out: dict[str, Any] = {"specs": [], "failures": []}
    try:
        for item in job["items"]:
            if item["kind"] == "file":
                registry.load_file(Path(item["ref"]))
            else:
                registry.load_module(item["ref"], label=item["label"])
    except DuplicateCheckError as exc:
        out["duplicate"] = str(exc)
    out["specs"] = [_spec_to_dict(replace(s)) for s in registry.specs]
    out["failures"] = [{"origin": f.origin.to_dict(), "message": f.message,
                        "traceback": f.traceback} for f in registry.failures]
    result = Path(argv[1])
    tmp = result.with_suffix(".tmp")
    tmp.write_text(json.dumps(out), encoding="utf-8")
    os.replace(tmp, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
