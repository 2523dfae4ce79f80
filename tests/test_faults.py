"""Faults: the table, resolving names, applying mutations (exactly once, all or nothing), and
a probe per fault proving each one changes the property it claims and no other."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netra_diag import faults as faults_mod
from netra_diag.errors import ConfigError
from netra_diag.faults import (
    FAULTS,
    SCENARIOS,
    Fault,
    FaultError,
    Mutation,
    apply_faults,
    copy_reference,
    reference_source,
    resolve_faults,
)


def _check_ids() -> set[str]:
    """The built-in checks' ids, as the registry loads them (no list to keep in step)."""
    from netra_diag.registry import Registry

    registry = Registry()
    registry.load_builtin()
    return {spec.id for spec in registry.specs}


CHECK_IDS = _check_ids()
INCIDENT = (
    "deprecated-singleton-import",
    "unawaited-user-emitter",
    "emitter-missing-notify",
    "registry-missing-llm-manager",
    "engine-factory-no-emitter",
)


def fresh_copy(tmp_path: Path, label: str = "src") -> Path:
    return copy_reference(tmp_path / label)


# -- the table ----------------------------------------------------------------------------------


def test_table_shape():
    assert SCENARIOS == {"healthy": (), "incident": INCIDENT}
    assert tuple(FAULTS)[:5] == INCIDENT
    assert len(FAULTS) == 15  # 11 of one process, 4 of the fleet (need a backplane)
    assert sum("backplane" in f.needs for f in FAULTS.values()) == 4
    for name, fault in FAULTS.items():
        assert fault.name == name and re.fullmatch(r"[a-z]+(-[a-z]+)+", name)
        assert fault.description and fault.mutations
        assert set(fault.detected_by) <= CHECK_IDS, name
        for mutation in fault.mutations:
            assert not Path(mutation.path).is_absolute() and ".." not in Path(mutation.path).parts
            assert mutation.old and mutation.old != mutation.new
            assert mutation.old not in mutation.new, f"{name}: re-applying would not fail"
    for name in INCIDENT:
        assert "event-flow" in FAULTS[name].detected_by


def test_reference_source_is_the_embedded_tree():
    src = reference_source()
    assert (src / "netra_backend" / "app" / "dependencies.py").is_file()
    assert src == Path(faults_mod.__file__).parent / "reference" / "src"


def test_every_mutation_matches_the_pristine_reference_exactly_once():
    src = reference_source()
    for fault in FAULTS.values():
        for mutation in fault.mutations:
            text = (src / mutation.path).read_text(encoding="utf-8")
            assert text.count(mutation.old) == 1, (fault.name, mutation.path)


# -- resolving names ------------------------------------------------------------------------------


def test_resolve_scenarios_and_injections():
    assert resolve_faults(None, []) == ()
    assert resolve_faults("healthy", []) == ()
    assert resolve_faults("incident", []) == INCIDENT
    assert resolve_faults("incident", ["slow-emission", "unawaited-user-emitter"]) == (
        *INCIDENT,
        "slow-emission",
    )
    assert resolve_faults(None, ["broadcast-events", "broadcast-events"]) == ("broadcast-events",)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(FaultError, match="did you mean deprecated-singleton-import"):
        resolve_faults(None, ["deprecated-singleton"])
    with pytest.raises(FaultError, match=r"unknown scenario 'incidnet'; did you mean incident"):
        resolve_faults("incidnet", [])
    with pytest.raises(FaultError, match="known: deprecated-singleton-import, "):
        resolve_faults(None, ["zzz"])
    with pytest.raises(FaultError, match="did you mean slow-emission"):
        apply_faults(Path("/nonexistent"), ["slow-emision"])
    assert issubclass(FaultError, ConfigError)


# -- applying -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_applies_exactly_once_on_a_fresh_copy(tmp_path, name):
    root = fresh_copy(tmp_path)
    before = {p: p.read_text() for p in root.rglob("*.py")}
    apply_faults(root, [name])
    changed = {p.relative_to(root).as_posix() for p in before if p.read_text() != before[p]}
    assert changed == {m.path for m in FAULTS[name].mutations}
    for path in changed:
        compile((root / path).read_text(), path, "exec")  # still valid Python
    with pytest.raises(FaultError, match=rf"fault '{name}': .*occurs 0 times"):
        apply_faults(root, [name])  # a second application is refused, not doubled


def test_every_combination_of_incident_faults_applies(tmp_path):
    for size in range(1, len(INCIDENT) + 1):
        for combo in itertools.combinations(INCIDENT, size):
            apply_faults(
                fresh_copy(tmp_path, "-".join(str(INCIDENT.index(n)) for n in combo)), combo
            )


def test_every_pair_and_all_faults_together_apply(tmp_path):
    for i, pair in enumerate(itertools.combinations(FAULTS, 2)):
        apply_faults(fresh_copy(tmp_path, f"pair{i}"), pair)
    root = fresh_copy(tmp_path, "all")
    apply_faults(root, list(reversed(FAULTS)))
    for path in root.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")


def test_incident_evidence_lines(tmp_path):
    root = fresh_copy(tmp_path)
    apply_faults(root, SCENARIOS["incident"])
    deps = (root / "netra_backend/app/dependencies.py").read_text().splitlines()
    assert deps[15] == "from netra_backend.app.websocket_core import get_websocket_manager"
    assert "websocket_manager = get_websocket_manager()" in deps[24]
    assert "registry = AgentRegistry()" in deps[25]
    factory = (root / "netra_backend/app/agents/supervisor/execution_factory.py").read_text()
    assert "emitter = self.bridge.create_user_emitter(user_context)" in factory
    assert "bind_emitter" not in factory
    emitter = (root / "netra_backend/app/websocket_core/unified_emitter.py").read_text()
    assert "def notify_" not in emitter and "async def send_event" in emitter


def test_missing_text_is_refused_loudly_and_nothing_is_written(tmp_path, monkeypatch):
    root = fresh_copy(tmp_path)
    deps = root / "netra_backend/app/dependencies.py"
    pristine = deps.read_text()
    bogus = Fault(
        name="bogus-fault",
        description="test only",
        detected_by=(),
        mutations=(
            Mutation("netra_backend/app/dependencies.py", "from __future__", "# gone"),
            Mutation("netra_backend/app/dependencies.py", "text that is not there", "x"),
        ),
    )
    monkeypatch.setitem(FAULTS, "bogus-fault", bogus)
    with pytest.raises(FaultError) as info:
        apply_faults(root, ["slow-emission", "bogus-fault"])
    message = str(info.value)
    assert "'bogus-fault'" in message and "netra_backend/app/dependencies.py" in message
    assert "occurs 0 times" in message
    assert deps.read_text() == pristine  # all or nothing: no file was touched
    emitter = root / "netra_backend/app/websocket_core/unified_emitter.py"
    assert "asyncio.sleep" not in emitter.read_text()


def test_ambiguous_text_is_refused(tmp_path, monkeypatch):
    root = fresh_copy(tmp_path)
    twice = Fault(
        "twice-fault",
        "test only",
        (),
        (Mutation("netra_backend/app/dependencies.py", "import", "x"),),
    )
    monkeypatch.setitem(FAULTS, "twice-fault", twice)
    with pytest.raises(FaultError, match=r"occurs \d+ times"):
        apply_faults(root, ["twice-fault"])


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(FaultError, match=r"cannot read netra_backend/app/dependencies\.py"):
        apply_faults(tmp_path, ["registry-missing-llm-manager"])


# -- each fault changes what it claims, and nothing else -----------------------------------------

_PROBE = """
import asyncio, json, sys, time, warnings
root = sys.argv[1]
sys.path.insert(0, root)
sys.dont_write_bytecode = True
import netra_backend
assert netra_backend.__file__.startswith(root), netra_backend.__file__
from netra_backend.app.agents.supervisor.agent_registry import AgentRegistry
from netra_backend.app.agents.supervisor.execution_engine import ExecutionEngine
from netra_backend.app.llm.llm_manager import ScriptedLLMManager
from netra_backend.app.services.user_execution_context import UserExecutionContext
from netra_backend.app.websocket_core.unified_emitter import UnifiedWebSocketEmitter
from netra_backend.app.websocket_core.websocket_manager_factory import create_websocket_manager


class Sink:
    def __init__(self):
        self.lags = []

    async def send_to_user(self, event):
        self.lags.append(time.time() - event["timestamp"])
        return 1


async def main():
    out = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from netra_backend.app.websocket_core import get_websocket_manager
        get_websocket_manager()
        from netra_backend.app.agents.supervisor.websocket_notifier import WebSocketNotifier
        WebSocketNotifier()
    out["deprecations"] = sum(issubclass(w.category, DeprecationWarning) for w in caught)
    try:
        ExecutionEngine()
        out["engine_direct"] = "built"
    except RuntimeError:
        out["engine_direct"] = "refused"
    ctx = UserExecutionContext(user_id="u", request_id="r", thread_id="t")
    registry = AgentRegistry(llm_manager=ScriptedLLMManager())
    early = registry.get_agent("demo")
    await registry.set_websocket_manager(create_websocket_manager(ctx), ctx)
    late = registry.get_agent("demo")
    out["wired"] = early.websocket_bridge is not None and late.websocket_bridge is not None
    sink = Sink()
    emitter = UnifiedWebSocketEmitter(sink, ctx)
    durations = []
    for kind in ("agent_started", "agent_thinking"):
        start = time.perf_counter()
        await emitter.send_event(kind, {})
        durations.append(time.perf_counter() - start)
    out["slow"] = min(durations) > 0.1 and min(sink.lags) > 0.1
    print(json.dumps(out))

asyncio.run(main())
"""

HEALTHY = {"deprecations": 2, "engine_direct": "refused", "wired": True, "slow": False}
#: The probe properties each fault must change (faults not listed change none of them).
CHANGES = {
    "deprecation-silenced": {"deprecations": 0},
    "engine-direct-construction": {"engine_direct": "built"},
    "registry-stores-not-wires": {"wired": False},
    "slow-emission": {"slow": True},
}


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Run the probe against the healthy copy and each single-fault copy, two at a time (one
    per core: more would only compete for the CPU, and the probe times two sends)."""
    import concurrent.futures as cf

    base = tmp_path_factory.mktemp("probes")

    def one(name: str) -> dict[str, Any]:
        root = copy_reference(base / name / "src")
        apply_faults(root, [] if name == "healthy" else [name])
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(root)], cwd=base / name,
                              capture_output=True, text=True, check=False,
                              timeout=120)  # a safety net only: each takes well under 1 s
        assert proc.returncode == 0, f"probe of {name} crashed:\n{proc.stderr}"
        return json.loads(proc.stdout)

    names = ("healthy", *FAULTS)
    with cf.ThreadPoolExecutor(2) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


@pytest.mark.parametrize("name", ["healthy", *FAULTS])
def test_fault_changes_only_its_own_property(probes, name):
    expected = {**HEALTHY, **CHANGES.get(name, {})}
    assert probes[name] == expected
