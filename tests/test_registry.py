from pathlib import Path

import pytest

from netra_diag import check
from netra_diag.errors import ConfigError, DuplicateCheckError
from netra_diag.registry import Registry


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
