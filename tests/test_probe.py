"""``netra-diag probe URL``: against a real ``netra-diag serve``, and against tiny broken
servers on 127.0.0.1 (refused, TLS, closed mid-run, garbage, silent), each bounded in time.
The token must appear in no output of any format, nor in any message."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from helpers import netra_diag_cmd, run_subprocess
from test_serve import WAIT, served
from websockets.asyncio.server import ServerConnection, serve

from netra_diag.exitcodes import ExitCode
from netra_diag.model import full_summary

ALICE, BOB = "alice-probe-secret-0123", "bob-probe-secret-4567"
WRONG = "wrong-probe-secret-89ab"
WIRE = ["event-flow", "event-latency", "user-isolation"]


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["status"] for r in doc["results"]}


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``netra-diag serve`` with two users, in a background loop for the module."""
    cwd = tmp_path_factory.mktemp("serve")
    ready: dict[str, str] = {}
    started, stop = threading.Event(), None

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with served("--user", f"alice={ALICE}", "--user", f"bob={BOB}", cwd=cwd) as srv:
            ready["url"] = srv.url
            started.set()
            await stop.wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(WAIT), "netra-diag serve did not start"
    try:
        yield ready["url"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(WAIT)


def test_probe_passes_every_wire_check_and_no_format_holds_the_token(endpoint, tmp_path):
    out = {fmt: tmp_path / f"out.{fmt}" for fmt in ("junit", "sarif", "markdown", "github")}
    reports = [arg for fmt, path in out.items() for arg in ("--report", f"{fmt}:{path}")]
    proc = run_subprocess("probe", endpoint, "--token-env", "A", "--user-token-env", "bob=B",
                          "--format", "json", *reports, cwd=tmp_path, env={"A": ALICE, "B": BOB})
    assert proc.returncode == ExitCode.OK, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert statuses(doc) == dict.fromkeys(WIRE, "pass")
    assert doc["target"]["url"] == endpoint and doc["target"]["probe"] is True
    [latency] = [r for r in doc["results"] if r["id"] == "event-latency"]
    [data] = [e["data"] for e in latency["evidence"] if e["kind"] == "latency"]
    assert data["samples"] == 20 and data["p95_ms"] <= data["budget_ms"] == 50
    assert data["method"].startswith("same-host clock")
    texts = [proc.stdout, proc.stderr, *(p.read_text() for p in out.values())]
    for text in texts:
        assert ALICE not in text and BOB not in text

    rich = run_subprocess("probe", endpoint, "--token", ALICE, cwd=tmp_path)  # literal token
    assert rich.returncode == ExitCode.OK, rich.stdout + rich.stderr
    assert ALICE not in rich.stdout + rich.stderr
    assert "user-isolation" in rich.stdout and "--user-token-env" in rich.stdout  # skipped


@pytest.mark.parametrize(("how", "fmt"), [("--token", "rich"), ("--token-env", "json")])
def test_a_wrong_token_is_an_authentication_error_and_never_printed(endpoint, tmp_path, how,
                                                                    fmt):
    value = WRONG if how == "--token" else "W"
    proc = run_subprocess("probe", endpoint, how, value, "--format", fmt, cwd=tmp_path,
                          env={"W": WRONG})
    assert proc.returncode == ExitCode.UNDECIDED, proc.stdout + proc.stderr
    assert "authentication refused" in proc.stdout and "1008" in proc.stdout
    assert WRONG not in proc.stdout + proc.stderr
    if fmt == "json":
        doc = json.loads(proc.stdout)
        assert statuses(doc) == {"event-flow": "error", "event-latency": "skip",
                                 "user-isolation": "skip"}


@pytest.mark.parametrize(("args", "env", "message"), [
    (["ws://127.0.0.1:1/ws"], {}, "probe needs a token"),
    (["http://127.0.0.1:1/ws", "--token-env", "A"], {"A": ALICE}, "ws:// or wss://"),
    (["ws://127.0.0.1:1/ws", "--token-env", "UNSET_VAR_X"], {}, "UNSET_VAR_X is not set"),
    (["ws://127.0.0.1:1/ws", "--token", ALICE, "--token-env", "A"], {"A": ALICE}, "once"),
    (["ws://127.0.0.1:1/ws", "--token-env", "A", "--user-token-env", "bob"], {"A": ALICE},
     "NAME=VAR"),
    (["ws://127.0.0.1:1/ws", "--token-env", "A", "--only", "import-chain"], {"A": ALICE},
     "cannot run against a live endpoint"),
    (["ws://127.0.0.1:1/ws", "--token-env", "A", "--only", "event-flwo"], {"A": ALICE},
     "did you mean event-flow"),
])
def test_bad_probe_options_exit_4_without_the_token(cli, args, env, message):
    result = cli("probe", *args, env=env)
    assert result.exit_code == ExitCode.USAGE_ERROR, result.output
    assert message in result.stderr
    assert ALICE not in result.stdout + result.stderr


# -- failure modes against tiny purpose-built servers -----------------------------------------

Handler = Callable[[ServerConnection], Awaitable[None]]


@contextlib.contextmanager
def background(starters: dict[str, Callable[[], Awaitable[Any]]]) -> Iterator[dict[str, int]]:
    """Run the servers made by ``starters`` (each returns an asyncio or websockets server)
    on one loop in a thread; yield their ports by name; close them on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers: dict[str, Any] = {}
    try:
        for name, start in starters.items():
            servers[name] = asyncio.run_coroutine_threadsafe(start(), loop).result(WAIT)
        yield {name: srv.sockets[0].getsockname()[1] for name, srv in servers.items()}
    finally:
        async def stop() -> None:
            for srv in servers.values():
                srv.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(srv.wait_closed(), 2)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()


def ws_server(handler: Handler) -> Callable[[], Awaitable[Any]]:
    async def start() -> Any:
        return await serve(handler, "127.0.0.1", 0, ping_interval=None)

    return start


def event(kind: str, seq: int) -> str:
    return json.dumps({"type": kind, "user_id": "u", "thread_id": "t", "run_id": "r",
                       "seq": seq, "timestamp": time.time(), "data": {}})


async def closes_mid_run(ws: ServerConnection) -> None:
    await ws.send(json.dumps({"type": "auth_ok", "user_id": "u"}))
    request = json.loads(await ws.recv())
    await ws.send(json.dumps({"type": "run_accepted", "request_id": request["request_id"],
                              "thread_id": request["thread_id"], "run_id": "r"}))
    await ws.send(event("agent_started", 1))
    await ws.send(event("agent_thinking", 2))
    await ws.close(1011, "backend crashed")


async def sends_garbage(ws: ServerConnection) -> None:
    await ws.send("<html>this is not the agent endpoint</html>")
    await ws.send(b"\x00\xff binary junk")
    await ws.wait_closed()  # and then nothing more


async def never_speaks(ws: ServerConnection) -> None:
    await ws.wait_closed()


async def tcp_silence() -> Any:
    """Accepts TCP connections and never answers the WebSocket handshake."""
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.read()  # until the client gives up
        writer.close()

    return await asyncio.start_server(hold, "127.0.0.1", 0)


#: The probe's --timeout: the wire deadline is 1.5 s shorter, so the check's own start-up
#: (slow under load) never decides the outcome; the deadline modes wait ~1.5 s (the same
#: 1.5 s margin as any timeout: a longer one would only make those modes wait longer).
PROBE_TIMEOUT = 3.0
FAILURE_MODES = {
    "never-speaks": ("error", "the server sent nothing within"),
    "no-handshake": ("error", "could not connect within"),
    "refused": ("error", "connection refused: nothing listens at"),
    "tls": ("error", "TLS failed for wss://"),
    "closes-mid-run": ("fail", "2/5 critical events"),
    "garbage": ("error", "not JSON objects"),
}
#: Probes run at once: two, one per core; more would only compete for the CPU.
PROBES_AT_ONCE = 2
#: Only a safety net against a hang, far above the ~1-4 s a probe takes on an idle machine:
#: what proves each mode ended by the wire deadline is its message, not a stopwatch.
PROBE_SAFETY_NET_S = PROBE_TIMEOUT + 40


def probe_args(url: str) -> list[str]:
    return ["probe", url, "--token-env", "A", "--only", "event-flow",
            "--timeout", str(PROBE_TIMEOUT), "--format", "json"]


@pytest.fixture(scope="module")
def failure_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, float]]:
    """Every failure mode probed by the real CLI, two at a time (the two that wait for the
    deadline first, together): mode -> (completed process, seconds it took)."""
    import concurrent.futures as cf

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        refused = sock.getsockname()[1]  # closed again: nothing listens there
    starters = {"tls": ws_server(never_speaks), "closes-mid-run": ws_server(closes_mid_run),
                "garbage": ws_server(sends_garbage), "never-speaks": ws_server(never_speaks),
                "no-handshake": tcp_silence}
    cwd = tmp_path_factory.mktemp("failures")
    env = {**os.environ, "NO_COLOR": "1", "A": ALICE}

    def one(mode: str, port: int) -> tuple[Any, float]:
        url = f"{'wss' if mode == 'tls' else 'ws'}://127.0.0.1:{port}/ws"
        started = time.perf_counter()
        proc = subprocess.run([*netra_diag_cmd(), *probe_args(url)], cwd=cwd, env=env,
                              text=True, capture_output=True, timeout=PROBE_SAFETY_NET_S,
                              check=False)
        return proc, time.perf_counter() - started

    with background(starters) as ports, cf.ThreadPoolExecutor(PROBES_AT_ONCE) as pool:
        ports["refused"] = refused
        futures = {mode: pool.submit(one, mode, ports[mode]) for mode in FAILURE_MODES}
        return {mode: future.result() for mode, future in futures.items()}


@pytest.mark.parametrize("mode", list(FAILURE_MODES))
def test_every_failure_mode_ends_within_the_timeout_with_a_clear_message(failure_runs, mode):
    status, message = FAILURE_MODES[mode]
    proc, elapsed = failure_runs[mode]
    [flow] = json.loads(proc.stdout)["results"]
    assert flow["status"] == status, flow
    said = full_summary(flow["summary"], flow["evidence"])
    assert message in said, said
    # the wire deadline (or the failure itself) ended the check, not the runner's kill
    assert "timed out after" not in said, said
    assert elapsed < PROBE_SAFETY_NET_S, f"{mode} took {elapsed:.1f} s"
    assert proc.returncode == (ExitCode.FAILED if status == "fail" else ExitCode.UNDECIDED)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert ALICE not in proc.stdout + proc.stderr
    if mode == "closes-mid-run":
        observed = [e["message"] for e in flow["evidence"]]
        assert any("code 1011: backend crashed" in m for m in observed), observed


def test_a_server_echoing_the_token_back_is_redacted(cli):
    async def echo(ws: ServerConnection) -> None:
        header = ws.request.headers.get("Authorization", "") if ws.request else ""
        await ws.send(f"you sent {header}")  # garbage that contains the token
        await ws.close(1008, f"bad {header[-30:]}")

    with background({"echo": ws_server(echo)}) as ports:
        result = cli(*probe_args(f"ws://127.0.0.1:{ports['echo']}/ws"), env={"A": ALICE})
    [flow] = json.loads(result.stdout)["results"]
    assert flow["status"] == "error"
    assert ALICE not in result.stdout + result.stderr and "***" in result.stdout


def test_probe_catches_a_leaking_live_endpoint_and_a_blown_latency_budget(tmp_path):
    """A live endpoint serving the broadcast fault fails user-isolation over the wire; the
    latency budget given on the command line reaches the check."""
    async def scenario() -> tuple[Any, Any]:
        async with served("--user", f"alice={ALICE}", "--user", f"bob={BOB}",
                          "--inject", "broadcast-events", cwd=tmp_path) as server:
            env = {"A": ALICE, "B": BOB}
            leak = await asyncio.to_thread(
                run_subprocess, "probe", server.url, "--token-env", "A", "--user-token-env",
                "bob=B", "--only", "user-isolation", "--format", "json", cwd=tmp_path, env=env)
            slow = await asyncio.to_thread(
                run_subprocess, "probe", server.url, "--token-env", "A", "--only",
                "event-latency", "--latency-budget-ms", "0.000001", "--format", "json",
                cwd=tmp_path, env=env)
            return leak, slow

    leak, slow = asyncio.run(scenario())
    assert leak.returncode == ExitCode.FAILED, leak.stdout + leak.stderr
    [isolation] = json.loads(leak.stdout)["results"]
    pairs = {(e["data"]["receiver"], e["data"]["owner"])
             for e in isolation["evidence"] if e["kind"] == "leak"}
    assert pairs & {("alice", "bob"), ("bob", "alice")}, isolation
    assert slow.returncode == ExitCode.FAILED, slow.stdout + slow.stderr
    [latency] = json.loads(slow.stdout)["results"]
    assert latency["status"] == "fail" and "budget" in latency["summary"]
    for proc in (leak, slow):
        assert ALICE not in proc.stdout + proc.stderr and BOB not in proc.stdout + proc.stderr
