"""Messages that say what happened: multi-finding summaries, init's path errors."""

from __future__ import annotations

from netra_diag_checks._dynamic import first_failures

from netra_diag.exitcodes import ExitCode


def test_a_multi_finding_summary_says_how_many_more_findings_there_are():
    assert first_failures(["lacks X", "lacks X", "calls y() without await"]) == \
        "lacks X; calls y() without await"
    assert first_failures(["a", "b", "c"], limit=1) == \
        "a; and 2 more findings (see the evidence)"
    assert first_failures(["a", "b", "c"]) == "a; b; and 1 more finding (see the evidence)"


def test_init_on_a_file_says_it_takes_a_folder(cli, tmp_path):
    (tmp_path / "some_file.py").write_text("x = 1\n")
    result = cli("init", "some_file.py")
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "some_file.py is a file: init takes a folder" in result.stderr
    assert "no such folder" not in result.stderr


# -- what the reporters make of the checks' evidence (the on-call engineer's view) ---------


def _emitter_class_line() -> int:
    from netra_diag.target import open_target

    with open_target(None, inject=("emitter-missing-notify",)) as target:
        path = target.profile.root / "netra_backend/app/websocket_core/unified_emitter.py"
        lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1)
                if line.startswith("class UnifiedWebSocketEmitter"))


def test_missing_notify_methods_are_a_sarif_result_and_a_github_annotation(cli):
    import json

    line = _emitter_class_line()
    emitter = "netra_backend/app/websocket_core/unified_emitter.py"
    args = ("run", "--scenario", "incident", "--only", "emitter-methods")
    sarif = json.loads(cli(*args, "--format", "sarif").stdout)
    hits = [(loc["physicalLocation"]["artifactLocation"]["uri"],
             loc["physicalLocation"]["region"]["startLine"], r["message"]["text"])
            for r in sarif["runs"][0]["results"] for loc in r["locations"]]
    assert any(uri.endswith(emitter) and at == line and "lacks notify_agent_started" in text
               for uri, at, text in hits), hits
    github = cli(*args, "--format", "github").stdout.splitlines()
    assert any(ln.startswith("::error") and f"file={emitter},line={line}" in ln
               for ln in github), github
    markdown = cli(*args, "--format", "markdown").stdout
    why2 = markdown.split("### WHY #2: User Emitter Methods - FAIL", 1)[1].split("**Fix:**")[0]
    assert f"**At `{emitter}:{line}`:**" in why2  # the finding itself is the section's own
    assert "UnifiedWebSocketEmitter lacks notify_agent_started" in why2


def test_a_healthy_markdown_report_shows_no_location_under_registry_wiring(cli):
    markdown = cli("run", "--only", "registry-wiring", "--format", "markdown").stdout
    section = markdown.split("### WHY #3: Registry Wiring - PASS", 1)[1].split("\n##", 1)[0]
    assert section.strip() and "**At " not in section and "**Fix:**" not in section
