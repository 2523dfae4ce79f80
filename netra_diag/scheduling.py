"""The order checks start in: dependencies first (``order_specs``), the chain others wait
for first (``critical_first``). Pure functions over specs; the runner applies them."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ConfigError
from .registry import CheckSpec

__all__ = ["critical_first", "order_specs"]


def order_specs(specs: Sequence[CheckSpec]) -> list[CheckSpec]:
    """Topological order (stable); ``ConfigError`` on a cycle among selected checks."""
    by_id = {s.id: s for s in specs}
    ordered: list[CheckSpec] = []
    state: dict[str, int] = {}

    def visit(spec: CheckSpec, trail: list[str]) -> None:
        mark = state.get(spec.id)
        if mark == 2:
            return
        if mark == 1:
            cycle = " -> ".join([*trail, spec.id])
            raise ConfigError(f"checks depend on each other in a cycle: {cycle}")
        state[spec.id] = 1
        for dep in spec.depends_on:
            if dep in by_id:
                visit(by_id[dep], [*trail, spec.id])
        state[spec.id] = 2
        ordered.append(spec)

    for spec in specs:
        visit(spec, [])
    return ordered


def critical_first(ordered: Sequence[CheckSpec]) -> list[CheckSpec]:
    """Start order: checks that others wait for first (most dependants, transitively), so
    the dependency chain does not run last; otherwise the given order."""
    ids = {s.id for s in ordered}
    dependants: dict[str, set[str]] = {s.id: set() for s in ordered}
    for spec in reversed(ordered):  # dependants come after what they depend on
        for dep in spec.depends_on:
            if dep in ids:
                dependants[dep] |= {spec.id} | dependants[spec.id]
    rank = {s.id: i for i, s in enumerate(ordered)}
    # then the dependants themselves: once unblocked they finish the chain
    return sorted(ordered, key=lambda s: (-len(dependants[s.id]),
                                          -sum(d in ids for d in s.depends_on), rank[s.id]))
