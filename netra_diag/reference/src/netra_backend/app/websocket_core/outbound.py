"""One writer per connection: a bounded outgoing queue drained by a single task.

Rules:

* Everything sent to a client (agent events and control frames alike) is offered to the
  connection's ``OutboundChannel``; frames leave in the order they were offered and never
  interleave.
* Write-through: ``send(text)`` writes the frame at once, in the sender's own step, when
  nothing is queued, no write is in flight and the transport says it can take the frame
  without waiting (``ready(text)``: open, and the frame fits under its high-water mark).
  An event then reaches the socket when it is emitted, not after every other ready task of
  a burst has run. Otherwise (backpressure: the socket's buffer is full, or frames are
  already waiting) the frame goes to the queue, which only the channel's writer task
  drains, so a slow client never blocks the run that emits to it.
* The queue is bounded (``QUEUE_MAXSIZE`` frames by default). Offering never blocks: a slow
  client must not stall the agent run or other users.
* Overflow policy: when a frame does not fit, the client is a slow consumer. Its queued
  frames and the new one are discarded, and the writer closes the connection with code 1013
  (try again later) once its current write returns. A closed channel accepts nothing.
* Nothing is dropped silently: ``DeliveryStats`` counts frames queued (every frame accepted,
  written through or not), sent and dropped, slow consumers closed and write errors.

The channel knows nothing about ``websockets``: the transport passes in ``write(text)`` and
``close(code, reason)`` coroutines and, for write-through, ``ready(text) -> bool`` (without
it every frame goes through the queue).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

__all__ = [
    "CLOSE_SLOW_CONSUMER",
    "QUEUE_MAXSIZE",
    "DeliveryStats",
    "OutboundChannel",
]

logger = logging.getLogger(__name__)

QUEUE_MAXSIZE = 1024
CLOSE_SLOW_CONSUMER = 1013
SLOW_CONSUMER_REASON = "slow consumer: outgoing queue full"
YIELD_EVERY = 16


@dataclass
class DeliveryStats:
    """Counters shared by every channel of one server (plain ints, one event loop)."""

    frames_queued: int = 0
    frames_sent: int = 0
    frames_dropped: int = 0
    slow_consumers_closed: int = 0
    write_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class _Stop:
    """Queue sentinel: stop writing, closing the connection first when ``code`` is set."""

    code: int | None = None
    reason: str = ""


class OutboundChannel:
    """A connection's outgoing side, as the hub sees it (``async send(text)``)."""

    def __init__(self, stats: DeliveryStats | None = None, maxsize: int = QUEUE_MAXSIZE) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.stats = stats if stats is not None else DeliveryStats()
        self.maxsize = maxsize
        # One extra slot so the stop sentinel always fits.
        self._queue: asyncio.Queue[str | _Stop] = asyncio.Queue(maxsize + 1)
        self._closed = False
        self._writing = False  # a write (the writer's or a write-through) is in flight
        self._write: Callable[[str], Awaitable[object]] | None = None
        self._ready: Callable[[str], bool] | None = None
        #: Frames written straight through (also counted in frames_queued and frames_sent).
        self.written_through = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def pending(self) -> int:
        return self._queue.qsize()

    def offer(self, text: str) -> bool:
        """Queue ``text`` for the writer; ``False`` when it was dropped (see the rules)."""
        if self._closed:
            self.stats.frames_dropped += 1
            return False
        if self._queue.qsize() >= self.maxsize:
            discarded = self._discard_pending() + 1
            self.stats.frames_dropped += discarded
            self.stats.slow_consumers_closed += 1
            logger.warning("closing a slow consumer: %d frames dropped", discarded)
            self._stop(_Stop(CLOSE_SLOW_CONSUMER, SLOW_CONSUMER_REASON))
            return False
        self._queue.put_nowait(text)
        self.stats.frames_queued += 1
        return True

    async def send(self, text: str) -> None:
        """The connection interface the hub and managers use (never blocks): written
        through when the rules allow it, else queued."""
        write, ready = self._write, self._ready
        if (write is None or ready is None or self._closed or self._writing
                or not self._queue.empty() or not ready(text)):
            self.offer(text)
            return
        self.stats.frames_queued += 1
        self._writing = True
        try:
            await write(text)
        except Exception:  # the transport is gone: stop accepting, count the loss
            logger.debug("writing to a connection failed", exc_info=True)
            self.stats.write_errors += 1
            self.stats.frames_dropped += 1 + self._discard_pending()
            if not self._closed:
                self._stop(_Stop())
            return
        finally:
            self._writing = False
        self.stats.frames_sent += 1
        self.written_through += 1

    def close(self) -> None:
        """Stop the writer without closing the transport (the connection already ended).

        Frames still queued are dropped and counted.
        """
        if not self._closed:
            self.stats.frames_dropped += self._discard_pending()
            self._stop(_Stop())

    async def run_writer(
        self,
        write: Callable[[str], Awaitable[object]],
        close: Callable[[int, str], Awaitable[object]],
        ready: Callable[[str], bool] | None = None,
    ) -> None:
        """Drain the queue into ``write`` until stopped or the transport fails; with
        ``ready``, ``send`` may also write through (see the module docstring)."""
        self._write, self._ready = write, ready
        try:
            await self._drain(write, close)
        finally:
            self._write = self._ready = None

    async def _drain(
        self,
        write: Callable[[str], Awaitable[object]],
        close: Callable[[int, str], Awaitable[object]],
    ) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, _Stop):
                if item.code is not None:
                    try:
                        await close(item.code, item.reason)
                    except Exception:  # already closing: nothing more to tell the client
                        logger.debug("closing a connection failed", exc_info=True)
                return
            self._writing = True
            try:
                await write(item)
            except Exception:  # the transport is gone: stop accepting, count the loss
                logger.debug("writing to a connection failed", exc_info=True)
                self.stats.write_errors += 1
                self.stats.frames_dropped += 1 + self._discard_pending()
                self._closed = True
                return
            finally:
                self._writing = False
            self.stats.frames_sent += 1
            # Yield every few frames so a long queue cannot starve keepalive pings or the
            # other connections' writers (an empty queue yields in get() anyway).
            if self._queue.empty() or self.stats.frames_sent % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    def _discard_pending(self) -> int:
        count = 0
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if not isinstance(item, _Stop):
                count += 1
        return count

    def _stop(self, sentinel: _Stop) -> None:
        self._closed = True
        self._queue.put_nowait(sentinel)
