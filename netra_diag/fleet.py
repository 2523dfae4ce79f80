"""A fleet: N instances of a target's ``server`` role, each its own process, one backplane.

Real chat backends run several instances behind a load balancer, sharing a Redis pub/sub
backplane. ``start_fleet`` starts ``count`` instances of the ``server`` role (``module:attr``,
imported from ``root``), each in a fresh interpreter (``python -m netra_diag.fleet_instance``)
so that they share nothing but the backplane: no module globals, no connection hub. Each
is started as ``server(host=..., port=0, users=..., backplane=URL, instance_id="instance-K",
channel_prefix=PREFIX)`` and reports the URL it listens on.

Rules this module owns:

* the user table (tokens) and the backplane URL (it may hold a password) reach an instance
  only on its standard input, never its command line;
* every wait is bounded: an instance that does not report within ``timeout`` seconds, or
  that exits first, is a ``FleetError`` carrying what it printed (a crashing server role is
  evidence about the target, so the error keeps its traceback);
* ``Fleet.close()`` closes every instance's standard input (each closes its server with 1001
  and exits), then terminates, then kills whatever is still running, each within bounds.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NetraDiagError

if TYPE_CHECKING:  # imported where a coroutine runs: `run` itself needs no event loop
    import asyncio

__all__ = ["Fleet", "FleetError", "new_channel_prefix", "start_fleet"]

#: How long an instance may take to close after its standard input closed.
CLOSE_TIMEOUT_S = 5.0
TAIL_BYTES = 8192


class FleetError(NetraDiagError):
    """An instance could not start; ``detail`` holds what it reported (a traceback...)."""

    def __init__(self, message: str, detail: str = "", *, target_crashed: bool = False,
                 report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.detail = detail
        self.target_crashed = target_crashed
        #: the instance's own report line (``{"error": ..., ...}``), when it printed one
        self.report = report or {}


def new_channel_prefix() -> str:
    """A fresh channel prefix, so fleets sharing one Redis never hear each other."""
    return f"netra-diag:{secrets.token_hex(6)}:"


@dataclass
class Fleet:
    """Running instances: their URLs (in order) and processes."""

    urls: list[str]
    prefix: str
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    #: the tail of each instance's standard error (drained, so logging never blocks it)
    stderr_tails: list[bytearray] = field(default_factory=list)
    _drains: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        import asyncio

        await asyncio.gather(*(_stop(p) for p in self.processes))
        await asyncio.gather(*self._drains, return_exceptions=True)

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def start_fleet(root: Path | str, role: str, count: int, users: Mapping[str, str],
                      backplane: str | None, *, prefix: str | None = None,
                      host: str = "127.0.0.1", ports: Sequence[int] = (),
                      timeout: float = 15.0, options: Mapping[str, Any] | None = None,
                      hooks: Path | str | None = None,
                      module: str = "netra_diag.fleet_instance",
                      extra: Mapping[str, Any] | None = None) -> Fleet:
    """Start ``count`` instances and return once every one listens (see the module rules).

    ``hooks`` is the profile's hooks file: each instance runs its ``setup()`` before it
    imports the server role, as every check interpreter does. ``module`` is the instance's
    program (``netra_diag.fleet_instance`` starts the ``server`` role; the fleet checks'
    in-process host takes the same job plus ``extra`` keys)."""
    import asyncio

    prefix = prefix or new_channel_prefix()
    fleet = Fleet(urls=[], prefix=prefix)
    try:
        for index in range(count):
            job = {**(extra or {}), "root": str(root), "role": role, "host": host,
                   "hooks": str(hooks) if hooks is not None else None,
                   "port": ports[index] if index < len(ports) else 0, "users": dict(users),
                   "options": {**(options or {}), "backplane": backplane,
                               "instance_id": f"instance-{index + 1}",
                               "channel_prefix": prefix}}
            if backplane is None:
                for key in ("backplane", "instance_id", "channel_prefix"):
                    job["options"].pop(key)
            process = await _spawn(job, module)
            tail = bytearray()
            fleet.processes.append(process)
            fleet.stderr_tails.append(tail)
            fleet._drains.append(asyncio.create_task(_drain(process, tail)))
        fleet.urls = list(await asyncio.wait_for(
            asyncio.gather(*(_ready(p, i + 1, fleet.stderr_tails[i])
                             for i, p in enumerate(fleet.processes))), timeout))
    except TimeoutError:
        await fleet.close()
        raise FleetError(f"the fleet's instances did not report within {timeout:g} s") from None
    except BaseException:
        await fleet.close()
        raise
    return fleet


async def _spawn(job: dict[str, Any], module: str) -> asyncio.subprocess.Process:
    import asyncio

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (job["root"], env.get("PYTHONPATH")) if p)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)
    assert process.stdin is not None
    process.stdin.write(json.dumps(job).encode() + b"\n")
    await process.stdin.drain()
    return process


async def _drain(process: asyncio.subprocess.Process, tail: bytearray) -> None:
    if process.stderr is None:
        return
    while chunk := await process.stderr.read(4096):
        tail.extend(chunk)
        del tail[:-TAIL_BYTES]


async def _ready(process: asyncio.subprocess.Process, number: int, tail: bytearray) -> str:
    import asyncio

    assert process.stdout is not None
    line = await process.stdout.readline()
    try:
        report = json.loads(line) if line.strip() else {}
    except ValueError:
        report = {}
    if isinstance(report, dict) and isinstance(report.get("url"), str):
        return report["url"]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), 2.0)
    detail = (report.get("detail") if isinstance(report, dict) else "") or tail.decode(
        "utf-8", "replace")
    message = report.get("error") if isinstance(report, dict) else None
    raise FleetError(f"instance {number} did not start: "
                     f"{message or 'it exited without reporting'}", detail.strip(),
                     target_crashed=bool(isinstance(report, dict) and report.get("crashed")),
                     report=report if isinstance(report, dict) else None)


async def _stop(process: asyncio.subprocess.Process) -> None:
    import asyncio

    if process.returncode is not None:
        return
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    for action in (None, process.terminate, process.kill):
        if action is not None:
            with contextlib.suppress(ProcessLookupError):
                action()
        try:
            await asyncio.wait_for(process.wait(), CLOSE_TIMEOUT_S)
            return
        except TimeoutError:
            continue


#: The variable through which ``run --backplane URL`` hands the URL to the check interpreters
#: (never through their job files: the URL may hold a password).
BACKPLANE_ENV = "NETRA_DIAG_BACKPLANE"
_SCHEMES = ("redis://", "rediss://", "unix://")


def check_backplane_url(url: str, option: str = "--backplane") -> str:
    """A Redis URL (``redis://``, ``rediss://``, ``unix://``); ``ConfigError`` otherwise."""
    from .errors import ConfigError

    url = url.strip()
    if not url.startswith(_SCHEMES):
        from .redaction import public_url

        shown = public_url(url)
        raise ConfigError(f"{option} takes a Redis URL, redis://HOST:PORT[/DB] (got {shown!r})")
    return url


def backplane_run_options(url: str | None, env: str | None
                          ) -> tuple[dict[str, Any], list[str], str | None]:
    """The runner options, secrets and private value for ``run --backplane[-env]``."""
    from urllib.parse import urlsplit

    from .errors import ConfigError

    if url is not None and env is not None:
        raise ConfigError("give the backplane once: --backplane URL or --backplane-env VAR")
    if env is not None:
        value = os.environ.get(env, "")
        if not value.strip():
            raise ConfigError(f"--backplane-env: the environment variable {env} is not set or "
                              f"is empty; export {env}=redis://HOST:PORT first")
        check_backplane_url(value, f"--backplane-env {env}")
        password = urlsplit(value.strip()).password
        return {"backplane_env": env}, [password] if password else [], None
    if url is None:
        return {}, [], None
    url = check_backplane_url(url)
    password = urlsplit(url).password
    return {"backplane_env": BACKPLANE_ENV}, [password] if password else [], url


@contextlib.contextmanager
def private_env(name: str, value: str | None) -> Any:
    """``os.environ[name] = value`` for the duration of a run (nothing when ``value`` is None)."""
    if value is None:
        yield
        return
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
