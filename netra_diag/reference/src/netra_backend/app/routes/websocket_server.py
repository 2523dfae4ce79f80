"""The WebSocket endpoint (``websockets.asyncio.server``): the only module importing websockets.

Wire protocol (one JSON object per text frame; compact JSON from the server)
---------------------------------------------------------------------------

Endpoint ``ws://127.0.0.1:PORT/ws`` (any other path: HTTP 404). Limits: incoming frames up
to ``MAX_FRAME_BYTES`` (64 KiB; larger ones are refused and the connection closed with 1009),
keepalive pings every 20 s (closed if no pong within 20 s), no compression.

1. **Auth.** Either an ``Authorization: Bearer <token>`` header on the handshake, or, when
   that header is absent, a first text frame ``{"type":"auth","token":"<token>"}`` within
   ``AUTH_TIMEOUT_S`` (5 s). A bad or missing token, or more than one ``Authorization``
   header, closes the connection with 1008 (policy violation) and a reason that never
   contains the token: ``invalid credentials``, ``authentication required`` or
   ``authentication timeout`` (each counted in ``auth_failures``). On success the server sends
   ``{"type":"auth_ok","user_id":"<user>"}``. Failed authentication is slowed down per
   client address (``AuthThrottle``): after 5 failures within 60 s, each further attempt
   from that address waits 0.25 s, doubled per further failure up to 4 s, before its token
   is checked (counted in ``auth_throttled``); a success clears the address. One connection
   gets one attempt: a failure closes it.
2. **Runs.** The client sends ``{"type":"start_agent","request_id":"r1","thread_id":"t1",
   "message":"hello","agent":"demo"}`` (``agent`` defaults to ``demo``; a ``user_id`` field,
   if present, must name the authenticated user or the reply is an ``error`` with code
   ``forbidden`` and nothing runs). The server builds a ``UserExecutionContext`` for the
   authenticated user, registers this connection with that user's manager
   (``create_websocket_manager(ctx).add_connection``), replies ``{"type":"run_accepted",
   "request_id":"r1","thread_id":"t1","run_id":"run_..."}``, then wires the run through
   ``netra_backend.app.dependencies.get_supervisor(ctx)`` (looked up at call time) and runs
   the agent. The agent's events reach the client through the pipeline (emitter -> per-user
   manager -> hub -> this connection), never written by this module: ``{"type":
   "agent_started"|"agent_thinking"|"tool_executing"|"tool_completed"|"agent_completed",
   "user_id","thread_id","run_id","seq":1..5,"timestamp":<float>,"data":{...}}``.
   When the agent returns the server sends ``{"type":"run_finished","request_id",
   "thread_id","run_id"}``; if the wiring or the run raises (or exceeds ``run_timeout``,
   30 s) it sends ``{"type":"error","code":"run_failed","request_id","thread_id","run_id",
   "message":"<ExcType>: <msg>"}``. Either way the connection stays usable. Up to
   ``MAX_RUNS_PER_CONNECTION`` (8) runs may be in flight per connection; more get
   ``too_many_runs``.
3. **Clock.** ``{"type":"time","request_id":"c1"}`` (``request_id`` optional) is answered
   with ``{"type":"time","server_time":<float>,"request_id":"c1"}``: the server's clock in
   seconds since the epoch, read when the reply is queued. A client on another host times the
   round trip and estimates the offset between the clocks (NTP's midpoint rule) before
   comparing event timestamps with its own receipt times. The reply goes through the same
   outgoing queue as events, so it also tells a client that every frame queued before it
   has arrived.
4. **Errors** keep the connection open: ``{"type":"error","code":C,"message":"..."}`` plus
   ``request_id`` when known, with ``C`` one of ``bad_json`` (not JSON, not an object, or a
   binary frame), ``unknown_type``, ``bad_request`` (missing/invalid fields, or a second
   ``auth``), ``forbidden``, ``too_many_runs``, ``run_failed``.
5. **Back-pressure.** One writer per connection: an event is written straight through when
   nothing is queued or being written and the socket's buffer has room; otherwise it goes
   through a bounded queue (``QUEUE_MAXSIZE``, 1024 frames) drained by one task, so a slow
   reader never blocks a run. A client that lets the queue fill is a slow consumer: its
   pending frames are dropped and the connection is closed with 1013 (try again later).
   Drops are counted in ``RunningServer.stats()``, never silent.
6. **Subscribe.** ``{"type":"subscribe","request_id":"s1","thread_id":"t1"}`` registers
   this connection for the authenticated user's events without starting a run (a socket
   that only watches), answered by ``{"type":"subscribed","request_id":"s1",
   "thread_id":"t1"}`` once it is registered. With a backplane (``start_server(backplane=
   "redis://...", instance_id=..., channel_prefix=...)``, several instances sharing one
   Redis), the user's events reach it whichever instance runs the agent: see
   ``websocket_core.backplane``.
7. **Lifecycle.** However a connection ends (close, error, abort, server shutdown), its runs
   are cancelled and it leaves the hub in a ``finally:``. ``RunningServer.close()`` closes
   open connections with 1001 (going away).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Mapping
from dataclasses import fields, replace
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.protocol import State

from netra_backend.app.routes.options import (
    AUTH_TIMEOUT_S,
    DEFAULT_USERS,
    MAX_FRAME_BYTES,
    MAX_RUNS_PER_CONNECTION,
    PATH,
    ServerOptions,
    _Counters,
)
from netra_backend.app.routes.protocol import (
    AuthThrottle,
    ProtocolError,
    StartAgent,
    TokenTable,
    auth_ok,
    bearer_token,
    error_frame,
    parse_auth,
    parse_frame,
    parse_start_agent,
    parse_subscribe,
    run_accepted,
    run_finished,
    subscribed,
    time_reply,
)
from netra_backend.app.routes.running import RunningServer
from netra_backend.app.services.user_execution_context import UserExecutionContext
from netra_backend.app.websocket_core.backplane import (
    configure_backplane,
    get_backplane,
)
from netra_backend.app.websocket_core.connection_hub import get_connection_hub
from netra_backend.app.websocket_core.events import encode
from netra_backend.app.websocket_core.outbound import (
    DeliveryStats,
    OutboundChannel,
)
from netra_backend.app.websocket_core.websocket_manager_factory import create_websocket_manager

__all__ = [
    "AUTH_TIMEOUT_S",
    "DEFAULT_USERS",
    "MAX_FRAME_BYTES",
    "MAX_RUNS_PER_CONNECTION",
    "PATH",
    "RunningServer",
    "ServerOptions",
    "start_server",
]

logger = logging.getLogger(__name__)

WIRING_MODULE = "netra_backend.app.dependencies"
_MAX_ERROR_CHARS = 1000
_FRAME_HEADER_BYTES = 14


class _Endpoint:
    """Per-server state and the connection handler."""

    def __init__(self, users: Mapping[str, str], options: ServerOptions) -> None:
        self.tokens = TokenTable(users)
        self.options = options
        self.throttle = AuthThrottle(free=options.auth_free_failures,
                                     base_delay_s=options.auth_base_delay,
                                     max_delay_s=options.auth_max_delay)
        self.delivery = DeliveryStats()
        self.counters = _Counters()
        self.live = 0
        self.changed = asyncio.Condition()

    def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path != self.options.path:
            return conn.respond(HTTPStatus.NOT_FOUND, "not found\n")
        return None

    async def handle(self, ws: ServerConnection) -> None:
        user_id = await self._authenticate(ws)
        if user_id is None:
            return
        channel = OutboundChannel(self.delivery, self.options.queue_maxsize)
        ready = (lambda text: _can_write_now(ws, text)) if self.options.write_through else None
        writer = asyncio.create_task(channel.run_writer(ws.send, ws.close, ready))
        runs: set[asyncio.Task[None]] = set()
        await self._count(+1)
        try:
            channel.offer(encode(auth_ok(user_id)))
            async for raw in ws:
                try:
                    await self._on_frame(raw, user_id, channel, runs)
                except ProtocolError as exc:
                    self.counters.protocol_errors += 1
                    channel.offer(encode(exc.frame()))
        except ConnectionClosed:
            pass
        finally:
            for task in runs:
                task.cancel()
            if runs:
                await asyncio.wait(runs, timeout=self.options.close_timeout)
            get_connection_hub().remove(user_id, channel)
            backplane = get_backplane()
            if backplane is not None:
                backplane.leave(channel)
            channel.close()
            done, _ = await asyncio.wait({writer}, timeout=self.options.close_timeout)
            if not done:
                writer.cancel()
            await self._count(-1)

    async def _authenticate(self, ws: ServerConnection) -> str | None:
        address = _address(ws)
        loop = asyncio.get_running_loop()
        delay = self.throttle.delay_for(address, loop.time())
        if delay > 0:  # failed too often lately: slow this attempt down before judging it
            self.counters.auth_throttled += 1
            await asyncio.sleep(delay)
        failures = self.counters.auth_failures
        user_id = await self._check_credentials(ws)
        if user_id is not None:
            self.throttle.succeeded(address)
        elif self.counters.auth_failures > failures:  # refused (not a client that left)
            self.throttle.failed(address, loop.time())
        return user_id

    async def _check_credentials(self, ws: ServerConnection) -> str | None:
        headers = ws.request.headers.get_all("Authorization") if ws.request else []
        if len(headers) > 1:  # ambiguous: which credentials count? Neither: a failed auth
            return await self._reject(ws, "invalid credentials")
        if headers:
            user_id = self.tokens.user_for(bearer_token(headers[0]))
            return user_id or await self._reject(ws, "invalid credentials")
        try:
            raw = await asyncio.wait_for(ws.recv(), self.options.auth_timeout)
        except TimeoutError:
            return await self._reject(ws, "authentication timeout")
        except ConnectionClosed:
            return None
        try:
            token = parse_auth(parse_frame(raw))
        except ProtocolError:
            return await self._reject(ws, "authentication required")
        return self.tokens.user_for(token) or await self._reject(ws, "invalid credentials")

    async def _reject(self, ws: ServerConnection, reason: str) -> None:
        self.counters.auth_failures += 1
        await ws.close(CloseCode.POLICY_VIOLATION, reason)
        return None

    async def _on_frame(
        self,
        raw: str | bytes,
        user_id: str,
        channel: OutboundChannel,
        runs: set[asyncio.Task[None]],
    ) -> None:
        frame = parse_frame(raw)
        kind = frame["type"]
        if kind == "auth":
            raise ProtocolError("bad_request", "already authenticated")
        if kind == "time":
            channel.offer(encode(time_reply(frame)))
            return
        if kind == "subscribe":
            ctx = parse_subscribe(frame, user_id).context_for(user_id)
            await create_websocket_manager(ctx).add_connection(channel)
            channel.offer(encode(subscribed(ctx)))
            return
        if kind != "start_agent":
            raise ProtocolError("unknown_type", f"unknown frame type {kind[:64]!r}")
        start = parse_start_agent(frame, user_id)
        if len(runs) >= self.options.max_runs:
            raise ProtocolError(
                "too_many_runs",
                f"at most {self.options.max_runs} runs may be in flight per connection",
                request_id=start.request_id,
            )
        ctx = start.context_for(user_id)
        await create_websocket_manager(ctx).add_connection(channel)
        channel.offer(encode(run_accepted(ctx)))
        task = asyncio.create_task(self._run(ctx, start, channel))
        runs.add(task)
        task.add_done_callback(runs.discard)

    async def _run(
        self, ctx: UserExecutionContext, start: StartAgent, channel: OutboundChannel
    ) -> None:
        self.counters.runs_started += 1
        try:
            async with asyncio.timeout(self.options.run_timeout):
                dependencies = importlib.import_module(WIRING_MODULE)
                supervisor = await dependencies.get_supervisor(ctx)
                await supervisor.run(start.message, agent_name=start.agent)
        except Exception as exc:  # the run's failure is reported to its client, not raised
            self.counters.runs_failed += 1
            logger.warning("run %s failed", ctx.run_id, exc_info=True)
            message = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS]
            channel.offer(
                encode(
                    error_frame(
                        "run_failed",
                        message,
                        request_id=ctx.request_id,
                        thread_id=ctx.thread_id,
                        run_id=ctx.run_id,
                    )
                )
            )
        else:
            self.counters.runs_finished += 1
            channel.offer(encode(run_finished(ctx)))

    async def _count(self, delta: int) -> None:
        async with self.changed:
            self.live += delta
            self.changed.notify_all()


def _can_write_now(ws: ServerConnection, text: str) -> bool:
    """True when ``ws.send(text)`` completes without waiting: the connection is open and the
    frame fits under the transport's high-water mark, so websockets writes it at once and its
    drain does not wait (the channel's write-through rule)."""
    transport = ws.transport
    if ws.state is not State.OPEN or transport is None or transport.is_closing():
        return False
    _, high = transport.get_write_buffer_limits()
    size = len(text) if text.isascii() else 4 * len(text)  # UTF-8 bytes, at most
    return transport.get_write_buffer_size() + size + _FRAME_HEADER_BYTES <= high


def _address(ws: ServerConnection) -> str:
    """The client's address (host only: a new port per connection must not reset it)."""
    peer = ws.remote_address
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


async def start_server(
    host: str = "127.0.0.1",
    port: int = 0,
    users: Mapping[str, str] | None = None,
    **options: Any,
) -> RunningServer:
    """Start the endpoint; ``users`` maps user id -> bearer token; ``options`` are the
    ``ServerOptions`` fields. Returns once it is listening (``port=0`` picks a free port)."""
    known = {f.name for f in fields(ServerOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown server options {unknown}; known: {sorted(known)}")
    opts = replace(ServerOptions(), **options)
    endpoint = _Endpoint(DEFAULT_USERS if users is None else users, opts)
    server = await serve(
        endpoint.handle,
        host,
        port,
        process_request=endpoint.process_request,
        compression=None,
        max_size=opts.max_size,
        ping_interval=opts.ping_interval,
        ping_timeout=opts.ping_timeout,
        close_timeout=opts.close_timeout,
    )
    if opts.backplane is not None:
        try:
            await configure_backplane(opts.backplane, opts.instance_id, opts.channel_prefix)
        except BaseException:
            server.close()
            await server.wait_closed()
            raise
    bound_port = server.sockets[0].getsockname()[1]
    return RunningServer(server, endpoint, host, bound_port)
