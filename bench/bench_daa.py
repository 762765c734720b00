"""Benchmark of DO-365B alerting and bands (deconflict.daa), beside NASA DAIDALUS v2.0.4.

Run:  .venv/bin/python bench/bench_daa.py [--quick] [--bands-only] [--daidalus-jar PATH]

1. **Levels for all pairs** of one snapshot of N = 10,000 aircraft (seeded en-route traffic,
   one aircraft per 250 NM^2 around 45 N 10 E, 250-550 kt, 25 % climbing or descending,
   random alerters): pair search (tactical k-d tree broad phase) + every level's loss interval
   for both directions of each candidate pair. Target: <= 50 ms.
2. **Bands per aircraft** against 5 intruders converging on it (30-90 s to CPA, seeded; the
   same geometry as ``bench/daidalus/DaaTiming.java``): track, ground speed, vertical speed and
   altitude bands, DO-365B kinematic and cylinder instantaneous. Target: <= 2 ms.
3. **DAIDALUS**: when ``--daidalus-jar`` (or ``$DECONFLICT_DAIDALUS_JAR``) points to a built
   ``DAIDALUSv2.0.4.jar`` and ``javac`` is present, ``DaaTiming.java`` is compiled in a temp
   directory and run on the same scenario (``DO_365B_no_SUM.conf`` found beside the jar or via
   ``--daidalus-conf``); otherwise the comparison is skipped and says so. DAIDALUS computes one
   ownship at a time, so its all-pairs figure is its per-pair alerting time x ordered pairs.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from deconflict.daa import CYLINDER, DO365B, Profile, States, alert_pairs
from deconflict.daa.alerting import (
    candidate_ordered_pairs,
    candidate_ordered_pairs_broad,
    evaluate_pairs,
)
from deconflict.daa.bands import compute_bands, compute_bands_numpy

EARTH_RADIUS_NM = 6371008.8 / 1852.0
KT = 1852.0 / 3600.0


def traffic(n: int, seed: int, area_per_aircraft_nm2: float = 250.0) -> States:
    """Seeded en-route traffic (see the module docstring)."""
    rng = np.random.default_rng(seed)
    total_nm2 = 4 * math.pi * EARTH_RADIUS_NM**2
    frac = min(n * area_per_aircraft_nm2 / total_nm2, 1.0)
    cz = rng.uniform(1.0 - 2.0 * frac, 1.0, n)
    phi = rng.uniform(0.0, 2 * math.pi, n)
    s = np.sqrt(1.0 - cz * cz)
    x, y, z = s * np.cos(phi), s * np.sin(phi), cz
    tilt = math.radians(45.0)
    x, z = x * math.cos(tilt) + z * math.sin(tilt), -x * math.sin(tilt) + z * math.cos(tilt)
    turn = math.radians(10.0)
    x, y = x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)
    lat = np.degrees(np.arcsin(np.clip(z, -1.0, 1.0)))
    lon = np.degrees(np.arctan2(y, x))
    climbing = rng.random(n) < 0.25
    alt = np.where(climbing, rng.uniform(3000, 40000, n), rng.integers(100, 411, n) * 100.0)
    vs = np.where(climbing, rng.choice([-1, 1], n) * rng.uniform(500, 3000, n), 0.0)
    return States.from_arrays(
        lat, lon, alt, rng.uniform(250, 550, n), rng.uniform(0, 360, n), vs, rng.integers(1, 4, n)
    )


def encounter(rng: np.random.Generator, k: int) -> States:
    """Ownship at 45 N 10 E, 300 kt east, FL100, and ``k`` intruders converging on it."""
    lat, lon, alt, gs, trk = [45.0], [10.0], [10000.0], [300.0], [90.0]
    for _ in range(k):
        tcpa = 30 + 60 * rng.random()
        t = 360 * rng.random()
        g = 150 + 300 * rng.random()
        ex = 300 * KT * tcpa
        vx, vy = g * KT * math.sin(math.radians(t)), g * KT * math.cos(math.radians(t))
        x, y = ex - vx * tcpa, -vy * tcpa
        lat.append(45.0 + y / 111132.0)
        lon.append(10.0 + x / (111320.0 * math.cos(math.radians(45.0))))
        alt.append(10000 + 600 * (rng.random() - 0.5))
        gs.append(g)
        trk.append(t)
    n = k + 1
    return States.from_arrays(lat, lon, alt, gs, trk, np.zeros(n), np.ones(n, dtype=np.int64))


def timed(fn: object, repeats: int) -> float:
    """Median wall time (ms) of ``fn()`` over ``repeats`` runs (after one warm-up)."""
    return timed_both(fn, repeats)[0]


def timed_both(fn: object, repeats: int) -> tuple[float, float]:
    """Median wall and process CPU time (ms) of ``fn()`` over ``repeats`` runs (after one
    warm-up); CPU time is what the run costs when other processes share the cores."""
    assert callable(fn)
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def reference_alert_pairs(profile: Profile, states: States) -> object:
    """The previous pipeline (k-d tree broad phase + the same evaluation): same alerts."""
    i, j = candidate_ordered_pairs_broad(profile, states)
    return evaluate_pairs(profile, states, np.concatenate([i, j]), np.concatenate([j, i]))


def bench_levels(n: int, repeats: int) -> dict[str, float]:
    states = traffic(n, seed=1)
    out: dict[str, float] = {}
    for profile in (DO365B, CYLINDER):
        result = alert_pairs(profile, states)
        i, j = candidate_ordered_pairs(profile, states)
        own, intruder = np.concatenate([i, j]), np.concatenate([j, i])
        out[f"{profile.name}_pairs"] = float(len(result))
        out[f"{profile.name}_alerts"] = float(int((result.level_instant >= 1).sum()))
        reference = reference_alert_pairs(profile, states)
        assert int((reference.level_instant >= 1).sum()) == out[f"{profile.name}_alerts"]  # type: ignore[attr-defined]
        total = timed_both(lambda p=profile: alert_pairs(p, states), repeats)
        ref = timed_both(lambda p=profile: reference_alert_pairs(p, states), repeats)
        out[f"{profile.name}_total_ms"], out[f"{profile.name}_total_cpu_ms"] = total
        out[f"{profile.name}_ref_ms"], out[f"{profile.name}_ref_cpu_ms"] = ref
        out[f"{profile.name}_search_ms"] = timed(
            lambda p=profile: candidate_ordered_pairs(p, states), repeats
        )
        out[f"{profile.name}_levels_ms"] = timed(
            lambda p=profile, o=own, i=intruder: evaluate_pairs(p, states, o, i), repeats
        )
    return out


def bench_bands(count: int, k: int) -> dict[str, float]:
    rng = np.random.default_rng(7)
    scenes = [encounter(rng, k) for _ in range(count)]
    intruders = np.arange(1, k + 1)
    out: dict[str, float] = {}
    for profile in (DO365B, CYLINDER):
        for label, fn in (("", compute_bands), ("ref_", compute_bands_numpy)):
            fn(profile, scenes[0], 0, intruders)
            runs, cpu = [], []
            for scene in scenes:
                t0, c0 = time.perf_counter(), time.process_time()
                fn(profile, scene, 0, intruders)
                runs.append((time.perf_counter() - t0) * 1e3)
                cpu.append((time.process_time() - c0) * 1e3)
            out[f"{profile.name}_{label}median_ms"] = statistics.median(runs)
            out[f"{profile.name}_{label}cpu_ms"] = statistics.median(cpu)
            out[f"{profile.name}_{label}p90_ms"] = float(np.percentile(runs, 90))
    return out


def run_daidalus(jar: Path, conf: Path, k: int, repeats: int) -> dict[str, float] | None:
    javac, java = shutil.which("javac"), shutil.which("java")
    if not (javac and java and jar.is_file() and conf.is_file()):
        return None
    source = Path(__file__).resolve().parent / "daidalus" / "DaaTiming.java"
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(source, tmp)
        subprocess.run([javac, "-cp", str(jar), "DaaTiming.java"], cwd=tmp, check=True)
        done = subprocess.run(
            [java, "-cp", f"{jar}{os.pathsep}.", "DaaTiming", str(conf), str(k), str(repeats)],
            cwd=tmp,
            check=True,
            capture_output=True,
            text=True,
        )
    values = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition(" ")
        values[name] = float(value)
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="N = 2,000 and fewer repeats")
    parser.add_argument(
        "--daidalus-jar", type=Path, default=os.environ.get("DECONFLICT_DAIDALUS_JAR")
    )
    parser.add_argument("--daidalus-conf", type=Path, default=None)
    parser.add_argument(
        "--bands-only", action="store_true", help="only part 2 (bands per aircraft)"
    )
    args = parser.parse_args()
    n = 2_000 if args.quick else 10_000
    repeats = 3 if args.quick else 7
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min): {load:.1f} (wall times inflate when it exceeds the cores)")
    levels = {} if args.bands_only else bench_levels(n, repeats)
    if levels:
        print(f"\nlevels for all ordered pairs, N = {n:,} (median of {repeats}):")
    for name in ("do365b", "cylinder") if levels else ():
        print(
            f"  {name:9s} {levels[f'{name}_total_ms']:8.1f} ms total  "
            f"(search {levels[f'{name}_search_ms']:.1f} ms, "
            f"levels {levels[f'{name}_levels_ms']:.1f} ms; "
            f"{levels[f'{name}_pairs']:,.0f} ordered candidate pairs, "
            f"{levels[f'{name}_alerts']:,.0f} with level >= 1)  target <= 50 ms"
        )
        print(
            f"  {'':9s} cpu {levels[f'{name}_total_cpu_ms']:.1f} ms; reference (k-d tree "
            f"broad phase, same run) {levels[f'{name}_ref_ms']:.1f} ms wall, "
            f"{levels[f'{name}_ref_cpu_ms']:.1f} ms cpu; ratio "
            f"{levels[f'{name}_total_ms'] / levels[f'{name}_ref_ms']:.2f}"
        )
    k = 5
    bands = bench_bands(20 if args.quick else 100, k)
    print(f"\nbands per aircraft against {k} intruders (4 dimensions):")
    for name in ("do365b", "cylinder"):
        print(
            f"  {name:9s} median {bands[f'{name}_median_ms']:.2f} ms, p90 "
            f"{bands[f'{name}_p90_ms']:.2f} ms, cpu {bands[f'{name}_cpu_ms']:.2f} ms  "
            f"target <= 2 ms; reference (numpy oracles, same run) "
            f"{bands[f'{name}_ref_median_ms']:.2f} ms wall, "
            f"{bands[f'{name}_ref_cpu_ms']:.2f} ms cpu"
            f"; ratio {bands[f'{name}_median_ms'] / bands[f'{name}_ref_median_ms']:.2f}"
        )
    if args.bands_only:
        return 0
    if args.daidalus_jar is None:
        print(
            "\nDAIDALUS: no jar given (--daidalus-jar or $DECONFLICT_DAIDALUS_JAR); "
            "comparison skipped"
        )
        return 0
    conf = args.daidalus_conf or (
        args.daidalus_jar.resolve().parent.parent.parent / "Configurations" / "DO_365B_no_SUM.conf"
    )
    theirs = run_daidalus(args.daidalus_jar, conf, k, 10 if args.quick else 40)
    if theirs is None:
        print(f"\nDAIDALUS: java/javac, {args.daidalus_jar} or {conf} missing; comparison skipped")
        return 0
    per_pair_us = theirs["alert_us_per_pair"]
    all_pairs_ms = per_pair_us * levels["do365b_pairs"] / 1e3
    print("\nDAIDALUS v2.0.4 (Java, same machine, DO_365B_no_SUM):")
    print(
        f"  alert level per ordered pair {per_pair_us:.2f} us -> "
        f"{all_pairs_ms:.1f} ms for our {levels['do365b_pairs']:,.0f} candidate pairs "
        f"(ratio ours/DAIDALUS {levels['do365b_levels_ms'] / all_pairs_ms:.2f}, levels only)"
    )
    print(
        f"  bands per aircraft vs {k} intruders {theirs['bands_us_per_ac'] / 1e3:.2f} ms "
        f"(ratio ours/DAIDALUS {bands['do365b_median_ms'] / (theirs['bands_us_per_ac'] / 1e3):.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
