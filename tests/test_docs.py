"""The contracts live in the repository: docs/ and CONTRIBUTING.md.

Every ``docs/*.md`` path the code cites exists; no code cites the design notes kept outside
the repository; every relative link in the docs resolves (anchors included); and the
contract pages name every field, key and code the code defines, so they cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netra_diag.analysis import diagnose
from netra_diag.exitcodes import ExitCode
from netra_diag.hooks import HOOK_NAMES
from netra_diag.model import CheckResult, Evidence, RunReport, Status, failed
from netra_diag.profile import _TOP_KEYS, DEFAULT_BUDGETS, DEFAULT_METHODS, ROLES
from netra_diag.target import open_target

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
#: Where code and prose that cite docs live (the sample backends are not ours to cite from).
SCANNED = ("netra_diag", "checks", "tests", "benchmarks", ".ci")
#: Written apart so that this file does not cite them itself.
OUTSIDE = ("DESIGN" + ".md", "CI-FORMATS" + ".md", "STYLE" + ".md")
CITATION = re.compile(r"(?<![\w/])docs/[\w./-]+\.md")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def scanned_files() -> list[Path]:
    files = [REPO / "README.md", REPO / "CONTRIBUTING.md", REPO / "pyproject.toml"]
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*")):
            if path.is_file() and "fixtures" not in path.parts and "__pycache__" not in \
                    path.parts and path.suffix in (".py", ".md", ".toml", ".yaml", ""):
                files.append(path)
    return files


def doc_pages() -> list[Path]:
    return [*sorted(DOCS.glob("*.md")), REPO / "CONTRIBUTING.md"]


def linking_pages() -> list[Path]:
    return [*doc_pages(), REPO / "README.md"]


def test_every_docs_page_cited_in_the_code_exists():
    cited: dict[str, list[str]] = {}
    for path in scanned_files():
        for match in CITATION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            cited.setdefault(match.group(0), []).append(str(path.relative_to(REPO)))
    assert cited, "no code cites docs/: the contracts' pages are not referenced"
    missing = {page: where for page, where in cited.items() if not (REPO / page).is_file()}
    assert not missing, f"cited but not in the repository: {missing}"


def test_no_code_cites_the_design_notes_outside_the_repository():
    offenders = [f"{path.relative_to(REPO)}: {name}"
                 for path in [*scanned_files(), *doc_pages()]
                 for name in OUTSIDE
                 if name in path.read_text(encoding="utf-8", errors="replace")]
    assert not offenders, "cite docs/*.md instead:\n" + "\n".join(offenders)


def slug(heading: str) -> str:
    """GitHub's anchor for a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in page.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")}


@pytest.mark.parametrize("page", linking_pages(), ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # an external URL
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.name}: {broken}"


def test_the_architecture_page_lists_every_docs_page():
    index = (DOCS / "architecture.md").read_text(encoding="utf-8")
    unlisted = [p.name for p in DOCS.glob("*.md")
                if p.name != "architecture.md" and f"({p.name})" not in index]
    assert not unlisted, f"add them to the table in docs/architecture.md: {unlisted}"


def named(page: str, names: object) -> list[str]:
    """The names not written as code (`name`, `name:` ...) anywhere on ``page``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [n for n in names if not re.search(rf"`{re.escape(str(n))}\b", text)]


def test_exit_codes_page_has_a_row_per_code():
    text = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    rows = {int(m.group(1)): m.group(2) for m in re.finditer(
        r"^(?:> )?\| (\d+) \| `(\w+)` \|", text, flags=re.MULTILINE)}
    assert {code.value: code.name for code in ExitCode}.items() <= rows.items(), rows


def test_run_json_page_names_every_field():
    result = CheckResult.from_verdict(
        id="x", why=1, title="X", duration_s=0.0,
        verdict=failed("s", Evidence("location", "m", "f.py", 3, {})))
    report = RunReport("0", {}, "t", 0.0, (result,), diagnose([result]))
    with open_target(None) as target:
        target_keys = target.describe()
    fields = [*report.to_dict(), *result.to_dict(), *result.evidence[0].to_dict(),
              *report.diagnosis.to_dict(), *target_keys, *(s.value for s in Status)]
    assert not named("run-json.md", fields)


def test_profile_page_names_every_key_role_method_budget_and_hook():
    assert not named("profile.md", [*_TOP_KEYS, *ROLES, *DEFAULT_METHODS, *DEFAULT_BUDGETS,
                                    *HOOK_NAMES])


def test_contributing_names_every_benchmark():
    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    scripts = [p.name for p in (REPO / "benchmarks").glob("*.py") if not p.name.startswith("_")]
    assert scripts
    assert not [s for s in scripts if f"benchmarks/{s}" not in text]
