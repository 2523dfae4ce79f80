"""``netra-diag serve``: run the reference pipeline's WebSocket endpoint until stopped.

It serves a private copy of the embedded reference (faults applied when asked, exactly as
``run --inject`` diagnoses it), importing the copy's ``server`` role in this process with
the copy first on ``sys.path``. It prints where it listens and how to authenticate, then
serves until Ctrl-C or SIGTERM, when it closes every connection with 1001 (going away) and
exits 0. Bad options (a malformed ``--user``, an unknown fault, an address it cannot bind)
are a ``ConfigError``: the CLI prints it and exits 4, before anything listens.

Tokens given with ``--user-env NAME=VAR`` (read from the environment variable ``VAR``: the
recommended way, since a command line is visible to every local user in ``ps``) or
``--user NAME=TOKEN`` are never printed (they are the caller's); demo users generated
because none was given have their tokens printed once, so they can be used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import signal
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import ConfigError
from .exitcodes import ExitCode

__all__ = ["DEMO_USERS", "ServeRequest", "parse_users", "serve"]

DEMO_USERS = ("demo", "demo2")  # two, so a probe of the demo server can judge isolation
#: How long shutdown may take (closing handshakes, cancelling runs) before it gives up.
CLOSE_TIMEOUT_S = 10.0
_PACKAGE = "netra_backend"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class ServeRequest:
    """The parsed options of ``netra-diag serve``."""

    host: str = "127.0.0.1"
    port: int = 0
    users: Sequence[str] = ()  # NAME=TOKEN
    inject: tuple[str, ...] = ()
    scenario: str | None = None
    user_envs: Sequence[str] = ()  # NAME=VAR: the token is read from the variable VAR
    #: a fleet: this many instances (each its own process, ports ``port``, ``port+1``...
    #: or free ones) sharing the Redis backplane at ``backplane``
    instances: int = 1
    backplane: str | None = None


def parse_users(values: Sequence[str], user_envs: Sequence[str] = (),
                environ: Mapping[str, str] | None = None
                ) -> tuple[dict[str, str], dict[str, str] | None]:
    """``--user NAME=TOKEN`` and ``--user-env NAME=VAR`` options as a user table; with
    none, two demo users with new tokens (also returned second, so they can be shown).
    ``ConfigError`` names the bad option (and the variable), never the token."""
    env = os.environ if environ is None else environ
    given: list[tuple[str, str, str]] = []  # (option, name, token)
    for index, value in enumerate(values, 1):
        name, sep, token = value.partition("=")
        if not sep or not name.strip() or not token.strip():
            raise ConfigError(f"--user takes NAME=TOKEN with a non-empty name and token "
                              f"(option {index} is malformed)")
        given.append(("--user", name.strip(), token))
    for index, value in enumerate(user_envs, 1):
        name, sep, var = value.partition("=")
        var = var.strip()
        if not sep or not name.strip() or not var:
            raise ConfigError(f"--user-env takes NAME=VAR, the user's name and the environment "
                              f"variable holding its token (option {index} is malformed)")
        if not _ENV_NAME.match(var):
            raise ConfigError(f"--user-env {name.strip()}: {var!r} is not an environment "
                              "variable name")
        token = env.get(var, "")
        if not token.strip():
            raise ConfigError(f"--user-env {name.strip()}: the environment variable {var} is "
                              f"not set or is empty; export {var}=<token> first")
        given.append(("--user-env", name.strip(), token))
    users: dict[str, str] = {}
    tokens: set[str] = set()
    for option, name, token in given:
        if any(ch.isspace() for ch in name):
            raise ConfigError(f"{option}: the user name {name!r} contains white space")
        if name in users:
            raise ConfigError(f"{option}: user {name!r} is given twice")
        if token in tokens:
            raise ConfigError(f"{option}: user {name!r} reuses another user's token; every "
                              "user needs its own")
        users[name] = token
        tokens.add(token)
    if users:
        return users, None
    generated = {name: secrets.token_urlsafe(18) for name in DEMO_USERS}
    return dict(generated), generated


def serve(request: ServeRequest, *, out: IO[str] | None = None,
          err: IO[str] | None = None) -> ExitCode:
    """Serve until Ctrl-C or SIGTERM (see the module docstring); returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    if not 0 <= request.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535 (got {request.port})")
    if not request.host.strip():
        raise ConfigError("--host must not be empty")
    users, generated = parse_users(request.users, request.user_envs)
    if request.instances < 1 or request.instances > 16:
        raise ConfigError(f"--instances must be between 1 and 16 (got {request.instances})")
    if request.instances > 1 and request.backplane is None:
        raise ConfigError("several instances share events through a backplane: give "
                          "--backplane redis://HOST:PORT (see the README's Fleet section)")
    if request.backplane is not None:
        from .serve_fleet import serve_fleet

        return serve_fleet(request, users, generated, out, err)
    from .context import import_string
    from .target import open_target

    with tempfile.TemporaryDirectory(prefix="netra-diag-serve-") as empty:
        # cwd=empty: serve the embedded reference, never a ./netra-diag.yaml found here
        target = open_target(None, inject=request.inject, scenario=request.scenario,
                             cwd=Path(empty))
    with target, _imported_from(target.profile.root):
        start = import_string(target.profile.roles["server"], root=target.profile.root,
                              what="the reference's 'server' role")
        _configure_logging(err)
        label = "faults: " + ", ".join(target.faults) if target.faults else "healthy"
        asyncio.run(_serve(start, request, users, generated, label, out, err))
    return ExitCode.OK


async def _serve(start: Any, request: ServeRequest, users: dict[str, str],
                 generated: dict[str, str] | None, label: str, out: IO[str],
                 err: IO[str]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    try:
        try:
            server = await start(host=request.host, port=request.port, users=users)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {request.host}:{request.port}: "
                              f"{exc.strerror or exc}") from None
        except ValueError as exc:  # the server's own validation of the user table
            raise ConfigError(f"--user: {exc}") from None
        _banner(out, server.url, label, users, generated)
        try:
            await stop.wait()
        finally:
            open_now = server.connection_count()
            try:
                await asyncio.wait_for(server.close(), CLOSE_TIMEOUT_S)
            except TimeoutError:
                print(f"netra-diag serve: shutdown took over {CLOSE_TIMEOUT_S:g} s; "
                      "exiting anyway", file=err)
            stats = server.stats()
            print(f"netra-diag serve: stopped; {open_now} open connection(s) closed with 1001; "
                  f"runs {stats.get('runs_finished', 0)} finished, "
                  f"{stats.get('runs_failed', 0)} failed; frames sent "
                  f"{stats.get('frames_sent', 0)}, dropped {stats.get('frames_dropped', 0)}; "
                  f"auth failures {stats.get('auth_failures', 0)} "
                  f"({stats.get('auth_throttled', 0)} slowed down)", file=err, flush=True)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _banner(out: IO[str], url: str, label: str, users: dict[str, str],
            generated: dict[str, str] | None) -> None:
    lines = [f"netra-diag serve: reference pipeline ({label}) listening on {url}"]
    if generated:
        lines += [f"  user: {name}  token: {token}" for name, token in generated.items()]
        lines.append("  (generated demo users; pass --user-env NAME=VAR to choose, the token "
                     "read from $VAR)")
        first, second = list(generated.items())[:2]
        probe = (f"NETRA_TOKEN={first[1]} NETRA_TOKEN_2={second[1]} netra-diag probe {url} "
                 f"--token-env NETRA_TOKEN --user-token-env {second[0]}=NETRA_TOKEN_2")
    else:
        lines.append(f"  users: {', '.join(users)}  (tokens as given with --user-env or "
                     "--user)")
        probe = (f"NETRA_TOKEN=<token> netra-diag probe {url} --token-env NETRA_TOKEN "
                 "[--user-token-env OTHER=VAR, for user-isolation]")
    lines += [
        '  authenticate: header "Authorization: Bearer <token>", or a first text frame '
        '{"type":"auth","token":"<token>"}',
        '  then send: {"type":"start_agent","request_id":"r1","thread_id":"t1",'
        '"message":"hello"}',
        f"  probe it: {probe}",
        "  stop: Ctrl-C or SIGTERM (open connections are closed with 1001)",
    ]
    print("\n".join(lines), file=out, flush=True)


def _configure_logging(err: IO[str]) -> None:
    """Warnings of the served pipeline (failed runs, slow consumers) go to stderr."""
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("netra-diag serve: %(levelname)s %(name)s: "
                                           "%(message)s"))
    logger = logging.getLogger(_PACKAGE)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING)
    logger.propagate = False


@contextlib.contextmanager
def _imported_from(root: Path) -> Iterator[None]:
    """Import the target package from ``root`` only, and forget it afterwards (anything
    imported under that name before is put back)."""
    def ours(name: str) -> bool:
        return name == _PACKAGE or name.startswith(_PACKAGE + ".")

    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in saved:
        del sys.modules[name]
    entry = str(root)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)
        for name in [n for n in sys.modules if ours(n)]:
            del sys.modules[name]
        sys.modules.update(saved)
