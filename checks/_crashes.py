"""Sorting a crash in target code honestly: the target's own crash is a ``TargetFailure``
(``fail``, traceback trimmed to the target); one at netra-diag's boundary (an object the
tool made, ids it invented, a call that never reached the target) is a ``SetupError``
(``error``) naming the hook or profile key that fixes it. Used through ``_calling``."""

from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import Any

from netra_diag import CheckContext, Evidence, SetupError, TargetFailure
from netra_diag.context import target_traceback
from netra_diag.finding import COROUTINE_FROM

__all__ = ["TOOL_OBJECTS", "crash_observations", "in_target", "target_crash",
           "tool_object_blamed"]


def in_target(exc: BaseException, root: Path, hooks: Path | None = None) -> bool:
    """True when any frame of ``exc``'s traceback lies in the target's source: the crash
    happened once the target's code was running (it may end in a library the target called,
    such as ``json.dumps``). Only when no target frame ran is the crash the harness's.
    Installed packages under the root (a ``site-packages`` folder) and the user's hooks file
    are not the target."""
    root_r = root.resolve()
    hooks_r = hooks.resolve() if hooks is not None else None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        if path == hooks_r:
            continue
        try:
            rel = path.relative_to(root_r)
        except (ValueError, OSError):
            continue
        if not {"site-packages", "dist-packages"} & set(rel.parts):
            return True
    return False


_ID_READ_RE = re.compile(r"""\.(user_id|thread_id|run_id|request_id)\b"""
                         r"""|\[['"](user_id|thread_id|run_id|request_id)['"]\]""")


def _on_synthetic_ids(ctx: CheckContext, exc: BaseException) -> bool:
    """Whether a wrong-value error was raised at a line of the target that reads a user
    context's ids (``uuid.UUID(ctx.user_id)``): the tool invented those ids."""
    if not isinstance(exc, ValueError | TypeError | KeyError):
        return False
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if ctx.in_target(f.filename)
              and Path(f.filename).resolve() != (ctx.profile.hooks or Path()).resolve()]
    return bool(frames) and _ID_READ_RE.search(frames[-1].line or "") is not None


#: The tool's own objects a target may trip on, and the hook that supplies the real thing.
TOOL_OBJECTS: dict[str, str] = {"RecordingConnection": "connect"}


def tool_object_blamed(exc: BaseException) -> str | None:
    """The name of the tool's own object that ``exc`` is about (the target read an
    attribute our recording connection lacks, or rejected its type), else None."""
    obj = getattr(exc, "obj", None) if isinstance(exc, AttributeError) else None
    if obj is not None and type(obj).__module__.startswith("netra_diag"):
        return type(obj).__name__
    text = str(exc)
    return next((name for name in TOOL_OBJECTS if name in text), None)


def target_crash(ctx: CheckContext, exc: BaseException, doing: str) -> TargetFailure | SetupError:
    """The right exception for a crash while ``doing`` something with the target: the
    target's own crash (``TargetFailure``); a crash on an object netra-diag made, or before
    the target's code ran (``SetupError``, naming the hook or key that fixes it)."""
    if isinstance(exc, SetupError | TargetFailure):
        return exc
    tool_object = tool_object_blamed(exc)
    if tool_object is not None:
        hook = TOOL_OBJECTS.get(tool_object, "connect")
        fix = (f"your {hook}() hook hands netra-diag's {tool_object} on as it is: wrap it in "
               "the record your code expects (it offers send, send_text, send_json, user_id "
               "and connection_id)") if ctx.hooks.get(hook) is not None else (
               f"define {hook}() in your hooks file (profile key 'hooks:') to do this step "
               "the way your application does (wrap the connection in your own record)")
        return SetupError(
            f"{doing} raised {type(exc).__name__}: {exc}: the target tripped on netra-diag's "
            f"own {tool_object}, so this says nothing about your code", fix=fix,
            evidence=tuple(target_traceback(exc, ctx.root)[1:]))
    if in_target(exc, ctx.root, ctx.profile.hooks):
        if ctx.hooks.get("make_user_context") is None and _on_synthetic_ids(ctx, exc):
            return SetupError(
                f"{doing} raised {type(exc).__name__}: {exc}, at a line that reads the user "
                "context's ids, which netra-diag made up (netra-diag-<check>-<n>): the call "
                "cannot judge the target",
                fix="define make_user_context(user_id, thread_id, run_id) in your hooks file "
                "(profile key 'hooks:') to build a context with ids your code accepts",
                evidence=tuple(target_traceback(exc, ctx.root)[1:]))
        return TargetFailure(f"{doing} raised {type(exc).__name__}: {exc}",
                             *target_traceback(exc, ctx.root))
    return SetupError(
        f"{doing} failed before reaching the target's code: {type(exc).__name__}: {exc}",
        fix="the call the harness built does not fit the target's signature; supply the "
        "arguments under 'build:' in the profile",
    )


def crash_observations(items: Any, *, keep_file: bool = False) -> list[Evidence]:
    """A crash's evidence for a check that does not own it: its ``location`` ("raised
    here") becomes an ``observed`` line, so that the crash is a located finding only of the
    check that owns it; the traceback is kept. The site is named in the text, or, with
    ``keep_file``, kept as the evidence's file and line (for a check whose result has
    nothing else to point at, such as event-flow)."""
    out: list[Evidence] = []
    for item in items:
        if not isinstance(item, Evidence):
            continue
        if item.kind == "location" and keep_file:
            item = Evidence("observed", item.message, item.file, item.line, item.data)
        elif item.kind == "location":
            at = f" at {item.location}" if item.file else ""
            made = item.data.get(COROUTINE_FROM) if isinstance(item.data, dict) else None
            item = Evidence("observed", f"{item.message}{at}",
                            data={COROUTINE_FROM: made} if made else None)
        out.append(item)
    return out
