"""One in-process fleet instance: the target's own pipeline, joined to the backplane by its
own backplane role, behind a small WebSocket front of the tool's (``python -m
netra_diag_checks._fleet_host``; started by ``_fleet.open_fleet``).

When a profile names its **backplane role** (``backplane.publish`` / ``backplane.subscribe``,
or the hooks ``publish`` / ``subscribe``), the fleet checks need no ``server`` role: each
instance is this interpreter (its own process, so instances share nothing but the
backplane), which

1. runs the hooks file's ``setup()``, then calls the role's ``publish`` and ``subscribe``
   functions once each (arguments filled by name: ``backplane`` / ``url`` / ``redis_url``,
   ``instance_id``, ``channel_prefix`` / ``prefix``, and from the profile's
   ``build.backplane_publish`` / ``build.backplane_subscribe``; awaited when async, bounded
   by ``START_TIMEOUT_S``), keeping what they return to close it at the end;
2. serves the fleet protocol on 127.0.0.1 (bearer token, ``auth_ok``, ``subscribe`` ->
   ``subscribed``, ``start_agent`` -> ``run_accepted``, events, ``run_finished``): a socket
   joins its user's events with a recording connection (``connect`` hook or the per-user
   manager, as event-flow in-process does) that forwards every frame to the socket, and
   ``start_agent`` drives one agent run through the target's code (the ``run_agent`` hook,
   the wiring entry or the engine factory).

The WebSocket front is the tool's; what is judged is the target's: its per-user delivery
on each instance, and what its publish and subscribe carry between them. Start-up is
reported as one JSON line on standard output: ``{"url": ...}``, or ``{"error", "kind",
"fix", "evidence"}`` where ``kind`` is ``fail`` only for a crash in the target's own code
(sorted by ``_calling.call_target``); the instance serves until its standard input closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import secrets
import sys
from pathlib import Path
from typing import Any

from netra_diag import CheckContext, Evidence, SetupError, TargetFailure
from netra_diag.support.calls import fill_arguments, settle
from netra_diag.support.judge import normalise_events
from netra_diag.support.recording import RecordingConnection

__all__ = ["BACKPLANE_KEYS", "backplane_values", "main"]

#: The backplane role's steps, in the order they are called.
BACKPLANE_KEYS = ("publish", "subscribe")
#: How long the role's publish or subscribe may take to return.
START_TIMEOUT_S = 5.0
#: Frames waiting to be written to one socket; beyond it, a frame is dropped and counted.
OUTBOX_MAXSIZE = 10_000


def backplane_values(url: str, instance_id: str, prefix: str) -> dict[str, Any]:
    """What the backplane role's functions are offered, by parameter name."""
    return {"backplane": url, "url": url, "redis_url": url, "backplane_url": url,
            "instance_id": instance_id, "channel_prefix": prefix, "prefix": prefix}


def _report(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, default=repr) + "\n")
    sys.stdout.flush()


def _failure(exc: SetupError | TargetFailure) -> dict[str, Any]:
    kind = "fail" if isinstance(exc, TargetFailure) else "error"
    evidence = [e.to_dict() for e in exc.evidence if isinstance(e, Evidence)]
    return {"error": str(exc), "kind": kind, "fix": exc.fix, "evidence": evidence}


class _Forwarder(RecordingConnection):
    """The recording connection of one socket: every frame is also queued for the socket."""

    def __init__(self, label: str, user_id: str, outbox: asyncio.Queue[Any],
                 fields: dict[str, str | None]) -> None:
        super().__init__(label, user_id=user_id, connection_id=f"netra-diag-{label}")
        self._outbox = outbox
        self._fields = fields

    def _record(self, frame: Any) -> None:
        super()._record(frame)
        try:
            value = json.loads(frame) if isinstance(frame, str | bytes) else frame
        except ValueError:
            return
        if isinstance(value, dict):
            [value] = normalise_events([value], self._fields)
            # bounded: a frame dropped here shows as a lost event in the check's verdict
            with contextlib.suppress(asyncio.QueueFull):
                self._outbox.put_nowait(value)


class Instance:
    """The target's pipeline in this process, and the sockets of the tool's front."""

    def __init__(self, ctx: CheckContext, users: dict[str, str]) -> None:
        self.ctx = ctx
        self.by_token = {token: user for user, token in users.items()}
        self.handles: list[Any] = []

    async def join_backplane(self, roles: dict[str, str], values: dict[str, Any]) -> None:
        """Call the role's publish, then subscribe (see the module docstring)."""
        for key in BACKPLANE_KEYS:
            entry = roles.get(key)
            if not entry:
                continue
            what = f"the backplane role's {key} ({entry})"
            func = self.ctx.import_entry(entry, what=f"backplane.{key}")
            call = fill_arguments(func, available=values,
                                  overrides=self.ctx.build_kwargs(f"backplane_{key}"),
                                  profile_key=f"build.backplane_{key}", what=what)
            try:
                handle, _ = await asyncio.wait_for(settle(func(*call.args, **call.kwargs)),
                                                   START_TIMEOUT_S)
            except TimeoutError:
                raise SetupError(f"{what} did not return within {START_TIMEOUT_S:g} s",
                                 fix=f"backplane.{key} must return once its side is "
                                 "connected (run a reader loop as a task)") from None
            except Exception as exc:
                raise self._sorted(exc, key, entry, what) from exc
            self.handles.append(handle)

    def _sorted(self, exc: Exception, key: str, entry: str, what: str
                ) -> SetupError | TargetFailure:
        """A crash while joining the backplane: the target's own code crashed (``fail``,
        sorted by ``target_crash``), or the call never reached it: a hooks function's own
        crash, or arguments that do not fit (``error`` naming the hook or key)."""
        from ._calling import in_target, target_crash

        if in_target(exc, self.ctx.root, self.ctx.profile.hooks):
            return target_crash(self.ctx, exc, f"starting {what}")
        hooks = self.ctx.profile.hooks
        if hooks is not None and entry.startswith(f"{hooks.stem}:"):
            return SetupError(f"{hooks.stem}.{entry.partition(':')[2]}() raised "
                              f"{type(exc).__name__}: {exc}",
                              fix=f"fix {entry.partition(':')[2]}() in {hooks} (your set-up "
                              "code, not the target's)")
        return SetupError(f"{what} failed before reaching the target's code: "
                          f"{type(exc).__name__}: {exc}",
                          fix=f"backplane.{key} is called with its arguments by name "
                          "(backplane or url, instance_id, channel_prefix, and "
                          f"build.backplane_{key}): name yours so, or adapt it with a "
                          "function of your hooks file")

    async def close(self) -> None:
        for handle in reversed(self.handles):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(_close_handle(handle), 5.0)

    async def serve(self, ws: Any) -> None:
        """One socket: authenticate, then answer its frames (see the module docstring)."""
        header = ws.request.headers.get("Authorization", "") if ws.request else ""
        scheme, _, token = header.partition(" ")
        user = self.by_token.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            await ws.send(json.dumps({"type": "error", "code": "auth_failed",
                                      "message": "unknown token"}))
            await ws.close(1008)
            return
        session = _Session(self, ws, user)
        await ws.send(json.dumps({"type": "auth_ok", "user_id": user}))
        writer = asyncio.create_task(session.write_forever())
        try:
            async for raw in ws:
                await session.on_frame(raw)
        except Exception:  # noqa: BLE001 - a socket that ends ends its session
            pass
        finally:
            await session.close()
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)


class _Session:
    """One socket's recording connection, runs and outgoing frames."""

    def __init__(self, instance: Instance, ws: Any, user: str) -> None:
        self.instance, self.ctx, self.ws, self.user = instance, instance.ctx, ws, user
        self.outbox: asyncio.Queue[Any] = asyncio.Queue(OUTBOX_MAXSIZE)
        self.recorder: _Forwarder | None = None
        self.user_context: Any = None
        self.runs: set[asyncio.Task[None]] = set()

    async def write_forever(self) -> None:
        while True:
            frame = await self.outbox.get()
            await self.ws.send(json.dumps(frame, default=str))

    def put(self, frame: dict[str, Any]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(frame)

    async def context_for(self, thread_id: str, request_id: str, run_id: str) -> Any:
        from ._calling import build_role, call_hook

        ids = {"user_id": self.user, "thread_id": thread_id, "request_id": request_id,
               "run_id": run_id}
        if self.ctx.hooks.get("make_user_context") is not None:
            value, _ = await call_hook(self.ctx, "make_user_context", ids)
        else:
            value, _ = await build_role(self.ctx, "user_context", ids)
        return value

    async def joined(self, thread_id: str, request_id: str) -> None:
        """Join this socket to its user's events once (a recording connection)."""
        from ._calling import connection_values, method_call

        if self.recorder is not None:
            return
        self.user_context = await self.context_for(
            thread_id, request_id, f"netra-diag-watch-{secrets.token_hex(4)}")
        recorder = _Forwarder(f"fleet-{secrets.token_hex(4)}", self.user, self.outbox,
                              self.ctx.profile.event_fields)
        available = connection_values(recorder, self.user_context)
        if self.ctx.hooks.get("connect") is not None:
            from ._calling import call_hook

            recorder.handle, _ = await call_hook(self.ctx, "connect", available)
        else:
            from ._calling import build_role, context_values

            manager, _ = await build_role(self.ctx, "manager_factory",
                                          context_values(self.user_context))
            await method_call(self.ctx, manager, "add_connection", available,
                              what="registering a connection with the per-user manager")
        self.recorder = recorder

    async def on_frame(self, raw: Any) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            self.put({"type": "error", "code": "bad_json", "message": "a JSON object"})
            return
        kind = frame.get("type")
        request_id = str(frame.get("request_id") or "request")
        thread_id = str(frame.get("thread_id") or "main")
        if kind not in ("subscribe", "start_agent"):
            self.put({"type": "error", "code": "unknown_type", "request_id": request_id,
                      "message": "this front speaks subscribe and start_agent"})
            return
        try:
            await self.joined(thread_id, request_id)
        except Exception as exc:  # noqa: BLE001 - told to the check, which reports it
            self.put({"type": "error", "code": "join_failed", "request_id": request_id,
                      "message": f"joining the user's events failed: {_said(exc)}"})
            return
        if kind == "subscribe":
            self.put({"type": "subscribed", "request_id": request_id, "thread_id": thread_id})
            return
        run_id = f"netra-diag-run-{secrets.token_hex(6)}"
        self.put({"type": "run_accepted", "request_id": request_id, "thread_id": thread_id,
                  "run_id": run_id})
        task = asyncio.create_task(self.drive(thread_id, request_id, run_id))
        self.runs.add(task)
        task.add_done_callback(self.runs.discard)

    async def drive(self, thread_id: str, request_id: str, run_id: str) -> None:
        """One agent run through the target's code, then ``run_finished`` (or ``error``)."""
        from ._inprocess import run_agent

        ids = {"request_id": request_id, "thread_id": thread_id, "run_id": run_id}
        budget = self.ctx.budgets.instance_run_s
        problem: str | None = None
        try:
            user_context = await self.context_for(thread_id, request_id, run_id)
            await asyncio.wait_for(run_agent(self.ctx, user_context, []), budget)
        except TimeoutError:
            problem = f"the agent run did not finish within {budget:g} s"
        except Exception as exc:  # noqa: BLE001 - told to the check, which reports it
            problem = _said(exc)
        if problem is None and self.recorder is not None:  # events the run scheduled
            last, recorder = self.ctx.profile.critical_events[-1], self.recorder
            fields = self.ctx.profile.event_fields
            await _until(recorder, lambda: any(
                e.get("type") == last and e.get("run_id") == run_id
                for e in normalise_events(recorder.events(), fields)), 0.5)
        if problem is not None:
            self.put({"type": "error", "code": "run_failed", "message": problem, **ids})
        else:
            self.put({"type": "run_finished", **ids})

    async def close(self) -> None:
        for task in list(self.runs):
            task.cancel()
        await asyncio.gather(*self.runs, return_exceptions=True)
        if self.recorder is not None and self.ctx.hooks.get("disconnect") is not None:
            from ._calling import detach_recorder

            with contextlib.suppress(SetupError, TargetFailure):
                await detach_recorder(self.ctx, self.user_context, self.recorder)


def _said(exc: Exception) -> str:
    """An exception for an error frame: the tool's own kinds by their message, any other
    (a defect of this host) with its type."""
    if isinstance(exc, SetupError | TargetFailure):
        return str(exc)
    return f"the in-process fleet host itself crashed: {type(exc).__name__}: {exc}"


async def _until(recorder: RecordingConnection, condition: Any, timeout: float) -> None:
    """Await ``condition()``, re-checked on each frame ``recorder`` records, at most
    ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition() and loop.time() < end:
        recorder._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(recorder._changed.wait(), end - loop.time())


async def _close_handle(handle: Any) -> None:
    if isinstance(handle, asyncio.Task):
        handle.cancel()
        await asyncio.gather(handle, return_exceptions=True)
        return
    for name in ("aclose", "close", "stop"):
        method = getattr(handle, name, None)
        if callable(method):
            result = method()
            if inspect.isawaitable(result):
                await result
            return


async def _main(job: dict[str, Any]) -> int:
    from websockets.asyncio.server import serve

    from netra_diag.profile import Profile

    ctx = CheckContext(profile=Profile.from_dict(job["profile"]), check_id=job["check_id"],
                       timeout_s=float(job.get("timeout_s", 60.0)),
                       options=job.get("check_options") or {})
    instance = Instance(ctx, job["users"])
    given = job["options"]
    values = backplane_values(given["backplane"], given["instance_id"],
                              given["channel_prefix"])
    try:
        await instance.join_backplane(job["roles"], values)
    except (SetupError, TargetFailure) as exc:
        _report(_failure(exc))
        await instance.close()
        return 1
    except Exception as exc:  # noqa: BLE001 - a defect of this host: reported as an error
        _report(_failure(SetupError(_said(exc), fix="this is a defect in netra-diag's fleet "
                                    "host: report it with the check's evidence")))
        await instance.close()
        return 1
    server = await serve(instance.serve, "127.0.0.1", 0, max_size=1 << 20)
    port = next(iter(server.sockets)).getsockname()[1]
    _report({"url": f"ws://127.0.0.1:{port}/ws"})
    await asyncio.to_thread(sys.stdin.buffer.read)  # until the parent closes our stdin
    server.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.wait_closed(), 5.0)
    await instance.close()
    return 0


def main() -> None:
    import os

    job = json.loads(sys.stdin.buffer.readline() or b"{}")
    from netra_diag.context import ensure_on_path
    from netra_diag.profile import Profile
    from netra_diag.worker import run_setup_hook

    profile = Profile.from_dict(job["profile"])
    ensure_on_path(Path(profile.root))
    try:
        run_setup_hook(profile)
    except SetupError as exc:
        _report(_failure(SetupError(f"could not set up: {exc}", fix=exc.fix)))
        os._exit(1)
    code = asyncio.run(_main(job))
    sys.stdout.flush()
    os._exit(code)  # the stdin reader thread may still block: leave without waiting for it


if __name__ == "__main__":
    main()
