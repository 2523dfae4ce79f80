"""The Redis pub/sub backplane: a user's events reach that user's sockets on every instance.

Several instances of the server run behind a load balancer; a user's socket may be on
instance A while the agent run executes on instance B. Rules:

* Off by default: ``get_backplane()`` is ``None`` until ``configure_backplane(url, ...)``
  runs (``start_server(backplane=...)``), and a single process never imports ``redis``.
* **Channels are per user**: ``channel_for(ctx)`` is ``<prefix>user:<user_id>``. A channel
  keyed by anything coarser or shared between users (a thread id that two users both call
  ``main``) merges their events.
* **Rooms**: a local connection joins its user's channel when it is registered with the
  per-user manager (``join``) and leaves in the transport's ``finally:`` (``leave``).
* **Exactly once**: the instance running the agent delivers to its own connections
  directly (the hub), then ``publish``\\ es ``{"origin": instance_id, "event": ...}``; every
  instance's reader delivers a message to its local room members **unless it published it
  itself** (it already delivered those locally). Redis keeps the order of one publisher's
  messages, so a run's events keep their order everywhere.
* **One subscription**: each instance ``PSUBSCRIBE``\\ s ``<prefix>*`` once and filters by
  its rooms. When the subscriber connection drops, the reader reconnects with a bounded
  back-off and subscribes again before reading on. Redis pub/sub is at-most-once:
  what is published while an instance is disconnected is not replayed to it.
* **One publisher per instance**: ``publish`` never blocks the run; it puts the message on
  a bounded queue (``PUBLISH_QUEUE_MAXSIZE``) drained by one task over one connection, in
  pipelined batches, so the instance's messages reach Redis in the order they were
  published. A full queue drops the message (counted in ``publish_failures``).
* **Publishing is at-most-once too**: a batch whose write fails (the connection dropped) is
  logged, counted and dropped, never retried: after an ambiguous failure Redis may have
  relayed it already, and a retry would deliver it twice. The next batch connects again.
* Connections are named ``<prefix><instance_id>`` (``CLIENT SETNAME``), so an operator (or
  ``backplane-resilience``) can find and drop exactly this fleet's connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Backplane", "channel_for", "configure_backplane", "get_backplane",
           "shutdown_backplane"]

logger = logging.getLogger(__name__)

#: Seconds between reconnection attempts of the subscriber (doubling up to the cap).
RECONNECT_FIRST_S = 0.05
RECONNECT_CAP_S = 1.0
#: Messages waiting for the publisher task; beyond it, a message is dropped and counted.
PUBLISH_QUEUE_MAXSIZE = 10_000
#: At most this many messages per pipelined batch.
PUBLISH_BATCH = 256


def channel_for(prefix: str, user_id: str, thread_id: str) -> str:
    """The backplane channel of one user's events (``thread_id`` is not part of it)."""
    return f"{prefix}user:{user_id}"


class Backplane:
    """One instance's link to the shared Redis: a publisher, a reader and local rooms."""

    def __init__(self, url: str, instance_id: str, prefix: str,
                 deliver: Callable[[Any, str, dict[str, Any]], Awaitable[None]]) -> None:
        self.url = url
        self.instance_id = instance_id
        self.prefix = prefix
        self._deliver = deliver
        self._rooms: dict[str, list[Any]] = {}
        self._publisher: Any = None
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(PUBLISH_QUEUE_MAXSIZE)
        self._writer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.published = 0
        self.publish_failures = 0
        self.received = 0
        self.reconnects = 0

    def _client(self) -> Any:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        return aioredis.Redis.from_url(
            self.url, client_name=f"{self.prefix}{self.instance_id}",
            retry=Retry(NoBackoff(), 0), socket_connect_timeout=5, socket_timeout=None)

    async def start(self, timeout: float = 5.0) -> None:
        """Connect, subscribe, and return once the subscription is confirmed."""
        self._publisher = self._client()
        await asyncio.wait_for(self._publisher.ping(), timeout)
        self._writer = asyncio.create_task(self._write_forever())
        self._reader = asyncio.create_task(self._read_forever())
        await asyncio.wait_for(self._subscribed.wait(), timeout)

    async def close(self) -> None:
        for task in (self._writer, self._reader):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._publisher is not None:
            await self._publisher.aclose()

    # -- rooms -------------------------------------------------------------------------

    def join(self, channel: str, conn: Any) -> None:
        members = self._rooms.setdefault(channel, [])
        if not any(c is conn for c in members):
            members.append(conn)

    def leave(self, conn: Any) -> None:
        for channel in list(self._rooms):
            members = [c for c in self._rooms[channel] if c is not conn]
            if members:
                self._rooms[channel] = members
            else:
                del self._rooms[channel]

    # -- traffic -----------------------------------------------------------------------

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Queue ``event`` for the other instances (this one delivered it already)."""
        payload = json.dumps({"origin": self.instance_id, "event": event},
                             separators=(",", ":"))
        try:
            self._outbox.put_nowait((channel, payload))
        except asyncio.QueueFull:
            self.publish_failures += 1
            logger.warning("backplane: publish queue full; an event for %s was dropped",
                           channel)

    async def _write_forever(self) -> None:
        """Drain the outbox in pipelined batches over the one publisher connection."""
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < PUBLISH_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                async with self._publisher.pipeline(transaction=False) as pipe:
                    for channel, payload in batch:
                        pipe.publish(channel, payload)
                    await pipe.execute()
            except asyncio.CancelledError:
                raise
            except Exception:  # the backplane is away: drop the batch (see the rules)
                self.publish_failures += len(batch)
                logger.warning("backplane: %d event(s) were not published", len(batch),
                               exc_info=True)
                continue
            self.published += len(batch)

    async def _read_forever(self) -> None:
        delay = RECONNECT_FIRST_S
        pubsub = await self._connect()
        await self._subscribe(pubsub)
        while True:
            try:
                message = await pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                await _close(pubsub)
                raise
            except Exception:  # the subscriber connection dropped: reconnect, resubscribe
                logger.warning("backplane subscriber of %s lost its connection; reconnecting",
                               self.instance_id, exc_info=True)
                self._subscribed.clear()
                await _close(pubsub)
                pubsub = None
                while pubsub is None:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_CAP_S)
                    try:
                        pubsub = await self._connect()
                        await self._subscribe(pubsub)
                    except Exception:  # Redis still away: try again after the back-off
                        logger.debug("backplane reconnect failed", exc_info=True)
                        pubsub = None
                self.reconnects += 1
                delay = RECONNECT_FIRST_S
                continue
            if message is not None and message.get("type") == "pmessage":
                await self._on_message(message)

    async def _connect(self) -> Any:
        pubsub = self._client().pubsub()
        await pubsub.connect()
        return pubsub

    async def _subscribe(self, pubsub: Any) -> None:
        await pubsub.psubscribe(f"{self.prefix}*")
        # wait for the confirmation: from then on, nothing published is missed
        while True:
            reply = await pubsub.get_message(timeout=5.0)
            if reply is None:
                raise ConnectionError("no psubscribe confirmation within 5 s")
            if reply.get("type") == "psubscribe":
                break
        self._subscribed.set()

    async def _on_message(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        try:
            payload = json.loads(message["data"])
            origin, event = payload["origin"], payload["event"]
        except (ValueError, KeyError, TypeError):
            logger.warning("backplane: malformed message on %s", channel)
            return
        if origin == self.instance_id:
            return  # delivered locally when it was published
        self.received += 1
        text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        for conn in list(self._rooms.get(channel, ())):
            try:
                await self._deliver(conn, text, event)
            except Exception:  # one dead socket must not stop the others
                logger.warning("backplane: delivery to a connection failed", exc_info=True)


async def _close(pubsub: Any) -> None:
    """Close a subscriber and its private connection pool (it may be dead already)."""
    try:
        await pubsub.aclose()
        await pubsub.connection_pool.disconnect()
    except Exception:  # closing a dead connection: nothing more to do
        logger.debug("closing a backplane connection failed", exc_info=True)


_BACKPLANE: Backplane | None = None


def get_backplane() -> Backplane | None:
    """This process's backplane, or ``None`` (the single-process default)."""
    return _BACKPLANE


async def configure_backplane(url: str, instance_id: str, prefix: str = "netra:") -> Backplane:
    """Connect this process to the backplane at ``url`` (once per process)."""
    global _BACKPLANE
    from netra_backend.app.websocket_core.connection_hub import deliver

    if _BACKPLANE is not None:
        raise RuntimeError("this process is already connected to a backplane")
    backplane = Backplane(url, instance_id, prefix, deliver)
    await backplane.start()
    _BACKPLANE = backplane
    return backplane


async def shutdown_backplane() -> None:
    global _BACKPLANE
    if _BACKPLANE is not None:
        backplane, _BACKPLANE = _BACKPLANE, None
        await backplane.close()
