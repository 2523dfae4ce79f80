"""The one way netra-diag imports someone else's Python: plugin check files, the
``netra_diag.checks`` entry-point group, and the user's hooks file.

Where it runs is the caller's choice (plugins: the discovery child and the worker; hooks:
the check's interpreter); this module only imports, and says what it imported.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["ENTRY_POINT_GROUP", "NotImportable", "entry_point_items", "import_file",
           "may_declare_entry_points", "plugin_module_name"]

#: The entry-point group third-party distributions declare their check modules in.
ENTRY_POINT_GROUP = "netra_diag.checks"


class NotImportable(ImportError):
    """The path is not a file Python can import (no loader for its suffix)."""


def plugin_module_name(path: Path) -> str:
    """The private module name of a plugin file: unique per path, never a real package's."""
    return "netra_diag_plugin_" + re.sub(r"\W", "_", str(path.with_suffix("")))


def import_file(path: Path, module_name: str) -> ModuleType:
    """Execute the file at ``path`` as module ``module_name`` (in ``sys.modules`` while it
    runs, so it may import itself; removed again when it raises). ``NotImportable`` when
    Python has no loader for it."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise NotImportable(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def entry_point_items() -> list[dict[str, str]]:
    """The modules of the ``netra_diag.checks`` group, as plugin items (no import):
    ``{"kind": "module", "ref": MODULE, "label": "entry point NAME (VALUE)"}``."""
    if not may_declare_entry_points(ENTRY_POINT_GROUP):
        return []
    from importlib.metadata import entry_points

    return [{"kind": "module", "ref": ep.value.split(":", 1)[0].strip(),
             "label": f"entry point {ep.name} ({ep.value})"}
            for ep in entry_points(group=ENTRY_POINT_GROUP)]


def may_declare_entry_points(group: str) -> bool:
    """Whether any distribution importable here may declare an entry point of ``group``:
    False only when no metadata folder on ``sys.path`` has an ``entry_points.txt``
    mentioning it (what ``importlib.metadata`` would read, without its 10 ms and more of
    imports); True whenever in doubt (a zip or an egg on the path, a finder of its own
    that provides distributions)."""
    import importlib.machinery
    import os

    if any(hasattr(finder, "find_distributions") and
           finder is not importlib.machinery.PathFinder for finder in sys.meta_path):
        return True
    for entry in sys.path:
        folder = entry or "."
        try:
            with os.scandir(folder) as it:
                names = [e.name for e in it]
        except NotADirectoryError:
            return True  # a zip file: importlib.metadata reads it
        except OSError:
            continue  # a path entry that does not exist
        for name in names:
            lower = name.lower()
            if lower.endswith(".egg"):
                return True
            if lower.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(folder, name, "entry_points.txt"), "rb") as fh:
                        if group.encode() in fh.read():
                            return True
                except OSError:
                    continue  # no entry points (or an egg-info file)
    return False
