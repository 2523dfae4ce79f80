"""Three sample backends not taken from the reference: the verdict table of each copy.

``tests/fixtures/{lantern,harbor,kestrel}`` each hold a ``healthy`` and a ``broken`` copy of a
small, runnable agent pipeline of its own shape, with a hand-written profile and a hooks
file (their READMEs state every defect with file:line and its owner check):

* lantern: sockets join a module-level registry (only a ``connect`` hook can say how);
  deprecations warn with ``UserWarning``; the broken copy hides a context-type split (the
  manager factory rejects the scope the wiring builds) behind a deprecated import;
* harbor: ``add_connection`` takes a typed connection record (the hook wraps the tool's
  connection); the agent pool creates agents per request and lists none before;
* kestrel: the wiring is a framework dependency taking a request object (supplied through
  ``build:`` by a function of the hooks file); ``setup()`` sets the environment.

Each copy is run once through the public CLI (``netra-diag run PROFILE --format json``, a
real subprocess). Healthy copies: every check passes, the wire-only checks skip (no server
role), nothing fails or errors. Broken copies: each defect fails its owner check, located at
the README's file:line; ``event-flow`` fails for the symptom; every other check either
passes or, when the defect keeps it from setting up, is blocked (``skip`` or ``error``
naming the owner), never ``fail``. Without their hooks file, lantern and harbor show the
harness's own limits as ``error`` naming the ``connect()`` hook, never as ``fail``.
``test_the_fixtures_run_as_their_readmes_say`` drives the copies without netra-diag, so that
a fixture that rots is caught on its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import run_subprocess

from netra_diag.exitcodes import ExitCode

FIXTURES = Path(__file__).parent / "fixtures"
BACKENDS = ("lantern", "harbor", "kestrel")
COPIES = [(b, c) for b in BACKENDS for c in ("healthy", "broken")]
CHECKS = ("import-chain", "emitter-methods", "registry-wiring", "engine-factory",
          "deprecation-warnings", "event-flow", "user-isolation", "event-latency",
          "context-identity")
WIRE_ONLY = ("event-latency",)  # user-isolation runs in-process without a server
CRITICAL = ["agent_started", "agent_thinking", "tool_executing", "tool_completed",
            "agent_completed"]
#: A check kept from setting up by another check's defect: ``skip`` or ``error``, naming it.
BLOCKED = "blocked"
RUN_TIMEOUT_S = 240.0  # a safety net for a loaded machine; a run takes a few seconds


@dataclass(frozen=True)
class Defect:
    """One defect of a broken copy, as its README states it."""

    owner: str
    file: str  # relative to the copy's source root, as evidence names it
    first: int
    last: int | None = None  # a span (a method) when the owner may locate any line of it

    def covers(self, evidence: dict[str, Any]) -> bool:
        line = evidence.get("line")
        return evidence.get("file") == self.file and isinstance(line, int) and \
            self.first <= line <= (self.last or self.first)

    def __str__(self) -> str:
        span = f"-{self.last}" if self.last else ""
        return f"{self.file}:{self.first}{span} ({self.owner})"


HEALTHY_TABLE = {check: ("skip" if check in WIRE_ONLY else "pass") for check in CHECKS}

BROKEN: dict[str, tuple[dict[str, str], list[Defect]]] = {
    "lantern": (
        {"import-chain": "fail", "emitter-methods": BLOCKED, "registry-wiring": BLOCKED,
         "engine-factory": BLOCKED, "deprecation-warnings": "pass", "event-flow": "fail",
         "user-isolation": "skip", "event-latency": "skip", "context-identity": "fail"},
        [Defect("import-chain", "lantern/app.py", 11),     # imports shared_channel
         Defect("import-chain", "lantern/app.py", 27),     # calls it
         Defect("context-identity", "lantern/wire/scope.py", 9),     # the second class
         Defect("context-identity", "lantern/wire/channel.py", 32)],  # the rejection
    ),
    "harbor": (
        {"import-chain": "pass", "emitter-methods": "fail", "registry-wiring": "fail",
         "engine-factory": "pass", "deprecation-warnings": "pass", "event-flow": "fail",
         "user-isolation": "skip", "event-latency": "skip", "context-identity": "pass"},
        [Defect("emitter-methods", "harbor/streaming/publisher.py", 11),  # lacks a method
         Defect("registry-wiring", "harbor/agents/pool.py", 36, 39)],    # create_agent
    ),
    "kestrel": (
        {"import-chain": "pass", "emitter-methods": "pass", "registry-wiring": "fail",
         "engine-factory": "fail", "deprecation-warnings": "fail", "event-flow": "fail",
         "user-isolation": "skip", "event-latency": "skip", "context-identity": "pass"},
        [Defect("registry-wiring", "kestrel/dependencies.py", 30),        # tools missing
         Defect("engine-factory", "kestrel/agents/lane.py", 42, 44),      # open_lane
         Defect("deprecation-warnings", "kestrel/realtime/legacy.py", 8)],  # no warning
    ),
}


def table(doc: dict[str, Any]) -> str:
    """The whole verdict table, for every failure message."""
    rows = [f"  {r['id']:<22} {r['status']:<5} {r['summary']}" for r in doc.get("results", [])]
    return "verdict table:\n" + "\n".join(rows)


def texts(result: dict[str, Any]) -> str:
    return " ".join([result["summary"], *(e["message"] for e in result["evidence"])])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """One CLI run per copy: ``(backend, copy) -> {"rc", "doc", "stderr"}``."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    cwd = tmp_path_factory.mktemp("samples")
    for backend, copy in COPIES:
        proc = run_subprocess("run", str(FIXTURES / backend / copy / "netra-diag.yaml"),
                              "--format", "json", "--jobs", "2", cwd=cwd,
                              timeout=RUN_TIMEOUT_S)
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            doc = {}
        out[backend, copy] = {"rc": proc.returncode, "doc": doc, "stderr": proc.stderr}
    return out


def run_of(runs: dict, backend: str, copy: str) -> tuple[dict[str, Any], dict[str, Any]]:
    run = runs[backend, copy]
    doc = run["doc"]
    assert doc.get("results"), (f"{backend}/{copy}: no JSON run (exit {run['rc']}):\n"
                                f"{run['stderr'][-2000:]}")
    return doc, {r["id"]: r for r in doc["results"]}


@pytest.mark.parametrize("backend", BACKENDS)
def test_healthy_copy_passes_every_check(runs, backend):
    doc, results = run_of(runs, backend, "healthy")
    observed = {check: results[check]["status"] if check in results else "missing"
                for check in CHECKS}
    assert observed == HEALTHY_TABLE, f"{backend}/healthy\n{table(doc)}"
    assert doc["counts"]["fail"] == 0 and doc["counts"]["error"] == 0, table(doc)
    assert runs[backend, "healthy"]["rc"] == ExitCode.OK, table(doc)
    flow = results["event-flow"]
    [events] = [e for e in flow["evidence"] if e["kind"] == "events"]
    assert events["data"]["received"] == CRITICAL, table(doc)
    for check in WIRE_ONLY:
        assert "no 'server' role" in results[check]["summary"], table(doc)


@pytest.mark.parametrize("backend", ["lantern", "harbor"])
def test_the_connect_hook_is_named_in_the_evidence(runs, backend):
    doc, results = run_of(runs, backend, "healthy")
    assert "hooks.connect()" in texts(results["event-flow"]), table(doc)


@pytest.mark.parametrize("backend", BACKENDS)
def test_broken_copy_verdict_table(runs, backend):
    """Owners fail, event-flow fails, blocked checks name an owner, the rest pass."""
    doc, results = run_of(runs, backend, "broken")
    expected, defects = BROKEN[backend]
    owners = {d.owner for d in defects}
    problems = []
    for check in CHECKS:
        want = expected[check]
        result = results.get(check)
        if result is None:
            problems.append(f"{check}: missing from the run")
        elif want == BLOCKED:
            if result["status"] not in ("skip", "error"):
                problems.append(f"{check}: {result['status']}, expected skip or error "
                                f"(blocked by {sorted(owners)})")
            elif not any(owner in texts(result) for owner in owners):
                problems.append(f"{check}: {result['status']} without naming the owner of "
                                f"what blocks it (one of {sorted(owners)})")
        elif result["status"] != want:
            problems.append(f"{check}: {result['status']}, expected {want}")
    assert not problems, f"{backend}/broken: " + "; ".join(problems) + "\n" + table(doc)
    assert runs[backend, "broken"]["rc"] == ExitCode.FAILED, table(doc)


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_defect_is_located_by_its_owner_alone(runs, backend):
    doc, results = run_of(runs, backend, "broken")
    _, defects = BROKEN[backend]
    for defect in defects:
        owner = results[defect.owner]
        assert owner["status"] == "fail", f"{defect}\n{table(doc)}"
        assert any(defect.covers(e) for e in owner["evidence"]), (
            f"{defect}: not located by its owner; it located "
            f"{[(e.get('file'), e.get('line')) for e in owner['evidence'] if e.get('file')]}"
            f"\n{table(doc)}")
        for check, result in results.items():
            if check in (defect.owner, "event-flow"):
                continue
            located = [e for e in result["evidence"]
                       if e["kind"] == "location" and defect.covers(e)]
            assert not located, (f"{defect} is also a located finding of {check} "
                                 f"({result['status']}): one defect, one owner\n{table(doc)}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_event_flow_shows_the_symptom(runs, backend):
    doc, results = run_of(runs, backend, "broken")
    flow = results["event-flow"]
    assert flow["status"] == "fail", table(doc)
    assert flow["summary"].startswith("0/5 critical events"), table(doc)


# -- without the hooks: the harness's own limits are errors naming the hook, never fails ----

#: The checks that need a connection joined to a user's events.
CONNECTING = ("emitter-methods", "registry-wiring", "engine-factory", "event-flow")


@pytest.fixture(scope="module")
def unhooked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """lantern and harbor (healthy) run with a profile that names no hooks file: what a new
    user gets before writing ``connect``."""
    out: dict[str, dict[str, Any]] = {}
    tmp = tmp_path_factory.mktemp("unhooked")
    for backend in ("lantern", "harbor"):
        copy = tmp / backend
        shutil.copytree(FIXTURES / backend / "healthy", copy)
        profile = copy / "netra-diag.yaml"
        lines = profile.read_text(encoding="utf-8").splitlines(keepends=True)
        profile.write_text("".join(x for x in lines if not x.startswith("hooks:")),
                           encoding="utf-8")
        proc = run_subprocess("run", str(profile), "--format", "json", "--jobs", "2",
                              cwd=tmp, timeout=RUN_TIMEOUT_S)
        out[backend] = {"rc": proc.returncode, "stderr": proc.stderr,
                        "doc": json.loads(proc.stdout) if proc.stdout.strip() else {}}
    return out


@pytest.mark.parametrize("backend", ["lantern", "harbor"])
def test_without_the_connect_hook_nothing_fails_and_the_errors_name_it(unhooked, backend):
    """lantern's channel has no add_connection; harbor's crashes on the bare recorder
    (``'RecordingConnection' object has no attribute 'transport'``). Neither is the
    backend's failure: the checks that need a connection are ``error``, saying that a
    ``connect()`` hook would do it."""
    run = unhooked[backend]
    doc = run["doc"]
    assert doc.get("results"), run["stderr"][-2000:]
    results = {r["id"]: r for r in doc["results"]}
    assert doc["counts"]["fail"] == 0, table(doc)
    assert run["rc"] == ExitCode.UNDECIDED, table(doc)
    for check in CONNECTING:
        result = results[check]
        assert result["status"] == "error", f"{check}\n{table(doc)}"
        assert "connect()" in (result.get("fix") or ""), f"{check}: {result.get('fix')}"
        assert "hooks" in (result.get("fix") or ""), f"{check}: {result.get('fix')}"


# -- the fixtures themselves, without netra-diag ----------------------------------------------

DRIVE = """
import asyncio, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/src"]
import netra_diag_hooks as hooks

class Socket:
    def __init__(self): self.frames = []
    async def send(self, text): self.frames.append(json.loads(text))
    async def send_text(self, text): self.frames.append(json.loads(text))
    async def send_json(self, data, mode="text"): self.frames.append(data)

async def main(sock):
    if hasattr(hooks, "setup"): hooks.setup()
{body}

sock = Socket()
try:
    asyncio.run(main(sock))
except Exception as exc:
    print("crash:", type(exc).__name__, exc)
print(json.dumps([[f["type"], f["user_id"]] for f in sock.frames]))
"""

DRIVERS = {
    "lantern": """
    from lantern.app import assemble
    ctx = hooks.make_user_context("ann", "t-1", "r-1")
    hooks.connect(ctx, sock)
    await assemble(ctx).launch("count these words")
""",
    "harbor": """
    from harbor.context import SessionContext
    from harbor.service import open_session
    ctx = SessionContext("ann", "t-1", "r-1")
    await hooks.connect(ctx, sock)
    await (await open_session(ctx)).handle("count these words")
""",
    "kestrel": """
    from kestrel.caller import CallerContext
    from kestrel.dependencies import get_dispatcher
    from kestrel.realtime.outlets import outlet_for
    ctx = CallerContext("ann", "t-1", "r-1")
    outlet_for(ctx).join(sock)
    await get_dispatcher(hooks.make_request(), ctx).dispatch("count these words")
""",
}

#: What each broken copy does when driven as its README says (the symptom).
SYMPTOMS = {
    "lantern": ("", []),  # events go to the deprecated shared channel: nobody receives them
    "harbor": ("crash: AttributeError 'NoneType' object has no attribute 'publisher_for'",
               ["agent_error"]),
    "kestrel": ("crash: TypeError AgentDirectory.__init__() missing 1 required keyword-only "
                "argument: 'tools'", []),
}


@pytest.mark.parametrize(("backend", "copy"), COPIES)
def test_the_fixtures_run_as_their_readmes_say(backend, copy):
    script = DRIVE.replace("{body}", DRIVERS[backend])
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", script,
                           str(FIXTURES / backend / copy)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    *said, last = proc.stdout.strip().splitlines()
    frames = json.loads(last)
    assert {user for _, user in frames} <= {"ann"}, frames
    if copy == "healthy":
        assert (said, [t for t, _ in frames]) == ([], CRITICAL)
    else:
        crash, types = SYMPTOMS[backend]
        assert ("\n".join(said), [t for t, _ in frames]) == (crash, types)


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_readme_states_the_defects_this_test_expects(backend):
    """The README (for people) and ``BROKEN`` (for the test) name the same places."""
    readme = (FIXTURES / backend / "README.md").read_text(encoding="utf-8")
    for defect in BROKEN[backend][1]:
        span = f"-{defect.last}" if defect.last else ""
        assert f"`{defect.file}:{defect.first}{span}`" in readme, defect
        assert f"`{defect.owner}`" in readme, defect
