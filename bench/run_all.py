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

BENCHMARKS = (
    "tactical_bench.py",
    "bench_tactical_kernel.py",
    "bench_tactical_scale.py",
    "strategic_bench.py",
    "broker_bench.py",
    "live_bench.py",
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
    for name in args.only or BENCHMARKS:
        cmd = [sys.executable, str(here / name), *(["--quick"] if args.quick else [])]
        print(f"\n===== {name} ({time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}) =====")
        sys.stdout.flush()
        if subprocess.run(cmd, check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
