"""The endpoint's tunables (``start_server(**options)``) and counters; see ``websocket_server``."""

from __future__ import annotations

from dataclasses import dataclass

from netra_backend.app.websocket_core.outbound import QUEUE_MAXSIZE

__all__ = ["AUTH_TIMEOUT_S", "DEFAULT_USERS", "MAX_FRAME_BYTES", "MAX_RUNS_PER_CONNECTION",
           "PATH", "ServerOptions"]

PATH = "/ws"
AUTH_TIMEOUT_S = 5.0
MAX_FRAME_BYTES = 64 * 1024
MAX_RUNS_PER_CONNECTION = 8
#: Used when ``start_server`` gets no ``users`` (development only; binds to loopback).
DEFAULT_USERS: dict[str, str] = {"demo-user": "demo-token"}


@dataclass(frozen=True)
class ServerOptions:
    """Tunables accepted as ``start_server(**options)``."""

    path: str = PATH
    auth_timeout: float = AUTH_TIMEOUT_S
    max_size: int = MAX_FRAME_BYTES
    queue_maxsize: int = QUEUE_MAXSIZE
    max_runs: int = MAX_RUNS_PER_CONNECTION
    run_timeout: float = 30.0
    auth_free_failures: int = 5
    auth_base_delay: float = 0.25
    auth_max_delay: float = 4.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    close_timeout: float = 5.0
    #: Write a frame straight through when nothing waits (see ``outbound``); False queues
    #: every frame (the design before write-through, kept to measure against).
    write_through: bool = True
    #: A Redis URL shared by several instances (``websocket_core.backplane``); None: alone.
    backplane: str | None = None
    instance_id: str = "instance-1"
    channel_prefix: str = "netra:"


@dataclass
class _Counters:
    auth_failures: int = 0
    auth_throttled: int = 0
    protocol_errors: int = 0
    runs_started: int = 0
    runs_finished: int = 0
    runs_failed: int = 0
