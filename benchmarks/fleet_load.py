"""Fleet load: delivery across instances sharing a Redis backplane, beside one instance.

Set-up (one machine, loopback): a private ``redis-server`` on a free port; the healthy
reference started as N instances (``netra_diag.fleet``: each its own process, on the
backplane; N = 1 is the single-process baseline, without a backplane); the clients in this
process on one event loop. Every user has two sockets: a **watching** socket (``subscribe``)
on instance ``(k + 1) % N`` and a **running** socket on instance ``k % N``, so with N > 1
every event the watcher gets has crossed instances through Redis (with N = 1 both sockets
are on the one instance: local delivery, the baseline). All sockets connect and subscribe
first; then every user starts ``--runs`` runs one after another, all users at once.

Per level (instances x users) it reports, medians of ``--repeat`` rounds:

* loss: critical events of the user's own runs the watcher did not get (must be 0);
* duplicates: events a watcher got more than once (must be 0);
* cross-talk: events of another user on any socket (must be 0);
* p50/p99 latency at the watcher: the event's ``timestamp`` (stamped by the emitter on the
  running instance) to receipt, one clock (same host);
* throughput: events received by watchers per second over the run phase.

Everything shares 2 cores (clients, N instances, Redis): the figures are the fleet's cost
on one box, not a capacity claim for N machines.

Usage: python benchmarks/fleet_load.py [--levels 1x100,2x100,4x100,1x1000,2x1000,4x1000,3x1000]
       [--runs 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from netra_diag.faults import copy_reference
from netra_diag.fleet import start_fleet
from netra_diag.support.redis_server import RedisServer, find_redis_server

CRITICAL = ("agent_started", "agent_thinking", "tool_executing", "tool_completed",
            "agent_completed")
SERVER_ROLE = "netra_backend.app.routes.websocket_server:start_server"
WAIT_S = 120.0  # one bound for every wait of a level
CONNECT_CONCURRENCY = 200
QUIET_S = 0.5
NOT_EVENTS = {"auth_ok", "run_accepted", "run_finished", "error", "subscribed", "time"}


@dataclass
class Sock:
    user: str
    frames: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    ws: Any = None
    done: dict[str, asyncio.Event] = field(default_factory=dict)

    def waiter(self, key: str) -> asyncio.Event:
        return self.done.setdefault(key, asyncio.Event())


async def _reader(sock: Sock) -> None:
    try:
        async for raw in sock.ws:
            now = time.time()
            frame = json.loads(raw)
            sock.frames.append((now, frame))
            kind = frame.get("type")
            if kind == "subscribed":
                sock.waiter("subscribed").set()
            elif kind == "run_accepted":
                sock.waiter(f"accepted:{frame.get('request_id')}").set()
            elif kind in ("run_finished", "agent_completed", "error"):
                sock.waiter(f"{kind}:{frame.get('run_id')}").set()
    except Exception:  # noqa: BLE001 - a closed socket ends the record
        return


async def _open(url: str, user: str, token: str, gate: asyncio.Semaphore) -> tuple[Sock, Any]:
    sock = Sock(user)
    async with gate:
        sock.ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                                open_timeout=WAIT_S, max_size=1 << 20, compression=None)
        first = json.loads(await sock.ws.recv())
        assert first.get("type") == "auth_ok", first
    return sock, asyncio.create_task(_reader(sock))


async def _user(watcher: Sock, runner: Sock, runs: int) -> list[str]:
    run_ids = []
    for i in range(runs):
        request_id = f"r{i}-{secrets.token_hex(4)}"
        accepted = runner.waiter(f"accepted:{request_id}")
        await runner.ws.send(json.dumps({"type": "start_agent", "request_id": request_id,
                                         "thread_id": "main", "message": "fleet load"}))
        await asyncio.wait_for(accepted.wait(), WAIT_S)
        run_id = next(f["run_id"] for _, f in runner.frames
                      if f.get("type") == "run_accepted" and f.get("request_id") == request_id)
        run_ids.append(run_id)
        await asyncio.wait_for(runner.waiter(f"run_finished:{run_id}").wait(), WAIT_S)
    for run_id in run_ids:  # the watcher's copy of each run, bounded
        with contextlib.suppress(TimeoutError):  # a missing copy is counted as loss below
            await asyncio.wait_for(watcher.waiter(f"agent_completed:{run_id}").wait(), 10.0)
    return run_ids


def _percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


async def one_round(root: Path, redis_url: str, instances: int, users: int, runs: int
                    ) -> dict[str, float]:
    tokens = {f"u{k}": secrets.token_urlsafe(12) for k in range(users)}
    backplane = redis_url if instances > 1 else None
    fleet = await start_fleet(root, SERVER_ROLE, instances, tokens, backplane, timeout=60)
    readers: list[asyncio.Task[None]] = []
    try:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        pairs = []
        opened = await asyncio.gather(*(
            _open(fleet.urls[(k + 1) % instances], user, token, gate)
            for k, (user, token) in enumerate(tokens.items())), *(
            _open(fleet.urls[k % instances], user, token, gate)
            for k, (user, token) in enumerate(tokens.items())))
        socks = [s for s, _ in opened]
        readers = [t for _, t in opened]
        pairs = list(zip(socks[:users], socks[users:], strict=True))
        for watcher, _ in pairs:
            await watcher.ws.send(json.dumps({"type": "subscribe", "request_id": "s",
                                              "thread_id": "main"}))
        await asyncio.wait_for(asyncio.gather(*(w.waiter("subscribed").wait()
                                                for w, _ in pairs)), WAIT_S)
        start = time.time()
        all_runs = await asyncio.gather(*(_user(w, r, runs) for w, r in pairs))
        await asyncio.sleep(QUIET_S)  # an observation window for late duplicates and leaks
        loss = duplicates = cross = received = 0
        latencies: list[float] = []
        last = start
        for (watcher, runner), run_ids in zip(pairs, all_runs, strict=True):
            mine = set(run_ids)
            seen: set[tuple[str, int]] = set()
            for sock in (watcher, runner):
                for _, frame in sock.frames:
                    if frame.get("type") in NOT_EVENTS:
                        continue
                    if frame.get("user_id") != sock.user or frame.get("run_id") not in mine:
                        cross += 1
            for at, frame in watcher.frames:
                if frame.get("type") in NOT_EVENTS or frame.get("run_id") not in mine:
                    continue
                key = (frame["run_id"], frame["seq"])
                if key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
                received += 1
                last = max(last, at)
                latencies.append((at - frame["timestamp"]) * 1000)
            loss += len(mine) * len(CRITICAL) - len(seen)
        return {"loss": loss, "duplicates": duplicates, "cross": cross,
                "p50": _percentile(latencies, 0.50) if latencies else float("nan"),
                "p99": _percentile(latencies, 0.99) if latencies else float("nan"),
                "throughput": received / max(1e-6, last - start)}
    finally:
        for sock_task in readers:
            sock_task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await fleet.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="1x100,2x100,4x100,1x1000,2x1000,4x1000,3x1000",
                        help="INSTANCESxUSERS, comma-separated (1 = one instance, no backplane)")
    parser.add_argument("--runs", type=int, default=1, help="runs per user, one after another")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if find_redis_server() is None:
        sys.exit("redis-server is not installed: apt-get install redis-server")
    levels = [tuple(int(x) for x in level.split("x")) for level in args.levels.split(",")]
    with tempfile.TemporaryDirectory(prefix="netra-diag-fleet-bench-") as tmp, \
            RedisServer.start() as redis:
        root = copy_reference(Path(tmp) / "src")
        print(f"fleet load: {args.runs} run(s) per user, median of {args.repeat} rounds; "
              "latency = emitter timestamp -> receipt at the user's socket on another instance")
        print(f"{'instances':>9} {'users':>6} {'loss':>5} {'dup':>4} {'cross':>6} "
              f"{'p50 ms':>8} {'p99 ms':>8} {'events/s':>9}")
        results = {}
        for instances, users in levels:
            rounds = [asyncio.run(one_round(root, redis.url, instances, users, args.runs))
                      for _ in range(args.repeat)]
            med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
            worst = {k: max(r[k] for r in rounds) for k in ("loss", "duplicates", "cross")}
            results[(instances, users)] = (med, worst)
            label = f"{instances}" + (" (no backplane)" if instances == 1 else "")
            print(f"{label:>9} {users:>6} {worst['loss']:>5.0f} {worst['duplicates']:>4.0f} "
                  f"{worst['cross']:>6.0f} {med['p50']:>8.2f} {med['p99']:>8.2f} "
                  f"{med['throughput']:>9.0f}", flush=True)
        if (3, 1000) in results:
            med, worst = results[(3, 1000)]
            print(f"1,000 users across 3 instances: loss {worst['loss']:.0f}, cross-talk "
                  f"{worst['cross']:.0f}, duplicates {worst['duplicates']:.0f} (worst of "
                  f"{args.repeat} rounds); p99 {med['p99']:.2f} ms, p50 {med['p50']:.2f} ms "
                  f"(medians)")


if __name__ == "__main__":
    main()
