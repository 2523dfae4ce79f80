"""The check interpreter: ``python -m netra_diag.worker JOB.json RESULT.json``.

The runner starts one fresh interpreter per check (clean import cache and warnings
registry, so one check cannot mask another). This module loads that single check, runs it
against the target, and writes one ``CheckResult`` as JSON to RESULT.json (atomically).
Exceptions become results, like pytest's ``CallInfo.from_call``: ``SetupError`` is an
``error`` (the set-up, not the target, is at fault), ``TargetFailure`` is a ``fail``, and any
other exception escaping the check is an ``error`` carrying its traceback. Keep imports
light: this runs once per check.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .context import CheckContext, LiveEndpoint, ensure_on_path
from .errors import NotApplicable, SetupError, TargetFailure
from .model import CheckResult, Evidence, Status, Verdict, errored, failed, passed, skipped
from .profile import Profile
from .registry import CheckSpec, Origin, Registry
from .timings import mark


def load_spec(origin: Origin, check_id: str) -> CheckSpec:
    """Load the one check this interpreter runs; a load crash raises."""
    registry = Registry()
    if origin.kind == "file":
        registry.load_file(Path(origin.ref))
    else:
        registry.load_module(origin.ref, label=origin.label)
    if registry.failures:
        failure = registry.failures[0]
        raise ImportError(f"{failure.message}\n{failure.traceback}")
    return registry.get(check_id)


def run_spec(spec: CheckSpec, ctx: CheckContext) -> Verdict:
    """Call the check and turn whatever happens into a verdict (under ``--static``, a check
    declaring ``static_skip`` is not called: that is its verdict)."""
    if ctx.static and spec.static_skip is not None:
        return skipped(spec.static_skip)
    try:
        verdict = spec.func(ctx)
    except NotApplicable as exc:  # the user declared the part absent: nothing to judge
        return skipped(str(exc))
    except SetupError as exc:
        return errored(str(exc), *(e for e in exc.evidence if isinstance(e, Evidence)),
                       fix=exc.fix)
    except TargetFailure as exc:
        evidence = [e for e in exc.evidence if isinstance(e, Evidence)]
        return failed(exc.summary, *evidence, fix=exc.fix)
    except Exception as exc:  # noqa: BLE001 - a crashing check is an error result
        tb = "".join(traceback.format_exception(exc))
        return errored(
            f"the check itself crashed: {type(exc).__name__}: {exc}",
            Evidence("traceback", tb),
            fix="this is a defect in the check, not in the target: report it with the traceback",
        )
    if verdict is None:
        return passed("completed without finding a problem")
    if not isinstance(verdict, Verdict):
        return errored(
            f"the check returned {type(verdict).__name__}, not a Verdict or None",
            fix="return passed(...), failed(...), errored(...) or skipped(...)",
        )
    return _well_formed(verdict)


def _well_formed(verdict: Verdict) -> Verdict:
    """The verdict with a valid status and Evidence items, or an error saying what is wrong."""
    fix = "build verdicts with passed/failed/errored/skipped and Evidence(kind, message, ...)"
    try:
        status = Status(verdict.status)
    except ValueError:
        return errored(f"the check returned an unknown status {verdict.status!r}", fix=fix)
    bad = [e for e in verdict.evidence if not isinstance(e, Evidence)]
    if bad:
        return errored(f"the check returned evidence that is not Evidence: {bad[0]!r:.80}",
                       fix=fix)
    return Verdict(status, str(verdict.summary), tuple(verdict.evidence), verdict.fix)


def execute(job: dict[str, Any], stage: Path | None = None) -> CheckResult:
    """Run one job (the runner's JSON) and return its result. ``stage`` is the file where
    the set-up step in progress is named (``STAGE_SETUP``), so a runner that kills a hung
    check can say it hung in the user's ``setup()``, not in the check."""
    started = time.perf_counter()
    check_id = job["check_id"]
    profile = Profile.from_dict(job["profile"])
    ensure_on_path(profile.root)
    # a crash on a coroutine nobody awaited can then name where it was made (the defect
    # another check owns: context.target_traceback, netra_diag.blocking)
    sys.set_coroutine_origin_tracking_depth(4)
    try:
        spec = load_spec(Origin.from_dict(job["origin"]), check_id)
    except Exception as exc:  # noqa: BLE001 - reported as the check's error
        verdict = errored(f"could not load the check: {exc}".splitlines()[0],
                          Evidence("traceback", str(exc)))
        return CheckResult.from_verdict(id=check_id, why=job.get("why"), title=job.get("title", ""),
                                        verdict=verdict, duration_s=time.perf_counter() - started)
    mark("check", "check loaded", check=check_id)
    ctx = CheckContext(profile=profile, check_id=check_id, timeout_s=job["timeout_s"],
                       static=job.get("static", False), options=job.get("options", {}),
                       endpoint=LiveEndpoint.from_dict(job.get("endpoint")))
    verdict = _prepare_hooks(ctx, stage) or run_spec(spec, ctx)
    return CheckResult.from_verdict(id=spec.id, why=spec.why, title=spec.title, verdict=verdict,
                                    duration_s=time.perf_counter() - started, fix=spec.fix)


def _prepare_hooks(ctx: CheckContext, stage: Path | None = None) -> Verdict | None:
    """Run the user's hooks ``setup()`` (``run_setup_hook``) before the target is imported
    (never under ``--static``: nothing of the target runs there); an error verdict when it
    fails. While it runs, ``stage`` names it (``STAGE_SETUP``)."""
    if ctx.static or ctx.profile.hooks is None:
        return None
    if stage is not None:
        stage.write_text(STAGE_SETUP, encoding="utf-8")
    try:
        run_setup_hook(ctx.profile)
    except SetupError as exc:
        return errored(f"could not set up: {exc}", fix=exc.fix)
    finally:
        if stage is not None:
            stage.unlink(missing_ok=True)
    return None


#: What the stage file says while the hooks file is imported and its ``setup()`` runs.
STAGE_SETUP = "hooks setup()"


def stage_path(result_path: Path) -> Path:
    """Where the worker writing ``result_path`` names the set-up step in progress."""
    return result_path.with_name(result_path.name + ".stage")


def run_setup_hook(profile: Profile) -> None:
    """Run the profile's ``hooks:`` ``setup()`` once per check interpreter, before the
    target is imported. THE place to call it: nothing else runs set-up hooks.

    Called by ``execute`` in the check's own process (a fork of the check server under
    ``isolation: process``, a fresh interpreter under ``isolation: interpreter``), before
    anything of the target is imported; and under ``isolation: shared-import`` by the check
    server itself (``netra_diag.zygote.import_shared``), before it imports the target once:
    the forked checks inherit its effects, and ``netra_diag.hooks.prepare`` runs ``setup()``
    at most once per process, so they do not run it again. ``SetupError`` when the hooks
    file cannot be imported or ``setup()`` raises.
    """
    if profile.hooks is None:
        return
    from .hooks import prepare

    prepare(profile.hooks)


def write_result(path: Path, result: CheckResult, nonce: str | None = None) -> None:
    """Write the result atomically; ``nonce`` (the job's) proves it is the worker's own."""
    tmp = path.with_suffix(".tmp")
    body: dict[str, Any] = {"nonce": nonce, "result": result.to_dict()}
    tmp.write_text(json.dumps(body, default=repr), encoding="utf-8")
    os.replace(tmp, path)


def read_result(path: Path, nonce: str) -> CheckResult | None:
    """The worker's result at ``path``, or None when there is none or it is not the
    worker's (a plugin may write anything anywhere: only a result carrying the job's nonce
    counts); ``ValueError`` when it carries the nonce but cannot be read."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("nonce") != nonce:
        return None
    try:
        return CheckResult.from_dict(body["result"])
    except Exception as exc:  # noqa: BLE001 - any shape problem is an unreadable result
        raise ValueError(f"{type(exc).__name__}: {exc}") from None


def main(argv: list[str], *, setup: bool = True) -> int:
    """Run the job at ``argv[0]``, write its result to ``argv[1]``. ``setup`` is kept for
    the check server's call: the setup hook runs at most once per process anyway."""
    job_path, result_path = Path(argv[0]), Path(argv[1])
    job = json.loads(job_path.read_text(encoding="utf-8"))
    mark("check", "started", check=job["check_id"])
    # runs the setup hook (a no-op where the check server ran it)
    result = execute(job, stage_path(result_path))
    mark("check", "checked", check=job["check_id"])
    write_result(result_path, result, job.get("nonce"))
    mark("check", "result written", check=job["check_id"])
    return 0


if __name__ == "__main__":
    from .procs import die_with_parent

    die_with_parent()
    sys.exit(main(sys.argv[1:]))
