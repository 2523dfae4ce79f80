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


FLEET_CHECKS = {"cross-instance-delivery", "backplane-isolation", "backplane-resilience"}


def run_fleet(*faults: str, backplane: str, fleet_only: bool = False) -> dict:
    """The built-in checks on the reference (``fleet_only``: the fleet checks), the fleet
    checks on ``backplane``, handed to the check interpreters in an environment variable
    exactly as ``run --backplane`` does."""
    registry = Registry()
    registry.load_builtin()
    specs = [s for s in registry.specs if not fleet_only or s.id in FLEET_CHECKS]
    with open_target(None, inject=faults) as target, private_env(BACKPLANE_ENV, backplane):
        profile = replace(target.profile, budgets={**target.profile.budgets,
                                                   "backplane_recovery_s": RECOVERY_S})
        outcome = Runner(profile, timeout_s=30, options={"backplane_env": BACKPLANE_ENV}
                         ).run(specs)
    return {r.id: r for r in outcome.results}


def describe(results: dict) -> str:
    return "\n".join(f"{r.id}: {r.status.value}: {r.full_summary}" for r in results.values())


def test_the_fleet_faults_are_declared_with_their_owner():
    owners = {f: FAULTS[f].detected_by for f in FLEET_FAULTS}
    assert owners == {
        "channel-per-thread-not-user": ("backplane-isolation",),
        "duplicate-delivery": ("cross-instance-delivery",),
        "local-only-emit": ("cross-instance-delivery",),
        "no-resubscribe-after-reconnect": ("backplane-resilience",),
    }


def test_the_healthy_fleet_passes_every_fleet_check(redis_url):
    """(The single-process checks on the healthy reference: test_fault_matrix.py.)"""
    results = run_fleet(backplane=redis_url, fleet_only=True)
    assert set(results) == FLEET_CHECKS
    assert all(r.status is Status.PASS for r in results.values()), describe(results)
    resilience = results["backplane-resilience"]
    assert "0 duplicates" in resilience.full_summary
    [events] = [e for e in resilience.evidence if e.kind == "events"]
    assert events.data["recovered_after_s"] < RECOVERY_S
    # the drop is said: how many connections, found how, and how far the run had got
    [drop] = [e.message for e in resilience.evidence if e.message.startswith("dropped ")]
    assert "Redis connection(s) of the fleet with CLIENT KILL" in drop, drop
    assert "by their client name" in drop and "instance A had" in drop, drop


@pytest.mark.parametrize("fault", FLEET_FAULTS)
def test_each_fleet_fault_is_caught_by_its_owner_alone_among_the_fleet_checks(fault,
                                                                              redis_url):
    """The owner fails; the other fleet checks neither fail nor err."""
    results = run_fleet(fault, backplane=redis_url, fleet_only=True)
    assert set(results) == FLEET_CHECKS
    failing = {k for k, r in results.items() if r.status is Status.FAIL}
    assert failing == set(FAULTS[fault].detected_by), describe(results)
    errors = [r for r in results.values() if r.status is Status.ERROR]
    assert not errors, describe(results)


def test_no_single_process_check_sees_the_fleet_faults(redis_url):
    """Every fleet fault at once (they touch disjoint text), every check: only the fleet
    checks fail; the single-process checks, event-flow included, pass (they cannot see a
    defect that acts only between instances, so none is blamed for it)."""
    results = run_fleet(*FLEET_FAULTS, backplane=redis_url)
    single = {k: r for k, r in results.items() if k not in FLEET_CHECKS}
    assert single and all(r.status is Status.PASS for r in single.values()), describe(results)
    assert results["cross-instance-delivery"].status is Status.FAIL, describe(results)
