"""The built-in checks, installed as ``netra_diag_checks`` (never as a bare ``checks``).

Each module holds one check. Inside this package, import siblings relatively and the core
as ``netra_diag``. ``BUILTIN_MODULES`` lists the modules the registry loads, in chain order.
"""

BUILTIN_MODULES: tuple[str, ...] = (
    "import_chain",
    "emitter_methods",
    "registry_wiring",
    "engine_factory",
    "deprecation_warnings",
    "context_identity",
    "event_flow",
    "user_isolation",
    "event_latency",
    # the fleet (opt-in: skipped without a backplane or several probed instances)
    "cross_instance_delivery",
    "backplane_isolation",
    "backplane_resilience",
)
