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

from pathlib import Path
from typing import Any

from .errors import ConfigError
from .profile_data import (  # noqa: F401 - re-exported: the profile's public names live here
    _BACKPLANE_KEYS,
    _BUDGET_MAX,
    _TOP_KEYS,
    CRITICAL_EVENTS,
    DEFAULT_BUDGETS,
    DEFAULT_EVENT_METHODS,
    DEFAULT_METHODS,
    ISOLATION_MODES,
    PROFILE_FILENAME,
    PROFILE_SCHEMA,
    ROLES,
    Deprecated,
    Profile,
)

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
    from .profile_validate import validate

    cached = profile_cache.load(text)
    if cached is None:
        data, lines = _parse_yaml(text, path)
        profile_cache.save(text, data, lines)
    else:
        data, lines = cached
    return validate(path, lines, data)


def _parse_yaml(text: str, path: Path) -> tuple[Any, dict[str, int]]:
    """The document's data and the line of each key; ``ConfigError`` naming the file and
    line for malformed YAML, an alias bomb or a key given twice."""
    import yaml  # deferred: the check interpreters never parse YAML

    from .profile_validate import key_lines

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
        lines = key_lines(node, duplicates=duplicates)
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

