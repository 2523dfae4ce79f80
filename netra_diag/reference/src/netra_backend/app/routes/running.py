"""A started endpoint (``websocket_server.start_server``): where it listens, its counters,
and how to stop it. Imports nothing of ``websockets``: it holds what ``start_server`` made."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from typing import Any

from netra_backend.app.websocket_core.backplane import shutdown_backplane

__all__ = ["RunningServer"]


class RunningServer:
    """A started endpoint: where it listens, its counters, and how to stop it."""

    def __init__(self, server: Any, endpoint: Any, host: str, port: int) -> None:
        # a websockets Server and websocket_server's endpoint (this module imports neither)
        self._server = server
        self._endpoint = endpoint
        self.host = host
        self.port = port
        self.path = endpoint.options.path

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        return f"ws://{host}:{self.port}{self.path}"

    def connection_count(self) -> int:
        """Authenticated connections currently open on this server."""
        return self._endpoint.live

    def stats(self) -> dict[str, int]:
        """Counters: connections, auth failures, protocol errors, runs, and delivery
        (frames queued/sent/dropped, slow consumers closed, write errors)."""
        return {
            "connections": self._endpoint.live,
            **{
                f.name: getattr(self._endpoint.counters, f.name)
                for f in fields(self._endpoint.counters)
            },
            **self._endpoint.delivery.as_dict(),
        }

    async def wait_for_connections(self, count: int, timeout: float = 5.0) -> None:
        """Wait until exactly ``count`` connections are open (``TimeoutError`` after
        ``timeout`` seconds)."""
        endpoint = self._endpoint
        async with endpoint.changed:
            await asyncio.wait_for(
                endpoint.changed.wait_for(lambda: endpoint.live == count), timeout
            )

    async def close(self) -> None:
        """Stop accepting, close open connections with 1001, wait for the handlers."""
        self._server.close()
        await self._server.wait_closed()
        if self._endpoint.options.backplane is not None:
            await shutdown_backplane()

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
