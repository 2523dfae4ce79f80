"""One instance of a fleet (``python -m netra_diag.fleet_instance``; see ``netra_diag.fleet``).

Reads one JSON job line on standard input (``root``, ``role``, ``host``, ``port``,
``users``, ``options``, and ``hooks``: the profile's hooks file or null), runs the hooks
file's ``setup()`` first (as every check interpreter does), starts the server role with
them, prints one JSON line on standard output (``{"url": ...}``, or ``{"error": ...,
"detail": ..., "crashed": bool}``), then serves until its standard input closes or
SIGTERM arrives, and closes the server (1001).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import signal
import sys
import traceback
from typing import Any

#: Parameters a server role must accept (by name, or through ``**options``) to join a fleet.
FLEET_PARAMS = ("backplane", "instance_id", "channel_prefix")


def _report(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def _accepted(start: Any, options: dict[str, Any]) -> str | None:
    """Why ``start`` cannot take ``options`` (the fleet's parameters), or None."""
    try:
        params = inspect.signature(start).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    missing = [name for name in options if name not in params]
    if missing:
        return (f"the server role {getattr(start, '__qualname__', start)!r} takes no "
                f"{', '.join(repr(m) for m in missing)} parameter(s): a fleet instance is "
                "started as server(host, port, users, backplane=URL, instance_id=..., "
                "channel_prefix=...)")
    return None


def _import(entry: str) -> Any:
    """``module:attr`` (kept light: an instance imports nothing of netra-diag's core)."""
    import importlib

    module_name, _, attr_path = entry.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    return obj


def _setup(hooks: str | None) -> bool:
    """Run the hooks file's ``setup()`` before the server role is imported; False (reported
    to the parent) when the file cannot be imported or ``setup()`` raises."""
    if not hooks:
        return True
    from pathlib import Path

    from .errors import SetupError
    from .hooks import prepare

    try:
        prepare(Path(hooks))
    except SetupError as exc:
        _report({"error": f"the hooks file's set-up failed: {exc}",
                 "detail": "".join(traceback.format_exception(exc.__cause__ or exc))})
        return False
    return True


async def _serve(job: dict[str, Any]) -> int:
    try:
        start = _import(job["role"])
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        _report({"error": f"cannot import the server role {job['role']}: {exc}",
                 "detail": traceback.format_exc()})
        return 1
    options = {k: v for k, v in job.get("options", {}).items() if v is not None}
    problem = _accepted(start, options)
    if problem:
        _report({"error": problem})
        return 1
    try:
        server = await start(host=job["host"], port=job["port"], users=job["users"],
                             **options)
    except Exception as exc:  # noqa: BLE001 - the target's own start-up crashed
        _report({"error": f"{type(exc).__name__}: {exc}", "detail": traceback.format_exc(),
                 "crashed": True})
        return 1
    url = getattr(server, "url", None)
    if not isinstance(url, str):
        port = getattr(server, "port", None)
        url = f"ws://{job['host']}:{port}{job.get('path', '/ws')}"
    _report({"url": url})
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    reader = asyncio.create_task(asyncio.to_thread(sys.stdin.buffer.read))
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait({reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    close = getattr(server, "close", None) or getattr(server, "aclose", None)
    if close is not None:
        result = close()
        if inspect.isawaitable(result):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(result, 5.0)
    return 0


def main() -> None:
    line = sys.stdin.buffer.readline()
    try:
        job = json.loads(line)
    except ValueError:
        job = None
    if not isinstance(job, dict) or not {"root", "role", "host", "port", "users"} <= set(job):
        _report({"error": "no job on standard input (this module is started by "
                 "netra_diag.fleet.start_fleet)"})
        sys.exit(2)
    sys.path.insert(0, job["root"])
    code = asyncio.run(_serve(job)) if _setup(job.get("hooks")) else 1
    sys.stdout.flush()
    # the stdin reader thread may still block: leave without waiting for it
    import os

    os._exit(code)


if __name__ == "__main__":
    main()
