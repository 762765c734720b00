"""Tactical kernel on one core: N = 10^4, 10^5, 10^6, per-call overhead, ratio against BlueSky.

Run:  NUMBA_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/bench_tactical_kernel.py [--quick]
      [--no-bluesky] [--tuned-malloc]

N = 10,000 runs twice: as is (no environment tuning: the figure the target applies to) and with
``TUNED_MALLOC`` as a comparison row ("10,000 tuned"); ``--tuned-malloc`` tunes every size
instead. The N = 10,000 child also checks the pair set against the numpy oracle.

Single thread (``NUMBA_NUM_THREADS=1`` is set for this process and its children). Every size runs
in a fresh child process on ``tactical_bench.traffic`` (dense traffic, ~1,350 conflicts per
10,000 aircraft counted in both directions as BlueSky does, 666 unordered pairs); the kernel is
loaded by ``warm_up`` outside the timed region (the load time is printed). Reported per size:
best wall and best CPU seconds of ``detect_arrays`` (process CPU time), pairs and peak RSS.

Per-call overhead on a 20-aircraft snapshot: median of ``detect_arrays`` (column arrays),
``detect`` (a validated DataFrame in, a DataFrame out) and the per-snapshot cost of ``detect`` on
one multi-snapshot table (1,000 snapshots of 20 aircraft with a ``time`` column: one validation,
the kernel per snapshot), i.e. a replay.

BlueSky 1.1.1's compiled ``CStateBased`` detector runs in this process on the same N = 10,000
traffic (altitudes jittered +-30 ft), see ``tactical_bench.compare_with_bluesky``; the ratio
uses both sides' best CPU and wall time from this run.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from deconflict.tactical import detect, detect_arrays, detect_arrays_numpy, warm_up
from tactical_bench import COLUMNS, compare_with_bluesky, traffic

REPEATS = {10_000: 30, 100_000: 7, 1_000_000: 3}
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "67108864", "MALLOC_TRIM_THRESHOLD_": "268435456"}
"""glibc settings that keep freed kernel temporaries in the heap instead of returning them to the
OS (which makes every call fault its pages in again: ~1 ms of 7 at N = 10,000 on this VM)."""
TARGETS_S = {10_000: 0.006, 1_000_000: 1.2}


def cpu_model() -> str:
    """The ``model name`` of the first CPU (as ``lscpu`` prints it)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def child(n: int) -> dict[str, float]:
    """Best wall and CPU seconds of ``detect_arrays`` on ``n`` aircraft, in this fresh process."""
    t = traffic(n, seed=n)
    cols = [np.ascontiguousarray(t[c]) for c in COLUMNS]
    start = time.perf_counter()
    warm_up()
    load_s = time.perf_counter() - start
    detect_arrays(*cols)  # untimed first run (page faults of the first allocation)
    wall, cpu = [], []
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(REPEATS[n]):
        w0, c0 = time.perf_counter(), time.process_time()
        found = detect_arrays(*cols)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / REPEATS[n]
    oracle: dict[str, float] = {}
    if n <= 10_000:
        # the numpy oracle (libm trigonometry, as the kernel before session 4): same pair set?
        ref = detect_arrays_numpy(*cols)
        same = bool(np.array_equal(ref.i, found.i) and np.array_equal(ref.j, found.j))
        oracle = {
            "oracle_same_pairs": float(same),
            "oracle_max_dt_s": float(np.max(np.abs(ref.t_in_s - found.t_in_s))) if same else -1.0,
            "oracle_max_dhmd_nm": float(np.max(np.abs(ref.hmd_nm - found.hmd_nm)))
            if same
            else -1.0,
        }
    return {
        "n": n,
        "best_wall_s": min(wall),
        "median_wall_s": float(np.median(wall)),
        "best_cpu_s": min(cpu),
        "pairs": len(found),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "warm_up_s": load_s,
        "minor_faults_per_call": faults,
        **oracle,
    }


def _median_s(fn: Callable[[], object], calls: int) -> float:
    fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def overheads() -> dict[str, float]:
    """Median seconds per call on 20 aircraft, and per snapshot of a 1,000-snapshot table."""
    t = traffic(20, seed=7)
    cols = [np.ascontiguousarray(t[c]) for c in COLUMNS]
    frame = pd.DataFrame({"id": [f"AC{k:02d}" for k in range(20)]})
    for c in COLUMNS:
        frame[c] = t[c]
    # the same 20 aircraft squeezed into a small box at two levels: some conflicts to report
    busy = frame.assign(
        lat=46.0 + (frame["lat"] - frame["lat"].mean()) * 0.5,
        lon=8.0 + (frame["lon"] - frame["lon"].mean()) * 0.5,
        alt_ft=np.where(np.arange(20) % 2 == 0, 35000.0, 36000.0),
        vs_fpm=0.0,
    )
    snapshots = 1000
    replay = pd.concat(
        [frame.assign(time=k, lat=frame["lat"] + 0.001 * (k % 7)) for k in range(snapshots)],
        ignore_index=True,
    )
    start = time.perf_counter()
    found = detect(replay)
    replay_s = time.perf_counter() - start
    start = time.perf_counter()
    detect(replay)
    replay_s = min(replay_s, time.perf_counter() - start)
    return {
        "detect_arrays_s": _median_s(lambda: detect_arrays(*cols), 3000),
        "detect_s": _median_s(lambda: detect(frame), 1000),
        "detect_busy_s": _median_s(lambda: detect(busy), 1000),
        "busy_rows": float(len(detect(busy))),
        "empty_frame_s": _median_s(pd.DataFrame, 1000),
        "replay_per_snapshot_s": replay_s / snapshots,
        "replay_rows": float(len(found)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="stop at 10^5")
    parser.add_argument("--no-bluesky", action="store_true", help="skip the BlueSky comparison")
    parser.add_argument(
        "--tuned-malloc",
        action="store_true",
        help="run the size children with TUNED_MALLOC in their environment",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    print(f"# bench_tactical_kernel  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"# machine: {cpu_model()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}"
    )
    warm_up()
    over = overheads()
    print(
        f"# 20 aircraft, median per call: detect_arrays {over['detect_arrays_s'] * 1e3:.4f} ms, "
        f"detect (DataFrame in and out) {over['detect_s'] * 1e3:.3f} ms (no conflict), "
        f"{over['detect_busy_s'] * 1e3:.3f} ms ({int(over['busy_rows'])} conflict rows); replay "
        f"of 1,000 snapshots in one table: {over['replay_per_snapshot_s'] * 1e3:.4f} ms per "
        f"snapshot ({int(over['replay_rows'])} conflict rows); target <= 0.1 ms; pandas floor: "
        f"pd.DataFrame() {over['empty_frame_s'] * 1e3:.3f} ms"
    )
    sizes = [10_000, 100_000] + ([] if args.quick else [1_000_000])
    if args.tuned_malloc:
        print(f"# size children run with {TUNED_MALLOC}")
    print(
        f"{'N':>16} {'best wall s':>12} {'median wall s':>14} {'best CPU s':>11} {'pairs':>8} "
        f"{'peak RSS MB':>12} {'warm-up s':>10} {'target':>9} {'faults/call':>8}"
    )
    rows: dict[int, dict[str, float]] = {}
    # N = 10,000 once more with the tuned allocator as a comparison row (unless all are tuned)
    runs = [(n, args.tuned_malloc) for n in sizes]
    if not args.tuned_malloc:
        runs.insert(1, (10_000, True))
    for n, tuned in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "NUMBA_NUM_THREADS": "1", **(TUNED_MALLOC if tuned else {})},
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        if not tuned or args.tuned_malloc:
            rows[n] = row
        target = TARGETS_S.get(n)
        verdict = (
            "-" if target is None else f"{'met' if row['best_cpu_s'] <= target else 'NOT met'}"
        )
        label = f"{n:,}" + (" tuned" if tuned and not args.tuned_malloc else "")
        print(
            f"{label:>16} {row['best_wall_s']:>12.4f} {row['median_wall_s']:>14.4f} "
            f"{row['best_cpu_s']:>11.4f} {int(row['pairs']):>8,} {row['peak_rss_mb']:>12.0f} "
            f"{row['warm_up_s']:>10.2f} {verdict:>9} {row['minor_faults_per_call']:>8.0f}"
        )
        if "oracle_same_pairs" in row:
            same = "identical to" if row["oracle_same_pairs"] else "DIFFERENT from"
            print(
                f"# N={n:,}: pair set {same} the numpy oracle's (libm trigonometry); max "
                f"|dt_in| {row['oracle_max_dt_s']:.2e} s, max |dhmd| "
                f"{row['oracle_max_dhmd_nm']:.2e} NM"
            )
        sys.stdout.flush()
    if not args.no_bluesky:
        try:
            import bluesky.traffic.asas.cstatebased  # noqa: F401
        except ImportError as exc:
            print(f"# BlueSky not installed ({exc}): pip install -e '.[bench]'")
            return 0
        cmp = compare_with_bluesky(10_000, compiled=True)
        print(
            f"# BlueSky 1.1.1 CStateBased, N=10,000 (altitudes jittered +-30 ft), same run: "
            f"ours {cmp['ours_best_s'] * 1e3:.2f} ms wall / {cmp['ours_best_cpu_s'] * 1e3:.2f} ms "
            f"CPU, BlueSky {cmp['bluesky_s']:.3f} s wall / {cmp['bluesky_cpu_s']:.3f} s CPU: "
            f"ratio {cmp['ratio']:.0f}x wall, {cmp['ratio_cpu']:.0f}x CPU (target >= 400x); pairs "
            f"ours {cmp['ours_pairs']}, BlueSky {cmp['bluesky_pairs']}, both {cmp['both']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
