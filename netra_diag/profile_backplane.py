"""The profile's backplane role: ``backplane.publish`` and ``backplane.subscribe``.

A backend whose server cannot start where the tool runs may still name the functions that
join one instance of it to the backplane; the fleet checks then run its own pipeline
in-process, several instances joined by those functions over the real Redis (see
``netra_diag_checks._fleet_host``)::

    backplane:
      url_env: REDIS_URL
      publish: app.realtime.bus:start_publisher     # this instance's events reach Redis
      subscribe: app.realtime.bus:start_listener    # what others publish reaches its sockets

Each is ``module:attr`` (a function of the hooks file too: ``netra_diag_hooks:subscribe``),
called once per instance with its arguments filled by name (``backplane``/``url``/
``redis_url``, ``instance_id``, ``channel_prefix``/``prefix``). ``subscribe`` is required
when ``publish`` is given (an instance that never listens cannot receive); a function that
does both is named under ``subscribe`` alone. The hooks file may define functions named
``publish`` and ``subscribe`` instead. This module only validates; it knows no checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import ConfigError

__all__ = ["BACKPLANE_ROLE_KEYS", "validate_backplane_role"]

#: The backplane role's keys under ``backplane:``, in the order instances call them.
BACKPLANE_ROLE_KEYS = ("publish", "subscribe")


def validate_backplane_role(conf: dict[str, Any], error: Callable[..., ConfigError],
                            import_re: Any, import_form: str) -> None:
    """Raise ``error(key, expected, found)`` for a malformed backplane role in ``conf``."""
    for key in BACKPLANE_ROLE_KEYS:
        if key in conf and (not isinstance(conf[key], str) or not import_re.match(conf[key])):
            raise error(f"backplane.{key}", import_form, conf[key])
    if "publish" in conf and "subscribe" not in conf:
        raise error("backplane.publish", "'backplane.subscribe' beside it: an instance that "
                    "never listens cannot receive what the others publish (a function that "
                    "connects both sides is named under 'subscribe' alone)")
