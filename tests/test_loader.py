"""The one plugin loader (``netra_diag.loader``): plugin files, the hooks file, entry points."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from netra_diag.errors import SetupError
from netra_diag.hooks import load_hooks
from netra_diag.loader import NotImportable, import_file, plugin_module_name
from netra_diag.registry import load_file_namespace


def test_a_file_is_imported_under_its_name_and_forgotten_when_it_raises(tmp_path: Path):
    good = tmp_path / "good.py"
    good.write_text("import sys\nSELF = sys.modules[__name__]\n")
    module = import_file(good, "netra_diag_test_good")
    assert module.SELF is module and sys.modules.pop("netra_diag_test_good") is module
    bad = tmp_path / "bad.py"
    bad.write_text("raise SystemExit(3)\n")
    with pytest.raises(SystemExit):
        import_file(bad, "netra_diag_test_bad")
    assert "netra_diag_test_bad" not in sys.modules


def test_plugins_get_a_private_name_per_path(tmp_path: Path):
    one, two = tmp_path / "a" / "x.py", tmp_path / "b" / "x.py"
    assert plugin_module_name(one) != plugin_module_name(two)
    assert plugin_module_name(one).startswith("netra_diag_plugin_")
    one.parent.mkdir()
    one.write_text("VALUE = 1\n")
    assert load_file_namespace(one)["VALUE"] == 1
    sys.modules.pop(plugin_module_name(one), None)


def test_what_python_cannot_import_is_said_so(tmp_path: Path):
    text = tmp_path / "hooks.txt"
    text.write_text("x = 1\n")
    with pytest.raises(NotImportable):
        import_file(text, "netra_diag_test_text")
    with pytest.raises(SetupError, match="cannot be imported") as info:
        load_hooks(text)
    assert "hooks:" in (info.value.fix or "")
