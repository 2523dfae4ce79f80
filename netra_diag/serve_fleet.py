"""``netra-diag serve --instances N --backplane URL``: the reference as a fleet.

N instances of the reference's ``server`` role, each its own process on its own port, all
sharing the Redis pub/sub backplane at URL (``netra_diag.fleet``). It prints every URL and a
``probe`` command that runs the fleet checks across them, then serves until Ctrl-C or
SIGTERM, when every instance closes its connections with 1001 and exits. An instance that
cannot start (the backplane does not answer, a port is taken) is a ``ConfigError`` (exit 4).
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
from pathlib import Path
from typing import IO, Any

from .errors import ConfigError
from .exitcodes import ExitCode
from .redaction import public_url

__all__ = ["serve_fleet"]


def serve_fleet(request: Any, users: dict[str, str], generated: dict[str, str] | None,
                out: IO[str], err: IO[str]) -> ExitCode:
    from .fleet import check_backplane_url
    from .target import open_target

    url = check_backplane_url(request.backplane)
    with tempfile.TemporaryDirectory(prefix="netra-diag-serve-") as empty:
        target = open_target(None, inject=request.inject, scenario=request.scenario,
                             cwd=Path(empty))
    with target:
        label = "faults: " + ", ".join(target.faults) if target.faults else "healthy"
        asyncio.run(_serve(target, request, url, users, generated, label, out, err))
    return ExitCode.OK


async def _serve(target: Any, request: Any, url: str, users: dict[str, str],
                 generated: dict[str, str] | None, label: str, out: IO[str],
                 err: IO[str]) -> None:
    from .fleet import FleetError, start_fleet

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    ports = [request.port + i for i in range(request.instances)] if request.port else []
    try:
        try:
            fleet = await start_fleet(target.profile.root, target.profile.roles["server"],
                                      request.instances, users, url, host=request.host,
                                      ports=ports, prefix="netra:",
                                      hooks=target.profile.hooks)
        except FleetError as exc:
            shown = str(exc).replace(url, public_url(url))
            detail = exc.detail.replace(url, public_url(url)).strip().splitlines()
            raise ConfigError(f"{shown}{': ' + detail[-1] if detail else ''}") from None
        _banner(out, fleet.urls, url, label, users, generated)
        try:
            await stop.wait()
        finally:
            await fleet.close()
            print(f"netra-diag serve: stopped {len(fleet.urls)} instance(s); open "
                  "connections were closed with 1001", file=err, flush=True)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _banner(out: IO[str], urls: list[str], backplane: str, label: str,
            users: dict[str, str], generated: dict[str, str] | None) -> None:
    lines = [f"netra-diag serve: reference pipeline ({label}), {len(urls)} instance(s) "
             f"sharing the backplane {public_url(backplane)}"]
    lines += [f"  instance {chr(ord('A') + i)}: {u}" for i, u in enumerate(urls)]
    both = " ".join(urls)
    if generated:
        lines += [f"  user: {name}  token: {token}" for name, token in generated.items()]
        (_, t1), (second, t2) = list(generated.items())[:2]
        probe = (f"NETRA_TOKEN={t1} NETRA_TOKEN_2={t2} netra-diag probe {both} "
                 f"--token-env NETRA_TOKEN --user-token-env {second}=NETRA_TOKEN_2")
    else:
        lines.append(f"  users: {', '.join(users)}  (tokens as given with --user-env or "
                     "--user)")
        probe = (f"NETRA_TOKEN=<token> netra-diag probe {both} --token-env NETRA_TOKEN "
                 "[--user-token-env OTHER=VAR, for backplane-isolation]")
    lines += [
        '  a socket that only watches: {"type":"subscribe","request_id":"s1","thread_id":"t1"}'
        ' (answered by "subscribed"); runs as for one instance',
        f"  probe the fleet: {probe}",
        "  stop: Ctrl-C or SIGTERM (every instance closes its connections with 1001)",
    ]
    print("\n".join(lines), file=out, flush=True)
