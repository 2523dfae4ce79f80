"""Wire checks sharing one live endpoint (``probe``: the same users for every check) take
turns on it, so one check's runs are never counted by another: the faulted probe, repeated
five times (two at a time, so the turns are taken across probes too), gives the same counts
every time."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
from helpers import run_subprocess
from test_serve import served

from netra_diag.exitcodes import ExitCode
from netra_diag.schemas import RUN_SCHEMA

ALICE, BOB = "alice-sharing-secret-01", "bob-sharing-secret-02"
REPEATS = 5


def leak_counts(doc: dict[str, Any]) -> dict[tuple[str, str], int]:
    [isolation] = [r for r in doc["results"] if r["id"] == "user-isolation"]
    assert isolation["status"] == "fail", (isolation["summary"], [
        (r["id"], r["status"], r["summary"]) for r in doc["results"]])
    return {(e["data"]["receiver"], e["data"]["owner"]): e["data"]["count"]
            for e in isolation["evidence"] if e["kind"] == "leak"}


def test_the_faulted_probe_repeated_five_times_gives_the_same_counts(tmp_path):
    async def scenario() -> list[Any]:
        async with served("--user", f"alice={ALICE}", "--user", f"bob={BOB}",
                          "--inject", "broadcast-events", cwd=tmp_path) as server:
            env = {"A": ALICE, "B": BOB}
            # two probes at a time (the turns are taken across probes too), five in all;
            # more at once only measures the machine's load against the run budgets
            gate = asyncio.Semaphore(2)

            async def one() -> Any:
                async with gate:
                    return await asyncio.to_thread(
                        run_subprocess, "probe", server.url, "--token-env", "A",
                        "--user-token-env", "bob=B", "--jobs", "3", "--format", "json",
                        cwd=tmp_path, env=env)

            return await asyncio.gather(*(one() for _ in range(REPEATS)))

    procs = asyncio.run(scenario())
    counts = []
    validator = jsonschema.Draft202012Validator(RUN_SCHEMA)
    for proc in procs:
        assert proc.returncode == ExitCode.FAILED, proc.stdout + proc.stderr
        doc = json.loads(proc.stdout)
        assert not list(validator.iter_errors(doc))  # a probe's run is a run/v1 document too
        counts.append(leak_counts(doc))
    # two users, one run each, every event broadcast: each receives the other's 5 events
    assert counts == [{("alice", "bob"): 5, ("bob", "alice"): 5}] * REPEATS


def test_a_second_check_waits_for_its_turn_and_gives_up_at_its_deadline():
    from netra_diag.support.wire_group import endpoint_turn

    url = "ws://127.0.0.1:9/turn-test"

    async def scenario() -> list[bool]:
        async with endpoint_turn(url, 1.0) as first, endpoint_turn(url, 0.1) as second:
            pass  # the second waited for another holder, and timed out
        async with endpoint_turn(url, 0.1) as third:  # released: free again
            pass
        return [first, second, third]

    assert asyncio.run(scenario()) == [True, False, True]
