"""Detection cycle time vs aircraft count: one process, and tile-sharded on Ray (1 and 2 workers).

Run:  .venv/bin/python bench/bench_tactical_scale.py [--quick]

Traffic: ``tactical_bench.traffic`` (one aircraft per 250 NM^2 around 45 N 10 E, the whole globe
at 10^6). For every N the single-process kernel (``detect_arrays``, warmed up) and
``detect_arrays_ray`` with ``ray.init(num_cpus=W)`` for W = 1, 2 run in fresh child processes;
each prints its best wall time over a few repeats (after one untimed warm-up cycle), and the
tiled answer is checked to be identical to the single-process one.

The model for 10^6 and 10^7 aircraft on 8- and 64-node clusters is computed from these
measurements and printed as a model, not a measurement (see ``model`` below).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import fields

import numpy as np

from deconflict.tactical import detect_arrays, warm_up
from deconflict.tactical.sharded import detect_sharded, plan_tiles
from tactical_bench import COLUMNS, traffic

REPEATS = {1_000: 20, 10_000: 10, 100_000: 3, 1_000_000: 2}


def child(n: int, workers: int) -> dict[str, float]:
    t = traffic(n, seed=n)
    cols = [np.ascontiguousarray(t[c]) for c in COLUMNS]
    warm_up()
    if workers == 0:
        detect_arrays(*cols)
        best = min(_timed(lambda: detect_arrays(*cols)) for _ in range(REPEATS[n]))
        found = detect_arrays(*cols)
        # halo overhead of tiling (members / aircraft) for the model, 16 tiles
        jobs = plan_tiles(cols[0], cols[1], cols[3], cols[4], 16)
        halo = sum(j.members.shape[0] for j in jobs) / n
        start = time.perf_counter()
        local = detect_sharded(*cols, n_tiles=16)
        tiled_s = time.perf_counter() - start
        same = all(
            np.array_equal(getattr(local, f.name), getattr(found, f.name)) for f in fields(found)
        )
        return {
            "best_s": best,
            "pairs": len(found),
            "halo": halo,
            "tiled16_s": tiled_s,
            "same": float(same),
        }
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    from deconflict.cluster.ray_detect import TILES_PER_WORKER, detect_arrays_ray

    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        tiles = TILES_PER_WORKER * workers
        detect_arrays_ray(*cols, n_tiles=tiles)  # warm-up: worker start and kernel cache load
        best = min(
            _timed(lambda: detect_arrays_ray(*cols, n_tiles=tiles)) for _ in range(REPEATS[n])
        )
        found = detect_arrays_ray(*cols, n_tiles=tiles)
        single = detect_arrays(*cols)
        same = all(
            np.array_equal(getattr(single, f.name), getattr(found, f.name)) for f in fields(found)
        )
        return {"best_s": best, "pairs": len(found), "same": float(same)}
    finally:
        ray.shutdown()


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def model(rows: dict[tuple[int, int], dict[str, float]]) -> list[str]:
    """Cluster model: per-aircraft cost x halo x aircraft / cores + transfer + scheduling.

    * per-aircraft cost ``c``: the measured single-process cycle at 10^6 divided by 10^6 (global
      traffic, one aircraft per 149 NM^2). At 10^7 aircraft on the same globe the density is 10x,
      and the pair work per aircraft grows with density: ``c`` is scaled by the measured growth
      from 10^5 to 10^6 (which also raised the density) extrapolated once more (stated).
    * halo factor ``h``: measured members/aircraft of 16 tiles at 10^6.
    * 8 cores per node; tiles = 2 per core.
    * transfer: every node receives its tiles' columns (48 B per member) and returns its pairs,
      over 10 Gbit/s (1.25 GB/s) links, in parallel; the driver's link is the bottleneck for the
      scatter (N x h x 48 B) and gather (pairs x 88 B).
    * scheduling: 2 ms per task round on Ray (measured order of magnitude: first remote tasks
      0.02 s for hundreds of tasks), one round.
    """
    out = []
    big = rows.get((1_000_000, 0))
    mid = rows.get((100_000, 0))
    if not big or not mid:
        return ["# model needs the 10^5 and 10^6 single-process rows (run without --quick)"]
    c6 = big["best_s"] / 1e6
    growth = (big["best_s"] / 1e6) / (mid["best_s"] / 1e5)
    c7 = c6 * growth
    h = big.get("halo", 1.2)
    pairs_per_ac = big["pairs"] / 1e6
    out.append(
        f"# MODEL (not measured): c(10^6) = {c6 * 1e9:.0f} ns/aircraft/core, "
        f"c(10^7) = {c7 * 1e9:.0f} ns (x{growth:.2f} per 10x density), halo factor {h:.2f}, "
        "8 cores/node, 1.25 GB/s links, 2 ms scheduling"
    )
    for n, c in ((1_000_000, c6), (10_000_000, c7)):
        pairs = pairs_per_ac * n * (1 if n == 1_000_000 else growth)
        for nodes in (8, 64):
            cores = 8 * nodes
            compute = c * n * h / cores
            transfer = (n * h * 48 + pairs * 88) / 1.25e9
            total = compute + transfer + 0.002
            out.append(
                f"#   N={n:>10,} on {nodes:>2} nodes ({cores:>3} cores): compute {compute:.3f} s "
                f"+ transfer {transfer:.3f} s + scheduling 0.002 s = {total:.3f} s per cycle"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="stop at 10^5")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    print(f"# bench_tactical_scale  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"# machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}"
    )
    sizes = [1_000, 10_000, 100_000] + ([] if args.quick else [1_000_000])
    rows: dict[tuple[int, int], dict[str, float]] = {}
    failed = False
    print(f"{'N':>10} {'engine':>14} {'best s':>9} {'pairs':>8} {'same answer':>12}")
    for n in sizes:
        for workers in (0, 1, 2):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(n), str(workers)],
                check=False,
                capture_output=True,
                text=True,
                env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"},
            )
            if out.returncode != 0:
                tail = " | ".join(out.stderr.strip().splitlines()[-3:])
                print(f"{n:>10,} workers={workers}: FAILED ({tail})")
                failed = True
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows[(n, workers)] = row
            engine = (
                "one process" if workers == 0 else f"Ray {workers} worker" + "s" * (workers > 1)
            )
            print(
                f"{n:>10,} {engine:>14} {row['best_s']:>9.4f} {int(row['pairs']):>8,} "
                f"{bool(row['same'])!s:>12}"
            )
            sys.stdout.flush()
    for line in model(rows):
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
