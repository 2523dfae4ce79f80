"""Validation of a loaded profile: YAML in, a ``Profile`` out, or a ``ConfigError`` naming
the file, the line, the key and the expected form (docs/profile.md)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .profile_backplane import validate_backplane_role
from .profile_data import (
    _BACKPLANE_KEYS,
    _BUDGET_MAX,
    _IMPORT_FORM,
    _IMPORT_RE,
    _TOP_KEYS,
    CRITICAL_EVENTS,
    DEFAULT_BUDGETS,
    DEFAULT_METHODS,
    ISOLATION_MODES,
    PROFILE_SCHEMA,
    ROLES,
    Deprecated,
    Profile,
)

__all__ = ["key_lines", "validate"]


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
        declared = self.plain_mapping(data, "roles")
        absent = tuple(r for r, v in declared.items() if v is None or v == "none")
        roles = self.mapping_of_imports(
            {"roles": {r: v for r, v in declared.items() if r not in absent}}, "roles")
        for role in (*roles, *absent):
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
            absent_roles=absent,
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
                if isinstance(value, dict) and "offered" in value and (
                        set(value) != {"offered"} or not isinstance(value["offered"], str)
                        or not value["offered"].isidentifier()):
                    raise self.error(key, "{offered: NAME} (a name the run offers, "
                                     "e.g. agent_name)", value)
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


def validate(path: Path, lines: dict[str, int], data: Any) -> Profile:
    """The profile ``data`` (loaded from ``path``) describes; ``lines`` maps keys to lines."""
    return _Validator(path, lines).profile(data)


key_lines = _key_lines
