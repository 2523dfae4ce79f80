"""The fault matrix for the fleet: every fleet fault is caught by its owner alone, and the
healthy fleet passes every check, with a real redis-server on loopback as the backplane.

The other half of the matrix (single-process faults, and the healthy reference without a
backplane, where the fleet checks are skipped) is test_fault_matrix.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from netra_diag.faults import FAULTS
from netra_diag.fleet import BACKPLANE_ENV, private_env
from netra_diag.model import Status
from netra_diag.registry import Registry
from netra_diag.runner import Runner
from netra_diag.target import open_target

FLEET_FAULTS = sorted(f for f in FAULTS if "backplane" in FAULTS[f].needs)
#: the recovery budget in these runs (the default is 5 s; a healthy fleet recovers in ~0.1 s)
RECOVERY_S = 2.0


def run_fleet(*faults: str, backplane: str) -> dict:
    """Every built-in check on the reference, the fleet checks on ``backplane``, handed to
    the check interpreters in an environment variable exactly as ``run --backplane`` does."""
    registry = Registry()
    registry.load_builtin()
    with open_target(None, inject=faults) as target, private_env(BACKPLANE_ENV, backplane):
        profile = replace(target.profile, budgets={**target.profile.budgets,
                                                   "backplane_recovery_s": RECOVERY_S})
        outcome = Runner(profile, timeout_s=30, options={"backplane_env": BACKPLANE_ENV}
                         ).run(registry.specs)
    return {r.id: r for r in outcome.results}


def describe(results: dict) -> str:
    return "\n".join(f"{r.id}: {r.status.value}: {r.summary}" for r in results.values())


def test_the_fleet_faults_are_declared_with_their_owner():
    owners = {f: FAULTS[f].detected_by for f in FLEET_FAULTS}
    assert owners == {
        "channel-per-thread-not-user": ("backplane-isolation",),
        "duplicate-delivery": ("cross-instance-delivery",),
        "local-only-emit": ("cross-instance-delivery",),
        "no-resubscribe-after-reconnect": ("backplane-resilience",),
    }


def test_the_healthy_fleet_passes_every_check(redis_url):
    results = run_fleet(backplane=redis_url)
    assert all(r.status is Status.PASS for r in results.values()), describe(results)
    resilience = results["backplane-resilience"]
    assert "0 duplicates" in resilience.summary
    [events] = [e for e in resilience.evidence if e.kind == "events"]
    assert events.data["recovered_after_s"] < RECOVERY_S


@pytest.mark.parametrize("fault", FLEET_FAULTS)
def test_each_fleet_fault_is_caught_by_its_owner_alone(fault, redis_url):
    """The owner fails; no other check fails or errs (the single-process checks, event-flow
    included, cannot see a defect that acts only between instances)."""
    results = run_fleet(fault, backplane=redis_url)
    failing = {k for k, r in results.items() if r.status is Status.FAIL}
    assert failing == set(FAULTS[fault].detected_by), describe(results)
    errors = [r for r in results.values() if r.status is Status.ERROR]
    assert not errors, describe(results)
