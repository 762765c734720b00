"""Run every benchmark in ``bench/`` one after another and print their reports.

Usage: ``python bench/run_all.py [--quick]`` (``make bench`` runs the full set). Each benchmark
prints its own table and its ratio against a reference measured in the same run; this script
only sequences them so that they never compete for the two cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

LIVE_100K: tuple[str, ...] = ("live_bench.py", "--aircraft", "100000", "--parties", "10")
"""The issue-14 live load: 100,000 aircraft of 10 parties."""

BENCHMARKS: tuple[str | tuple[str, ...], ...] = (
    "tactical_bench.py",
    "bench_tactical_kernel.py",
    "bench_tactical_scale.py",
    "strategic_bench.py",
    "broker_bench.py",
    "live_bench.py",
    # issue 14: 100,000 aircraft of 10 parties, the cycle in its own process, then in a thread
    (*LIVE_100K, "--seconds", "40", "--detector", "process"),
    (*LIVE_100K, "--seconds", "40", "--detector", "thread"),
    # the same load on PostgreSQL (a throwaway cluster, default durability): one leader that
    # only detects and two --no-lead replicas that take the posts
    (*LIVE_100K, "--seconds", "30", "--db", "pg", "--replicas", "3"),
    "ledger_bench.py",
    "dashboard_bench.py",
    "bench_daa.py",
    "bench_readers.py",
    "bench_private.py",
    "adversarial_bench.py",
    "bench_replicas.py",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument("only", nargs="*", help="benchmark file names to run (default: all)")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    failed: list[str] = []
    runs = [(e,) if isinstance(e, str) else e for e in BENCHMARKS]
    if args.only:
        runs = [r for r in runs if r[0] in args.only]
    for name, *extra in runs:
        # --quick shrinks every run (live_bench: 2,000 aircraft whatever --aircraft says)
        cmd = [sys.executable, str(here / name), *extra, *(["--quick"] if args.quick else [])]
        shown = " ".join([name, *extra])
        print(f"\n===== {shown} ({time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}) =====")
        sys.stdout.flush()
        if subprocess.run(cmd, check=False).returncode != 0:
            failed.append(shown)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
