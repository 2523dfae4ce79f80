"""Load: N concurrent users running agents over the real reference WebSocket server, beside a
raw ``websockets`` server pushing the same frames, in the same run.

Set-up (2 cores, loopback): the **server runs in a child process** (one core: a private copy
of the healthy reference, ``start_server`` with its bounded per-connection queues; or the raw
baseline), the **clients run in this process** on one event loop (the other core). Every user
has its own token and connection; all users connect first, then all start at once, and each
runs ``--runs`` agent runs one after another, in two modes (``--modes``): ``burst``, runs
back to back (no idle time: the worst case), and ``paced``, each user idling a random 0..2x
``--think-ms`` (default 50 ms) before each run. Per level, mode and server it reports:

* delivered/expected critical events (no loss) and cross-user deliveries (events of another
  user's run on a connection: must be 0);
* p50/p99 latency: event ``timestamp`` (stamped by the emitter) to receipt by the client, one
  clock (same host);
* events/s over the run phase, and server CPU time per delivered event (us/event);
* peak RSS of the server process.

The raw baseline answers ``start_agent`` by sending the same seven frames (run_accepted, the
five events with the same fields and payloads, run_finished) straight to the socket: the
pipeline's overhead is the ratio of the two servers' CPU cost per event. Medians of
``--repeat`` runs. Goals: no loss and no cross-talk at 1,000 users; p99 under 5 ms at 100
users; pipeline within 2x the raw per-event cost.

With ``--compare-queue`` the same levels also run the pipeline with write-through off (every
frame through the per-connection queue, as before write-through), so its effect on latency
is measured beside it in the same run.

The machine is shared: other load inflates every server's latency alike, so compare the
pipeline with raw websockets (and with the queued pipeline) in the same run, not with
figures from another run.

Usage: python benchmarks/load.py [--users 1,100,1000] [--runs 5] [--repeat 3]
       [--modes burst,paced] [--think-ms 50] [--compare-queue]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from netra_diag.faults import copy_reference

CRITICAL = ("agent_started", "agent_thinking", "tool_executing", "tool_completed",
            "agent_completed")
WAIT_S = 120.0  # one bound for every wait of a level (connect, runs, shutdown)
CONNECT_CONCURRENCY = 200  # stay under the listen backlog: no SYN retries in the figures

_CHILD = r'''
import asyncio, json, resource, sys, time

mode, root, users = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])


def usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    peak = r.ru_maxrss  # on Linux it includes the parent's RSS at fork: prefer VmHWM
    try:
        with open("/proc/self/status") as fh:
            peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        pass
    return {"cpu_s": r.ru_utime + r.ru_stime, "maxrss_kb": peak}


def frame(kind, user_id, thread_id, run_id, seq, data):
    return json.dumps({"type": kind, "user_id": user_id, "thread_id": thread_id,
                       "run_id": run_id, "seq": seq, "timestamp": time.time(), "data": data},
                      separators=(",", ":"), ensure_ascii=False, allow_nan=False)


async def raw_server():
    """The baseline: the same frames, written straight to the socket (no pipeline)."""
    from websockets.asyncio.server import serve
    from websockets.frames import CloseCode

    tokens = {token: user for user, token in users.items()}
    counter = iter(range(1, 1 << 62))

    async def handler(ws):
        header = ws.request.headers.get("Authorization", "")
        user = tokens.get(header.removeprefix("Bearer ").strip())
        if user is None:
            await ws.close(CloseCode.POLICY_VIOLATION, "invalid credentials")
            return
        await ws.send(json.dumps({"type": "auth_ok", "user_id": user}, separators=(",", ":")))
        async for raw in ws:
            req = json.loads(raw)
            rid, tid, msg = req["request_id"], req["thread_id"], req["message"]
            run_id = f"run_{next(counter)}"
            ids = {"request_id": rid, "thread_id": tid, "run_id": run_id}
            await ws.send(json.dumps({"type": "run_accepted", **ids}, separators=(",", ":")))
            words = len(msg.split())
            payloads = [
                {"agent_name": "demo", "metadata": {"message_chars": len(msg)}},
                {"thought": f"The user asked: {msg[:37]!r}. Counting its words will answer "
                            "it.", "metadata": {}},
                {"tool_name": "word_count", "metadata": {"args": {"text": msg}}},
                {"tool_name": "word_count", "result": {"words": words, "chars": len(msg)},
                 "metadata": {}},
                {"agent_name": "demo", "result": {"answer": f"Your message has {words} words."},
                 "metadata": {}},
            ]
            for seq, (kind, data) in enumerate(zip(__CRITICAL__, payloads), 1):
                await ws.send(frame(kind, user, tid, run_id, seq, data))
            await ws.send(json.dumps({"type": "run_finished", **ids}, separators=(",", ":")))

    server = await serve(handler, "127.0.0.1", 0, compression=None)
    port = server.sockets[0].getsockname()[1]

    async def close():
        server.close()
        await server.wait_closed()

    return f"ws://127.0.0.1:{port}/ws", close, lambda: {}


async def pipeline_server():
    sys.path.insert(0, root)
    import netra_backend.app.dependencies  # loaded at start-up, as a deployed server would
    from netra_backend.app.routes.websocket_server import start_server

    server = await start_server(users=users, write_through=mode == "pipeline")
    return server.url, server.close, server.stats


async def main():
    url, close, stats = await (raw_server() if mode == "raw" else pipeline_server())
    print(json.dumps({"url": url}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"usage":
            print(json.dumps(usage()), flush=True)
    await close()
    print(json.dumps({"final": usage(), "stats": stats()}), flush=True)


asyncio.run(main())
'''.replace("__CRITICAL__", repr(CRITICAL))


@dataclass
class Result:
    """One level, one server, one repetition."""

    expected: int = 0
    delivered: int = 0
    cross: int = 0
    failed_runs: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    server_rss_mb: float = 0.0
    dropped: int = 0

    @property
    def events_per_s(self) -> float:
        return self.delivered / self.wall_s if self.wall_s else 0.0

    @property
    def us_per_event(self) -> float:
        return self.cpu_s / self.delivered * 1e6 if self.delivered else float("nan")

    def pct(self, q: float) -> float:
        values = sorted(self.latencies_ms)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]


class Child:
    """The server process: started, asked for its CPU usage, stopped."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, mode: str, root: Path, users: dict[str, str]) -> tuple[Child, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _CHILD, mode, str(root), json.dumps(users),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        child = cls(proc)
        return child, (await child.line())["url"]

    async def line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), WAIT_S)
        if not raw:
            raise SystemExit(f"the server child exited ({await self.proc.wait()})")
        return json.loads(raw)

    async def usage(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"usage\n")
        await self.proc.stdin.drain()
        return await self.line()

    async def stop(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        final = await self.line()
        await asyncio.wait_for(self.proc.wait(), WAIT_S)
        return final


async def one_level(mode: str, root: Path, n_users: int, runs: int, think_ms: float) -> Result:
    users = {f"user-{i:04d}": f"token-{i:04d}-{os.urandom(6).hex()}" for i in range(n_users)}
    child, url = await Child.start(mode, root, users)
    result = Result(expected=n_users * runs * len(CRITICAL))
    gate = asyncio.Event()
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    rng = random.Random(n_users)

    async def user(name: str, token: str, connected: asyncio.Future[None]) -> None:
        async with limit:
            ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                               open_timeout=WAIT_S, max_queue=None, compression=None)
        try:
            first = json.loads(await ws.recv())
            assert first == {"type": "auth_ok", "user_id": name}, first
            connected.set_result(None)
            await gate.wait()
            for r in range(runs):
                if think_ms:  # paced: users start, and come back, at random moments
                    await asyncio.sleep(rng.uniform(0, 2 * think_ms) / 1000)
                request_id = f"{name}-r{r}"
                await ws.send(json.dumps({"type": "start_agent", "request_id": request_id,
                                          "thread_id": f"{name}-t", "message": "how many "
                                          "words are in this message", "agent": "demo"}))
                run_id = None
                while True:
                    raw = await ws.recv()
                    now = time.time()
                    msg = json.loads(raw)
                    kind = msg["type"]
                    if kind == "run_accepted" and msg.get("request_id") == request_id:
                        run_id = msg["run_id"]
                    elif kind in CRITICAL:
                        if msg.get("user_id") != name or msg.get("run_id") != run_id:
                            result.cross += 1
                        else:
                            result.delivered += 1
                            result.latencies_ms.append((now - msg["timestamp"]) * 1000)
                    elif kind == "error":
                        result.failed_runs += 1
                        break
                    elif kind == "run_finished" and msg.get("request_id") == request_id:
                        break
        finally:
            await ws.close()

    try:
        futures = [asyncio.get_running_loop().create_future() for _ in users]
        tasks = [asyncio.create_task(user(name, token, fut))
                 for (name, token), fut in zip(users.items(), futures, strict=True)]
        await asyncio.wait_for(asyncio.gather(*futures), WAIT_S)
        before = await child.usage()
        gc.collect()
        gc.disable()  # the clients are the instrument: their GC pauses are not the server's
        t0 = time.perf_counter()
        gate.set()
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), WAIT_S)
        finally:
            gc.enable()
        result.wall_s = time.perf_counter() - t0
        after = await child.usage()
        result.cpu_s = after["cpu_s"] - before["cpu_s"]
    finally:
        final = await child.stop()
    result.server_rss_mb = final["final"]["maxrss_kb"] / 1024
    result.dropped = final["stats"].get("frames_dropped", 0)
    return result


def raise_open_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = hard if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            print(f"warning: open-file limit {target} < {needed} needed", file=sys.stderr)


def med(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", default="1,100,1000",
                        help="comma-separated user counts (default 1,100,1000)")
    parser.add_argument("--runs", type=int, default=None,
                        help="agent runs per user (default: burst max(5, 1000 // users), "
                        "paced max(5, 50 // users))")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (medians shown)")
    parser.add_argument("--modes", default="burst,paced",
                        help="burst: back-to-back runs, the server saturated; paced: each "
                        "user idles a random 0..2x --think-ms before each run")
    parser.add_argument("--think-ms", type=float, default=50.0,
                        help="mean idle time before each run in paced mode (default 50)")
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    parser.add_argument("--compare-queue", action="store_true",
                        help="also measure the pipeline with write-through off (every frame "
                        "queued: the design before it), in the same run")
    args = parser.parse_args()
    levels = [int(v) for v in args.users.split(",") if v.strip()]
    modes = {"burst": 0.0, "paced": args.think_ms}
    chosen = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not levels or min(levels) < 1 or any(m not in modes for m in chosen) or not chosen:
        parser.error("--users takes positive counts; --modes takes burst and/or paced")
    raise_open_file_limit(2 * max(levels) + 256)  # this process; the server child inherits it
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; server in a child "
          "process, clients in this one; medians of "
          f"{args.repeat} run(s); pipeline vs raw websockets in the same run", flush=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="netra-diag-load-") as tmp:
        root = copy_reference(Path(tmp) / "src")
        for load_mode in chosen:
            for n in levels:
                # auto: >= 5,000 events per level when saturated; paced runs are slower
                # (think time), so fewer: >= 250 events, >= 5 runs per user
                runs = args.runs or max(5, (1000 if load_mode == "burst" else 50) // n)
                per_server: dict[str, list[Result]] = {"pipeline": [], "raw": []}
                if args.compare_queue:
                    per_server["queued"] = []
                for _ in range(args.repeat):
                    for server in per_server:  # interleaved, so drift hits both alike
                        per_server[server].append(asyncio.run(
                            one_level(server, root, n, runs, modes[load_mode])))
                rows.append(_row(load_mode, n, runs, per_server["pipeline"], per_server["raw"]))
                if args.compare_queue:
                    queued = per_server["queued"]
                    rows[-1]["queued_p50_ms"] = med([r.pct(0.50) for r in queued])
                    rows[-1]["queued_p99_ms"] = med([r.pct(0.99) for r in queued])
                _print_row(rows[-1], first=len(rows) == 1)
                if args.compare_queue:
                    print(f"{'':>12} write-through off (every frame queued): p50 "
                          f"{rows[-1]['queued_p50_ms']:.2f} ms, p99 "
                          f"{rows[-1]['queued_p99_ms']:.2f} ms", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return _verdict(rows)


def _row(load_mode: str, n: int, runs: int, pipe: list[Result], raw: list[Result]
         ) -> dict[str, Any]:
    row = {
        "mode": load_mode, "users": n, "runs_per_user": runs,
        "delivered": min(r.delivered for r in pipe),
        "expected": pipe[0].expected,
        "cross_user": max(r.cross for r in pipe),
        "failed_runs": max(r.failed_runs for r in pipe),
        "frames_dropped": max(r.dropped for r in pipe),
        "p50_ms": med([r.pct(0.50) for r in pipe]),
        "p99_ms": med([r.pct(0.99) for r in pipe]),
        "events_per_s": med([r.events_per_s for r in pipe]),
        "server_peak_rss_mb": med([r.server_rss_mb for r in pipe]),
        "us_per_event": med([r.us_per_event for r in pipe]),
        "raw_p50_ms": med([r.pct(0.50) for r in raw]),
        "raw_p99_ms": med([r.pct(0.99) for r in raw]),
        "raw_events_per_s": med([r.events_per_s for r in raw]),
        "raw_server_peak_rss_mb": med([r.server_rss_mb for r in raw]),
        "raw_us_per_event": med([r.us_per_event for r in raw]),
        "raw_delivered": min(r.delivered for r in raw),
        "raw_cross_user": max(r.cross for r in raw),
    }
    row["overhead_x"] = row["us_per_event"] / row["raw_us_per_event"]
    return row


def _print_row(row: dict[str, Any], first: bool) -> None:
    if first:
        print(f"{'mode':>6} {'users':>5} {'delivered/expected':>19} {'cross':>5} "
              f"{'p50 ms':>7} {'p99 ms':>7} {'events/s':>8} {'RSS MB':>6} {'us/event':>8} "
              f"{'raw us/ev':>9} {'raw p50':>7} {'raw p99':>7} {'raw ev/s':>8} {'cost':>6}")
    print(f"{row['mode']:>6} {row['users']:>5} {row['delivered']:>9}/{row['expected']:<9} "
          f"{row['cross_user']:>5} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} "
          f"{row['events_per_s']:>8.0f} {row['server_peak_rss_mb']:>6.1f} "
          f"{row['us_per_event']:>8.1f} {row['raw_us_per_event']:>9.1f} "
          f"{row['raw_p50_ms']:>7.2f} {row['raw_p99_ms']:>7.2f} "
          f"{row['raw_events_per_s']:>8.0f} "
          f"{row['overhead_x']:>5.2f}x", flush=True)


def _verdict(rows: list[dict[str, Any]]) -> int:
    ok = True
    for row in rows:
        lossless = (row["delivered"] == row["expected"] and not row["failed_runs"]
                    and not row["frames_dropped"])
        checks = [("no loss", lossless), ("no cross-talk", row["cross_user"] == 0),
                  ("within 2x raw per-event cost", row["overhead_x"] <= 2.0)]
        if row["users"] == 100:
            checks.append(("p99 < 5 ms", row["p99_ms"] < 5.0))
        missed = [name for name, good in checks if not good]
        ok = ok and not missed
        print(f"{row['mode']:>6} {row['users']:>5} users: "
              + ("meets every goal" if not missed else "misses: " + ", ".join(missed)))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
