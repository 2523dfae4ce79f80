"""What ``@check`` declares reaches the run: the registry loads every check module, the
phrase templates fill from a result's data, and a bad declaration is refused at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from netra_diag.errors import ConfigError
from netra_diag.model import CheckResult, Evidence, Status
from netra_diag.phrasing import fields_of, guard_holds, render
from netra_diag.registry import Registry, check

CHECKS_DIR = Path(__file__).resolve().parent.parent / "checks"


def test_every_check_module_is_loaded_without_a_list() -> None:
    registry = Registry()
    registry.load_builtin()
    modules = {p.stem for p in CHECKS_DIR.glob("*.py") if not p.name.startswith("_")}
    assert {s.origin.label.removeprefix("built-in ") for s in registry.specs} == modules
    assert not registry.failures
    # every built-in declares its place and its checklist line
    assert all(isinstance(s.order, int) and s.criterion for s in registry.specs)
    orders = [s.order for s in registry.specs]
    assert len(set(orders)) == len(orders) and orders == sorted(orders)


def test_templates_fill_from_the_result_and_its_data() -> None:
    result = CheckResult("x-flow", "e2e", "X Flow", Status.FAIL, "3/5 seen",
                         (Evidence("note", "n"),
                          Evidence("events", "e", data={"delivered": 3, "total": 5,
                                                        "wire": False, "p95": 1.234})))
    fields = fields_of(result)
    assert render(["[delivered<total] {delivered}/{total} ({id})"], fields) == "3/5 (x-flow)"
    assert render(["[delivered=total] all", "[wire=false] local {p95:.1f}"], fields) == \
        "local 1.2"
    assert render(["{missing} never", "{title}: {summary}"], fields) == "X Flow: 3/5 seen"
    assert render(["{missing}"], fields) is None
    assert guard_holds("", fields) and guard_holds("[wire=false][delivered=3]", fields)
    assert not guard_holds("[wire]", fields) and not guard_holds("[absent=0]", fields)
    # a guard never matches a bool against a number (False is not 0)
    assert not guard_holds("[wire=0]", fields)


def test_a_bad_declaration_is_refused_when_declared() -> None:
    with pytest.raises(ConfigError, match="order must be an int"):
        check(id="a-check", why="e2e", title="A", order="first")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown symptom case"):
        check(id="a-check", why="e2e", title="A", symptom={"failing": "x"})


def test_the_declaration_travels_as_metadata() -> None:
    @check(id="a-check", why="e2e", title="A", order=5, criterion="A holds",
           symptom={"fail": ("x {n}", "x")}, headline="{n} seen", critical="[n]",
           caveat="it does not prove B")
    def a_check(ctx: object) -> None:
        return None

    meta = a_check.__netra_check__.meta()
    assert meta["order"] == 5 and meta["criterion"] == ["A holds"]
    assert meta["symptom"] == {"fail": ["x {n}", "x"]} and meta["headline"] == ["{n} seen"]
    assert meta["critical"] == "[n]" and meta["caveat"] == "it does not prove B"
    from netra_diag.manifest import spec_from_dict, spec_to_dict

    again = spec_from_dict(spec_to_dict(a_check.__netra_check__))
    assert again.meta() == meta
