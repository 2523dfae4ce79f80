"""``netra-diag probe URL``: the end-to-end checks against a live WebSocket endpoint.

A probe is an ordinary run (the same runner, statuses, reporters and exit codes as ``run``)
whose target is a **live endpoint** instead of a source tree: a profile with no roles, an
empty source root, and ``ctx.endpoint`` (``context.LiveEndpoint``: the URL, the fleet's
URLs, ``token_envs`` {label: VAR}) in every check. It runs the checks tagged ``wire``
(``event-flow``, ``user-isolation``, ``event-latency``, and any plugin that declares the
tag); a wire check talks to ``ctx.endpoint`` when it is set instead of starting the
target's ``server`` role.

Keeping the token secret (rules this module owns):

* the token reaches the check interpreters only through their **environment**: the endpoint
  names the variable (``--token-env VAR`` is passed through as is; a ``--token`` value is put in
  ``NETRA_DIAG_PROBE_TOKEN`` for the duration of the run and removed after), so it is never
  written to a job file or the run JSON;
* every output (the terminal, every ``--format``/``--report`` file, the recorded command
  line) is rendered from a report with the tokens redacted (``outputs.write_outputs``), and
  the checks redact what a server might echo back;
* error messages name options and variables, never values.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .context import LiveEndpoint
from .errors import ConfigError
from .exitcodes import ExitCode
from .profile import Profile
from .redaction import public_url, redact, url_secrets
from .target import Target

__all__ = ["PRIVATE_TOKEN_ENV", "WIRE_TAG", "LiveTarget", "ProbeRequest", "probe"]

WIRE_TAG = "wire"
FLEET_TAG = "fleet"  # the fleet checks: selected when two URLs or more are probed
PRIVATE_TOKEN_ENV = "NETRA_DIAG_PROBE_TOKEN"
MAIN_LABEL = "token"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class ProbeRequest:
    """The parsed options of ``netra-diag probe``."""

    url: str
    token: str | None = None
    token_env: str | None = None
    user_token_envs: Sequence[str] = ()  # NAME=VAR
    profile: Path | None = None
    latency_budget_ms: float | None = None
    format: str = "rich"
    output: Path | None = None
    reports: Sequence[str] = ()
    only: Sequence[str] = ()
    skip: Sequence[str] = ()
    jobs: int | None = None
    timeout: float = 30.0
    checks_dirs: Sequence[Path] = ()
    command: tuple[str, ...] = ()
    verbosity: int = 0  # -q / -v, as for run
    color: str = "auto"
    #: every URL given (two or more: the instances of one fleet); ``url`` is the first
    fleet: Sequence[str] = ()


@dataclass
class LiveTarget(Target):
    """A live endpoint as a run's target (``close()`` removes its empty source root)."""

    url: str = ""

    def describe(self) -> dict[str, Any]:
        return {"name": f"live endpoint {self.url}", "url": self.url, "root": None,
                "profile": self.profile.source, "builtin": False, "probe": True,
                "scenario": None, "faults": []}


def probe(request: ProbeRequest) -> ExitCode:
    """Run the wire checks against ``request.url`` and write the outputs; the exit code."""
    from .session import RunRequest, execute_run

    fleet = [check_url(u) for u in _fleet_urls(request)]
    url = fleet[0]
    token_envs, secrets, private = _tokens(request)
    for each in fleet:
        secrets += url_secrets(each)  # credentials in the URLs are secrets too
    tags = (WIRE_TAG, FLEET_TAG) if len(fleet) > 1 else (WIRE_TAG,)
    _check_selection(request, tags)
    with _private_env(private):
        target = live_target(url, request.profile, request.latency_budget_ms)
        try:
            run = RunRequest(
                format=request.format, output=request.output, reports=request.reports,
                only=request.only, skip=request.skip, jobs=request.jobs,
                timeout=request.timeout, checks_dirs=request.checks_dirs,
                command=tuple(redact(arg, secrets, min_len=1) for arg in request.command),
                endpoint=LiveEndpoint(url, token_envs, tuple(fleet) if len(fleet) > 1 else ()),
                secrets=tuple(secrets), target=target, tags=tags,
                verbosity=request.verbosity, color=request.color,
            )
            return execute_run(run)
        finally:
            target.close()


def _fleet_urls(request: ProbeRequest) -> list[str]:
    """The URLs to probe: those given, else the profile's ``fleet:`` list; one at least."""
    urls = [u for u in (request.fleet or ([request.url] if request.url else []))]
    if not urls and request.profile is not None:
        from .profile import load_profile

        urls = list(load_profile(request.profile).fleet)
    if not urls:
        raise ConfigError("probe needs a URL: netra-diag probe ws://HOST:PORT/ws (two or more "
                          "for a fleet), or a profile with a fleet: list (--profile FILE)")
    if len(set(urls)) != len(urls):
        raise ConfigError("probe: the same URL is given twice; a fleet's instances each have "
                          "their own address")
    return urls


def check_url(url: str) -> str:
    """A ``ws://`` or ``wss://`` URL with a host; ``ConfigError`` otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"probe needs a ws:// or wss:// URL with a host, e.g. "
                          f"ws://127.0.0.1:8765/ws (got {public_url(url)!r})")
    try:
        _ = parts.port
    except ValueError:
        raise ConfigError(f"the port of {public_url(url)!r} is not a number from 0 to "
                          "65535") from None
    return url.strip()


def _tokens(request: ProbeRequest) -> tuple[dict[str, str], list[str], str | None]:
    """Label -> variable name for every user; the token values (to redact); and the
    ``--token`` value that must be placed in the private variable, if any."""
    env = os.environ
    if request.token is not None and request.token_env is not None:
        raise ConfigError("give the token once: --token-env VAR (preferred) or --token")
    envs: dict[str, str] = {}
    private = None
    if request.token is not None:
        if not request.token.strip():
            raise ConfigError("--token is empty")
        envs[MAIN_LABEL] = PRIVATE_TOKEN_ENV
        private = request.token
    elif request.token_env is not None:
        envs[MAIN_LABEL] = _env_var(request.token_env, "--token-env", env)
    for value in request.user_token_envs:
        name, sep, var = value.partition("=")
        name = name.strip()
        if not sep or not name or not var.strip():
            raise ConfigError(f"--user-token-env takes NAME=VAR (got {value!r})")
        if name in envs:
            raise ConfigError(f"--user-token-env: the user {name!r} is given twice")
        envs[name] = _env_var(var.strip(), f"--user-token-env {name}", env)
    if not envs:
        raise ConfigError("probe needs a token: --token-env VAR names an environment variable "
                          "holding it (or --token TOKEN, visible to other local users)")
    secrets = [private] if private else []
    secrets += [env[var] for var in envs.values() if var != PRIVATE_TOKEN_ENV]
    return envs, secrets, private


def _env_var(var: str, option: str, env: Any) -> str:
    if not _ENV_NAME.match(var):
        raise ConfigError(f"{option}: {var!r} is not an environment variable name")
    if not env.get(var, "").strip():
        raise ConfigError(f"{option}: the environment variable {var} is not set or is empty; "
                          f"export {var}=<token> first")
    return var


def _check_selection(request: ProbeRequest, tags: tuple[str, ...] = (WIRE_TAG,)) -> None:
    """``--only`` must name wire checks, or fleet checks when a fleet is probed (an unknown
    id is reported by the run itself)."""
    if not request.only:
        return
    from .checkset import build_registry

    registry = build_registry(list(request.checks_dirs))
    wire = [s.id for s in registry.specs if set(tags) & set(s.tags)]
    from .selection import split_list

    other = [c for c in split_list(request.only) if c in registry and c not in wire]
    if other:
        fleet_only = [c for c in other if FLEET_TAG in registry.get(c).tags]
        hint = (" (the fleet checks need two URLs or more: probe URL1 URL2 ...)"
                if fleet_only else "")
        raise ConfigError(f"{', '.join(other)} cannot run against a live endpoint{hint}: "
                          f"probe runs the checks tagged {' or '.join(repr(t) for t in tags)} "
                          f"({', '.join(wire)}); use `netra-diag run` for the others")


def live_target(url: str, profile_path: Path | None, latency_budget_ms: float | None
                ) -> LiveTarget:
    """The probe's target: a profile with no roles and an empty source root."""
    tmp = tempfile.TemporaryDirectory(prefix="netra-diag-probe-")
    try:
        root = Path(tmp.name)
        if profile_path is not None:  # its events and budgets; its roles do not apply
            from .profile import load_profile

            base = load_profile(profile_path)
            profile = replace(base, roles={}, root=root, build={}, deprecated=(),
                              backplane={}, fleet=(),
                              source=f"{base.source} (events and budgets) at {url}")
        else:
            profile = Profile(name="live-endpoint", root=root, source=f"probe of {url}")
        if latency_budget_ms is not None:
            from .limits import finite_positive

            budget = finite_positive(latency_budget_ms, "--latency-budget-ms",
                                     maximum=3_600_000.0)
            profile = replace(profile, budgets={**profile.budgets, "event_latency_ms": budget})
    except BaseException:
        tmp.cleanup()
        raise
    return LiveTarget(profile=profile, builtin=False, url=public_url(url), _tmp=tmp)


@contextlib.contextmanager
def _private_env(token: str | None) -> Iterator[None]:
    """Put a ``--token`` value where the check interpreters (and only the environment) can
    read it, for the duration of the run."""
    env = os.environ
    if token is None:
        yield
        return
    previous = env.get(PRIVATE_TOKEN_ENV)
    env[PRIVATE_TOKEN_ENV] = token
    try:
        yield
    finally:
        if previous is None:
            env.pop(PRIVATE_TOKEN_ENV, None)
        else:
            env[PRIVATE_TOKEN_ENV] = previous
