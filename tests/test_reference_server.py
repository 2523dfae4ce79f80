"""The reference WebSocket server over real sockets on 127.0.0.1: the protocol, hardening,
user isolation, and faulted copies of the reference served from child interpreters."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from netra_diag.faults import FAULTS, SCENARIOS, apply_faults, copy_reference

TIMEOUT = 5.0
CRITICAL = [
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
]
USERS = {"alice": "alice-token-1", "bob": "bob-token-2"}


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 4 * TIMEOUT))


@contextlib.asynccontextmanager
async def healthy_server(nb: Callable[[str], ModuleType], **options: Any) -> AsyncIterator[Any]:
    server = await nb("app.routes.websocket_server").start_server(users=USERS, **options)
    try:
        yield server
    finally:
        await asyncio.wait_for(server.close(), TIMEOUT)


async def open_client(url: str, token: str | None = None) -> ClientConnection:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return await connect(url, additional_headers=headers, open_timeout=TIMEOUT)


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def closed(ws: ClientConnection) -> tuple[int | None, str | None]:
    """Wait for the server to close ``ws``; its close code and reason."""
    await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
    return ws.close_code, ws.close_reason


def start(
    request_id: str, thread_id: str = "t1", message: str = "hello there", **extra: Any
) -> str:
    return json.dumps(
        {
            "type": "start_agent",
            "request_id": request_id,
            "thread_id": thread_id,
            "message": message,
            "agent": "demo",
            **extra,
        }
    )


async def run_once(
    ws: ClientConnection, request_id: str, thread_id: str = "t1"
) -> list[dict[str, Any]]:
    """Start a run; every frame received until that run finishes or fails (inclusive)."""
    await ws.send(start(request_id, thread_id))
    frames: list[dict[str, Any]] = []
    for _ in range(100):  # bounded: a run yields 7 frames (plus any leaked ones)
        frame = await recv(ws)
        frames.append(frame)
        if frame["type"] in ("run_finished", "error") and frame.get("request_id") == request_id:
            return frames
    raise AssertionError(f"run {request_id} never ended: {frames}")


def events_of(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] in CRITICAL]


# -- healthy protocol --------------------------------------------------------------------------


def test_healthy_run_delivers_the_five_events_in_order(nb, hub):
    async def scenario() -> list[dict[str, Any]]:
        async with healthy_server(nb) as server:
            assert server.url == f"ws://127.0.0.1:{server.port}/ws" and server.port > 0
            ws = await open_client(server.url, USERS["alice"])
            async with ws:
                assert await recv(ws) == {"type": "auth_ok", "user_id": "alice"}
                frames = await run_once(ws, "req-1", "thread-9")
                assert hub.connections_for("alice") and server.connection_count() == 1
            await server.wait_for_connections(0)
            assert hub.count() == 0
            return frames

    frames = run(scenario())
    accepted, *events, finished = frames
    assert accepted["type"] == "run_accepted"
    assert accepted["request_id"] == "req-1" and accepted["thread_id"] == "thread-9"
    run_id = accepted["run_id"]
    assert [e["type"] for e in events] == CRITICAL
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    for event in events:
        assert (event["user_id"], event["thread_id"], event["run_id"]) == (
            "alice",
            "thread-9",
            run_id,
        )
        assert isinstance(event["timestamp"], float) and isinstance(event["data"], dict)
    assert events[3]["data"]["result"] == {"words": 2, "chars": 11}
    assert finished == {
        "type": "run_finished",
        "request_id": "req-1",
        "thread_id": "thread-9",
        "run_id": run_id,
    }


def test_auth_by_first_frame_and_connection_reuse(nb, hub):
    async def scenario() -> None:
        async with healthy_server(nb) as server, await open_client(server.url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": USERS["bob"]}))
            assert await recv(ws) == {"type": "auth_ok", "user_id": "bob"}
            first = await run_once(ws, "r1")
            second = await run_once(ws, "r2")
            assert len(events_of(first)) == len(events_of(second)) == 5
            assert first[0]["run_id"] != second[0]["run_id"]
            assert [e["seq"] for e in events_of(second)] == [1, 2, 3, 4, 5]

    run(scenario())


def test_two_users_concurrently_receive_only_their_own_events(nb, hub):
    async def scenario() -> None:
        async with healthy_server(nb) as server:
            alice = await open_client(server.url, USERS["alice"])
            bob = await open_client(server.url, USERS["bob"])
            async with alice, bob:
                await recv(alice)
                await recv(bob)
                fa, fb = await asyncio.gather(run_once(alice, "ra"), run_once(bob, "rb"))
                # A second round: anything leaked from the first is queued before these.
                fa += await run_once(alice, "ra2")
                fb += await run_once(bob, "rb2")
            for user, frames in (("alice", fa), ("bob", fb)):
                events = events_of(frames)
                assert len(events) == 10
                assert {e["user_id"] for e in events} == {user}

    run(scenario())


# -- hardening ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("header", "invalid credentials"),
        ("duplicate-header", "invalid credentials"),  # even when one of them is valid
        ("frame", "invalid credentials"),
        ("not-auth", "authentication required"),
        ("silence", "authentication timeout"),
    ],
)
def test_bad_or_missing_token_closes_1008_without_the_token(nb, hub, how, reason):
    secret = "s3cr3t-wrong-token"

    async def scenario() -> tuple[Any, Any, dict[str, int]]:
        async with healthy_server(nb, auth_timeout=0.2) as server:
            if how == "duplicate-header":  # used to crash the handler (1011, a traceback)
                ws = await connect(server.url, open_timeout=TIMEOUT, additional_headers=[
                    ("Authorization", f"Bearer {USERS['alice']}"),
                    ("Authorization", f"Bearer {secret}")])
            else:
                ws = await open_client(server.url, secret if how == "header" else None)
            if how == "frame":
                await ws.send(json.dumps({"type": "auth", "token": secret}))
            elif how == "not-auth":
                await ws.send(start("r1", user_id=secret))
            code, why = await closed(ws)
            return code, why, server.stats()

    code, why, stats = run(scenario())
    assert (code, why) == (1008, reason)
    assert secret not in (why or "") and stats["auth_failures"] == 1
    assert stats["connections"] == 0 and hub.count() == 0


def test_start_agent_for_another_user_is_forbidden(nb, hub):
    async def scenario() -> None:
        async with (
            healthy_server(nb) as server,
            await open_client(server.url, USERS["alice"]) as ws,
        ):
            await recv(ws)
            await ws.send(start("r1", user_id="bob"))
            frame = await recv(ws)
            assert frame["type"] == "error" and frame["code"] == "forbidden"
            assert frame["request_id"] == "r1"
            assert hub.connections_for("bob") == [] and server.stats()["runs_started"] == 0
            # Naming yourself is fine, and the connection is still usable.
            frames = await run_once(ws, "r2")
            assert len(events_of(frames)) == 5

    run(scenario())


def test_malformed_frames_get_errors_and_the_connection_stays_usable(nb, hub):
    async def scenario() -> None:
        async with (
            healthy_server(nb) as server,
            await open_client(server.url, USERS["alice"]) as ws,
        ):
            await recv(ws)
            cases = [
                ("{not json", "bad_json"),
                ("[1, 2]", "bad_json"),
                (b"\x00binary", "bad_json"),
                ('{"type": "launch_missiles"}', "unknown_type"),
                ('{"no": "type"}', "unknown_type"),
                ('{"type": "start_agent", "request_id": "r0"}', "bad_request"),
                ('{"type": "auth", "token": "x"}', "bad_request"),
            ]
            for raw, code in cases:
                await ws.send(raw)
                frame = await recv(ws)
                assert (frame["type"], frame["code"]) == ("error", code), raw
                assert isinstance(frame["message"], str) and frame["message"]
            frames = await run_once(ws, "r1")
            assert len(events_of(frames)) == 5
            assert server.stats()["protocol_errors"] == len(cases)

    run(scenario())


def test_too_many_runs_is_refused(nb, hub):
    async def scenario() -> dict[str, Any]:
        async with (
            healthy_server(nb, max_runs=0) as server,
            await open_client(server.url, USERS["alice"]) as ws,
        ):
            await recv(ws)
            await ws.send(start("r1"))
            return await recv(ws)

    frame = run(scenario())
    assert (frame["type"], frame["code"], frame["request_id"]) == ("error", "too_many_runs", "r1")


def test_oversized_frame_closes_1009(nb, hub):
    async def scenario() -> tuple[Any, Any]:
        ws_server = nb("app.routes.websocket_server")
        async with (
            healthy_server(nb) as server,
            await open_client(server.url, USERS["alice"]) as ws,
        ):
            await recv(ws)
            await ws.send("x" * (ws_server.MAX_FRAME_BYTES + 1))
            result = await closed(ws)
            await server.wait_for_connections(0)
            return result

    code, _ = run(scenario())
    assert code == 1009
    assert hub.count() == 0


async def open_slow_client(url: str, port: int, token: str) -> ClientConnection:
    """A client whose socket takes little (4 KiB receive buffer) and that reads only when
    told: the server's socket buffer fills, as with a slow consumer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window
    sock.setblocking(False)
    await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port)),
                           TIMEOUT)
    return await connect(url, sock=sock, additional_headers={"Authorization": f"Bearer {token}"},
                         open_timeout=TIMEOUT, max_size=None, max_queue=None)


def test_queue_overflow_closes_1013_and_is_counted(nb, hub):
    """A client that does not read: the socket's buffer fills, frames go to the queue (no
    write-through under backpressure), a 2-frame queue overflows: the policy closes the
    consumer with 1013 and counts every drop."""
    big = "w " * 30_000  # each run echoes the message in its tool_executing event

    async def scenario() -> tuple[list[dict[str, Any]], Any, dict[str, int]]:
        async with healthy_server(nb, queue_maxsize=2, close_timeout=1.0) as server:
            ws = await open_slow_client(server.url, server.port, USERS["alice"])
            await recv(ws)
            for i in range(8):  # every run in flight at once, nothing read meanwhile
                await ws.send(start(f"r{i}", message=big))
            await server.wait_for_connections(0, timeout=4 * TIMEOUT)  # closed by the server
            frames = []
            with contextlib.suppress(ConnectionClosed):
                for _ in range(100):  # bounded: 8 runs yield 56 frames
                    frames.append(await recv(ws))
            code, reason = await closed(ws)
            return frames, (code, reason), server.stats()

    frames, close, stats = run(scenario())
    assert stats["slow_consumers_closed"] == 1 and stats["frames_dropped"] >= 1
    assert close == (1013, "slow consumer: outgoing queue full")
    assert frames[0]["type"] == "run_accepted" and len(events_of(frames)) < 8 * 5
    assert stats["frames_sent"] >= len(frames) + 1  # auth_ok was sent too
    assert hub.count() == 0


def test_a_burst_to_a_reading_client_is_written_through_without_overflow(nb, hub):
    """The queue is for backpressure only: a client that reads gets a whole run's burst
    through a 2-frame queue, every frame written straight through when emitted."""

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, int]]:
        async with healthy_server(nb, queue_maxsize=2) as server:
            ws = await open_client(server.url, USERS["alice"])
            await recv(ws)
            frames = await run_once(ws, "r1")
            await ws.close()
            await server.wait_for_connections(0)
            return frames, server.stats()

    frames, stats = run(scenario())
    assert [f["seq"] for f in events_of(frames)] == [1, 2, 3, 4, 5]
    assert stats["slow_consumers_closed"] == 0 and stats["frames_dropped"] == 0
    assert stats["frames_sent"] == stats["frames_queued"] == 8


def test_abruptly_dropped_connection_leaves_the_hub(nb, hub):
    async def scenario() -> None:
        async with healthy_server(nb) as server:
            ws = await open_client(server.url, USERS["alice"])
            await recv(ws)
            await run_once(ws, "r1")
            assert hub.count() == 1 and server.connection_count() == 1
            ws.transport.abort()  # no close frame, just a reset
            await server.wait_for_connections(0)
            assert hub.count() == 0 and hub.connections_for("alice") == []

    run(scenario())


def test_wrong_path_is_404(nb, hub):
    async def scenario() -> None:
        async with healthy_server(nb) as server:
            with pytest.raises(InvalidStatus) as info:
                await connect(server.url.replace("/ws", "/other"), open_timeout=TIMEOUT)
            assert info.value.response.status_code == 404

    run(scenario())


def test_server_close_sends_1001_and_counts(nb, hub):
    async def scenario() -> tuple[Any, dict[str, int]]:
        server = await nb("app.routes.websocket_server").start_server(users=USERS)
        ws = await open_client(server.url, USERS["alice"])
        await recv(ws)
        await run_once(ws, "r1")
        stats = server.stats()
        await asyncio.wait_for(server.close(), TIMEOUT)
        code, _ = await closed(ws)
        return code, stats

    code, stats = run(scenario())
    assert code == 1001 and hub.count() == 0
    assert stats["runs_finished"] == 1 and stats["frames_sent"] == stats["frames_queued"] == 8
    assert stats["frames_dropped"] == 0 and stats["slow_consumers_closed"] == 0


def test_unknown_server_option_is_refused(nb):
    with pytest.raises(TypeError, match="unknown server options"):
        run(nb("app.routes.websocket_server").start_server(users=USERS, bogus=1))


def test_time_exchange_answers_in_order_and_keeps_the_connection_usable(nb, hub):
    async def scenario() -> None:
        async with (
            healthy_server(nb) as server,
            await open_client(server.url, USERS["alice"]) as ws,
        ):
            await recv(ws)
            before = time.time()
            await ws.send(json.dumps({"type": "time", "request_id": "c1"}))
            reply = await recv(ws)
            assert set(reply) == {"type", "server_time", "request_id"}
            assert reply["type"] == "time" and reply["request_id"] == "c1"
            assert before <= reply["server_time"] <= time.time()  # one clock on loopback
            await ws.send('{"type": "time"}')
            assert set(await recv(ws)) == {"type", "server_time"}
            # behind a run's frames: the reply comes after everything queued before it
            await ws.send(start("r1"))
            await ws.send(json.dumps({"type": "time", "request_id": "c2"}))
            kinds = []
            while not kinds or kinds[-1] != "time":
                kinds.append((await recv(ws))["type"])
            assert kinds[0] == "run_accepted" and kinds[-1] == "time"
            assert server.stats()["protocol_errors"] == 0

    run(scenario())


def test_a_client_cannot_watch_another_users_run(nb, hub):
    """There is no way to subscribe to another user's run: a subscribe naming another user
    is forbidden, a made-up watch frame is refused, and starting a run with another user's
    request and thread ids starts a run of one's own."""

    async def scenario() -> None:
        async with healthy_server(nb) as server:
            alice = await open_client(server.url, USERS["alice"])
            bob = await open_client(server.url, USERS["bob"])
            async with alice, bob:
                await recv(alice)
                await recv(bob)
                mine = await run_once(alice, "shared-req", "shared-thread")
                alice_run = mine[0]["run_id"]
                for kind, code in (("subscribe", "forbidden"), ("watch", "unknown_type")):
                    await bob.send(json.dumps({"type": kind, "run_id": alice_run,
                                               "user_id": "alice"}))
                    frame = await recv(bob)
                    assert (frame["type"], frame["code"]) == ("error", code)
                theirs = await run_once(bob, "shared-req", "shared-thread")
                assert theirs[0]["run_id"] != alice_run
                assert {e["user_id"] for e in events_of(theirs)} == {"bob"}
                # a marker through alice's queue: nothing of bob's run reached her first
                await alice.send('{"type": "time"}')
                assert (await recv(alice))["type"] == "time"

    run(scenario())


def test_keepalive_pings_drop_a_client_that_stopped_answering(nb, hub):
    ws_server = nb("app.routes.websocket_server")
    assert ws_server.ServerOptions().ping_interval and ws_server.ServerOptions().ping_timeout

    async def scenario() -> dict[str, int]:
        async with healthy_server(nb, ping_interval=0.05, ping_timeout=0.05,
                                  close_timeout=0.2) as server:
            ws = await open_client(server.url, USERS["alice"])
            await recv(ws)
            await run_once(ws, "r1")
            ws.transport.pause_reading()  # alive but deaf: pings go unanswered
            await server.wait_for_connections(0)
            ws.transport.abort()
            return server.stats()

    stats = run(scenario())
    assert stats["connections"] == 0 and hub.count() == 0


def test_many_clients_dropped_abruptly_mid_run_leave_nothing_behind(nb, hub):
    async def scenario() -> dict[str, int]:
        async with healthy_server(nb) as server:
            clients = [await open_client(server.url, USERS["alice" if i % 2 else "bob"])
                       for i in range(6)]
            for i, ws in enumerate(clients):
                await recv(ws)
                await ws.send(start(f"r{i}"))
                assert (await recv(ws))["type"] == "run_accepted"
            await server.wait_for_connections(6)
            for ws in clients:
                ws.transport.abort()  # no close frame, runs possibly still in flight
            await server.wait_for_connections(0)
            return server.stats()

    stats = run(scenario())
    assert stats["connections"] == 0 and hub.count() == 0
    assert hub.users() == []


# -- faulted copies, served from child interpreters ------------------------------------------

_SERVE = """
import asyncio, json, sys
root = sys.argv[1]
sys.path.insert(0, root)
sys.dont_write_bytecode = True
import netra_backend
assert netra_backend.__file__.startswith(root), netra_backend.__file__
from netra_backend.app.routes.websocket_server import start_server

async def main():
    server = await start_server(users=json.loads(sys.argv[2]))
    print(json.dumps({"url": server.url}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.close()

asyncio.run(main())
"""


@contextlib.asynccontextmanager
async def faulted_server(workdir: Path, faults: tuple[str, ...]) -> AsyncIterator[str]:
    """Serve a copy of the reference with ``faults`` applied; yields its URL. The child
    stops when its stdin closes; a crash fails the test with the child's stderr."""
    root = copy_reference(workdir / "src")
    apply_faults(root, faults)
    log = workdir / "server.log"
    with log.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _SERVE,
            str(root),
            json.dumps(USERS),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            cwd=workdir,
        )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 2 * TIMEOUT)
        assert line, f"server with {faults} did not start:\n{log.read_text()}"
        yield json.loads(line)["url"]
        assert proc.returncode is None, f"server with {faults} crashed:\n{log.read_text()}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def test_broadcast_fault_leaks_events_to_other_users(tmp_path):
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with faulted_server(tmp_path, ("broadcast-events",)) as url:
            alice = await open_client(url, USERS["alice"])
            bob = await open_client(url, USERS["bob"])
            async with alice, bob:
                await recv(alice)
                await recv(bob)
                fa, fb = await asyncio.gather(run_once(alice, "ra"), run_once(bob, "rb"))
                fa += await run_once(alice, "ra2")
                fb += await run_once(bob, "rb2")
            return fa, fb

    fa, fb = run(scenario())
    assert "bob" in {e["user_id"] for e in events_of(fa)}
    assert "alice" in {e["user_id"] for e in events_of(fb)}


def test_incident_scenario_delivers_zero_events_without_crashing(tmp_path):
    async def scenario() -> list[list[dict[str, Any]]]:
        async with (
            faulted_server(tmp_path, SCENARIOS["incident"]) as url,
            await open_client(url, USERS["alice"]) as ws,
        ):
            assert (await recv(ws))["type"] == "auth_ok"
            return [await run_once(ws, "r1"), await run_once(ws, "r2")]

    for frames in run(scenario()):
        accepted, *rest = frames
        assert accepted["type"] == "run_accepted"
        assert events_of(frames) == []
        assert rest[-1]["type"] == "error" and rest[-1]["code"] == "run_failed"
        assert rest[-1]["run_id"] == accepted["run_id"]
        assert "llm_manager" in rest[-1]["message"]


def test_each_fault_alone_breaks_delivery_only_if_event_flow_must_catch_it(tmp_path):
    """Faults whose detected_by names event-flow deliver 0 of 5 events (an error frame or
    silence until run_finished); the others still deliver all five, in order."""

    async def one(name: str, slots: asyncio.Semaphore) -> tuple[str, list[dict[str, Any]]]:
        workdir = tmp_path / name
        workdir.mkdir()
        async with (
            slots,  # two servers at a time, one per core: more only compete for the CPU
            faulted_server(workdir, (name,)) as url,
            await open_client(url, USERS["alice"]) as ws,
        ):
            await recv(ws)
            return name, await run_once(ws, "r1")

    async def scenario() -> list[tuple[str, list[dict[str, Any]]]]:
        slots = asyncio.Semaphore(2)
        return await asyncio.gather(*(one(name, slots) for name in FAULTS))

    # a safety net only, far above the few seconds this takes
    for name, frames in asyncio.run(asyncio.wait_for(scenario(), 30 * TIMEOUT)):
        assert frames[0]["type"] == "run_accepted", name
        kinds = [e["type"] for e in events_of(frames)]
        if "event-flow" in FAULTS[name].detected_by:
            assert kinds == [], f"{name}: {frames}"
        else:
            assert kinds == CRITICAL, f"{name}: {frames}"
            assert frames[-1]["type"] == "run_finished", name


# -- issue 11: hostile frames and guessing tokens ---------------------------------------------


def test_deeply_nested_json_is_bad_json_and_the_connection_stays_usable(nb, hub):
    async def scenario() -> dict[str, int]:
        async with (
            healthy_server(nb) as server,
            await open_client(server.url, USERS["alice"]) as ws,
        ):
            await recv(ws)
            for _ in range(3):  # every such frame, not only the first
                await ws.send("[" * 60000)
                frame = await recv(ws)
                assert (frame["type"], frame["code"]) == ("error", "bad_json"), frame
                assert "nested too deeply" in frame["message"]
            frames = await run_once(ws, "r1")
            assert len(events_of(frames)) == 5
            return server.stats()

    stats = run(scenario())
    assert stats["protocol_errors"] == 3


def test_deeply_nested_json_before_authentication_is_a_counted_failure(nb, hub):
    async def scenario() -> tuple[Any, Any, dict[str, int]]:
        async with healthy_server(nb) as server:
            ws = await open_client(server.url)
            await ws.send("[" * 60000)
            code, why = await closed(ws)
            return code, why, server.stats()

    code, why, stats = run(scenario())
    assert (code, why) == (1008, "authentication required")
    assert stats["auth_failures"] == 1


def test_failed_authentication_is_slowed_down_per_address_and_counted(nb, hub):
    """After the free failures, every attempt from the address waits (counted); a right
    token still gets in, and clears the address."""
    async def attempt(url: str, token: str) -> int | None:
        ws = await open_client(url, token)
        if token == USERS["alice"]:
            assert (await recv(ws))["type"] == "auth_ok"
            await ws.close()
            return None
        code, _ = await closed(ws)
        return code

    async def scenario() -> tuple[list[Any], dict[str, int], dict[str, int]]:
        # tiny delays keep the test fast; the policy is what is checked
        async with healthy_server(nb, auth_free_failures=3, auth_base_delay=0.001,
                                  auth_max_delay=0.004) as server:
            codes = [await attempt(server.url, f"guess-{i}") for i in range(8)]
            before = server.stats()
            codes.append(await attempt(server.url, USERS["alice"]))  # throttled, then in
            codes.append(await attempt(server.url, "guess-again"))  # cleared: free again
            return codes, before, server.stats()

    codes, before, after = run(scenario())
    assert codes == [1008] * 8 + [None, 1008]
    assert before["auth_failures"] == 8 and before["auth_throttled"] == 5
    assert after["auth_throttled"] == 6 and after["auth_failures"] == 9


def test_the_auth_throttle_policy(nb):
    throttle = nb("app.routes.protocol").AuthThrottle(free=2, window_s=10, base_delay_s=0.5,
                                                      max_delay_s=3, max_addresses=2)
    delays = []
    for now in range(6):
        delays.append(throttle.delay_for("a", now))
        throttle.failed("a", now)
    assert delays == [0, 0, 0.5, 1.0, 2.0, 3.0]
    assert throttle.delay_for("b", 5) == 0  # per address
    assert throttle.delay_for("a", 100) == 0  # failures age out of the window
    for index, address in enumerate(("x", "y", "z")):
        throttle.failed(address, 200 + index)
    assert len(throttle._failures) == 2  # bounded: the oldest address is forgotten
