"""GitHub workflow commands: well-formed, capped, prioritised and injection-proof."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from report_fixtures import (
    error_report,
    healthy_report,
    hostile_report,
    incident_report,
    interrupted_report,
)

from netra_diag.model import CheckResult, Evidence, Status
from netra_diag.reporters.github import (
    MAX_PER_KIND,
    STEP_SUMMARY_LIMIT,
    append_step_summary,
    escape_data,
    escape_property,
    render_github,
)

# A command line as the runner reads it: ::name[ key=value,...]::data, with nothing
# unescaped in data that could end the line, and no raw ':' or ',' in property values.
COMMAND = re.compile(r"^::([a-z-]+)(?: ([a-z]+=[^:,\r\n]*(?:,[a-z]+=[^:,\r\n]*)*))?::([^\r\n]*)$")
ANNOTATION = re.compile(r"^::(error|warning|notice)(?: (?:file|line|col|title)=[^:,]*"
                        r"(?:,(?:file|line|col|title)=[^:,]*)*)?::[^\r\n]*$")


def runner_commands(text: str) -> list[tuple[str, str | None, str]]:
    """The commands a GitHub runner would act on, honouring ``::stop-commands::``."""
    commands, stopped = [], None
    for line in text.splitlines():
        stripped = line.lstrip()
        if stopped is not None:
            if stripped == f"::{stopped}::":
                stopped = None
            continue
        match = COMMAND.match(stripped)
        if not match:
            assert not stripped.startswith("::"), f"malformed command: {line!r}"
            continue
        name, props, data = match.groups()
        if name == "stop-commands":
            stopped = data
            continue
        commands.append((name, props, data))
    assert stopped is None, "stop-commands never resumed"
    return commands


def make(results: list[CheckResult]):
    report = incident_report()
    return dataclasses.replace(report, results=tuple(results))


def test_incident_annotations() -> None:
    text = render_github(incident_report(), token="tok123")
    commands = runner_commands(text)
    annotations = [c for c in commands if c[0] in ("error", "warning", "notice")]
    for line in text.splitlines():
        if line.startswith(("::error", "::warning", "::notice")):
            assert ANNOTATION.match(line), line
    errors = [c for c in annotations if c[0] == "error"]
    # the four file-located failures first, then the failure without a file (event-flow)
    assert [c[1].split(",")[0] for c in errors[:4]] == [
        "file=netra_backend/app/dependencies.py",
        "file=netra_backend/app/agents/supervisor/execution_factory.py",
        "file=netra_backend/app/dependencies.py",
        "file=netra_backend/app/agents/supervisor/execution_factory.py"]
    assert errors[0][1] == ("file=netra_backend/app/dependencies.py,line=16,"
                            "title=WHY #1%3A Import Chain failed")
    assert errors[0][2].startswith("imports deprecated get_websocket_manager%0A")
    assert errors[-1][1] == "title=Complete Event Flow failed"
    assert errors[-1][2].startswith("0/5 critical events delivered")
    notices = [c for c in annotations if c[0] == "notice"]
    assert len(notices) == 1 and notices[0][2].startswith("BROKEN")
    assert "first to fix: import-chain at netra_backend/app/dependencies.py:16: WHY #1 " \
           "fails" in notices[0][2]
    assert "root-cause" not in notices[0][2] and "consequence" not in notices[0][2]
    groups = [c[2] for c in commands if c[0] == "group"]
    assert groups[0] == "WHY #1: Import Chain: FAIL - the wiring path uses the deprecated " \
                        "singleton WebSocket manager"
    assert len(groups) == 7  # every non-passing check
    assert text.count("::endgroup::") == 7
    assert "::stop-commands::tok123" in text and "::tok123::" in text


def test_errors_become_warnings() -> None:
    commands = runner_commands(render_github(error_report()))
    warnings = [c for c in commands if c[0] == "warning"]
    assert [c[1] for c in warnings] == ["title=WHY #3%3A Registry Wiring not evaluated",
                                        "title=Complete Event Flow not evaluated"]
    assert warnings[0][2].startswith("not evaluated (the check could not decide)")
    assert not [c for c in commands if c[0] == "error"]


def test_healthy_run_has_only_the_diagnosis_notice() -> None:
    commands = runner_commands(render_github(healthy_report()))
    assert [c[0] for c in commands] == ["notice"]
    assert commands[0][2].startswith("HEALTHY")


def test_capped_at_ten_per_kind_with_a_final_notice() -> None:
    many = [Evidence("location", f"finding {i}", f"src/m{i}.py", i + 1) for i in range(13)]
    results = [CheckResult("import-chain", 1, "Import Chain", Status.FAIL, "13 findings",
                           tuple(many))]
    results += [CheckResult(f"plugin-{i}", "e2e", f"Plugin {i}", Status.FAIL, "no file")
                for i in range(3)]
    results += [CheckResult(f"broken-{i}", "e2e", f"Broken {i}", Status.ERROR, "no setup")
                for i in range(12)]
    text = render_github(make(results))
    commands = runner_commands(text)
    errors = [c for c in commands if c[0] == "error"]
    warnings = [c for c in commands if c[0] == "warning"]
    notices = [c for c in commands if c[0] == "notice"]
    assert len(errors) == MAX_PER_KIND and len(warnings) == MAX_PER_KIND
    assert all(c[1].startswith("file=") for c in errors)  # file-located first
    assert notices[-1][2].startswith("8 annotation(s) left out (6 error, 2 warning)")
    lines = [line for line in text.splitlines() if line.startswith("::notice")]
    annotations_end = max(i for i, line in enumerate(text.splitlines())
                          if line.startswith(("::error", "::warning", "::notice")))
    assert text.splitlines()[annotations_end] == lines[-1]  # the left-out notice is last


def test_injection_in_evidence_is_neutralised() -> None:
    text = render_github(hostile_report())
    commands = runner_commands(text)
    # every command the runner would run is ours: no 'pwned' error, no add-mask, no endgroup
    # beyond the ones we emit
    assert not any(c[2] == "pwned" for c in commands)
    assert not any(c[0] == "add-mask" for c in commands)
    assert sum(c[0] == "endgroup" for c in commands) == sum(c[0] == "group" for c in commands)
    first = next(c for c in commands if c[0] == "error")
    assert first[1] == ("file=netra_backend/app/odd%2C name%3Awith%25chars.py,line=3,"
                        "title=WHY #1%3A Import Chain failed")
    assert "::error::pwned" in first[2]  # harmless: inside escaped data on our own line
    assert "%0D%0A" in first[2]
    # the raw evidence is there, but only inside a stop-commands region
    assert any(line == "[observed] ::error::pwned" for line in text.splitlines())
    assert "\x00" not in text and "\x1b" not in text


def test_a_token_found_in_the_evidence_is_not_used() -> None:
    results = list(incident_report().results)
    results[0] = dataclasses.replace(results[0], evidence=(Evidence("observed", "::abc::"),))
    text = render_github(make(results), token="abc")
    assert "::stop-commands::abc" not in text
    runner_commands(text)


def test_file_paths_are_relative_to_the_repository_root() -> None:
    report = incident_report()
    target = {**report.target, "root": "/repo/services/api/src",
              "source_prefix": "services/api/src"}
    commands = runner_commands(render_github(dataclasses.replace(report, target=target)))
    errors = [c for c in commands if c[0] == "error"]
    assert errors[0][1] == ("file=services/api/src/netra_backend/app/dependencies.py,line=16,"
                            "title=WHY #1%3A Import Chain failed")
    # no prefix (the target root is the repository root, or an older saved run): unchanged
    plain = runner_commands(render_github(report))
    assert next(c for c in plain if c[0] == "error")[1].startswith(
        "file=netra_backend/app/dependencies.py,")


def test_an_interrupted_run_says_so_in_a_notice() -> None:
    commands = runner_commands(render_github(interrupted_report()))
    notices = [c for c in commands if c[0] == "notice"]
    assert notices[0][2].startswith("INTERRUPTED: 3 passed")
    assert notices[1][1] == "title=netra-diag%3A run interrupted"
    assert "the results are incomplete and do not prove the pipeline healthy" in notices[1][2]
    assert not any("HEALTHY" in c[2] for c in commands)
    assert "run interrupted" not in render_github(healthy_report())


def test_step_summary_carries_the_baseline_comparison(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    assert append_step_summary(incident_report(), path, baseline=healthy_report())
    text = path.read_text(encoding="utf-8")
    assert "## Before/After" in text and "regressed 5" in text


def test_escaping() -> None:
    assert escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_step_summary_appends_markdown(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "summary.md"
    path.write_text("# earlier step\n", encoding="utf-8")
    assert append_step_summary(incident_report(), path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n")
    assert "# Agent Event Pipeline Failure" in text
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert append_step_summary(incident_report()) is False
    env_path = tmp_path / "env.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(env_path))
    assert append_step_summary(healthy_report())
    assert "Healthy" in env_path.read_text(encoding="utf-8")


def test_step_summary_stays_within_one_mebibyte(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * (STEP_SUMMARY_LIMIT - 3000) + b"\n")
    assert append_step_summary(incident_report(), path)
    data = path.read_bytes()
    assert len(data) <= STEP_SUMMARY_LIMIT
    tail = data.decode("utf-8")[STEP_SUMMARY_LIMIT - 3000:]
    assert "**Truncated:**" in tail
    assert tail.count("```") % 2 == 0  # a cut inside a code block is closed


def test_step_summary_write_failure(tmp_path: Path) -> None:
    from netra_diag.errors import OutputError

    with pytest.raises(OutputError):
        append_step_summary(incident_report(), tmp_path / "missing" / "summary.md")
