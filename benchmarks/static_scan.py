"""`init` and `run --static` on a realistic 3,000-module tree, beside grep, in the same run.

Generates the tree of ``realistic_tree.py`` (modules of real sizes, the pipeline's words
everywhere, decoys), then prints, as medians of interleaved repeats (so every figure sees the
same machine state):

* the baseline: ``grep -rlF --include=*.py`` of the names the static checks look for;
* ``init``'s scan in this process (cold: no cache; cached: an unchanged tree), and the whole
  ``netra-diag init`` command, interpreter start-up included;
* ``netra-diag run --static``, cold (a fresh cache folder: one shared scan, then the checks)
  and cached (the same tree again);
* ``init``'s role precision against the tree's known truth: each role right, wrong or a
  TODO (with its candidates), decoys activated, deprecated entries activated;
* where a cached ``run --static`` spends its time (medians of one more cached run per
  repeat, not among the timed ones): the parent's phases, when the check server was warm,
  and each check's phases.

The commands run as an installed tool does, from bytecode: ``PYTHONDONTWRITEBYTECODE`` is
dropped from their environment (with it, an editable install compiles every module of the
tool again on every run), and the script says so.

Budgets (issues 10 and 13): ``init`` <= 2 s; ``run --static`` <= 1.5 s or 10x grep,
whichever is larger; a cached re-run <= 3x grep. They are judged and printed, not asserted.

Usage: python benchmarks/static_scan.py [--modules N] [--repeat R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import realistic_tree
from _timing import netra_diag
from run_time import phases, print_phases, timed_run


def _grep(src: Path, needles: list[str]) -> float:
    argv = ["grep", "-rlF", "--include=*.py"]
    for n in needles:
        argv += ["-e", n]
    t0 = time.perf_counter()
    subprocess.run([*argv, str(src)], capture_output=True, check=False)
    return time.perf_counter() - t0


def _command(argv: list[str], cache_home: Path, ok: tuple[int, ...] = (0, 1)) -> float:
    env = {**os.environ, "NO_COLOR": "1", "XDG_CACHE_HOME": str(cache_home)}
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          timeout=600, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-800:]!r}")
    return elapsed


def _init_in_process(src: Path, cache: bool):
    from netra_diag.init_proposal import infer_profile

    t0 = time.perf_counter()
    proposal = infer_profile(src, cache=cache)
    return time.perf_counter() - t0, proposal


def precision(proposal) -> list[str]:
    """Lines judging ``proposal`` against ``realistic_tree.TRUTH`` and its decoys."""
    lines = []
    right = wrong = todo_ok = todo_missed = 0
    for role, truth in realistic_tree.TRUTH.items():
        choice = proposal.roles.get(role)
        got = choice.entry if choice else None
        if got is None:
            candidates = len(proposal.candidates.get(role, []))
            verdict = "TODO (right: a TODO is the truth)" if truth is None else \
                "TODO (missed: the truth is " + truth + ")"
            todo_ok += truth is None
            todo_missed += truth is not None
            lines.append(f"  {role:16} {verdict}; {candidates} candidate(s) listed")
        elif got == truth:
            right += 1
            lines.append(f"  {role:16} right   {got}")
        else:
            wrong += 1
            lines.append(f"  {role:16} WRONG   {got} (truth: {truth or 'a TODO'})")
    activated = {c.entry for c in proposal.roles.values()}
    decoys = sorted(activated & realistic_tree.DECOYS)
    active = {d.entry: d.replacement for d in proposal.deprecated if d.active}
    inactive = [d for d in proposal.deprecated if not d.active]
    dep_right = active == realistic_tree.PIPELINE_DEPRECATED
    total = right + wrong
    lines.insert(0, f"role precision: {right}/{total} activated roles right, {wrong} wrong; "
                 f"{todo_ok} right TODO(s), {todo_missed} missed role(s); "
                 f"{len(decoys)} decoy(s) activated{': ' + ', '.join(decoys) if decoys else ''}")
    which = "exactly the pipeline ones" if dep_right else \
        "NOT the pipeline ones: " + ", ".join(sorted(active))
    lines.append(f"deprecated: {len(active)} activated ({which}), "
                 f"{len(inactive)} listed commented out "
                 f"(tree: {len(realistic_tree.PIPELINE_DEPRECATED)} pipeline, "
                 f"{realistic_tree.UNRELATED_DEPRECATED} unrelated)")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        print("note: PYTHONDONTWRITEBYTECODE was set; the commands run without it, from "
              "bytecode, as an installed tool does")
    tmp = tempfile.TemporaryDirectory(prefix="netra-diag-bench-")
    base = Path(tmp.name)
    root = args.keep or base / "tree"
    if args.keep:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        realistic_tree.generate(root, args.modules)
        src = root / "src"
        files = list(src.rglob("*.py"))
        lines = sum(p.read_bytes().count(b"\n") for p in files)
        print(f"generated {len(files)} modules, {lines:,} lines "
              f"({sum(p.stat().st_size for p in files) / 2**20:.0f} MiB) in "
              f"{time.perf_counter() - t0:.1f} s under {root}; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}")
        from netra_diag.profile import load_profile
        from netra_diag.support.snapshot import profile_needles

        needles = profile_needles(load_profile(root / "netra-diag.yaml"))
        cached_home = base / "cache-warm"
        exe = netra_diag()
        init_argv = [*exe, "init", str(base / "out"), "--root", str(src), "--force"]
        static_argv = [*exe, "run", str(root), "--static", "--format", "json"]
        (base / "out").mkdir()
        _grep(src, needles)  # warm the page cache for every contender
        os.environ["XDG_CACHE_HOME"] = str(cached_home)
        _init_in_process(src, cache=True)
        _command(init_argv, cached_home)
        _command(static_argv, cached_home)
        rows: dict[str, list[float]] = {}
        samples: list[tuple[dict, dict]] = []
        warm: list[float] = []
        proposal = None
        for i in range(args.repeat):  # interleaved, so all see the same machine state
            cold_home = base / f"cache-cold-{i}"
            rows.setdefault("grep -rlF (the checks' names)", []).append(_grep(src, needles))
            elapsed, proposal = _init_in_process(src, cache=False)
            rows.setdefault("init scan, in process, cold", []).append(elapsed)
            rows.setdefault("init scan, in process, cached", []).append(
                _init_in_process(src, cache=True)[0])
            rows.setdefault("netra-diag init, cold", []).append(
                _command(init_argv, cold_home))
            rows.setdefault("netra-diag init, cached", []).append(
                _command(init_argv, cached_home))
            rows.setdefault("netra-diag run --static, cold", []).append(
                _command(static_argv, cold_home))
            rows.setdefault("netra-diag run --static, cached", []).append(
                _command(static_argv, cached_home))
            _, marks = timed_run(static_argv, (0, 1))  # phases: one more run, not timed
            samples.append(phases(marks))
            warm += [r["t"] for r in marks if r["role"] == "server" and r["phase"] == "warm"]
        grep = statistics.median(rows["grep -rlF (the checks' names)"])
        print(f"{'figure':36} {'median':>9} {'min':>9} {'max':>9} {'x grep':>8}")
        for name, times in rows.items():
            med = statistics.median(times)
            print(f"{name:36} {med * 1000:7.0f}ms {min(times) * 1000:7.0f}ms "
                  f"{max(times) * 1000:7.0f}ms {med / grep:7.1f}x")
        med = {k: statistics.median(v) for k, v in rows.items()}
        static_budget = max(1.5, 10 * grep)
        print(f"budgets: init cold {med['netra-diag init, cold']:.2f} s "
              f"({'meets' if med['netra-diag init, cold'] <= 2 else 'misses'} 2 s); "
              f"run --static cold {med['netra-diag run --static, cold']:.2f} s "
              f"({'meets' if med['netra-diag run --static, cold'] <= static_budget else 'misses'}"
              f" {static_budget:.2f} s); cached run --static "
              f"{med['netra-diag run --static, cached'] / grep:.1f}x grep "
              f"({'meets' if med['netra-diag run --static, cached'] <= 3 * grep else 'misses'} "
              f"3x; in-process init scan cached: "
              f"{med['init scan, in process, cached'] / grep:.1f}x grep)")
        print_phases("netra-diag run --static, cached", samples)
        if warm:
            print(f"  check server warm (from the spawn) {statistics.median(warm) * 1000:.0f}")
        assert proposal is not None
        print(f"init read {proposal.files} files and parsed {proposal.parsed}")
        for line in precision(proposal):
            print(line)
    finally:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
