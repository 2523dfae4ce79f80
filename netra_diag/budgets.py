"""What a check may spend: the profile's ``budgets:`` and the runner's ``--timeout``, with
the bounds every check applies, in one place (docs/profile.md, "budgets").

A check reads ``ctx.budgets``; it never clamps a budget itself. The numbers leave room
inside ``--timeout`` for the check's interpreter to start and its verdict to be written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .profile_data import DEFAULT_BUDGETS

__all__ = ["Budgets"]


@dataclass(frozen=True)
class Budgets:
    """The budgets of one check run. ``live``: the wire checks talk to a live endpoint
    (``probe``), which the profile's run budget does not bound."""

    timeout_s: float
    run_timeout_s: float = DEFAULT_BUDGETS["run_timeout_s"]
    event_latency_ms: float = DEFAULT_BUDGETS["event_latency_ms"]
    isolation_users_wanted: float = DEFAULT_BUDGETS["isolation_users"]
    latency_runs_wanted: float = DEFAULT_BUDGETS["latency_runs"]
    backplane_users_wanted: float = DEFAULT_BUDGETS["backplane_users"]
    backplane_recovery_s: float = DEFAULT_BUDGETS["backplane_recovery_s"]
    live: bool = False

    @classmethod
    def of(cls, budgets: Mapping[str, float], timeout_s: float, *, live: bool = False
           ) -> Budgets:
        """From a profile's ``budgets`` (a missing key takes its default) and ``--timeout``."""
        def get(key: str) -> float:
            return float(budgets.get(key, DEFAULT_BUDGETS[key]))

        return cls(timeout_s=timeout_s, run_timeout_s=get("run_timeout_s"),
                   event_latency_ms=get("event_latency_ms"),
                   isolation_users_wanted=get("isolation_users"),
                   latency_runs_wanted=get("latency_runs"),
                   backplane_users_wanted=get("backplane_users"),
                   backplane_recovery_s=get("backplane_recovery_s"), live=live)

    @property
    def async_s(self) -> float:
        """A check's async body as a whole: the timeout less a second for the verdict."""
        return max(1.0, self.timeout_s - 1.0)

    @property
    def run_s(self) -> float:
        """One agent run (in-process, or over the wire under ``run``): the profile's run
        budget, within the timeout less two seconds; at least one second."""
        return max(1.0, min(self.run_timeout_s, self.timeout_s - 2))

    @property
    def instance_run_s(self) -> float:
        """One agent run inside a fleet instance, which outlives any one check: the
        profile's run budget alone, at least one second."""
        return max(1.0, self.run_timeout_s)

    @property
    def wire_s(self) -> float:
        """A wire check's network time, inside the timeout (start-up and the verdict need
        the rest); the reference's own runs are also bounded by the run budget."""
        budget = max(0.5, self.timeout_s - 1.5)
        if not self.live:
            budget = min(budget, max(1.0, self.run_timeout_s))
        return budget

    @property
    def fleet_start_s(self) -> float:
        """Starting a fleet's instances: a third of the timeout, between 5 and 15 seconds."""
        return min(15.0, max(5.0, self.timeout_s / 3))

    @property
    def latency_runs(self) -> int:
        """Concurrent runs ``event-latency`` measures (``budgets.latency_runs``), at least 1."""
        return max(1, int(self.latency_runs_wanted))

    @property
    def isolation_users(self) -> int:
        """Users ``user-isolation`` connects at once (``budgets.isolation_users``), at least 2."""
        return max(2, int(self.isolation_users_wanted))

    @property
    def isolation_users_in_process(self) -> int:
        """Users of the in-process isolation check (one run each, in turn): 2 to 4."""
        return max(2, min(4, int(self.isolation_users_wanted)))

    @property
    def backplane_users(self) -> int:
        """Users spread over a fleet's instances (``budgets.backplane_users``), at least 2."""
        return max(2, int(self.backplane_users_wanted))
