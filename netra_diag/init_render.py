"""The commented YAML profile ``init`` writes for a ``Proposal``.

Owns the rendering only: the YAML is valid as written (every unsettled item is a comment,
marked ``TODO`` with its reason), so ``run`` then says precisely what is missing. It knows
nothing of how the proposal was inferred, and never writes a file.
"""

from __future__ import annotations

import json
import re

from .init_proposal import BuildValue, DeprecatedChoice, Proposal
from .init_roles import Definition, describe_kind, params_of
from .profile import CRITICAL_EVENTS, PROFILE_SCHEMA
from .support.survey import Survey

__all__ = ["render_profile"]

TODO = "TODO"


def _describe(tree: Survey, d: Definition) -> str:
    """``async function, path:line; required: a, b`` (for a class: its constructor)."""
    required = [p.name for p in params_of(tree, d) if p.required]
    return f"{describe_kind(d)}, {d.relpath}:{d.line}; required: {', '.join(required) or 'none'}"


def _candidates(tree: Survey, candidates: list[tuple[Definition, str]]) -> list[str]:
    return [f"  #   candidate: {d.entry}  # {_comment(_describe(tree, d) + '; ' + why)}"
            for d, why in candidates]


def render_profile(proposal: Proposal, *, root: str, hooks: str | None = None) -> str:
    """The commented YAML for ``proposal`` (``root`` relative to the profile's folder;
    ``hooks``: the hooks template beside it, named in a commented ``hooks:`` line)."""
    lines = [
        "# netra-diag profile written by `netra-diag init` from the source alone (nothing was",
        "# imported). Review every TODO, then run `netra-diag run` (or `run --static`).",
        f"# Read {proposal.files} production file(s) under {root}; parsed "
        f"{proposal.parsed} of them (those that can hold a role).",
        f"schema: {PROFILE_SCHEMA}",
        f"name: {_scalar(proposal.name)}",
        f"root: {_scalar(root)}",
        'exclude: ["tests/**"]',
    ]
    if hooks:
        lines += [f"# hooks: {hooks}  # uncomment once you define a function in it (setup,",
                  "#   make_user_context, connect, disconnect, run_agent): yours then replace "
                  "the tool's guesses"]
    lines += ["", "roles:"]
    for problem in proposal.problems:
        lines.insert(3, f"# skipped (could not parse): {problem}")
    tree = proposal.tree or Survey()
    from .profile import ROLES

    for role in ROLES:
        choice = proposal.roles.get(role)
        if choice is not None:
            lines.append(f"  {role}: {choice.entry}  # {_describe(tree, choice.definition)}")
            if choice.note:
                lines.append(f"  # NOTE: {_comment(choice.note)}")
            lines += _candidates(tree, choice.candidates)
        elif role in proposal.missing:
            lines.append(f"  # {role}: {TODO}  # {_comment(proposal.missing[role])} (or "
                         "none: your backend has no such part, its checks skip)")
            lines += _candidates(tree, proposal.candidates.get(role, []))
    if proposal.methods or proposal.method_todos:
        lines += ["", "methods:  # method names on the roles, where they differ from the defaults"]
        for key, name in proposal.methods.items():
            lines.append(f"  {key}: {name}")
        for key, why in proposal.method_todos.items():
            lines.append(f"  # {key}: {TODO}  # {_comment(why)}")
    active = [d for d in proposal.deprecated if d.active]
    inactive = [d for d in proposal.deprecated if not d.active]
    if active:
        lines += ["", "deprecated:  # the deprecated entry points connected to the event pipeline"]
    elif inactive:
        lines += ["", "deprecated: []  # none connected to the event pipeline (see below)"]
    else:
        lines += ["", "deprecated: []  # none found (nothing warns or says so): add any here"]
    for dep in active:
        lines.append(f"  # {dep.where} {_how(dep)} ({dep.why}): {_comment(dep.message)}")
        lines.append(f"  - entry: {dep.entry}")
        if dep.replacement:
            lines.append(f"    replacement: {dep.replacement}")
        else:
            lines.append(f"    replacement: {TODO}  # {TODO}: the message names no replacement")
    if inactive:
        lines += [f"  # {len(inactive)} other deprecated entry point(s), not connected to the "
                  "event pipeline: uncomment those",
                  "  # you want judged too (deprecation-warnings then calls each of them)."]
    for dep in inactive:
        lines.append(f"  # - entry: {dep.entry}  # {dep.where} {_how(dep)}")
        lines.append(f"  #   replacement: {dep.replacement or TODO}")
    if proposal.build:
        lines += ["", "build:  # constructor arguments the checks cannot supply themselves"]
        for role, values in proposal.build.items():
            lines += _render_values(role, values, indent=2)
    lines += ["", "events:", f"  critical: [{', '.join(CRITICAL_EVENTS)}]"]
    if proposal.event_methods:
        lines.append("  methods:")
        lines += [f"    {event}: {name}" for event, name in proposal.event_methods.items()]
    for note in proposal.notes:
        lines.append(f"# NOTE: {_comment(note)}")
    lines += ["", "budgets:", "  event_latency_ms: 50", "  run_timeout_s: 10", ""]
    from .schemas import schema_uri  # editors (yaml-language-server) validate and complete

    return "\n".join([f"# yaml-language-server: $schema={schema_uri('profile')}", *lines])


def _how(dep: DeprecatedChoice) -> str:
    return {"warns": f"warns {dep.category or 'DeprecationWarning'}",
            "message": f"warns {dep.category} saying deprecated"}.get(
                dep.how, "docstring says deprecated")


def _render_values(key: str, values: dict[str, BuildValue], indent: int) -> list[str]:
    """``key:`` and its values; commented out entirely when nothing in it is settled."""
    pad = " " * indent
    settled = {k: v for k, v in values.items() if v.todo is None}
    lines = [f"{pad}{key}:" if settled else f"{pad}# {key}:  # nothing settled yet"]
    for name, value in values.items():
        inner = pad + "  "
        if value.todo is not None:
            lines.append(f"{inner}# {name}: {TODO}  # {_comment(value.todo)}")
        elif not value.args:
            lines.append(f'{inner}{name}: {{factory: "{value.factory}"}}')
        else:
            lines.append(f"{inner}{name}:")
            lines.append(f'{inner}  factory: "{value.factory}"')
            lines += _render_values("args", value.args, indent + 4)
    return lines


def _scalar(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_./-]+", text) else json.dumps(text)


def _comment(text: str) -> str:
    return " ".join(text.split())[:300]
