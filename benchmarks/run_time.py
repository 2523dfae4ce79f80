"""A whole diagnosis: median wall time of `netra-diag run --format json` on the healthy and the
incident reference, beside `python -c pass` in the same run. Goal: under 1.5 s on 2 cores.

Usage: python benchmarks/run_time.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from _timing import netra_diag, report, time_command


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    cli = netra_diag()
    rows = [
        ("python -c pass", time_command([sys.executable, "-c", "pass"], args.repeat)),
        ("run --format json (healthy)", time_command([*cli, "run", "--format", "json"],
                                                     args.repeat)),
        ("run --format json --scenario incident",
         time_command([*cli, "run", "--format", "json", "--scenario", "incident"], args.repeat,
                      ok_codes=(1,))),
    ]
    report(rows, baseline="python -c pass")
    worst = max(statistics.median(t) for _, t in rows[1:])
    print(f"slowest median {worst:.2f} s: {'meets' if worst < 1.5 else 'misses'} the 1.5 s goal")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
