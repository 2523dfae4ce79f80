"""``netra-diag serve``: a real subprocess serving the reference; clean stop; bad options."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import netra_diag_cmd
from websockets.asyncio.client import connect

from netra_diag.exitcodes import ExitCode

#: One bound for every wait here (a line, a frame, a close, an exit): a safety net, far above
#: what each takes on an idle machine.
WAIT = 30.0
_URL = re.compile(r"listening on (ws://\S+)")
_DEMO = re.compile(r"user: (\S+)\s+token: (\S+)")


@dataclass
class Served:
    """A running ``netra-diag serve`` subprocess and what its banner said."""

    proc: asyncio.subprocess.Process
    url: str
    banner: list[str]


@contextlib.asynccontextmanager
async def served(*args: str, cwd: Path) -> AsyncIterator[Served]:
    """Start ``netra-diag serve --port 0 ARGS``; yield once its URL is printed (awaited with
    a timeout, never slept for). On exit, SIGTERM it if it is still running."""
    env = {**os.environ, "NO_COLOR": "1"}
    proc = await asyncio.create_subprocess_exec(
        *netra_diag_cmd(), "serve", "--port", "0", *args, cwd=cwd, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        banner: list[str] = []
        while True:
            raw = await asyncio.wait_for(proc.stdout.readline(), WAIT)
            assert raw, f"serve exited before listening: {await _stderr(proc)}"
            banner.append(raw.decode().rstrip("\n"))
            if _URL.search(banner[0]) and raw.decode().strip().startswith("stop:"):
                break
        url = _URL.search(banner[0])
        assert url, banner
        yield Served(proc, url.group(1), banner)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), WAIT)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _stderr(proc: asyncio.subprocess.Process) -> str:
    assert proc.stderr is not None
    return (await asyncio.wait_for(proc.stderr.read(), WAIT)).decode()


async def _recv(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_url_and_auth_serves_a_run_and_stops_with_1001(tmp_path, signum):
    async def scenario() -> tuple[list[str], list[str], int | None, int, str]:
        async with served(cwd=tmp_path) as server:
            user, token = _DEMO.search("\n".join(server.banner)).groups()
            async with await connect(server.url, open_timeout=WAIT) as ws:
                await ws.send(json.dumps({"type": "auth", "token": token}))
                assert await _recv(ws) == {"type": "auth_ok", "user_id": user}
                await ws.send(json.dumps({"type": "start_agent", "request_id": "r1",
                                          "thread_id": "t1", "message": "hi there"}))
                kinds = []
                while not kinds or kinds[-1] not in ("run_finished", "error"):
                    kinds.append((await _recv(ws))["type"])
                server.proc.send_signal(signum)
                await asyncio.wait_for(ws.wait_closed(), WAIT)
                code = ws.close_code
            exit_code = await asyncio.wait_for(server.proc.wait(), WAIT)
            return server.banner, kinds, code, exit_code, await _stderr(server.proc)

    banner, kinds, close_code, exit_code, stderr = asyncio.run(scenario())
    text = "\n".join(banner)
    assert "reference pipeline (healthy)" in text
    assert 'Authorization: Bearer <token>' in text and '{"type":"auth","token":"<token>"}' in text
    assert kinds == ["run_accepted", "agent_started", "agent_thinking", "tool_executing",
                     "tool_completed", "agent_completed", "run_finished"]
    assert close_code == 1001
    assert exit_code == 0, stderr
    assert "1 open connection(s) closed with 1001" in stderr and "Traceback" not in stderr


def test_serve_with_users_and_a_fault_never_prints_the_tokens(tmp_path):
    secret = "alice-very-secret-token"

    async def scenario() -> tuple[list[str], int, str]:
        async with served("--user", f"alice={secret}", "--user", "bob=bob-other-token",
                          "--inject", "slow-emission", cwd=tmp_path) as server:
            headers = {"Authorization": f"Bearer {secret}"}
            async with await connect(server.url, additional_headers=headers,
                                     open_timeout=WAIT) as ws:
                assert await _recv(ws) == {"type": "auth_ok", "user_id": "alice"}
            server.proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(server.proc.wait(), WAIT)
            return server.banner, code, await _stderr(server.proc)

    banner, code, stderr = asyncio.run(scenario())
    text = "\n".join(banner)
    assert "faults: slow-emission" in text and "users: alice, bob" in text
    assert secret not in text + stderr and "bob-other-token" not in text + stderr
    assert code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--user", "alice"], "NAME=TOKEN"),
    (["--user", "=tok"], "NAME=TOKEN"),
    (["--user", "a=same-token", "--user", "b=same-token"], "reuses another user's token"),
    (["--user", "a=one-token", "--user", "a=two-token"], "given twice"),
    (["--port", "70000"], "between 0 and 65535"),
    (["--inject", "no-such-fault"], "unknown fault"),
    (["--scenario", "nope"], "unknown scenario"),
])
def test_bad_options_exit_4_with_a_message(cli, args, message):
    result = cli("serve", *args)
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert message in result.stderr
    assert "same-token" not in result.stderr and "one-token" not in result.stderr


def test_a_port_in_use_exits_4_and_leaves_no_reference_imported(cli):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("serve", "--port", str(port))
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not any(m == "netra_backend" or m.startswith("netra_backend.") for m in sys.modules)


def test_user_tokens_can_come_from_the_environment_and_errors_never_show_them():
    from netra_diag.errors import ConfigError
    from netra_diag.serve import parse_users

    env = {"ALICE_TOKEN": "alice-env-secret", "BOB_TOKEN": "bob-env-secret", "EMPTY": " "}
    users, demo = parse_users(["carol=carol-argv-token"], ["alice=ALICE_TOKEN", "bob=BOB_TOKEN"],
                              env)
    assert users == {"carol": "carol-argv-token", "alice": "alice-env-secret",
                     "bob": "bob-env-secret"} and demo is None
    for user_envs, message in [(["alice"], "NAME=VAR"), (["alice=NOT_SET"], "NOT_SET is not set"),
                               (["alice=EMPTY"], "EMPTY is not set or is empty"),
                               (["alice=bad-name"], "not an environment variable name"),
                               (["alice=ALICE_TOKEN", "alice=BOB_TOKEN"], "given twice"),
                               (["alice=ALICE_TOKEN", "eve=ALICE_TOKEN"], "reuses another")]:
        with pytest.raises(ConfigError, match=message) as info:
            parse_users([], user_envs, env)
        assert "env-secret" not in str(info.value)


def test_demo_users_are_two_so_the_printed_probe_can_judge_isolation(tmp_path):
    async def scenario() -> list[str]:
        async with served(cwd=tmp_path) as server:
            return server.banner

    banner = "\n".join(asyncio.run(scenario()))
    users = dict(_DEMO.findall(banner))
    assert set(users) == {"demo", "demo2"} and len(set(users.values())) == 2
    hint = next(line for line in banner.splitlines() if "probe it:" in line)
    assert "--user-token-env demo2=NETRA_TOKEN_2" in hint
