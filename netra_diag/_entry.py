"""The console script's entry point: SIGINT and SIGTERM are remembered from the first instant
(``interrupts.install_deferred``), before the CLI and its libraries are imported, so that an
early interrupt ends in exit 2 with the run's reports, never in a default death (143)."""

from __future__ import annotations

import sys

from . import interrupts


def main() -> None:
    interrupts.install_deferred()
    if sys.argv[1:2] in (["run"], ["probe"]):
        from .checkserver import prestart

        prestart(sys.argv)  # before the CLI's imports, so that the server's overlap them
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # pragma: no cover - python -m netra_diag uses __main__.py
    sys.exit(main())
