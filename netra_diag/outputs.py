"""Where a run's report goes: the main format to stdout (or ``--output``) and every
``--report FORMAT:PATH`` file, each written atomically from the redacted report; saved runs
read back (``report``, ``--baseline``). stdout carries only the chosen document; the lines
saying which file was written go to stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import ConfigError, OutputError
from .exitcodes import ExitCode
from .model import RunReport
from .redaction import redact_report

__all__ = ["check_distinct_outputs", "load_saved", "render_saved", "write_outputs"]


def check_distinct_outputs(output: Path | None, extra: Sequence[tuple[str, Path]]) -> None:
    """``ConfigError`` (exit 4, before anything runs) when two outputs name one file: one
    would silently overwrite the other."""
    import os

    seen: dict[str, str] = {}
    named = ([("--output", output)] if output is not None else []) + \
        [(f"--report {fmt}:{path}", path) for fmt, path in extra]
    for label, path in named:
        key = os.path.realpath(path)
        if key in seen:
            raise ConfigError(f"{seen[key]} and {label} write the same file {path}; give "
                              "each output its own path")
        seen[key] = label


def write_outputs(report: RunReport, fmt: str, output: Path | None,
                  extra: Sequence[tuple[str, Path]], baseline: RunReport | None,
                  secrets: Sequence[str] = (), *, verbosity: int = 0,
                  color: str = "auto") -> None:
    """Render the main format (stdout or ``output``) and every ``--report`` file; each file
    written is named in one line on stderr (unless ``verbosity`` is quiet)."""
    import os

    from .reporters.atomic import write_atomic

    if secrets:  # every format, the terminal's included, renders the redacted report(s)
        report = redact_report(report, secrets)
        if baseline is not None:
            baseline = redact_report(baseline, secrets)
    problems: list[str] = []
    ignoring = [f for f in dict.fromkeys((fmt, *(f for f, _ in extra)))
                if f in ("junit", "sarif", "github")] if baseline is not None else []
    if ignoring:
        print(f"netra-diag: note: --baseline shapes only the markdown, json and terminal "
              f"outputs (and the GitHub step summary), not {', '.join(ignoring)}",
              file=sys.stderr)
    # the JSON run first: it is what every other format can be rebuilt from
    for extra_fmt, path in sorted(extra, key=lambda item: item[0] != "json"):
        try:
            write_atomic(path, _render(report, extra_fmt, baseline))
            _wrote(extra_fmt, path, verbosity)
        except OutputError as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a renderer defect must not lose the others
            problems.append(f"could not render {extra_fmt} for {path}: "
                            f"{type(exc).__name__}: {exc}")
    if fmt == "rich" and output is None:
        from .reporters.terminal import make_console, render_report

        comparison = None
        if baseline is not None:
            from .reporters.comparison import compare

            comparison = compare(baseline, report).to_text()
        render_report(report, make_console(color=color), comparison=comparison,
                      verbosity=verbosity)
    else:
        text = _render(report, fmt, baseline, verbosity)
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            try:
                write_atomic(output, text)
                _wrote(fmt, output, verbosity)
            except OutputError as exc:
                problems.append(str(exc))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and "github" in (fmt, *(f for f, _ in extra)):
        from .reporters.github import append_step_summary

        try:
            append_step_summary(report, Path(summary), baseline=baseline)
        except OutputError as exc:
            problems.append(str(exc))
    if problems:
        raise OutputError("; ".join(problems))


def _wrote(fmt: str, path: Path, verbosity: int) -> None:
    """One line on stderr per file written (pytest's ``--junitxml`` does the same)."""
    if verbosity >= 0:
        print(f"netra-diag: wrote {fmt} report to {path}", file=sys.stderr)


def _render(report: RunReport, fmt: str, baseline: RunReport | None,
            verbosity: int = 0) -> str:
    if fmt == "rich":
        from io import StringIO

        from rich.console import Console

        from .reporters.terminal import render_report

        buf = StringIO()
        render_report(report, Console(file=buf, no_color=True, width=120, color_system=None),
                      verbosity=verbosity)
        return buf.getvalue()
    from .reporters import render

    return render(report, fmt, baseline=baseline)


def load_saved(path: Path) -> RunReport:
    """Read a saved JSON run; ``ConfigError`` (exit 4) when it is missing or foreign."""
    from .limits import MAX_RUN_BYTES, read_bounded_text

    try:
        raw = json.loads(read_bounded_text(path, MAX_RUN_BYTES, "a saved JSON run"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable JSON run: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a JSON run: nested too deeply to read") from None
    try:
        report = RunReport.from_dict(raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if "checklist" not in (raw.get("diagnosis") or {}):  # written before the typed diagnosis
        from .analysis import diagnose

        report = report.with_diagnosis(diagnose(report.results, checks=report.checks,
                                                interrupted=report.interrupted))
    return report


def render_saved(run_json: Path, fmt: str, output: Path | None,
                 baseline_path: Path | None, verbosity: int = 0,
                 color: str = "auto") -> ExitCode:
    """``netra-diag report``: render a saved run without re-running anything."""
    report = load_saved(run_json)
    baseline = load_saved(baseline_path) if baseline_path else None
    write_outputs(report, fmt, output, (), baseline, verbosity=verbosity, color=color)
    return ExitCode.OK
