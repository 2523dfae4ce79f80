"""A private ``redis-server`` on a free loopback port (tests, benchmarks, ``serve`` demos).

``RedisServer.start()`` runs the system's ``redis-server`` (Debian's package) with no
persistence, bound to 127.0.0.1 on a free port, and returns once it answers ``PING``;
``stop()`` terminates it (then kills it) within bounds. ``None`` from ``find_redis_server()``
means it is not installed: callers skip saying so.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

__all__ = ["RedisServer", "find_redis_server"]


def find_redis_server() -> str | None:
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """A running ``redis-server``: its port, URL and process."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls, executable: str | None = None, timeout: float = 10.0,
              attempts: int = 3) -> RedisServer:
        """Start one (a port taken meanwhile is retried, ``attempts`` times in all)."""
        exe = executable or find_redis_server()
        if exe is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install "
                                    "redis-server)")
        last = ""
        for _ in range(attempts):
            port = _free_port()
            process = subprocess.Popen(
                [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning",
                 "--maxclients", "10000"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and process.poll() is None:
                if _ping(port):
                    return cls(port, process)
                time.sleep(0.02)  # polling a child's start-up, bounded by the deadline
            out = b""
            if process.poll() is None:
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                out, _ = process.communicate(timeout=5)
            last = (out or b"").decode("utf-8", "replace")[-500:]
        raise RuntimeError(f"redis-server did not start: {last}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
