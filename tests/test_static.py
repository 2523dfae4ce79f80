"""Static mode: judged from source alone, fast on large trees, never importing the target."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

from netra_diag.exitcodes import ExitCode
from netra_diag.faults import apply_faults, copy_reference
from netra_diag.support.definitions import async_method_names, class_methods
from netra_diag.support.source import ParsedModule, SourceProblem, parse_bytes, parse_matching
from netra_diag.support.static import constructor_calls_missing, unawaited_calls
from netra_diag.support.survey import annotation_name, deprecation_of
from netra_diag.support.symbols import resolve_symbol

REPO = Path(__file__).resolve().parent.parent


def scan(root: Path, needles=("needle",), **kwargs) -> list:
    return list(parse_matching(root, list(needles), **kwargs))


def test_unreadable_files_are_problems_and_the_scan_goes_on(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a_syntax.py").write_text("needle = (\n")
    (tmp_path / "pkg" / "b_latin1.py").write_bytes(b"needle = 'caf\xe9'\n")
    (tmp_path / "pkg" / "c_nul.py").write_bytes(b"needle = 1\x00\n")
    (tmp_path / "pkg" / "d_fine.py").write_text("needle = 1\n")
    items = scan(tmp_path)
    problems = {p.relpath: p for p in items if isinstance(p, SourceProblem)}
    assert problems["pkg/a_syntax.py"].line == 1
    assert "syntax error" in problems["pkg/a_syntax.py"].message
    assert "not UTF-8" in problems["pkg/b_latin1.py"].message
    assert "pkg/c_nul.py" in problems
    assert [m.relpath for m in items if isinstance(m, ParsedModule)] == ["pkg/d_fine.py"]


def test_files_are_parsed_as_python_reads_them_bom_and_coding_cookie():
    bom = parse_bytes("a.py", b"\xef\xbb\xbfimport needle\n")
    latin = parse_bytes("b.py", b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n")
    lying = parse_bytes("c.py", b"# -*- coding: utf-8 -*-\nname = 'caf\xe9'\n")
    assert isinstance(bom, ParsedModule) and bom.line(1) == "import needle"
    assert isinstance(latin, ParsedModule) and latin.line(2) == "name = 'caf\xe9'"
    assert isinstance(lying, SourceProblem) and lying.message.startswith("not UTF-8")


def test_the_walk_skips_tests_excludes_and_caches_in_name_order(tmp_path):
    files = ["b/z.py", "b/tests/t.py", "a/test_x.py", "a/x_test.py", "a/conftest.py",
             "a/m.py", "a/__pycache__/m.py", ".hidden/h.py", "gen/g.py", "c.py/inner.py",
             "a/sub/n.py", "a/notes.txt"]
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("needle = 1\n")
    found = [m.relpath for m in scan(tmp_path, exclude=["gen/**"])]
    assert found == ["a/m.py", "a/sub/n.py", "b/z.py", "c.py/inner.py"]
    with_tests = [m.relpath for m in scan(tmp_path, include_tests=True, exclude=["gen/**"])]
    assert {"b/tests/t.py", "a/test_x.py", "a/x_test.py", "a/conftest.py"} <= set(with_tests)


def test_only_files_mentioning_a_needle_are_parsed(tmp_path):
    (tmp_path / "a.py").write_text("import os\n")
    (tmp_path / "b.py").write_text("x = 'needle'\n")
    (tmp_path / "c.py").write_text("def broken(:\n")  # never read as code: no needle
    assert [m.relpath for m in scan(tmp_path)] == ["b.py"]


def test_the_process_pool_finds_exactly_what_one_process_finds(tmp_path):
    for i in range(40):
        text = "needle = 1\n" if i % 3 == 0 else "other = 1\n"
        (tmp_path / f"m{i:02d}.py").write_text(text)
    (tmp_path / "m99.py").write_text("needle = (\n")

    def summary(items):
        return [(type(i).__name__, i.relpath) for i in items]

    assert summary(scan(tmp_path, workers=2)) == summary(scan(tmp_path, workers=1))


def test_annotations_name_their_class():
    def name(text: str) -> str:
        return annotation_name(ast.parse(text, mode="eval").body)

    assert name("Foo") == name("mod.Foo") == name("Foo | None") == name("Optional[Foo]") == \
        name("'Foo'") == "Foo"
    assert name("None | Foo") == "Foo"
    assert name("list[Foo]") == "list"


def test_a_docstring_saying_not_deprecated_is_not_a_deprecation():
    tree = ast.parse('def f():\n    """Not deprecated: the supported path."""\n')
    assert deprecation_of(tree.body[0]) is None
    tree = ast.parse('def g():\n    """DEPRECATED. Use the new API."""\n')
    found = deprecation_of(tree.body[0])
    assert found is not None and found.how == "docstring" and found.replacement is None


def run_json(cli, *args: str) -> tuple[int, dict]:
    result = cli("run", *args, "--format", "json", "--jobs", "2")
    return result.exit_code, {r["id"]: r for r in json.loads(result.stdout)["results"]}


def test_static_incident_fails_the_static_whys_with_locations(cli):
    code, rows = run_json(cli, "--static", "--scenario", "incident")
    assert code == ExitCode.FAILED
    # engine-factory: its un-awaited call is emitter-methods' finding, and what the factory
    # binds only a run can show, so from source it is undecided (skip), never a fail or pass
    expected = {"import-chain": "fail", "emitter-methods": "fail", "registry-wiring": "fail",
                "engine-factory": "skip", "deprecation-warnings": "pass",
                "context-identity": "pass", "event-flow": "skip"}
    assert {k: rows[k]["status"] for k in expected} == expected

    def located(check_id: str) -> list[str]:
        return [f"{e['file']}:{e['line']}" for e in rows[check_id]["evidence"]
                if e.get("file") and e.get("line")]

    assert "netra_backend/app/dependencies.py:16" in located("import-chain")
    assert "netra_backend/app/agents/supervisor/execution_factory.py:29" in \
        located("emitter-methods")
    assert "netra_backend/app/dependencies.py:26" in located("registry-wiring")
    assert "netra_backend/app/agents/supervisor/execution_factory.py:29" in \
        located("engine-factory")
    assert rows["event-flow"]["summary"].startswith("--static:")


def test_static_catches_a_silenced_deprecation_from_source(cli):
    code, rows = run_json(cli, "--static", "--inject", "deprecation-silenced",
                          "--only", "deprecation-warnings")
    assert code == ExitCode.FAILED
    assert "does not warn that it is deprecated" in rows["deprecation-warnings"]["summary"]


def test_static_mode_never_imports_the_target(tmp_path, cli):
    """Every module of this tree ends the interpreter that imports it: a static run must
    still judge every static check without one error."""
    src = copy_reference(tmp_path / "src")
    apply_faults(src, ["deprecated-singleton-import"])
    for path in src.rglob("*.py"):
        path.write_text(path.read_text() + "\nimport os\nos._exit(97)\n")
    profile = (REPO / "netra_diag" / "reference" / "profile.yaml").read_text()
    (tmp_path / "netra-diag.yaml").write_text(profile)
    code, rows = run_json(cli, str(tmp_path), "--static")
    assert code == ExitCode.FAILED
    assert rows["import-chain"]["status"] == "fail"
    assert not [r for r in rows.values() if r["status"] == "error"], rows


def _realistic_tree(tmp_path: Path, modules: int) -> Path:
    """The benchmark's tree (its files and what they mention), each module's filler capped:
    these tests are about which files are read and cached, not about reading 1.7 MB."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import realistic_tree
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return realistic_tree.generate(tmp_path / "tree", modules=modules, max_lines=150)


def _scan_result(src: Path, needles: list[str], **kwargs) -> tuple[list, list]:
    from netra_diag.support.static import deprecated_usages
    from netra_diag.support.summaries import ModuleSummary, summarize_matching

    items = list(summarize_matching(src, needles, **kwargs))
    modules = [m for m in items if isinstance(m, ModuleSummary)]
    findings = [f for n in needles for f in deprecated_usages(modules, "acme.websocket_core", n)]
    return sorted(m.relpath for m in modules), findings


def test_the_shared_scan_picks_the_files_grep_would_and_caches_them(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    src = _realistic_tree(tmp_path, 120) / "src"
    needles = ["get_websocket_manager", "UserExecutionContext"]
    wanted = [n.encode() for n in needles]
    grep_like = sorted(p.relative_to(src).as_posix() for p in src.rglob("*.py")
                       if any(n in p.read_bytes() for n in wanted))
    cold = _scan_result(src, needles, cache=False)
    assert cold[0] == grep_like
    assert _scan_result(src, needles) == cold  # writes the cache
    assert list((tmp_path / "cache").rglob("static-*.pickle"))
    assert _scan_result(src, needles) == cold  # served from it
    assert _scan_result(src, needles, cache=False, workers=2) == cold  # the process pool
    changed = src / "acme" / "dependencies.py"
    changed.write_text(changed.read_text() + "\nfrom acme.websocket_core import "
                       "get_websocket_manager\n")
    relpaths, findings = _scan_result(src, needles)  # size and mtime changed: read again
    assert "acme/dependencies.py" in relpaths
    assert any(f.relpath == "acme/dependencies.py" for f in findings)


# -- names resolve to the role's module, never by bare name ---------------------------------

TREE = {
    "app/__init__.py": "from app.core.registry import AgentRegistry as AgentRegistry\n",
    "app/core/__init__.py": "",
    "app/core/base.py": "class Base:\n    def __init__(self, llm):\n        self.llm = llm\n"
                        "    def get_agent(self, name): ...\n",
    "app/core/registry.py": "from .base import Base\n\nclass AgentRegistry(Base):\n"
                            "    def list_agents(self): ...\n",
    "app/plugins/registry.py": "class AgentRegistry:\n    def __init__(self): ...\n\n"
                               "DEFAULT = AgentRegistry()\n",
    "app/wiring.py": "from app import AgentRegistry as Reg\nimport app.core.registry as r\n"
                     "from .core import registry\n\n"
                     "def wire():\n    Reg()\n    r.AgentRegistry()\n    registry.AgentRegistry()\n"
                     "    Reg(llm=1)\n",
    "app/other.py": "def AgentRegistry():\n    return 1\n\nAgentRegistry()\n",
}


def parsed_tree(tmp_path: Path, files: dict[str, str], needles=("AgentRegistry",)) -> list:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return [m for m in scan(tmp_path, needles) if isinstance(m, ParsedModule)]


def test_a_role_class_is_resolved_through_re_exports_and_its_bases(tmp_path):
    modules = parsed_tree(tmp_path, TREE, ("AgentRegistry", "Base"))
    symbol = resolve_symbol(modules, "app", "AgentRegistry")  # the role names the re-export
    assert (symbol.home, symbol.name, symbol.defined) == ("app.core.registry", "AgentRegistry",
                                                          True)
    assert "Reg" in symbol.names_in("app.wiring")
    assert "app.plugins.registry" not in symbol.exports and "app.other" not in symbol.exports
    methods = class_methods(modules, "AgentRegistry", "app")
    assert set(methods) == {"__init__", "get_agent", "list_agents"}  # Base's, inherited
    assert methods["__init__"].required == ("llm",)
    assert class_methods(modules, "AgentRegistry", "app.plugins.registry")["__init__"] \
        .required == ()


def test_constructor_calls_count_only_where_the_name_is_bound_to_the_role(tmp_path):
    modules = parsed_tree(tmp_path, TREE)
    symbol = resolve_symbol(modules, "app.core.registry", "AgentRegistry")
    found = constructor_calls_missing(modules, symbol, ("llm",), ("llm",))
    # aliased, module-attribute and relative-import calls; not the plugin's own class
    # (app/plugins/registry.py) nor an unrelated function of the same name (app/other.py)
    assert [(f.relpath, f.line) for f in found] == [("app/wiring.py", 6), ("app/wiring.py", 7),
                                                    ("app/wiring.py", 8)]


def test_unawaited_calls_resolve_functions_and_skip_methods_with_sync_homonyms(tmp_path):
    files = {
        "svc/__init__.py": "",
        "svc/bridge.py": "class Bridge:\n    async def make(self, ctx): ...\n\n"
                         "async def helper(ctx): ...\n",
        "svc/legacy.py": "class Old:\n    def make(self, ctx): ...\n",
        "svc/use.py": "from svc.bridge import helper as h\n\ndef helper(ctx): ...\n\n"
                      "def go(bridge, old, ctx):\n    h(ctx)\n    bridge.make(ctx)\n"
                      "    old.make(ctx)\n",
        "svc/local.py": "def helper(ctx): ...\n\nhelper(1)\n",
    }
    modules = parsed_tree(tmp_path, files, ("helper", "make"))
    helper = resolve_symbol(modules, "svc.bridge", "helper")
    found = unawaited_calls(modules, async_method_names(modules, ["make"]), [helper])
    # h(ctx) is the async helper; the local sync helper() is not; make() has a sync homonym
    # (Old.make), so x.make() cannot be judged by name
    assert [(f.relpath, f.line) for f in found] == [("svc/use.py", 6)]
    (tmp_path / "svc" / "legacy.py").unlink()
    modules = parsed_tree(tmp_path, {}, ("helper", "make"))
    found = unawaited_calls(modules, async_method_names(modules, ["make"]), [helper])
    assert [(f.relpath, f.line) for f in found] == [("svc/use.py", 6), ("svc/use.py", 7),
                                                    ("svc/use.py", 8)]


def test_a_same_named_class_elsewhere_does_not_fail_registry_wiring(tmp_path, cli):
    """tiny9: an unrelated plugins/registry.py with its own AgentRegistry() call."""
    from synthetic_backend import write_backend

    profile = write_backend(tmp_path, {
        "synthapp/zplugins/__init__.py": "",
        "synthapp/zplugins/registry.py": "class AgentRegistry:\n    def __init__(self):\n"
                                         "        self.plugins = []\n\nDEFAULT = AgentRegistry()\n",
    })
    code, rows = run_json(cli, str(profile), "--static", "--only", "registry-wiring")
    assert code == ExitCode.UNDECIDED, rows  # its one check skipped: nothing judged
    assert rows["registry-wiring"]["status"] == "skip", rows
    assert rows["registry-wiring"]["summary"].startswith(
        "--static: judged from source that every production call")


def test_a_run_snapshot_serves_every_check_the_one_scan(tmp_path, monkeypatch):
    from netra_diag.support.snapshot import SNAPSHOT_ENV, warm

    monkeypatch.setenv("NETRA_DIAG_NO_CACHE", "1")  # the snapshot needs no persistent cache
    src = _realistic_tree(tmp_path, 60) / "src"
    needles = ["get_websocket_manager", "UserExecutionContext"]
    expected = _scan_result(src, needles, cache=False)
    folder = tmp_path / "snapshot"
    folder.mkdir()
    assert warm(src, [*needles, "AgentRegistry"], (), folder)
    monkeypatch.setenv(SNAPSHOT_ENV, str(folder))
    assert _scan_result(src, needles) == expected
    assert _scan_result(src, needles[:1])[0] == _scan_result(src, needles[:1], cache=False)[0]
    # served from the snapshot: the tree is not read again during the run
    (src / "acme" / "dependencies.py").write_text("from acme.websocket_core import "
                                                   "get_websocket_manager\n")
    assert _scan_result(src, needles) == expected
    assert _scan_result(src, needles, cache=False) != expected  # a real scan sees it
    # a needle the snapshot was not made for: the check scans on its own
    assert _scan_result(src, ["WebSocketNotifier"])[0] == \
        _scan_result(src, ["WebSocketNotifier"], cache=False)[0]


def test_an_unchanged_tree_reuses_its_snapshot_without_reading_a_file(tmp_path, monkeypatch):
    import os

    from netra_diag.support import summaries
    from netra_diag.support.snapshot import cached_snapshot

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    src = _realistic_tree(tmp_path, 30) / "src"
    needles = ["get_websocket_manager", "UserExecutionContext"]
    first = cached_snapshot(src, needles, ())
    assert first is not None and (first / "index.pickle").is_file()

    def must_not(*args):
        raise AssertionError("an unchanged tree must not be read nor its cache unpickled")

    with monkeypatch.context() as patch:
        patch.setattr(summaries, "_read", must_not)
        patch.setattr(summaries, "_load", must_not)
        assert cached_snapshot(src, needles, ()) == first
    assert cached_snapshot(src, needles[:1], ()) != first  # other needles, another snapshot
    # a file renamed keeps its size and modification time: still a change
    os.rename(src / "acme" / "dependencies.py", src / "acme" / "wiring.py")
    again = cached_snapshot(src, needles, ())
    assert again not in (None, first)
    assert not first.exists()  # the tree's older snapshot is replaced, not kept beside


def test_a_cached_rerun_reuses_the_snapshot_and_sees_an_edit(cli, tmp_path, monkeypatch):
    cache = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    root = _realistic_tree(tmp_path, 30)
    code, rows = run_json(cli, str(root), "--static", "--only", "import-chain")
    assert code == ExitCode.OK and rows["import-chain"]["status"] == "pass", rows
    [made] = cache.rglob("run-*")
    written = (made / "index.pickle").stat().st_mtime_ns
    code, again = run_json(cli, str(root), "--static", "--only", "import-chain")
    assert code == ExitCode.OK and again["import-chain"]["summary"] == \
        rows["import-chain"]["summary"]
    assert list(cache.rglob("run-*")) == [made]
    assert (made / "index.pickle").stat().st_mtime_ns == written  # reused, not made again
    changed = root / "src" / "acme" / "dependencies.py"
    changed.write_text(changed.read_text() + "\nfrom acme.websocket_core import "
                       "get_websocket_manager\n")
    code, rows = run_json(cli, str(root), "--static", "--only", "import-chain")
    assert code == ExitCode.FAILED and rows["import-chain"]["status"] == "fail", rows
    assert "acme/dependencies.py" in {e.get("file") for e in rows["import-chain"]["evidence"]}
    assert [p.name for p in cache.rglob("run-*")] != [made.name]


def test_no_cache_neither_reads_nor_writes_the_scan_caches(cli, tmp_path, monkeypatch):
    import os

    cache = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    root = _realistic_tree(tmp_path, 30)
    code, rows = run_json(cli, str(root), "--static", "--no-cache", "--only", "import-chain")
    assert code == ExitCode.OK and rows["import-chain"]["status"] == "pass", rows
    assert "NETRA_DIAG_NO_CACHE" not in os.environ  # only for the run
    assert cli("init", str(tmp_path / "out.yaml"), "--root", str(root / "src"),
               "--no-cache").exit_code == ExitCode.OK
    assert not list(cache.rglob("*.pickle"))
    code, rows = run_json(cli, str(root), "--static", "--only", "import-chain")
    assert code == ExitCode.OK and rows["import-chain"]["status"] == "pass", rows
    assert list(cache.rglob("static-*.pickle"))  # without the flag the next run reuses it


def test_exclude_patterns_have_gitignore_semantics(tmp_path):
    """``legacy/*.py`` is one folder level (fnmatch's ``*`` crossed folders), and
    ``**/tests/**`` reaches a top-level ``tests/`` (fnmatch missed it); ``!`` re-includes."""
    files = ["legacy/a.py", "legacy/sub/b.py", "tests/t.py", "pkg/tests/u.py", "pkg/m.py",
             "gen/g.py", "gen/keep.py"]
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("needle = 1\n")

    def found(*patterns: str) -> list[str]:
        return [m.relpath for m in scan(tmp_path, include_tests=True, exclude=list(patterns))]

    assert "legacy/sub/b.py" in found("legacy/*.py") and "legacy/a.py" not in found("legacy/*.py")
    assert not {"tests/t.py", "pkg/tests/u.py"} & set(found("**/tests/**"))
    assert found("gen/*", "!gen/keep.py", "legacy/", "tests/") == ["gen/keep.py", "pkg/m.py"]


def test_static_never_imports_the_target_even_under_shared_import(cli, tmp_path):
    """``isolation: shared-import`` imports the role modules once in the check server; under
    ``--static`` nothing of the target is imported, there either."""
    marker = tmp_path / "imported"
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "__init__.py").write_text("")
    (tmp_path / "src" / "pkg" / "mod.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n\nclass AgentRegistry:\n    pass\n")
    (tmp_path / "netra-diag.yaml").write_text(
        "name: t\nroot: src\nisolation: shared-import\n"
        "roles:\n  registry: pkg.mod:AgentRegistry\n")
    _, rows = run_json(cli, str(tmp_path), "--static", "--only", "registry-wiring")
    assert rows["registry-wiring"]["status"] == "skip", rows  # judged from source
    assert rows["registry-wiring"]["summary"].startswith("--static: judged from source")
    assert not marker.exists()
