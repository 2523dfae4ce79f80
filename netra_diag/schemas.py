"""JSON Schemas (draft 2020-12) of the two documents netra-diag reads or writes.

``RUN_SCHEMA`` describes ``netra-diag/run/v1`` (what ``--format json`` writes and ``report``
reads; fields are only ever added, so objects stay open: ``additionalProperties`` is not
closed except where the model is exhaustive); ``PROFILE_SCHEMA_DOC`` describes
``netra-diag/profile/v1`` for editors (closed objects, so a typo is underlined). The
profile's validator (``netra_diag.profile``) stays the authority for messages with file,
line and key; the role, method and budget names come from its own tables, and a test checks
that its top-level keys equal this schema's, so the two cannot drift apart.

This module is data and nothing else: ``netra-diag schema run|profile`` prints it, ``init``
points editors at the shipped copy (``schema_uri``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import SCHEMA as RUN_SCHEMA_ID
from .model import Status
from .profile import DEFAULT_BUDGETS, DEFAULT_METHODS, PROFILE_SCHEMA, ROLES

__all__ = ["PROFILE_SCHEMA_DOC", "RUN_SCHEMA", "SCHEMAS", "schema_path", "schema_text",
           "schema_uri"]

_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_STATUSES = [s.value for s in Status]
_IMPORT = r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$"
_IDENT = r"^[A-Za-z_]\w*$"
_EVENT_FIELDS = ("type", "user_id", "thread_id", "run_id", "seq", "timestamp", "data")

_WHY: dict[str, Any] = {"description": "1..5 for the five whys, \"e2e\" for end-to-end checks, "
                        "null when unknown (a plugin that failed to load); plugins may use "
                        "other strings",
                        "anyOf": [{"type": "integer", "minimum": 1, "maximum": 5},
                                  {"type": "string"}, {"type": "null"}]}

_EVIDENCE: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "message"],
    "properties": {
        "kind": {"type": "string", "description": "location, observed, traceback, events, "
                 "timing, warning, note, or a check's own kind"},
        "message": {"type": "string"},
        "file": {"type": "string", "description": "relative to the target root when inside"},
        "line": {"type": "integer", "minimum": 0},
        "data": {"description": "structured facts behind the message (any JSON)"},
        "id": {"type": "string", "description": "stable finding id: CHECK:KIND:FILE then "
               ":SYMBOL or #N; never the line nor the message"},
    },
}

_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "why", "title", "status", "summary", "evidence", "duration_s"],
    "properties": {
        "id": {"type": "string"},
        "why": _WHY,
        "title": {"type": "string"},
        "status": {"enum": _STATUSES},
        "summary": {"type": "string"},
        "evidence": {"type": "array", "items": {"$ref": "#/$defs/evidence"}},
        "fix": {"type": ["string", "null"]},
        "duration_s": {"type": "number", "minimum": 0},
        "findings": {"type": "array", "description": "the defects the result locates, as "
                     "values (a fail's or error's evidence with a file)",
                     "items": {"$ref": "#/$defs/finding"}},
    },
}

_FINDING: dict[str, Any] = {
    "type": "object",
    "required": ["id", "check", "message", "file"],
    "properties": {
        "id": {"type": "string", "description": "the stable finding id (evidence id)"},
        "check": {"type": "string", "description": "the check that owns it"},
        "message": {"type": "string"},
        "file": {"type": "string"},
        "line": {"type": "integer", "minimum": 0},
        "hint": {"type": "string", "description": "how to fix it (the result's fix)"},
    },
}

_TEMPLATES: dict[str, Any] = {"type": "array", "items": {"type": "string"},
                              "description": "phrase templates, the first that applies used"}

_CHECK_META: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "why": _WHY,
        "explain": {"type": ["string", "null"]},
        "fix": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "depends_on": {"type": "array", "items": {"type": "string"}},
        "order": {"type": ["integer", "null"], "description": "its place within its level"},
        "criterion": _TEMPLATES,
        "symptom": {"type": "object", "additionalProperties": _TEMPLATES},
        "headline": _TEMPLATES,
        "critical": {"type": ["string", "null"]},
        "caveat": {"type": ["string", "null"]},
    },
}

_COUNTS: dict[str, Any] = {
    "type": "object",
    "required": _STATUSES,
    "properties": {s: {"type": "integer", "minimum": 0} for s in _STATUSES},
    "additionalProperties": False,
}

_LINK: dict[str, Any] = {
    "type": "object",
    "required": ["id", "why", "title", "summary"],
    "properties": {"id": {"type": "string"}, "why": _WHY, "title": {"type": "string"},
                   "summary": {"type": "string"}},
}

_DIAGNOSIS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"enum": ["healthy", "broken", "undecided", "interrupted"]},
        "interrupted": {"type": "boolean"},
        "symptom": {"type": ["string", "null"]},
        "symptom_checks": {"type": "array", "items": {"type": "string"}},
        "failing_links": {"type": "array", "items": _LINK},
        "root_cause": {"anyOf": [{"type": "null"}, {
            "type": "object",
            "required": ["id", "why", "title", "location", "reasoning"],
            "properties": {"id": {"type": "string"}, "why": _WHY, "title": {"type": "string"},
                           "location": {"type": ["string", "null"]},
                           "reasoning": {"type": "string"}},
        }]},
        "root_causes": {"type": "array", "items": {
            "type": "object", "required": ["ids", "location"],
            "properties": {"ids": {"type": "array", "items": {"type": "string"}},
                           "location": {"type": ["string", "null"]},
                           "findings": {"type": "array", "items": {"type": "string"}}}}},
        "blocked": {"type": "array", "items": {
            "type": "object", "required": ["id", "by"],
            "properties": {"id": {"type": "string"}, "by": {"type": "string"}}}},
        "undecided": {"type": "array", "items": {"type": "string"}},
        "skipped": {"type": "array", "items": {
            "type": "object", "required": ["id", "reason"],
            "properties": {"id": {"type": "string"}, "reason": {"type": "string"}}}},
        "counts": {"$ref": "#/$defs/counts"},
        "checklist": {"type": "array", "items": {
            "type": "object", "required": ["id", "text", "status"],
            "properties": {"id": {"type": "string"}, "text": {"type": "string"},
                           "status": {"enum": [*_STATUSES, "not run"]}}}},
        "critical": {"type": "array", "items": {"type": "string"}},
        "caveats": {"type": "array", "items": {
            "type": "object", "required": ["id", "text"],
            "properties": {"id": {"type": "string"}, "why": _WHY, "title": {"type": "string"},
                           "text": {"type": "string"}}}},
        "headlines": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

_COMPARISON_KEYS = ("regressed", "still_failing", "fixed", "new", "removed", "other")

RUN_SCHEMA: dict[str, Any] = {
    "$schema": _DRAFT,
    "$id": "urn:netra-diag:schema:run:v1",
    "title": "netra-diag run (netra-diag/run/v1)",
    "description": "One run of netra-diag: the target, every check's result with evidence, "
                   "the counts and the diagnosis. Fields may be added, never renamed.",
    "type": "object",
    "required": ["schema", "tool", "target", "started_at", "duration_s", "results", "counts",
                 "diagnosis"],
    "properties": {
        "schema": {"const": RUN_SCHEMA_ID},
        "tool": {"type": "object", "required": ["name", "version"],
                 "properties": {"name": {"const": "netra-diag"},
                                "version": {"type": "string"}}},
        "target": {
            "type": "object",
            "required": ["name", "faults"],
            "properties": {
                "name": {"type": "string"},
                "root": {"type": ["string", "null"]},
                "source_prefix": {"type": "string"},
                "profile": {"type": ["string", "null"]},
                "builtin": {"type": "boolean"},
                "scenario": {"type": ["string", "null"]},
                "faults": {"type": "array", "items": {"type": "string"}},
                "url": {"type": "string", "description": "probe: the live endpoint"},
                "probe": {"type": "boolean"},
                "origin": {"type": "string", "description": "which target and why (the "
                           "profile and how it was found, or why the embedded reference)"},
            },
        },
        "started_at": {"type": "string", "description": "ISO-8601"},
        "duration_s": {"type": "number", "minimum": 0},
        "interrupted": {"type": "boolean"},
        "command": {"type": "array", "items": {"type": "string"}},
        "environment": {"type": "object", "additionalProperties": {"type": "string"}},
        "checks": {"type": "object", "additionalProperties": {"$ref": "#/$defs/check"}},
        "results": {"type": "array", "items": {"$ref": "#/$defs/result"}},
        "counts": {"$ref": "#/$defs/counts"},
        "diagnosis": {"$ref": "#/$defs/diagnosis"},
        "sources": {
            "type": "object",
            "description": "the code around each located finding, read during the run",
            "additionalProperties": {
                "type": "object", "required": ["start", "lines"],
                "properties": {"file": {"type": "string"}, "line": {"type": "integer"},
                               "start": {"type": "integer", "minimum": 1},
                               "lines": {"type": "array", "items": {"type": "string"}}}},
        },
        "comparison": {
            "type": "object",
            "description": "with --baseline: both runs' labels and every check id sorted",
            "properties": {key: {"type": "array"} for key in _COMPARISON_KEYS},
        },
    },
    "$defs": {
        "evidence": _EVIDENCE,
        "result": _RESULT,
        "finding": _FINDING,
        "check": _CHECK_META,
        "counts": _COUNTS,
        "diagnosis": _DIAGNOSIS,
    },
}


def _closed(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False,
            **extra}


_REFERENCE = {"type": "string", "pattern": _IMPORT,
              "description": "package.module:attr (a dotted module path, a colon, an attribute)"}
_BUILD_REF = {"type": "object", "minProperties": 1, "maxProperties": 2,
              "properties": {"factory": _REFERENCE, "import": _REFERENCE,
                             "args": {"type": "object"}},
              "additionalProperties": False,
              "oneOf": [{"required": ["factory"], "not": {"required": ["import"]}},
                        {"required": ["import"], "not": {"required": ["factory"]}}]}

PROFILE_SCHEMA_DOC: dict[str, Any] = {
    "$schema": _DRAFT,
    "$id": "urn:netra-diag:schema:profile:v1",
    "title": "netra-diag profile (netra-diag/profile/v1)",
    "description": "Where an agent event pipeline lives and how to build what the checks "
                   "need. Every key is optional; see `netra-diag schema profile` and the README.",
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": PROFILE_SCHEMA},
        "name": {"type": "string", "minLength": 1, "description": "shown in reports"},
        "root": {"type": "string", "minLength": 1,
                 "description": "source root, relative to this file (default .)"},
        "exclude": {"type": ["array", "null"], "items": {"type": "string", "minLength": 1},
                    "description": "gitignore-style patterns under root that are not "
                                   "production code"},
        "roles": {"type": ["object", "null"], "additionalProperties": False,
                  "properties": {role: {**_REFERENCE, "description": text}
                                 for role, text in ROLES.items()}},
        "methods": {"type": ["object", "null"], "additionalProperties": False,
                    "properties": {key: {"type": "string", "pattern": _IDENT,
                                         "description": f"default: {name}"}
                                   for key, name in DEFAULT_METHODS.items()}},
        "deprecated": {"type": ["array", "null"], "items": _closed(
            {"entry": _REFERENCE, "replacement": {"type": "string", "minLength": 1}},
            required=["entry", "replacement"])},
        "build": {"type": ["object", "null"], "description": "constructor keyword arguments "
                  "per role, or a method's call arguments; locate: where a role sits",
                  "additionalProperties": {
                      "type": "object",
                      "propertyNames": {"pattern": _IDENT},
                      "additionalProperties": {"anyOf": [
                          {"type": "object", "not": {"anyOf": [{"required": ["factory"]},
                                                               {"required": ["import"]}]}},
                          _BUILD_REF,
                          {"not": {"type": "object"}}]}}},
        "events": {"type": ["object", "null"], "additionalProperties": False, "properties": {
            "critical": {"type": "array", "minItems": 1,
                         "items": {"type": "string", "minLength": 1}},
            "methods": {"type": ["object", "null"],
                        "additionalProperties": {"type": "string", "pattern": _IDENT}},
            "fields": {"type": ["object", "null"], "additionalProperties": False,
                       "description": "your name for each canonical event field (null: your "
                                      "events have none)",
                       "properties": {name: {"type": ["string", "null"], "minLength": 1}
                                      for name in _EVENT_FIELDS}},
        }},
        "budgets": {"type": ["object", "null"], "additionalProperties": False,
                    "properties": {key: {"type": "number", "exclusiveMinimum": 0,
                                         "description": f"default: {value:g}"}
                                   for key, value in DEFAULT_BUDGETS.items()}},
        "server": {"type": ["object", "null"], "description": "the endpoint's settings (path)"},
        "hooks": {"type": ["string", "null"], "minLength": 1,
                  "pattern": r"^(.*/)?[A-Za-z_]\w*\.py$",
                  "description": "your set-up functions (setup, make_user_context, connect, "
                                 "disconnect, run_agent): a Python file relative to this file"},
        "checks_dirs": {"type": ["array", "null"], "items": {"type": "string", "minLength": 1},
                        "description": "more check folders, relative to this file"},
        "backplane": {"type": ["object", "null"], "additionalProperties": False,
                      "properties": {
                          "url": {"type": "string", "pattern": "^(redis|rediss|unix)://"},
                          "url_env": {"type": "string", "minLength": 1},
                          "instances": {"type": "integer", "minimum": 2, "maximum": 8},
                          "publish": {**_REFERENCE, "description": "your backplane role: "
                                      "joins one instance's publishing side (called once "
                                      "per instance; needs 'subscribe')"},
                          "subscribe": {**_REFERENCE, "description": "your backplane role: "
                                        "joins one instance's listening side; with it the "
                                        "fleet checks run your pipeline in-process"}},
                      "dependentRequired": {"publish": ["subscribe"]},
                      "description": "the fleet checks under `run`: a Redis URL (or the "
                                     "variable holding it), how many instances to start, "
                                     "and your backplane role (publish, subscribe)"},
        "fleet": {"type": ["array", "null"], "minItems": 2,
                  "items": {"type": "string", "pattern": "^wss?://"},
                  "description": "live instances' URLs, for `probe --profile`"},
        "isolation": {"enum": ["process", "shared-import", "interpreter"],
                      "description": "how checks are isolated: process (default), "
                                     "shared-import (import the target once) or interpreter"},
    },
}

SCHEMAS: dict[str, dict[str, Any]] = {"run": RUN_SCHEMA, "profile": PROFILE_SCHEMA_DOC}
_FILES = {"run": "run-v1.schema.json", "profile": "profile-v1.schema.json"}


def schema_text(name: str) -> str:
    """The schema ``name`` (``run`` or ``profile``) as the JSON document shipped."""
    return json.dumps(SCHEMAS[name], indent=2, ensure_ascii=False) + "\n"


def schema_path(name: str) -> Path:
    """The shipped copy of schema ``name`` (a test keeps it equal to ``schema_text``)."""
    return Path(__file__).resolve().parent / "json-schemas" / _FILES[name]


def schema_uri(name: str) -> str:
    """A ``file:`` URI of the shipped schema, for ``# yaml-language-server: $schema=``."""
    return schema_path(name).as_uri()
