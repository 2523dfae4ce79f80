"""Target profiles: where a pipeline lives and how to build what the checks need.

A profile is YAML, read with ``yaml.safe_load`` semantics only (``yaml.compose`` with the
safe loader gives the line of every key, so errors can name it). Validation is strict: an
unknown key, a wrong type or a malformed ``module:attr`` is a ``ConfigError`` naming the
file, the line, the key and the expected form (exit code 4). This module knows nothing about
checks or faults; the reference target's profile is ``reference/profile.yaml`` beside it.

Schema ``netra-diag/profile/v1`` (every key but ``roles`` is optional)::

    name: my-backend                  # shown in reports
    root: src                         # source root, relative to this file (default ".")
    exclude: ["tests/**"]             # globs under root that are not production code
    roles:                            # role -> "package.module:attr"
      user_context: ...               # the per-request context class
      manager_factory: ...            # create_websocket_manager(user_context)
      emitter: ...                    # the emitter class with the notify methods
      bridge_factory: ...             # create_agent_websocket_bridge()
      registry: ...                   # the agent registry class
      engine_factory: ...             # the per-user execution-engine factory
      engine: ...                     # the execution engine class
      wiring_entry: ...               # the application's wiring path (get_supervisor)
      server: ...                     # starts the WebSocket endpoint
    methods: {create_user_emitter: create_user_emitter, ...}   # method names on the roles
    deprecated:                       # deprecated entry points and their replacements
      - entry: package.module:get_websocket_manager
        replacement: create_websocket_manager
    build:                            # keyword arguments per role
      registry:
        llm_manager: {factory: "package.llm:ScriptedLLMManager"}   # called to get a value
        clock: {import: "time:monotonic"}                           # imported, not called
        retries: 3                                                  # any other value: literal
    events:
      critical: [agent_started, agent_thinking, tool_executing, tool_completed, agent_completed]
      methods: {agent_started: notify_agent_started, ...}
      fields: {timestamp: ts, data: payload, thread_id: null}  # your names; null: absent
    budgets: {event_latency_ms: 50, run_timeout_s: 10}
    server: {path: /ws}
    checks_dirs: [extra_checks]       # more check folders, relative to this file
    isolation: process                # or shared-import (import the target once), interpreter
    backplane:                        # the fleet checks under `run` (opt-in)
      url_env: REDIS_URL              # the variable holding the Redis URL (or url: ...)
      instances: 2                    # how many instances of the server role to start
      subscribe: app.bus:listen       # your backplane role, run in-process (and publish:)
    fleet: [ws://10.0.0.5:8765/ws, ws://10.0.0.6:8765/ws]   # live instances, for `probe`
    hooks: netra_diag_hooks.py        # your set-up functions (setup, make_user_context,
                                      # connect, disconnect, run_agent), relative to this file
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .profile_backplane import BACKPLANE_ROLE_KEYS, validate_backplane_role

__all__ = [
    "CRITICAL_EVENTS",
    "DEFAULT_METHODS",
    "PROFILE_FILENAME",
    "ROLES",
    "Deprecated",
    "Profile",
    "load_profile",
    "parse_profile",
    "reference_profile_path",
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


def reference_profile_path() -> Path:
    """The built-in profile of the embedded reference pipeline."""
    return Path(__file__).parent / "reference" / "profile.yaml"


def load_profile(path: Path) -> Profile:
    """Read and validate a profile file (or a folder holding ``netra-diag.yaml``)."""
    if path.is_dir():
        path = path / PROFILE_FILENAME
    from .limits import MAX_PROFILE_BYTES, read_bounded_text

    try:
        text = read_bounded_text(path, MAX_PROFILE_BYTES, "a profile")
    except FileNotFoundError:
        raise ConfigError(f"{path}: profile not found") from None
    return parse_profile(text, path)


def parse_profile(text: str, path: Path) -> Profile:
    """Validate profile ``text`` read from ``path`` (relative paths resolve against it).
    The YAML parse of a text read before comes from ``profile_cache``; the validation
    always runs."""
    from . import profile_cache

    cached = profile_cache.load(text)
    if cached is None:
        data, lines = _parse_yaml(text, path)
        profile_cache.save(text, data, lines)
    else:
        data, lines = cached
    return _Validator(path, lines).profile(data)


def _parse_yaml(text: str, path: Path) -> tuple[Any, dict[str, int]]:
    """The document's data and the line of each key; ``ConfigError`` naming the file and
    line for malformed YAML, an alias bomb or a key given twice."""
    import yaml  # deferred: the check interpreters never parse YAML

    try:
        node, data = _load_yaml(text, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: malformed YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: malformed YAML: an alias refers to itself (or the "
                          "document nests too deeply)") from None
    duplicates: list[tuple[str, int, int]] = []
    try:
        lines = _key_lines(node, duplicates=duplicates)
    except RecursionError:
        raise ConfigError(f"{path}: malformed YAML: an alias refers to itself (or the "
                          "document nests too deeply)") from None
    if duplicates:
        key, first, again = duplicates[0]
        raise ConfigError(f"{path}:{again}: key '{key}' appears twice (first on line {first}); "
                          "YAML keeps only the last one: merge them")
    return data, lines


#: Below this bound on a document's nesting depth, libyaml reads it (a recursive composer:
#: a deeper document is left to the pure-Python loader, which fails on it cleanly).
_C_LOADER_MAX_DEPTH = 1000


def _load_yaml(text: str, path: Path) -> tuple[Any, Any]:
    """The document's node (its lines, bounded by ``check_yaml_size`` before any alias is
    expanded) and its data, from one read of ``text``: by libyaml's ``CSafeLoader`` when it
    is available and the document shallow, else (and whenever libyaml refuses it, so that
    every message is the pure-Python loader's, as always) by ``SafeLoader``."""
    import yaml

    from .limits import check_yaml_size

    # every nesting level takes a line, a "- " or a bracket: this bounds the depth
    depth = text.count("\n") + text.count("- ") + text.count("[") + text.count("{")
    fast = getattr(yaml, "CSafeLoader", None) if depth < _C_LOADER_MAX_DEPTH else None
    for loader_class in (fast, yaml.SafeLoader):
        if loader_class is None:
            continue
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            check_yaml_size(node, path)  # before anything expands the aliases
            return node, None if node is None else loader.construct_document(node)
        except yaml.YAMLError:
            if loader_class is yaml.SafeLoader:
                raise
        finally:
            loader.dispose()
    raise AssertionError("unreachable: SafeLoader returns or raises")


def _key_lines(node: Any, prefix: str = "", *,
               duplicates: list[tuple[str, int, int]] | None = None) -> dict[str, int]:
    """Map dotted key paths (``roles.registry``, ``deprecated.0.entry``) to 1-based lines;
    keys that appear twice in one mapping are appended to ``duplicates``."""
    import yaml

    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            line = key_node.start_mark.line + 1
            if key in lines and duplicates is not None:
                duplicates.append((key, lines[key], line))
            lines[key] = line
            lines.update(_key_lines(value_node, key + ".", duplicates=duplicates))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = f"{prefix}{index}"
            lines[key] = item.start_mark.line + 1
            lines.update(_key_lines(item, key + ".", duplicates=duplicates))
    return lines


class _Validator:
    """Turns loaded YAML into a Profile, raising ConfigError with file, line, key, form."""

    def __init__(self, path: Path, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines
        self.base = path.parent.resolve()

    def error(self, key: str, expected: str, got: Any = None) -> ConfigError:
        line = self.lines.get(key)
        while line is None and "." in key:
            key_parent = key.rsplit(".", 1)[0]
            line = self.lines.get(key_parent)
            if line is None:
                key = key_parent
        where = f"{self.path}:{line}" if line else str(self.path)
        found = "" if got is None else f" (found {_describe(got)})"
        return ConfigError(f"{where}: key '{key}': expected {expected}{found}")

    def profile(self, data: Any) -> Profile:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path}:1: a profile is a mapping of keys "
                              f"(found {_describe(data)})")
        for key in data:
            if key not in _TOP_KEYS:
                raise self.error(str(key), "one of " + ", ".join(sorted(_TOP_KEYS)), key)
        schema = data.get("schema", PROFILE_SCHEMA)
        if schema != PROFILE_SCHEMA:
            raise self.error("schema", f"'{PROFILE_SCHEMA}'", schema)
        name = self.string(data, "name", default=self.path.parent.name or "target")
        root = (self.base / self.string(data, "root", default=".")).resolve()
        if not root.is_dir():
            raise self.error("root", f"a folder relative to {self.base}", str(root))
        roles = self.mapping_of_imports(data, "roles")
        for role in roles:
            if role not in ROLES:
                raise self.error(f"roles.{role}", "a known role: " + ", ".join(ROLES), role)
        methods = dict(DEFAULT_METHODS)
        given_methods = self.mapping_of_names(data, "methods")
        self.known_keys("methods", given_methods, DEFAULT_METHODS)
        methods.update(given_methods)
        return Profile(
            name=name,
            root=root,
            source=str(self.path),
            roles=roles,
            methods=methods,
            deprecated=self.deprecated(data),
            build=self.build(data),
            critical_events=tuple(self.events(data)),
            event_methods=self.event_methods(data),
            event_fields=self.event_fields(data),
            budgets=self.budgets(data),
            server=self.plain_mapping(data, "server"),
            exclude=tuple(self.list_of_strings(data, "exclude")),
            checks_dirs=self.folders(data, "checks_dirs"),
            isolation=self.choice(data, "isolation", ISOLATION_MODES),
            backplane=self.backplane(data),
            fleet=tuple(self.fleet(data)),
            hooks=self.hooks_file(data),
        )

    def backplane(self, data: dict) -> dict[str, Any]:
        conf = self.plain_mapping(data, "backplane")
        self.known_keys("backplane", conf, dict.fromkeys(_BACKPLANE_KEYS))
        if "url" in conf and "url_env" in conf:
            raise self.error("backplane.url_env", "either 'url' or 'url_env', not both")
        for key in ("url", "url_env"):
            if key in conf and (not isinstance(conf[key], str) or not conf[key].strip()):
                raise self.error(f"backplane.{key}", "a non-empty string", conf[key])
        if "url" in conf and not conf["url"].startswith(("redis://", "rediss://", "unix://")):
            raise self.error("backplane.url", "a redis://, rediss:// or unix:// URL",
                             conf["url"])
        count = conf.get("instances", 2)
        if isinstance(count, bool) or not isinstance(count, int) or not 2 <= count <= 8:
            raise self.error("backplane.instances", "an integer from 2 to 8", count)
        validate_backplane_role(conf, self.error, _IMPORT_RE, _IMPORT_FORM)
        return {**conf, "instances": count} if conf else {}

    def fleet(self, data: dict) -> list[str]:
        urls = self.list_of_strings(data, "fleet")
        for index, url in enumerate(urls):
            if not url.startswith(("ws://", "wss://")):
                raise self.error(f"fleet.{index}", "a ws:// or wss:// URL", url)
        if len(urls) == 1:
            raise self.error("fleet", "two instances' URLs or more (one is not a fleet)", urls)
        return urls

    def choice(self, data: dict, key: str, allowed: tuple[str, ...]) -> str:
        value = data.get(key, allowed[0])
        if value not in allowed:
            raise self.error(key, "one of " + ", ".join(allowed), value)
        return value

    def string(self, data: dict, key: str, *, default: str, where: str | None = None) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.error(where or key, "a non-empty string", value)
        return value

    def known_keys(self, section: str, given: dict[str, Any], known: dict[str, Any]) -> None:
        import difflib

        for name in given:
            if name not in known:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise self.error(f"{section}.{name}",
                                 f"a known key ({hint}known: {', '.join(known)})", name)

    def folders(self, data: dict, key: str) -> tuple[Path, ...]:
        out = []
        for index, rel in enumerate(self.list_of_strings(data, key)):
            folder = (self.base / rel).resolve()
            if not folder.is_dir():
                raise self.error(f"{key}.{index}", f"a folder relative to {self.base}", rel)
            out.append(folder)
        return tuple(out)

    def hooks_file(self, data: dict) -> Path | None:
        if data.get("hooks") is None:
            return None
        rel = self.string(data, "hooks", default="")
        path = (self.base / rel).resolve()
        if path.suffix != ".py" or not path.stem.isidentifier():
            raise self.error("hooks", "a Python file whose name is a module name "
                             "(like netra_diag_hooks.py), relative to the profile", rel)
        if not path.is_file():
            raise self.error("hooks", f"an existing file relative to {self.base}", rel)
        return path

    def plain_mapping(self, data: dict, key: str) -> dict[str, Any]:
        value = data.get(key, {}) or {}
        if not isinstance(value, dict):
            raise self.error(key, "a mapping", value)
        return {str(k): v for k, v in value.items()}

    def mapping_of_imports(self, data: dict, key: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in self.plain_mapping(data, key).items():
            if not isinstance(value, str) or not _IMPORT_RE.match(value):
                raise self.error(f"{key}.{name}", _IMPORT_FORM, value)
            out[name] = value
        return out

    def mapping_of_names(self, data: dict, key: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in self.plain_mapping(data, key).items():
            if not isinstance(value, str) or not value.isidentifier():
                raise self.error(f"{key}.{name}", "a Python identifier", value)
            out[name] = value
        return out

    def list_of_strings(self, data: dict, key: str) -> list[str]:
        value = data.get(key, []) or []
        if not isinstance(value, list):
            raise self.error(key, "a list of strings", value)
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.error(f"{key}.{index}", "a non-empty string", item)
        return value

    def deprecated(self, data: dict) -> tuple[Deprecated, ...]:
        value = data.get("deprecated", []) or []
        if not isinstance(value, list):
            raise self.error("deprecated", "a list of {entry: 'module:attr', replacement: name}",
                             value)
        out = []
        for index, item in enumerate(value):
            key = f"deprecated.{index}"
            if not isinstance(item, dict) or set(item) - {"entry", "replacement"}:
                raise self.error(key, "a mapping with keys 'entry' and 'replacement'", item)
            entry = item.get("entry")
            if not isinstance(entry, str) or not _IMPORT_RE.match(entry):
                raise self.error(f"{key}.entry", _IMPORT_FORM, entry)
            replacement = self.string(item, "replacement", default="", where=f"{key}.replacement")
            out.append(Deprecated(entry, replacement))
        return tuple(out)

    def build(self, data: dict) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for role, kwargs in self.plain_mapping(data, "build").items():
            if not isinstance(kwargs, dict):
                raise self.error(f"build.{role}", "a mapping of keyword arguments", kwargs)
            for arg, value in kwargs.items():
                key = f"build.{role}.{arg}"
                if not isinstance(arg, str) or not arg.isidentifier():
                    raise self.error(key, "a parameter name", arg)
                if isinstance(value, dict) and set(value) & {"factory", "import"}:
                    ref_key = "factory" if "factory" in value else "import"
                    ref = value[ref_key]
                    if set(value) - {ref_key, "args"}:
                        raise self.error(key, f"{{{ref_key}: 'module:attr', args: {{...}}}}", value)
                    if not isinstance(ref, str) or not _IMPORT_RE.match(ref):
                        raise self.error(f"{key}.{ref_key}", _IMPORT_FORM, ref)
                    if not isinstance(value.get("args", {}), dict):
                        raise self.error(f"{key}.args", "a mapping of keyword arguments",
                                         value["args"])
            out[role] = dict(kwargs)
        return out

    def events(self, data: dict) -> list[str]:
        events = self.plain_mapping(data, "events")
        unknown = set(events) - {"critical", "methods", "fields"}
        if unknown:
            raise self.error(f"events.{sorted(unknown)[0]}", "'critical', 'methods' or 'fields'")
        if "critical" not in events:
            return list(CRITICAL_EVENTS)
        critical = self.list_of_strings(events, "critical")
        if not critical:
            raise self.error("events.critical", "a non-empty list of event names")
        return critical

    def event_methods(self, data: dict) -> dict[str, str]:
        events = self.plain_mapping(data, "events")
        methods = {name: f"notify_{name}" for name in self.events(data)}
        raw = events.get("methods") or {}
        if not isinstance(raw, dict):
            raise self.error("events.methods", "a mapping of event name to emitter method", raw)
        for name, value in raw.items():
            if name not in methods:
                raise self.error(f"events.methods.{name}", "one of the critical events ("
                                 + ", ".join(methods) + ")", name)
            if not isinstance(value, str) or not value.isidentifier():
                raise self.error(f"events.methods.{name}", "an emitter method name", value)
            methods[str(name)] = value
        return methods

    def event_fields(self, data: dict) -> dict[str, str | None]:
        """``events.fields``: the backend's name for each canonical event field, or null
        for a field its events do not carry (see ``support.judge.EVENT_FIELDS``)."""
        canonical = ("type", "user_id", "thread_id", "run_id", "seq", "timestamp", "data")
        raw = self.plain_mapping(data, "events").get("fields") or {}
        if not isinstance(raw, dict):
            raise self.error("events.fields", "a mapping of event field to your field name",
                             raw)
        out: dict[str, str | None] = {}
        for name, value in raw.items():
            if name not in canonical:
                raise self.error(f"events.fields.{name}", "one of " + ", ".join(canonical),
                                 name)
            if name in ("type",) and value is None:
                raise self.error(f"events.fields.{name}", "a field name (every event has a "
                                 "type)", value)
            if value is not None and (not isinstance(value, str) or not value):
                raise self.error(f"events.fields.{name}", "a field name, or null when your "
                                 "events have none", value)
            if value is not None and value in {v for v in out.values() if v}:
                raise self.error(f"events.fields.{name}", "a field name no other event "
                                 "field is mapped to", value)
            out[str(name)] = value
        return out

    def budgets(self, data: dict) -> dict[str, float]:
        budgets = dict(DEFAULT_BUDGETS)
        self.known_keys("budgets", self.plain_mapping(data, "budgets"), DEFAULT_BUDGETS)
        for name, value in self.plain_mapping(data, "budgets").items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 \
                    or not math.isfinite(value) or value > _BUDGET_MAX[name]:
                raise self.error(f"budgets.{name}", "a positive number (finite, at most "
                                 f"{_BUDGET_MAX[name]:g})", value)
            budgets[name] = float(value)
        return budgets


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value) if len(repr(value)) <= 60 else type(value).__name__
