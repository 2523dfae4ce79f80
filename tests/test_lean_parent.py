"""The parent stays lean: check metadata from the manifest, rich only on a terminal, a lazy
package, the profile's ``isolation`` key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import WAIT_S, run_subprocess

from netra_diag.exitcodes import ExitCode


def imported_modules(*args: str, cwd: Path, env: dict[str, str]) -> set[str]:
    """The modules the real CLI (``app``, as ``main`` calls it) imported for ARGS, in a
    fresh interpreter."""
    out = cwd / "modules.json"
    script = textwrap.dedent(f"""
        import json, sys
        from netra_diag.cli import app
        app({list(args)!r}, standalone_mode=False)
        with open({str(out)!r}, "w") as fh:
            json.dump(sorted(sys.modules), fh)
    """)
    proc = subprocess.run([sys.executable, "-P", "-c", script], cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1", **env}, text=True,
                          capture_output=True, timeout=WAIT_S, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(json.loads(out.read_text()))


def test_list_reads_the_manifest_without_importing_a_check(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = imported_modules("list", "--format", "json", cwd=tmp_path, env=env)
    assert "netra_diag_checks.import_chain" in first  # built on first use
    assert list((tmp_path / "cache" / "netra-diag").glob("checks-*.json"))
    again = imported_modules("list", "--format", "json", cwd=tmp_path, env=env)
    assert not {m for m in again if m.startswith("netra_diag_checks.")}
    assert "rich" not in again and "asyncio" not in again


def test_a_machine_format_run_never_imports_rich_in_the_parent(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    mods = imported_modules("run", "--only", "deprecation-warnings", "--format", "json",
                            cwd=tmp_path, env=env)
    assert "rich" not in mods and "rich.console" not in mods


def test_the_manifest_follows_an_edited_check(tmp_path):
    """An edited check file changes the manifest's key: the new metadata, never a stale one."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text('"""Every module here is a check."""\n')
    check = package / "one.py"
    check.write_text(textwrap.dedent('''
        from netra_diag import check

        @check(id="one", why="e2e", title="First title")
        def one(ctx):
            return None
    '''))
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}
    script = textwrap.dedent('''
        import json, sys
        import netra_diag.registry as registry
        registry.BUILTIN_PACKAGE = "pkg"
        import netra_diag.manifest as manifest
        manifest.BUILTIN_PACKAGE = "pkg"
        reg = registry.Registry()
        manifest.load_builtin_cached(reg)
        print(json.dumps([s.title for s in reg.specs]))
    ''')

    def titles() -> list[str]:
        out = subprocess.run([sys.executable, "-c", script], env={**os.environ, **env},
                             capture_output=True, text=True, timeout=WAIT_S, check=True)
        return json.loads(out.stdout)

    assert titles() == ["First title"]
    check.write_text(check.read_text().replace("First title", "A longer second title"))
    assert titles() == ["A longer second title"]


def test_the_package_is_lazy():
    out = subprocess.run([sys.executable, "-c", "import sys, netra_diag; "
                          "print(sorted(m for m in sys.modules if m.startswith('netra_diag')))"],
                         capture_output=True, text=True, timeout=WAIT_S, check=True).stdout
    assert json.loads(out.replace("'", '"')) == ["netra_diag", "netra_diag._version"]
    import netra_diag

    for name in netra_diag.__all__:
        assert getattr(netra_diag, name) is not None


@pytest.mark.parametrize("value", ["threads", "", 3])
def test_an_unknown_isolation_mode_is_a_usage_error(tmp_path, value):
    (tmp_path / "src").mkdir()
    (tmp_path / "netra-diag.yaml").write_text(f"root: src\nisolation: {json.dumps(value)}\n")
    proc = run_subprocess("run", "--format", "json", cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE_ERROR
    assert "isolation" in proc.stderr and "shared-import" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(("argv", "static"), [
    (["netra-diag", "run", "--static"], True),
    (["netra-diag", "run", "profile.yaml", "--static", "-f", "json"], True),
    (["netra-diag", "run", "profile.yaml"], False),
    (["netra-diag", "run", "--", "--static"], False),  # an argument, not the option
    (["netra-diag"], False),
])
def test_the_check_servers_static_hint_reads_the_command_line(argv, static):
    from netra_diag.checkserver import static_hint

    assert static_hint(argv) is static


def test_a_static_check_server_preloads_only_what_the_static_checks_need(tmp_path):
    """Under ``--static`` the server imports the worker and the check modules whose checks
    run there (from the manifest), not the wire's libraries, the event loop nor the
    dynamic-only checks."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    imported_modules("list", "--format", "json", cwd=tmp_path, env=env)  # the manifest
    script = textwrap.dedent("""
        import json, sys
        from netra_diag.zygote import warm
        missing = warm(static=True)
        print(json.dumps([missing, sorted(sys.modules)]))
    """)
    proc = subprocess.run([sys.executable, "-P", "-c", script], cwd=tmp_path, text=True,
                          env={**os.environ, **env}, capture_output=True, timeout=WAIT_S,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    missing, modules = json.loads(proc.stdout)
    assert missing == []
    assert {"netra_diag.worker", "netra_diag_checks.import_chain",
            "netra_diag_checks.context_identity"} <= set(modules)
    assert "netra_diag_checks.event_flow" not in modules
    assert "websockets" not in modules and "asyncio" not in modules  # no loop runs
