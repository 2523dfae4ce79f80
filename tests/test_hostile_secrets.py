"""Issue 11, secrets and what plugins or servers put in a report (K1, K2, K3, G2, G3): through
the real CLI. A token is redacted everywhere it is text, never where it would corrupt an
identifier or a status; the JSON run is strict JSON without control characters; a plugin's
malformed evidence is an ``error`` of that plugin when produced, not a broken run file."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from helpers import run_subprocess

from netra_diag.exitcodes import ExitCode


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def strict_json(text: str) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"bare {name} in the JSON output")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("token", ["skip", "event"])
def test_a_token_equal_to_a_status_or_part_of_an_id_corrupts_nothing(tmp_path: Path,
                                                                    token: str) -> None:
    url = f"ws://127.0.0.1:{closed_port()}/ws"
    proc = run_subprocess("probe", url, "--token-env", "T", "--format", "json",
                          "--timeout", "5", cwd=tmp_path, env={"T": token})
    assert proc.returncode == ExitCode.UNDECIDED, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    doc = strict_json(proc.stdout)
    ids = {r["id"]: r["status"] for r in doc["results"]}
    assert ids == {"event-flow": "error", "event-latency": "skip", "user-isolation": "skip"}
    assert set(doc["counts"]) == {"pass", "fail", "error", "skip"}
    assert doc["counts"]["error"] == 1


@pytest.mark.parametrize("form", ["userinfo+query", "password"])
def test_credentials_in_the_url_appear_in_no_output(tmp_path: Path, form: str) -> None:
    secret, other = "url-secret-7f3a9c", "query-secret-19e2"
    port = closed_port()
    url = {"userinfo+query": f"ws://{secret}@127.0.0.1:{port}/ws?access_token={other}&v=1",
           "password": f"ws://user:{secret}@127.0.0.1:{port}/ws"}[form]
    out = {fmt: tmp_path / f"out.{fmt}" for fmt in ("junit", "sarif", "markdown", "github")}
    reports = [arg for fmt, path in out.items() for arg in ("--report", f"{fmt}:{path}")]
    proc = run_subprocess("probe", url, "--token-env", "T", "--format", "json", *reports,
                          "--timeout", "5", cwd=tmp_path, env={"T": "bearer-token-1234"})
    assert proc.returncode == ExitCode.UNDECIDED, proc.stdout + proc.stderr
    doc = strict_json(proc.stdout)
    for text in (proc.stdout, proc.stderr, *(p.read_text() for p in out.values())):
        assert secret not in text and other not in text
    assert "***" in doc["target"]["url"] and secret not in " ".join(doc["command"])
    if form == "password":  # the terminal view too
        rich = run_subprocess("probe", url, "--token-env", "T", "--timeout", "5",
                              cwd=tmp_path, env={"T": "bearer-token-1234"})
        assert secret not in rich.stdout + rich.stderr


def test_a_bad_port_message_does_not_show_url_credentials(tmp_path: Path) -> None:
    proc = run_subprocess("probe", "ws://tok-9876abcd@127.0.0.1:99999/ws?token=q-55554444",
                          "--token-env", "T", cwd=tmp_path, env={"T": "bearer-token-1234"})
    assert proc.returncode == ExitCode.USAGE_ERROR
    assert "tok-9876abcd" not in proc.stderr and "q-55554444" not in proc.stderr


PLUGIN = '''
from netra_diag import Evidence, check, passed


@check(id="{id}", why="e2e", title="hostile plugin")
def hostile(ctx):
    return passed({summary!r}, {evidence})
'''


def plugin(tmp_path: Path, check_id: str, summary: str, evidence: str) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "hostile.py").write_text(
        PLUGIN.format(id=check_id, summary=summary, evidence=evidence), encoding="utf-8")
    return folder


def test_control_escapes_and_nan_never_reach_the_json_run(tmp_path: Path) -> None:
    folder = plugin(tmp_path, "hostile-text", "clear\x1b[2J screen",
                    'Evidence("observed", "bell\\x07 and \\x1b[31mred", '
                    'data={"nan": float("nan"), "inf": float("inf"), "tab\\x1b": [1.5]})')
    proc = run_subprocess("run", "--checks-dir", str(folder), "--only", "hostile-text",
                          "--format", "json", "-o", "run.json", cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stderr
    text = (tmp_path / "run.json").read_text()
    assert "\\u001b" not in text and "\\u0007" not in text and "\x1b" not in text
    doc = strict_json(text)
    [result] = doc["results"]
    assert result["summary"] == "clear[2J screen"
    [ev] = result["evidence"]
    assert ev["data"] == {"nan": "NaN", "inf": "Infinity", "tab": [1.5]}
    again = run_subprocess("report", "run.json", "--format", "json", cwd=tmp_path)
    assert again.returncode == ExitCode.OK and strict_json(again.stdout)["results"]


def test_malformed_evidence_from_a_plugin_is_its_error_and_the_run_reads_back(
        tmp_path: Path) -> None:
    folder = plugin(tmp_path, "bad-evidence", "fine",
                    'Evidence("location", "here", file=5, line="abc")')
    proc = run_subprocess("run", "--checks-dir", str(folder), "--only", "bad-evidence",
                          "--format", "json", "-o", "run.json", cwd=tmp_path)
    assert proc.returncode == ExitCode.UNDECIDED, proc.stderr
    [result] = strict_json((tmp_path / "run.json").read_text())["results"]
    assert result["id"] == "bad-evidence" and result["status"] == "error"
    assert "bad-evidence" in result["summary"] and "evidence[0].file" in result["summary"]
    again = run_subprocess("report", "run.json", "--format", "markdown", cwd=tmp_path)
    assert again.returncode == ExitCode.OK, again.stderr


def test_redaction_keeps_every_identifier_and_enum_of_a_report() -> None:
    """Whatever the token, the redacted report still reads back and renders in every
    format: ids, statuses and the diagnosis verdict are never rewritten."""
    from report_fixtures import incident_report

    from netra_diag.redaction import redact_report
    from netra_diag.reporters import render

    report = incident_report()
    for token in ("pass", "fail", "broken", "event", "import", "chain"):
        clean = redact_report(report, [token])
        assert [r.id for r in clean.results] == [r.id for r in report.results]
        assert [r.status for r in clean.results] == [r.status for r in report.results]
        d, before = clean.diagnosis, report.diagnosis
        assert d.verdict == before.verdict and d.critical == before.critical
        assert [c.ids for c in d.root_causes] == [c.ids for c in before.root_causes]
        assert [b.id for b in d.blocked] == [b.id for b in before.blocked]
        assert [(i.id, i.status) for i in d.checklist] == \
            [(i.id, i.status) for i in before.checklist]
        for fmt in ("json", "markdown", "junit", "sarif", "github"):
            assert render(clean, fmt)


def test_a_token_in_evidence_data_is_redacted_whatever_its_key() -> None:
    from report_fixtures import healthy_report

    from netra_diag.model import CheckResult, Evidence, Status
    from netra_diag.redaction import redact_report

    token = "echoed-token-5150"
    leak = CheckResult("event-flow", "e2e", "Flow", Status.FAIL, f"saw {token}",
                       (Evidence("observed", "echo", data={"id": token, "status": [token],
                                                           "kind": {"why": token}}),))
    report = healthy_report()
    report = type(report)(**{**report.__dict__, "results": (*report.results[:-1], leak)})
    text = json.dumps(redact_report(report, [token]).to_dict())
    assert token not in text
