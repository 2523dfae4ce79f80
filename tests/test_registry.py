from pathlib import Path

import pytest

from netra_diag import check
from netra_diag.errors import ConfigError, DuplicateCheckError
from netra_diag.registry import Origin, Registry


def test_declaring_a_check_registers_nothing_globally():
    @check(id="local-only", why=1, title="t")
    def local(ctx):
        return None

    assert "local-only" not in Registry()


def test_builtin_checks_have_the_contract_ids():
    registry = Registry()
    registry.load_builtin()
    ids = [s.id for s in registry.specs]
    for expected in ("import-chain", "emitter-methods", "registry-wiring", "engine-factory",
                     "deprecation-warnings", "event-flow"):
        assert expected in ids
    assert not registry.failures
    for spec in registry.specs:
        assert spec.explain and spec.fix, spec.id


def test_the_minimal_plugin_is_found(plugin_dir):
    registry = Registry()
    registry.load_dir(plugin_dir("my_check.py"))
    spec = registry.get("my-check")
    assert (spec.why, spec.title) == ("e2e", "An example check")
    assert spec.origin.kind == "file"


def test_duplicate_ids_name_both_sources(plugin_dir):
    folder = plugin_dir("my_check.py", "duplicate.py")
    registry = Registry()
    with pytest.raises(DuplicateCheckError) as info:
        registry.load_dir(folder)
    message = str(info.value)
    assert "my-check" in message
    assert "duplicate.py" in message and "my_check.py" in message


def test_a_plugin_raising_at_import_is_recorded_and_others_load(plugin_dir):
    registry = Registry()
    registry.load_dir(plugin_dir("broken_import.py", "my_check.py"))
    assert "my-check" in registry
    [failure] = registry.failures
    assert "broken at import time" in failure.message
    assert "RuntimeError" in failure.traceback


@pytest.mark.parametrize("bad", [{"id": "Bad_Id", "why": 1}, {"id": "ok", "why": 9}])
def test_malformed_declarations_are_refused(bad):
    with pytest.raises(ConfigError):
        check(title="t", **bad)


def test_missing_folder_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        Registry().load_dir(tmp_path / "nope")


def _registry(*specs_args: tuple[str, tuple[str, ...], tuple[str, ...]]) -> Registry:
    """A registry of do-nothing checks: (id, tags, depends_on) each."""
    registry = Registry()
    for check_id, tags, depends_on in specs_args:
        @check(id=check_id, why="e2e", title=check_id, tags=tags, depends_on=depends_on)
        def func(ctx):
            return None

        registry.add_from_namespace({"func": func}, Origin("file", check_id, f"{check_id}.py"))
    return registry


def test_select_takes_ids_tags_and_comma_lists_and_keeps_the_registry_order():
    registry = _registry(("alpha", ("wire",), ()), ("beta", (), ()), ("gamma", ("wire",), ()))
    assert [s.id for s in registry.select()] == ["alpha", "beta", "gamma"]
    assert [s.id for s in registry.select(["gamma,beta"])] == ["beta", "gamma"]
    assert [s.id for s in registry.select(["wire"], ["alpha"])] == ["gamma"]
    assert [s.id for s in registry.select(tags=["wire"])] == ["alpha", "gamma"]
    assert [s.id for s in registry.select(["beta"], tags=["wire"])] == []


def test_select_refuses_an_unknown_name_with_a_suggestion():
    registry = _registry(("event-flow", ("wire",), ()), ("user-isolation", ("wire",), ()))
    with pytest.raises(ConfigError) as info:
        registry.select(["event-flw"])
    assert str(info.value) == ("unknown check id 'event-flw' in --only (no check has that tag "
                               "either); did you mean event-flow?")
    with pytest.raises(ConfigError, match=r"in --skip .*; known: event-flow, user-isolation"):
        registry.select([], ["zzz"])


def test_a_misspelled_dependency_is_refused_naming_the_check_the_id_and_a_close_match():
    registry = _registry(("event-flow", (), ()), ("event-latency", (), ("event-flw",)))
    with pytest.raises(ConfigError) as info:
        registry.check_dependencies()
    message = str(info.value)
    assert message.startswith("check 'event-latency' (event-latency.py) depends on "
                              "'event-flw', which no loaded check has as id; did you mean "
                              "event-flow?")
    _registry(("event-flow", (), ()), ("event-latency", (), ("event-flow",))
              ).check_dependencies()  # a correct one passes


def test_a_misspelled_dependency_of_a_plugin_is_exit_4_before_any_check_runs(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "typo.py").write_text(
        "from netra_diag import check\n\n"
        "@check(id='my-late-check', why='e2e', title='t', depends_on=('event-flw',))\n"
        "def late(ctx):\n    return None\n")
    proc = subprocess.run(
        [sys.executable, "-m", "netra_diag", "run", "--checks-dir", str(folder),
         "--format", "json"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout == ""
    assert "check 'my-late-check'" in proc.stderr and "'event-flw'" in proc.stderr
    assert "did you mean event-flow" in proc.stderr and "Traceback" not in proc.stderr
