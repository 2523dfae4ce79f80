"""The per-request user execution context.

Rules: a context is immutable and names exactly one user, one request, one thread and one
run. Every id is a non-empty string that is not only whitespace; anything else raises
``ValueError`` at construction, so a half-built context can never reach the pipeline.
``run_id`` defaults to a fresh ``run_<uuid4 hex>`` id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

__all__ = ["UserExecutionContext", "new_run_id"]


def new_run_id() -> str:
    """A fresh, unique run id."""
    return f"run_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class UserExecutionContext:
    """Who a piece of work is for: ``user_id``, ``request_id``, ``thread_id``, ``run_id``."""

    user_id: str
    request_id: str
    thread_id: str
    run_id: str = field(default_factory=new_run_id)

    def __post_init__(self) -> None:
        for name in ("user_id", "request_id", "thread_id", "run_id"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string, not {type(value).__name__}")
            if not value.strip():
                raise ValueError(f"{name} must be a non-empty string (got {value!r})")

    def ids(self) -> dict[str, str]:
        """The ids as a mapping (what events and control frames carry)."""
        return {
            "user_id": self.user_id,
            "request_id": self.request_id,
            "thread_id": self.thread_id,
            "run_id": self.run_id,
        }
