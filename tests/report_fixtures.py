"""Realistic ``RunReport``s for the reporter and analysis tests.

They mirror what a run of the reference pipeline produces: ``incident_report()`` is the
``incident`` scenario (WHY #1-#4 fail, #5 passes, 0/5 events, the e2e dependants skipped),
``healthy_report()`` the healthy reference (everything passes, 5/5), ``error_report()`` a run
whose harness could not decide two checks, ``hostile_report()`` a failing run whose evidence
tries to break every format (markup, XML-illegal characters, workflow commands), and
``interrupted_report()`` a run stopped by Ctrl-C with nothing failed so far. Check ids,
titles, tags and fault names are the tool's own (``netra-diag list`` / ``faults``; the tests
compare them); summaries and evidence are representative, not a recording.
"""

from __future__ import annotations

from netra_diag._version import __version__
from netra_diag.analysis import diagnose
from netra_diag.model import CheckResult, Evidence, RunReport, Status
from netra_diag.registry import Registry

__all__ = [
    "BUILTIN",
    "CHECKS",
    "CRITICAL_EVENTS",
    "INCIDENT_FAULTS",
    "error_report",
    "healthy_report",
    "hostile_report",
    "incident_report",
    "interrupted_report",
    "make_report",
]

CRITICAL_EVENTS = ["agent_started", "agent_thinking", "tool_executing", "tool_completed",
                   "agent_completed"]
ROOT = "/tmp/netra-diag-target-x1y2z3/reference"
#: The ``incident`` scenario's faults, as ``netra-diag faults`` names them (the test suite
#: checks them against ``faults.SCENARIOS``).
INCIDENT_FAULTS = ("deprecated-singleton-import", "unawaited-user-emitter",
                   "emitter-missing-notify", "registry-missing-llm-manager",
                   "engine-factory-no-emitter")

CHECKS: dict[str, dict] = {
    "import-chain": {
        "title": "Import Chain", "why": 1, "tags": [], "depends_on": [],
        "explain": "The application's wiring path obtains per-user WebSocket managers from "
                   "the factory, never the deprecated singleton; no production module imports "
                   "the deprecated entry points.\n\nA singleton manager mixes every user's "
                   "connections and bypasses the per-user emitters.",
        "fix": "import create_websocket_manager from websocket_core.websocket_manager_factory "
               "and build the manager per user context",
    },
    "emitter-methods": {
        "title": "User Emitter Methods", "why": 2, "tags": [], "depends_on": [],
        "explain": "The bridge's user-emitter factory yields a real emitter (awaited where "
                   "async) exposing the five notify methods, each emitting its event.",
        "fix": "await bridge.create_user_emitter(user_context) and implement every notify_* "
               "method on UnifiedWebSocketEmitter",
    },
    "registry-wiring": {
        "title": "Registry Wiring", "why": 3, "tags": [], "depends_on": [],
        "explain": "The agent registry, built the way the application builds it, wires the "
                   "bridge through to every agent it hands out.",
        "fix": "pass llm_manager where the application builds AgentRegistry, or give it a "
               "default",
    },
    "engine-factory": {
        "title": "Execution Engine Factory", "why": 4, "tags": [], "depends_on": [],
        "explain": "Execution engines come from the per-user factory with an emitter bound to "
                   "that user; direct construction is refused.",
        "fix": "create engines with ExecutionEngineFactory.create_for_user(user_context)",
    },
    "deprecation-warnings": {
        "title": "Deprecation Warnings", "why": 5, "tags": [], "depends_on": [],
        "explain": "Every deprecated entry point warns when used, naming its replacement.",
        "fix": "emit a DeprecationWarning naming the replacement from each deprecated entry "
               "point",
    },
    "event-flow": {
        "title": "Complete Event Flow", "why": "e2e", "tags": ["wire"],
        "depends_on": [],
        "explain": "A real agent run delivers all five critical events, in order, over a real "
                   "WebSocket to the right client.",
        "fix": "fix the earlier links first; then check that the engine's emitter reaches the "
               "user's WebSocket manager",
    },
    "user-isolation": {
        "title": "User isolation on the wire", "why": "e2e", "tags": ["wire"],
        "depends_on": ["event-flow"],
        "explain": "Two concurrent users each receive only their own events.",
        "fix": "route events through the per-user manager of the run's user",
    },
    "event-latency": {
        "title": "Event latency within budget", "why": "e2e", "tags": ["wire"],
        "depends_on": ["event-flow"],
        "explain": "Events reach the client within the latency budget (p95).",
        "fix": "remove blocking work between emission and send",
    },
}

def _declared() -> dict[str, dict]:
    """What each built-in check declares (``@check``), as a run report carries it."""
    registry = Registry()
    registry.load_builtin()
    return {spec.id: spec.meta() for spec in registry.specs}


#: The built-in checks' metadata, as ``RunReport.checks`` carries it.
BUILTIN: dict[str, dict] = _declared()
_DECLARATION = ("order", "criterion", "symptom", "headline", "critical", "caveat")
for _id, _meta in CHECKS.items():  # the declaration is the checks' own, never a copy
    _meta.update({key: BUILTIN[_id][key] for key in _DECLARATION})

_SKIP_REASON = "depends on event-flow, which did not pass"


def _result(check_id: str, status: Status, summary: str, *evidence: Evidence,
            fix: str | None = None, duration_s: float = 0.25) -> CheckResult:
    meta = CHECKS[check_id]
    if fix is None and status in (Status.FAIL, Status.ERROR):
        fix = meta["fix"]
    return CheckResult(check_id, meta["why"], meta["title"], status, summary, tuple(evidence),
                       fix, duration_s)


def make_report(results: list[CheckResult], *, faults: list[str] | None = None,
                scenario: str | None = None, interrupted: bool = False,
                command: tuple[str, ...] | None = None,
                started_at: str = "2025-01-02T09:30:00+00:00",
                selected: list[str] | None = None) -> RunReport:
    """A report around ``results``, with the diagnosis computed as the CLI does;
    ``selected`` the checks selected (default: those with a result)."""
    target = {"name": "reference", "root": ROOT, "faults": list(faults or [])}
    ids = selected if selected is not None else [r.id for r in results]
    checks = {check_id: CHECKS[check_id] for check_id in ids if check_id in CHECKS}
    if scenario:
        target["scenario"] = scenario
    if command is None:
        command = ("netra-diag", "run", "--scenario", scenario) if scenario else (
            "netra-diag", "run")
    return RunReport(
        tool_version=__version__,
        target=target,
        started_at=started_at,
        duration_s=round(sum(r.duration_s for r in results), 3),
        results=tuple(results),
        diagnosis=diagnose(results, checks=checks, interrupted=interrupted),
        interrupted=interrupted,
        command=command,
        environment={"tool_version": __version__, "python": "3.11.7",
                     "platform": "Linux-6.1-x86_64"},
        checks=checks,
    )


def _events(received: list[str]) -> Evidence:
    delivered = sum(1 for name in CRITICAL_EVENTS if name in received)
    return Evidence("events", f"received {len(received)} event(s): {received}", data={
        "expected": list(CRITICAL_EVENTS), "received": list(received),
        "delivered": delivered, "total": len(CRITICAL_EVENTS)})


REGISTRY_TRACEBACK = """Traceback (most recent call last):
  File "netra_backend/app/dependencies.py", line 41, in build_agent_registry
    registry = AgentRegistry(tool_dispatcher)
TypeError: AgentRegistry.__init__() missing 1 required positional argument: 'llm_manager'"""


def incident_results() -> list[CheckResult]:
    """The incident table: WHY #1-#4 fail, #5 passes, 0/5 events, dependants skipped."""
    return [
        _result("import-chain", Status.FAIL,
                "the wiring path uses the deprecated singleton WebSocket manager",
                Evidence("location", "imports deprecated get_websocket_manager",
                         "netra_backend/app/dependencies.py", 16),
                Evidence("observed", "manager class: netra_backend.app.websocket_core."
                         "unified_manager.UnifiedWebSocketManager (the singleton); expected a "
                         "per-user manager from create_websocket_manager(user_context)")),
        _result("emitter-methods", Status.FAIL,
                "the user emitter lacks 5 critical notify methods",
                Evidence("observed", "missing methods: notify_agent_started, "
                         "notify_agent_thinking, notify_tool_executing, notify_tool_completed, "
                         "notify_agent_completed"),
                Evidence("location", "create_user_emitter() is async and its result is used "
                         "without await", "netra_backend/app/agents/supervisor/"
                         "execution_factory.py", 88)),
        _result("registry-wiring", Status.FAIL,
                "AgentRegistry cannot be built the way the application builds it",
                Evidence("traceback", REGISTRY_TRACEBACK, "netra_backend/app/dependencies.py",
                         41)),
        _result("engine-factory", Status.FAIL,
                "ExecutionEngine can be constructed directly, without a user emitter",
                Evidence("observed", "ExecutionEngine(registry, bridge) succeeded; expected "
                         "a refusal pointing to ExecutionEngineFactory"),
                Evidence("location", "direct construction of ExecutionEngine",
                         "netra_backend/app/agents/supervisor/execution_factory.py", 131)),
        _result("deprecation-warnings", Status.PASS,
                "2 deprecated entry points warn and name their replacement",
                Evidence("warning", "SECURITY WARNING: Using deprecated get_websocket_manager() "
                         "function; use create_websocket_manager(user_context)"),
                Evidence("warning", "WebSocketNotifier is deprecated. Use AgentWebSocketBridge "
                         "instead")),
        _result("event-flow", Status.FAIL, "0/5 critical events delivered", _events([]),
                Evidence("observed", "client connected to ws://127.0.0.1:PORT/ws; the agent "
                         "run completed; no frame arrived within 5.0 s"),
                duration_s=5.4),
        _result("user-isolation", Status.SKIP, _SKIP_REASON, duration_s=0.0),
        _result("event-latency", Status.SKIP, _SKIP_REASON, duration_s=0.0),
    ]


def incident_report() -> RunReport:
    return make_report(incident_results(), scenario="incident", faults=list(INCIDENT_FAULTS))


def healthy_results() -> list[CheckResult]:
    return [
        _result("import-chain", Status.PASS,
                "the wiring path builds per-user managers from the factory",
                Evidence("observed", "manager class: netra_backend.app.websocket_core."
                         "websocket_manager_factory.UserWebSocketManager")),
        _result("emitter-methods", Status.PASS,
                "the awaited user emitter has all 5 notify methods, each emitting its event"),
        _result("registry-wiring", Status.PASS,
                "every agent handed out by AgentRegistry carries the bridge"),
        _result("engine-factory", Status.PASS,
                "engines come from the per-user factory; direct construction is refused"),
        _result("deprecation-warnings", Status.PASS,
                "2 deprecated entry points warn and name their replacement"),
        _result("event-flow", Status.PASS, "5/5 critical events delivered, in order",
                _events(list(CRITICAL_EVENTS)), duration_s=1.2),
        _result("user-isolation", Status.PASS,
                "2 concurrent users each received only their own 5 events"),
        _result("event-latency", Status.PASS, "p95 latency 3.1 ms within the 50 ms budget",
                Evidence("latency", "p50 1.2 ms, p95 3.1 ms, max 4.8 ms", data={
                    "p50_ms": 1.2, "p95_ms": 3.1, "max_ms": 4.8, "budget_ms": 50})),
    ]


def healthy_report() -> RunReport:
    return make_report(healthy_results(), scenario="healthy")


def error_results() -> list[CheckResult]:
    """No failure, but two checks could not decide (set-up problems, not target defects)."""
    healthy = {r.id: r for r in healthy_results()}
    return [
        healthy["import-chain"],
        healthy["emitter-methods"],
        _result("registry-wiring", Status.ERROR,
                "the profile supplies no value for AgentRegistry's argument 'llm_manager'",
                Evidence("note", "roles.agent_registry = netra_backend.app.agents.supervisor."
                         "agent_registry:AgentRegistry"),
                fix="add build.agent_registry.llm_manager to the profile"),
        healthy["engine-factory"],
        healthy["deprecation-warnings"],
        _result("event-flow", Status.ERROR, "timed out after 60.0 s waiting for the check",
                Evidence("timing", "the check's interpreter was stopped at the timeout"),
                fix="raise --timeout or look for a hang in the server start-up",
                duration_s=60.0),
        _result("user-isolation", Status.SKIP, _SKIP_REASON, duration_s=0.0),
        _result("event-latency", Status.SKIP, _SKIP_REASON, duration_s=0.0),
    ]


def error_report() -> RunReport:
    return make_report(error_results(), scenario="healthy")


INJECTION = "::error::pwned"


def hostile_report() -> RunReport:
    """A failing run whose evidence carries markup, control characters and commands."""
    results = incident_results()
    results[0] = _result(
        "import-chain", Status.FAIL,
        "bad <summary> & \"quotes\" | pipes 100% \x1b[31mred\x1b[0m",
        Evidence("location", f"line one\r\n{INJECTION}\n::endgroup::\n```\n# heading",
                 "netra_backend/app/odd, name:with%chars.py", 3),
        Evidence("observed", f"{INJECTION}\n::add-mask::x\x00\x0b\ud800 <script>&amp;"),
    )
    return make_report(results, faults=list(INCIDENT_FAULTS), scenario="incident")


def interrupted_report() -> RunReport:
    """Ctrl-C during a healthy run, as the runner records it: what finished passed, the
    checks cut short are ``error`` and the ones never started ``skip``."""
    healthy = {r.id: r for r in healthy_results()}

    def cut(check_id: str, status: Status, summary: str) -> CheckResult:
        meta = CHECKS[check_id]
        return CheckResult(check_id, meta["why"], meta["title"], status, summary)

    results = [
        healthy["import-chain"],
        healthy["emitter-methods"],
        healthy["registry-wiring"],
        cut("engine-factory", Status.ERROR, "interrupted before it finished"),
        cut("deprecation-warnings", Status.ERROR, "interrupted before it finished"),
        cut("event-flow", Status.SKIP, "not run: the run was interrupted"),
        cut("user-isolation", Status.SKIP, "not run: the run was interrupted"),
        cut("event-latency", Status.SKIP, "not run: the run was interrupted"),
    ]
    return make_report(results, scenario="healthy", interrupted=True)
