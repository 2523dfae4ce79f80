"""The profile as data: the schema's constants, ``Deprecated`` and ``Profile`` (docs/profile.md).

Plain data, no YAML: the check interpreters read a profile from JSON (``Profile.from_dict``).
Reading and validating a file is ``profile.load_profile``; the rules are in ``profile_validate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .profile_backplane import BACKPLANE_ROLE_KEYS

__all__ = [
    "CRITICAL_EVENTS",
    "DEFAULT_BUDGETS",
    "DEFAULT_EVENT_METHODS",
    "DEFAULT_METHODS",
    "ISOLATION_MODES",
    "PROFILE_FILENAME",
    "PROFILE_SCHEMA",
    "ROLES",
    "Deprecated",
    "Profile",
]

PROFILE_FILENAME = "netra-diag.yaml"
PROFILE_SCHEMA = "netra-diag/profile/v1"

#: The roles a profile can name, with what each is for (docs/profile.md "roles").
ROLES: dict[str, str] = {
    "user_context": "per-request user execution context class (user, request, thread, run ids)",
    "manager_factory": "per-user WebSocket manager factory: create_websocket_manager(user_context)",
    "emitter": "user emitter class exposing send_event and the notify methods",
    "bridge_factory": "agent WebSocket bridge factory: create_agent_websocket_bridge()",
    "registry": "agent registry class (hands out agents wired to the bridge)",
    "engine_factory": "per-user execution engine factory",
    "engine": "execution engine class (must refuse direct construction)",
    "wiring_entry": "the application's own wiring path, e.g. dependencies.get_supervisor",
    "server": "starts the WebSocket endpoint: async (host, port, users) -> server",
    "llm_manager": "LLM manager used by the demo agents (a scripted one needs no network)",
}

#: Method names the checks call on the roles, overridable under ``methods:``.
DEFAULT_METHODS: dict[str, str] = {
    "create_user_emitter": "create_user_emitter",
    "send_event": "send_event",
    "set_websocket_manager": "set_websocket_manager",
    "get_agent": "get_agent",
    "list_agents": "list_agents",
    "create_agent": "create_agent",  # on a registry that makes agents per request
    "create_engine": "create_for_user",
    "run_agent": "run_agent",
    "run": "run",  # on the wiring entry's result: runs an agent (in-process event flow)
    "add_connection": "add_connection",
    "remove_connection": "remove_connection",
}

CRITICAL_EVENTS: tuple[str, ...] = (
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
)

DEFAULT_EVENT_METHODS: dict[str, str] = {name: f"notify_{name}" for name in CRITICAL_EVENTS}

DEFAULT_BUDGETS: dict[str, float] = {
    "event_latency_ms": 50.0,
    "run_timeout_s": 10.0,
    "isolation_users": 8.0,
    "latency_runs": 4.0,
    "backplane_users": 4.0,
    "backplane_recovery_s": 5.0,
}

#: The largest value each budget may take (beyond them a run would never end).
_BUDGET_MAX: dict[str, float] = {
    "event_latency_ms": 3_600_000.0,
    "run_timeout_s": 86_400.0,
    "isolation_users": 1_000.0,
    "latency_runs": 1_000.0,
    "backplane_users": 1_000.0,
    "backplane_recovery_s": 3_600.0,
}

_TOP_KEYS = {
    "schema", "name", "root", "exclude", "roles", "methods", "deprecated", "build",
    "events", "budgets", "server", "checks_dirs", "hooks", "backplane", "fleet",
    "isolation",  # how checks are isolated (issue 13)
}
_BACKPLANE_KEYS = {"url", "url_env", "instances", *BACKPLANE_ROLE_KEYS}
#: How checks are isolated (see ``netra_diag.runner.ISOLATION_MODES`` and the README).
ISOLATION_MODES = ("process", "shared-import", "interpreter")
_IMPORT_RE = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_IMPORT_FORM = "'package.module:attr' (a dotted module path, a colon, an attribute)"


@dataclass(frozen=True)
class Deprecated:
    """A deprecated entry point (``module:attr``) and the name of what replaces it."""

    entry: str
    replacement: str

    @property
    def module(self) -> str:
        return self.entry.split(":", 1)[0]

    @property
    def attr(self) -> str:
        return self.entry.split(":", 1)[1]


@dataclass(frozen=True)
class Profile:
    """A validated target profile. ``root`` and ``checks_dirs`` are absolute paths."""

    name: str
    root: Path
    source: str
    roles: dict[str, str] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_METHODS))
    deprecated: tuple[Deprecated, ...] = ()
    build: dict[str, dict[str, Any]] = field(default_factory=dict)
    critical_events: tuple[str, ...] = CRITICAL_EVENTS
    event_methods: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EVENT_METHODS))
    #: canonical event field -> the backend's name for it (None: its events have none)
    event_fields: dict[str, str | None] = field(default_factory=dict)
    budgets: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    server: dict[str, Any] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    checks_dirs: tuple[Path, ...] = ()
    isolation: str = "process"
    #: the fleet checks' backplane under ``run``: ``url`` or ``url_env``, ``instances``
    backplane: dict[str, Any] = field(default_factory=dict)
    #: live instances' URLs for ``probe`` (two or more)
    fleet: tuple[str, ...] = ()
    #: the user's hooks file (absolute), see ``netra_diag.hooks``
    hooks: Path | None = None

    def method(self, key: str) -> str:
        return self.methods.get(key, DEFAULT_METHODS.get(key, key))

    def with_root(self, root: Path) -> Profile:
        """The same profile aimed at a copy of its source tree (faults use this)."""
        from dataclasses import replace

        return replace(self, root=root)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form, handed to each check's interpreter."""
        return {
            "name": self.name,
            "root": str(self.root),
            "source": self.source,
            "roles": self.roles,
            "methods": self.methods,
            "deprecated": [{"entry": d.entry, "replacement": d.replacement}
                           for d in self.deprecated],
            "build": self.build,
            "critical_events": list(self.critical_events),
            "event_methods": self.event_methods,
            "event_fields": self.event_fields,
            "budgets": self.budgets,
            "server": self.server,
            "exclude": list(self.exclude),
            "checks_dirs": [str(p) for p in self.checks_dirs],
            "isolation": self.isolation,
            "backplane": self.backplane,
            "fleet": list(self.fleet),
            "hooks": None if self.hooks is None else str(self.hooks),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Profile:
        return cls(
            name=raw["name"],
            root=Path(raw["root"]),
            source=raw["source"],
            roles=dict(raw["roles"]),
            methods=dict(raw["methods"]),
            deprecated=tuple(Deprecated(d["entry"], d["replacement"])
                             for d in raw["deprecated"]),
            build={k: dict(v) for k, v in raw["build"].items()},
            critical_events=tuple(raw["critical_events"]),
            event_methods=dict(raw["event_methods"]),
            event_fields=dict(raw.get("event_fields") or {}),
            budgets={k: float(v) for k, v in raw["budgets"].items()},
            server=dict(raw["server"]),
            exclude=tuple(raw["exclude"]),
            checks_dirs=tuple(Path(p) for p in raw["checks_dirs"]),
            isolation=raw.get("isolation", "process"),
            backplane=dict(raw.get("backplane") or {}),
            fleet=tuple(raw.get("fleet") or ()),
            hooks=Path(raw["hooks"]) if raw.get("hooks") else None,
        )

