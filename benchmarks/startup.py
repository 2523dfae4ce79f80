"""CLI start-up: median wall time of `netra-diag --help` and `netra-diag list`, beside a bare
`python -c pass` measured in the same run. Goal: --help within 100 ms of the bare interpreter.

`list` reads the built-in checks' metadata from the manifest cache (netra_diag/manifest.py);
the first run after an install or an edit of a check builds it, so the first sample of a
fresh install is slower: the figures are medians.

Usage: python benchmarks/startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from _timing import netra_diag, report, time_command


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    cli = netra_diag()
    rows = [
        ("python -c pass", time_command([sys.executable, "-c", "pass"], args.repeat)),
        ("netra-diag --help", time_command([*cli, "--help"], args.repeat)),
        ("netra-diag list", time_command([*cli, "list"], args.repeat)),
        ("netra-diag list --format json", time_command([*cli, "list", "--format", "json"],
                                                       args.repeat)),
    ]
    report(rows, baseline="python -c pass")
    gap = statistics.median(rows[1][1]) - statistics.median(rows[0][1])
    verdict = "meets" if gap <= 0.100 else "misses"
    print(f"--help is {gap * 1000:.0f} ms over a bare interpreter: {verdict} the 100 ms goal")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
