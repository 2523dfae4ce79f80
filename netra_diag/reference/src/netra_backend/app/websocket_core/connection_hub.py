"""The process-wide registry of live connections, keyed by user id.

Rules:

* A *connection* is any object the transport hands in that can take a text frame: the
  ``websockets`` interface ``async send(text)``, or Starlette/FastAPI's ``send_text(text)``
  / ``send_json(obj)``. ``deliver`` picks the method at send time (Starlette first, since its
  ``send`` takes an ASGI message rather than text).
* A connection belongs to exactly one user. Adding the same connection twice is a no-op;
  removing an unknown one is a no-op (transports remove in ``finally:`` blocks).
* Plain code: no asyncio primitives, no ``websockets`` import; safe to use from one event
  loop (it is never awaited while its dicts are being changed).
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["ConnectionHub", "deliver", "get_connection_hub"]


class ConnectionHub:
    """Live connections per user id (insertion-ordered)."""

    def __init__(self) -> None:
        self._by_user: dict[str, list[Any]] = {}

    def add(self, user_id: str, conn: Any) -> None:
        """Register ``conn`` for ``user_id`` (idempotent)."""
        if not isinstance(user_id, str) or not user_id.strip():
            raise ValueError(f"user_id must be a non-empty string (got {user_id!r})")
        conns = self._by_user.setdefault(user_id, [])
        if not any(c is conn for c in conns):
            conns.append(conn)

    def remove(self, user_id: str, conn: Any) -> None:
        """Forget ``conn`` for ``user_id`` (no-op when it is not registered)."""
        conns = self._by_user.get(user_id)
        if conns is None:
            return
        conns[:] = [c for c in conns if c is not conn]
        if not conns:
            del self._by_user[user_id]

    def connections_for(self, user_id: str) -> list[Any]:
        """A snapshot of ``user_id``'s connections (safe to iterate while sending)."""
        return list(self._by_user.get(user_id, ()))

    def all_connections(self) -> list[Any]:
        """A snapshot of every connection of every user."""
        return [c for conns in self._by_user.values() for c in conns]

    def users(self) -> list[str]:
        return list(self._by_user)

    def count(self) -> int:
        """How many connections are registered, over all users."""
        return sum(len(conns) for conns in self._by_user.values())

    def clear(self) -> None:
        """Forget everything (tests and process shutdown)."""
        self._by_user.clear()


async def deliver(conn: Any, text: str, event: dict[str, Any]) -> None:
    """Send one encoded frame to ``conn`` with whichever method it offers."""
    for name, payload in (("send_text", text), ("send", text), ("send_json", event)):
        method = getattr(conn, name, None)
        if callable(method):
            result = method(payload)
            if inspect.isawaitable(result):
                await result
            return
    raise TypeError(
        f"{type(conn).__name__} is not a connection: it has no send(text), "
        "send_text(text) or send_json(obj) method"
    )


_HUB = ConnectionHub()


def get_connection_hub() -> ConnectionHub:
    """The process-wide hub every per-user manager and the WebSocket route share."""
    return _HUB
