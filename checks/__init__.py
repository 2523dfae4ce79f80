"""The built-in checks, installed as ``netra_diag_checks`` (never as a bare ``checks``).

Each module holds one check, and the registry loads every module here (``_``-prefixed
modules are helpers, never loaded as checks): adding a check is adding a file. Where it
sits along the chain is its own ``@check(order=...)``. Inside this package, import siblings
relatively and the core as ``netra_diag``.
"""
