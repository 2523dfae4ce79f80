"""No built-in check id is named in code outside its own module,
``netra_diag/fault_catalog.py``
(a fault names the checks that detect it: ``detected_by``), the tests and the docs.

The rule, as this test applies it (the parsed Python, not a raw grep):

- **Code never names a check.** A string literal whose whole value is a built-in check id
  (a key, a lookup, a comparison: ``report.result("user-isolation")``, a list of ids) is
  allowed only in that check's own module, and in another check's ``depends_on=``
  declaration (a declared dependency, validated by the registry). What the tool says about
  a check (its place, checklist line, symptom phrase...) is declared by the check itself.
- **Prose may point at a check.** Docstrings and comments document, and may name any check.
  In a check module, a message may name another check to send the user to the check that
  owns a defect ("one defect, one owner": "see event-flow for why nothing arrives").
- **The core (``netra_diag/``) names no check in its messages either**, except the few
  user-facing hints listed in ``CORE_MESSAGES`` (which check will report what ``init``
  could not find, which check a CLI option serves): each is a conscious, reviewed exception,
  so a new one fails this test until it is justified here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from netra_diag.registry import Registry

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "netra_diag"
CHECKS = REPO / "checks"

#: (file relative to the repository, check id): user-facing hints in the core that name a
#: check on purpose, to tell the user which check reports or needs something.
CORE_MESSAGES = {
    ("netra_diag/cli_commands.py", "user-isolation"),  # serve --users help: what needs two users
    ("netra_diag/context.py", "import-chain"),  # a broken import: the check that owns it
    ("netra_diag/init_proposal.py", "emitter-methods"),  # init: who reports absent methods
    ("netra_diag/init_render.py", "deprecation-warnings"),  # init: what calls each entry
    ("netra_diag/init_roles.py", "context-identity"),  # init: who shows the accepted types
    ("netra_diag/init_roles.py", "event-flow"),  # init: who drives a run on the server
    ("netra_diag/serve.py", "user-isolation"),  # serve: which check needs a second token
    ("netra_diag/serve_fleet.py", "backplane-isolation"),  # idem, for a fleet
}


def _builtin_ids() -> dict[str, str]:
    """Each built-in check id and its module's file name."""
    registry = Registry()
    registry.load_builtin()
    return {spec.id: spec.func.__module__.rsplit(".", 1)[-1] + ".py" for spec in registry.specs}


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and \
                    isinstance(first.value.value, str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def _depends_on_lines(tree: ast.AST) -> set[int]:
    """Lines of ``depends_on=`` arguments (the declared dependencies of a check)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "depends_on":
            lines.update(range(node.value.lineno, (node.value.end_lineno or 0) + 1))
    return lines


def _strings(path: Path) -> list[tuple[int, str, bool]]:
    """``(line, text, is_prose)`` for every string literal that is not a docstring:
    ``is_prose`` when the text is more than a bare identifier."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    skip = _docstring_lines(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                node.lineno not in skip:
            out.append((node.lineno, node.value, not re.fullmatch(r"[\w-]*", node.value)))
    # f-strings' literal parts are Constant nodes too; comments are not nodes: never counted
    return out


def _mentions(text: str, ids: dict[str, str]) -> list[str]:
    return [i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)]


def test_code_never_names_another_check() -> None:
    ids = _builtin_ids()
    problems = []
    for path in sorted(CHECKS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        declared = _depends_on_lines(tree)
        for line, text, prose in _strings(path):
            if prose or text not in ids or line in declared or ids[text] == path.name:
                continue
            problems.append(f"checks/{path.name}:{line} names {text!r} as code")
    for path in sorted(CORE.rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel == "netra_diag/fault_catalog.py" or "reference" in path.parts:
            continue
        for line, text, _prose in _strings(path):
            for check_id in _mentions(text, ids):
                if (rel, check_id) not in CORE_MESSAGES:
                    problems.append(f"{rel}:{line} names {check_id!r}")
    assert not problems, "\n".join(problems)


def test_the_rule_catches_what_it_forbids(tmp_path: Path) -> None:
    ids = _builtin_ids()
    sample = tmp_path / "sample.py"
    sample.write_text('"""Mentions event-flow in prose: allowed."""\n'
                      "# so does this comment: user-isolation\n"
                      'flow = report.result("event-flow")\n'
                      'text = f"{n} events; see user-isolation"\n', encoding="utf-8")
    found = [(line, _mentions(text, ids), prose) for line, text, prose in _strings(sample)
             if _mentions(text, ids)]
    assert found == [(3, ["event-flow"], False), (4, ["user-isolation"], True)]


def test_every_core_exception_is_still_needed() -> None:
    ids = _builtin_ids()
    seen = set()
    for rel, check_id in CORE_MESSAGES:
        assert check_id in ids, f"{check_id} is not a check any more"
        if any(check_id in _mentions(text, ids) for _line, text, _prose in
               _strings(REPO / rel)):
            seen.add((rel, check_id))
    assert seen == CORE_MESSAGES
