"""Honesty guards: no check can see the fault list; a missing set-up is error, not fail."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import yaml
from helpers import run_subprocess

import netra_diag
from netra_diag.exitcodes import ExitCode
from netra_diag.faults import copy_reference
from netra_diag.profile import reference_profile_path

REPO = Path(__file__).resolve().parent.parent
CHECK_SIDE = [*sorted((REPO / "checks").glob("*.py")),
              *sorted((REPO / "netra_diag" / "support").glob("*.py")),
              REPO / "netra_diag" / "context.py", REPO / "netra_diag" / "worker.py"]
FORBIDDEN = {"netra_diag.faults", "netra_diag.target", "netra_diag.session",
             "faults", "target", "session"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names.add(base)
            names |= {f"{base}.{a.name}".lstrip(".") for a in node.names}
    return names


def test_no_check_side_module_imports_the_fault_table():
    for path in CHECK_SIDE:
        leaked = imported_modules(path) & FORBIDDEN
        assert not leaked, f"{path.relative_to(REPO)} imports {leaked}"


def test_the_job_a_check_receives_carries_no_fault_names(tmp_path):
    """The check interpreter is handed the profile and options only (see runner._job)."""
    from netra_diag.registry import Registry
    from netra_diag.runner import Runner
    from netra_diag.target import open_target

    registry = Registry()
    registry.load_builtin()
    with open_target(None, scenario="incident") as target:
        job = Runner(target.profile)._job(registry.get("import-chain"))
        text = json.dumps(job)
        for name in target.faults:
            assert name not in text
        assert "fault" not in text.lower()
        assert "incident" not in text.lower()


def _reference_profile_without(tmp_path: Path, *, roles: tuple[str, ...],
                               build: tuple[str, ...]) -> Path:
    copy_reference(tmp_path / "src")
    data = yaml.safe_load(reference_profile_path().read_text())
    for role in roles:
        data["roles"].pop(role)
    for key in build:
        data["build"].pop(key)
    data["name"] = "reference-copy"
    path = tmp_path / "netra-diag.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_profile_missing_a_constructor_argument_gives_error_naming_it(tmp_path):
    profile = _reference_profile_without(tmp_path, roles=("wiring_entry",), build=("registry",))
    proc = run_subprocess("run", str(profile), "--only", "registry-wiring", "--format", "json",
                          cwd=tmp_path)
    assert proc.returncode == ExitCode.UNDECIDED, proc.stderr
    [result] = json.loads(proc.stdout)["results"]
    assert result["status"] == "error"
    assert "'llm_manager'" in result["summary"]
    assert "build.registry.llm_manager" in result["fix"]


def test_a_crash_in_the_targets_own_wiring_is_fail_with_its_traceback(tmp_path):
    proc = run_subprocess("run", "--inject", "registry-missing-llm-manager", "--only",
                          "registry-wiring", "--format", "json", cwd=tmp_path)
    [result] = json.loads(proc.stdout)["results"]
    assert result["status"] == "fail"
    tracebacks = [e["message"] for e in result["evidence"] if e["kind"] == "traceback"]
    assert any('File "netra_backend/app/dependencies.py"' in t for t in tracebacks)
    assert all("netra_diag" not in t.split("\n", 1)[1] for t in tracebacks)


def test_the_public_api_is_stable():
    assert set(netra_diag.__all__) >= {"check", "passed", "failed", "errored", "skipped",
                                       "Evidence", "Status", "CheckContext", "SetupError",
                                       "TargetFailure", "RunReport", "ExitCode"}


def test_packaging_lists_every_package_folder():
    """A subpackage forgotten in pyproject is missing from the wheel but still imports in an
    editable install: compare the declared list with the folders."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(config["packages"])
    found = {"netra_diag_checks"}
    for init in (REPO / "netra_diag").rglob("__init__.py"):
        rel = init.parent.relative_to(REPO)
        if "reference" in rel.parts:
            continue  # shipped as package data (source to diagnose), never imported as a package
        found.add(".".join(rel.parts))
    assert declared == found
    assert config["package-dir"] == {"netra_diag_checks": "checks"}
