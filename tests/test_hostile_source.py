"""Issue 11, ordinary target code that crashed the checks (S1, S2): through the real CLI.
Generated code nested too deeply for Python's parser is an unparsed file, named like a syntax
error; a symbolic link loop (or a link out of the root) is skipped, never followed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from helpers import run_subprocess

from netra_diag.exitcodes import ExitCode

PROFILE = """\
root: src
roles:
  registry: app.registry:AgentRegistry
"""
DEEP = {
    "plus": "x = " + "+".join(["1"] * 200_000),
    "unary": "x = " + "-" * 100_000 + "1",
    "attributes": "x = a" + ".b" * 100_000,
    "calls": "x = f" + "()" * 100_000,
}


def make_tree(tmp_path: Path) -> Path:
    app = tmp_path / "src" / "app"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("", encoding="utf-8")
    (app / "registry.py").write_text("class AgentRegistry:\n    def __init__(self):\n"
                                     "        self.agents = {}\n"
                                     "    def get_agent(self, name):\n"
                                     "        return self.agents[name]\n", encoding="utf-8")
    (tmp_path / "netra-diag.yaml").write_text(PROFILE, encoding="utf-8")
    return app


def results(proc) -> dict[str, dict]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return {r["id"]: r for r in json.loads(proc.stdout)["results"]}


def test_code_nested_too_deeply_is_an_unparsed_file_named_in_the_evidence(
        tmp_path: Path) -> None:
    app = make_tree(tmp_path)
    for shape, code in DEEP.items():  # one generated file per shape, all in one run
        (app / f"gen_{shape}.py").write_text("from app.registry import AgentRegistry\n"
                                             + code + "\n", encoding="utf-8")
    proc = run_subprocess("run", "--static", "--format", "json", cwd=tmp_path)
    found = results(proc)
    for result in found.values():
        assert "crashed" not in result["summary"], result
    wiring = json.dumps(found["registry-wiring"])
    # never a pass over files it could not judge (error, or skip under --static), each named
    assert found["registry-wiring"]["status"] in ("error", "skip"), found["registry-wiring"]
    for shape in ("plus", "unary", "attributes"):  # RecursionError or MemoryError
        assert f"app/gen_{shape}.py" in wiring, shape
    assert "nested too deeply" in wiring
    assert "app/gen_calls.py" in wiring  # the parser's own "too many nested parentheses"
    assert proc.returncode in (ExitCode.UNDECIDED, ExitCode.OK)  # never 1, never a crash


def test_init_names_code_nested_too_deeply_and_writes_the_profile(tmp_path: Path) -> None:
    app = make_tree(tmp_path)
    (tmp_path / "netra-diag.yaml").unlink()
    # a registry-shaped class (init parses only files that can hold a role)
    (app / "generated.py").write_text("class AgentRegistry:\n    def get_agent(self): pass\n"
                                      + DEEP["plus"] + "\n", encoding="utf-8")
    proc = run_subprocess("init", ".", cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "Traceback" not in proc.stderr
    written = (tmp_path / "netra-diag.yaml").read_text()
    assert "app/generated.py" in written and "nested too deeply" in written


def link_trouble(app: Path, outside: Path) -> None:
    os.symlink("loop.py", app / "loop.py")  # a link to itself: ELOOP
    os.symlink(app, app / "again")  # a folder linking back up the tree
    outside.write_text("class AgentRegistry:\n    pass\n", encoding="utf-8")
    os.symlink(outside, app / "elsewhere.py")  # out of the root: never read
    os.symlink("/dev/zero", app / "zero.py")  # a device: never read


def test_a_symlink_loop_is_skipped_by_static_runs_normal_runs_and_init(tmp_path: Path) -> None:
    app = make_tree(tmp_path)
    link_trouble(app, tmp_path / "outside.py")
    static = results(run_subprocess("run", "--static", "--format", "json", cwd=tmp_path))
    normal = results(run_subprocess("run", "--only", "registry-wiring", "--only",
                                    "import-chain", "--format", "json", cwd=tmp_path))
    for result in [*static.values(), *normal.values()]:
        assert "crashed" not in result["summary"] and "ELOOP" not in json.dumps(result), result
        assert "Too many levels" not in json.dumps(result)
    # the class out of the root never counts as the role's second definition
    assert "elsewhere.py" not in json.dumps(static)
    (tmp_path / "netra-diag.yaml").unlink()
    proc = run_subprocess("init", ".", cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "Traceback" not in proc.stderr
    written = (tmp_path / "netra-diag.yaml").read_text()
    assert "app.registry:AgentRegistry" in written
    assert "note: skipped 3 symbolic link(s)" in proc.stderr  # named, never followed
    for name in ("app/loop.py", "app/elsewhere.py", "app/zero.py"):
        assert name in proc.stderr
