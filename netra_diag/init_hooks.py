"""The hooks template ``init`` writes beside the profile (``netra_diag_hooks.py``).

A profile's ``hooks:`` key names a Python file beside it (like pytest's ``conftest.py``)
whose functions, when defined, replace the tool's guesses: ``setup()``,
``make_user_context(user_id, thread_id, run_id)``, ``connect(user_context, connection)``,
``disconnect(user_context, connection)`` and ``run_agent(user_context, message)``. The
template defines none of them: every function is commented out, so the file changes nothing
until the user edits it (and the profile's ``hooks:`` line is commented out too). The
examples are filled from the roles ``init`` found, as a starting point.
"""

from __future__ import annotations

from .init_proposal import Proposal

__all__ = ["HOOKS_FILENAME", "render_hooks"]

HOOKS_FILENAME = "netra_diag_hooks.py"


def _split(entry: str | None, fallback: tuple[str, str]) -> tuple[str, str]:
    if not entry or ":" not in entry:
        return fallback
    module, _, attr = entry.partition(":")
    return module, attr.split(".")[0]


def render_hooks(proposal: Proposal) -> str:
    """The commented template (nothing in it is defined: see the module doc)."""
    def entry(role: str) -> str | None:
        choice = proposal.roles.get(role)
        return choice.entry if choice else None

    ctx_mod, ctx = _split(entry("user_context"), ("your_app.context", "UserExecutionContext"))
    wiring_mod, wiring = _split(entry("wiring_entry"), ("your_app.dependencies",
                                                        "get_supervisor"))
    factory_mod, factory = _split(entry("manager_factory"),
                                  ("your_app.websocket_core", "create_websocket_manager"))
    return f'''"""netra-diag hooks for {proposal.name} by `netra-diag init`: nothing is active yet.

Each function below, once uncommented (and once the profile says `hooks: {HOOKS_FILENAME}`),
replaces what netra-diag would otherwise guess, and the evidence says so. Define only those
you need; this file is imported by the check interpreters, never by `init`.
"""

# def setup():
#     """Once, before the checks touch your code: settings, environment, test doubles."""
#     import os
#     os.environ.setdefault("ENVIRONMENT", "test")


# def make_user_context(user_id, thread_id, run_id):
#     """The user context your wiring path is given for one request."""
#     from {ctx_mod} import {ctx}
#     return {ctx}(user_id=user_id, thread_id=thread_id, run_id=run_id)


# async def connect(user_context, connection):
#     """Register the tool's recording connection for this user (as your endpoint does)."""
#     from {factory_mod} import {factory}
#     manager = {factory}(user_context)
#     manager.add_connection(connection)
#     return manager


# async def disconnect(user_context, connection):
#     """Undo connect()."""


# async def run_agent(user_context, message):
#     """Run one agent for this user, the way your application does."""
#     from {wiring_mod} import {wiring}
#     supervisor = await {wiring}(user_context)
#     return await supervisor.run(message)


# async def subscribe(backplane, instance_id, channel_prefix):
#     """The fleet checks, in-process (with `run --backplane URL`): join one instance of
#     your backend to the Redis backplane, as its start-up does (name your connections
#     f"{{channel_prefix}}{{instance_id}}"); return once subscribed. Define publish(...)
#     too when your publishing side is connected separately."""
'''
