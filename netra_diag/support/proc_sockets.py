"""Which local TCP ports a process uses to talk to a given remote port (Linux ``/proc``).

``backplane-resilience`` drops a fleet's Redis connections. Instances that name their
connections (``CLIENT SETNAME`` with their channel prefix) are found by name; the others are
found here: the fleet's instances are the tool's own child processes, so their sockets are
readable under ``/proc/<pid>/fd`` (inodes) and ``/proc/<pid>/net/tcp{,6}`` (addresses), and
Redis's ``CLIENT LIST`` shows each client's address. Elsewhere than Linux, or for a process
that is gone, the answer is simply empty. Pure reading; nothing here writes or signals.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["local_ports_to"]


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:[") and link.endswith("]"):
            inodes.add(link[8:-1])
    return inodes


def local_ports_to(pids: Iterable[int], remote_port: int) -> set[int]:
    """The local ports of the TCP sockets that ``pids`` hold open to ``remote_port``."""
    ports: set[int] = set()
    for pid in pids:
        inodes = _socket_inodes(pid)
        if not inodes:
            continue
        for table in ("tcp", "tcp6"):
            try:
                rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                fields = row.split()
                if len(fields) < 10 or fields[9] not in inodes:
                    continue
                try:
                    local = int(fields[1].rsplit(":", 1)[1], 16)
                    remote = int(fields[2].rsplit(":", 1)[1], 16)
                except (IndexError, ValueError):
                    continue
                if remote == remote_port:
                    ports.add(local)
    return ports
