"""The README's CI example, run the way a CI job runs it: a fresh virtual environment, the
``run:`` steps of the README's GitHub Actions job as written (netra-diag installed from a
copy of this repository, as ``actions/checkout`` would lay it), then every output read by
its consumer: junitparser, the official SARIF 2.1.0 schema, ``mdformat --check``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import jsonschema
import pytest
import yaml
from junitparser import JUnitXml

REPO = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
INSTALL_TIMEOUT_S = 600  # a cold pip cache downloads the dependencies

pytestmark = pytest.mark.slow


def readme_job() -> list[dict]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("A GitHub Actions job"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    return yaml.safe_load(block)


def checkout(dest: Path) -> None:
    """What actions/checkout lays down: the files git tracks (plus this branch's new ones),
    never a build, a venv or caches."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, text=True, check=False)
    files = listed.stdout.splitlines() if listed.returncode == 0 else []
    if not files:  # not a git checkout (a source archive): copy without the usual debris
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(
            ".venv", "*.egg-info", "build", "__pycache__", ".git", ".pytest_cache"))
        return
    for rel in files:
        source = REPO / rel
        if source.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)


def test_the_readme_ci_job_runs_in_a_fresh_venv_and_its_outputs_pass_their_consumers(tmp_path):
    steps = readme_job()
    runs = [step["run"] for step in steps if "run" in step]
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif")
               for step in steps)
    assert runs[0].startswith("pip install ") and "netra-diag" in runs[0]
    assert "pip install netra-diag" not in runs[0]  # not on the index: from the repository
    workspace = tmp_path / "workspace"
    checkout(workspace / "netra-diag")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "GITHUB_STEP_SUMMARY", "PYTHONHOME")}
    env.update(VIRTUAL_ENV=str(env_dir), CI="true",
               PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    for command in runs:
        proc = subprocess.run(["bash", "-e", "-c", command], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                              check=False)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    installed = env_dir / "bin" / "netra-diag"
    assert installed.exists() and not str(installed).startswith(sys.prefix)

    xml = JUnitXml.fromfile(str(workspace / "netra.xml"))
    cases = [case for suite in xml for case in suite]
    assert cases and all(case.is_passed or case.is_skipped for case in cases)

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    sarif = json.loads((workspace / "netra.sarif").read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    assert not list(validator.iter_errors(sarif))

    mdformat = env_dir / "bin" / "mdformat"  # installed with netra-diag, which writes with it
    check = subprocess.run([str(mdformat), "--check", str(workspace / "netra.md")],
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
