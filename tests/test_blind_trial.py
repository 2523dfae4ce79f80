"""The blind trial, kept: a backend designed without reading the checks (tests/fixtures/chatrelay).

Its healthy copy is judged healthy; in the broken copy each observable defect is failed once,
by its owner, at the file:line its README states, and the check its defect blocks says so.
D4 (a connection list shared by every user's hub) is unobservable while D3 crashes every
run; user-isolation, which owns it, waits for event-flow (README of the fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_subprocess

from netra_diag.exitcodes import ExitCode

CHATRELAY = Path(__file__).parent / "fixtures" / "chatrelay"

BROKEN = {
    "import-chain": ("fail", ["chatrelay/app.py:9", "chatrelay/app.py:33"]),  # D1
    "emitter-methods": ("fail", ["chatrelay/engine.py:31"]),  # D2
    "registry-wiring": ("fail", ["chatrelay/catalog.py:71"]),  # D3
    "engine-factory": ("skip", []),  # blocked by registry-wiring (D3)
    "deprecation-warnings": ("pass", []),
    "event-flow": ("fail", []),  # the symptom
    "user-isolation": ("skip", []),  # depends on event-flow: D4 cannot be observed yet
    "event-latency": ("skip", []),
    "context-identity": ("skip", []),  # the context class lives in the hooks file
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[int, dict]]:
    out = {}
    for copy in ("healthy", "broken"):
        proc = run_subprocess("run", str(CHATRELAY / copy), "--format", "json",
                              cwd=tmp_path_factory.mktemp(copy))
        out[copy] = (proc.returncode, json.loads(proc.stdout))
    return out


def table(doc: dict) -> str:
    return "\n".join(f"{r['id']}: {r['status']}: {r['summary']}" for r in doc["results"])


def test_the_healthy_copy_is_judged_healthy(runs):
    code, doc = runs["healthy"]
    assert code == ExitCode.OK, table(doc)
    assert doc["diagnosis"]["verdict"] == "healthy", table(doc)
    assert doc["counts"]["fail"] == 0 and doc["counts"]["error"] == 0, table(doc)


def test_each_defect_is_failed_once_by_its_owner_at_its_line(runs):
    code, doc = runs["broken"]
    assert code == ExitCode.FAILED, table(doc)
    rows = {r["id"]: r for r in doc["results"]}
    assert {k: rows[k]["status"] for k in BROKEN} == {k: v[0] for k, v in BROKEN.items()}, \
        table(doc)
    owners: dict[str, str] = {}
    for check_id, (_, sites) in BROKEN.items():
        located = {f"{e['file']}:{e['line']}" for e in rows[check_id]["evidence"]
                   if e["kind"] == "location"}
        for site in sites:
            assert site in located, (check_id, site, table(doc))
            owners[site] = check_id
    for row in doc["results"]:  # no other check locates another owner's defect
        for e in row["evidence"]:
            site = f"{e.get('file')}:{e.get('line')}"
            if e["kind"] == "location" and site in owners:
                assert owners[site] == row["id"], (row["id"], site, table(doc))
    assert rows["engine-factory"]["summary"].startswith("blocked by registry-wiring"), table(doc)
    assert [c["ids"] for c in doc["diagnosis"]["root_causes"]] == \
        [["import-chain"], ["emitter-methods"], ["registry-wiring"]]
