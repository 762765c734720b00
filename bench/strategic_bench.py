"""Strategic deconfliction benchmark: indexed checks against a naive all-pairs loop.

Run ``.venv/bin/python bench/strategic_bench.py [--quick]``.

1. *Notice check*: one new 10-volume notice against N stored volumes (N = 1,000,000; quick:
   100,000) spread over a continent-sized region (Europe, lon -10..30, lat 35..60, 30 days,
   FL0-FL450, 20 parties); median and p95 of ``find_conflicts`` (index query + exact checks)
   over many notices. Target: median <= 5 ms.
2. *All pairs*: a 10,000-volume airspace control order (theatre 800 x 800 km, 24 h, 8 parties)
   with ``find_all_conflicts``. Target: <= 2 s.
3. *Naive reference* on the same ACO: every pair through (a) the exact ``check_pair`` and (b) a
   plain shapely loop (lon/lat polygons, ``intersects``, time and altitude tests; inexact). Both
   run on a random subsample and are **extrapolated** to all pairs by the pair count ratio; the
   ratio to the indexed run is printed.

Volume mix everywhere: 50 % circles (2-15 km), 30 % polygons (4-6 geodesic vertices, 5-25 km),
20 % corridors (2-4 points, legs 10-30 km, half-width 1-5 km), 20 % of volumes with buffers.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely

from deconflict.geo.ellipsoid import GEOD
from deconflict.strategic import (
    AltitudeBand,
    AltitudeReference,
    Buffers,
    CircleFootprint,
    CorridorFootprint,
    PolygonFootprint,
    Volume4D,
    VolumeIndex,
    check_pair,
    find_all_conflicts,
    find_conflicts,
)

T0 = datetime(2026, 11, 26, tzinfo=UTC)


def make_volume(
    rng: np.random.Generator,
    lon_range: tuple[float, float],
    lat_range: tuple[float, float],
    horizon_min: int,
) -> Volume4D:
    """One random volume (see the module docstring for the mix)."""
    lon = float(rng.uniform(*lon_range))
    lat = float(rng.uniform(*lat_range))
    kind = rng.random()
    fp: CircleFootprint | PolygonFootprint | CorridorFootprint
    if kind < 0.5:
        fp = CircleFootprint((lon, lat), float(rng.uniform(2e3, 15e3)))
    elif kind < 0.8:
        n = int(rng.integers(4, 7))
        az = np.arange(n) * 360.0 / n + rng.uniform(0.0, 300.0 / n, n)
        dist = rng.uniform(5e3, 25e3, n)
        plon, plat, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, dist)
        fp = PolygonFootprint(((tuple(zip(plon.tolist(), plat.tolist(), strict=True)),),))
    else:
        pts = [(lon, lat)]
        heading = float(rng.uniform(0.0, 360.0))
        for _ in range(int(rng.integers(1, 4))):
            heading += float(rng.uniform(-40.0, 40.0))
            plon, plat, _ = GEOD.fwd(*pts[-1], heading, float(rng.uniform(10e3, 30e3)))
            pts.append((float(plon), float(plat)))
        fp = CorridorFootprint(tuple(pts), float(rng.uniform(1e3, 5e3)))
    start = T0 + timedelta(minutes=int(rng.integers(0, horizon_min)))
    lower = int(rng.integers(0, 400))
    buffers = (
        Buffers(lateral_nm=1.0, vertical_ft=500.0, before_min=10.0, after_min=10.0)
        if rng.random() < 0.2
        else Buffers()
    )
    return Volume4D(
        fp,
        AltitudeBand(lower, lower + int(rng.integers(10, 60)), AltitudeReference.FL),
        start,
        start + timedelta(minutes=int(rng.integers(30, 240))),
        buffers,
    )


def bench_notice(n_stored: int, n_notices: int, rng: np.random.Generator) -> dict[str, float]:
    """One 10-volume notice against ``n_stored`` volumes; returns timings (s)."""
    region = ((-10.0, 30.0), (35.0, 60.0))
    horizon = 30 * 24 * 60
    t = time.perf_counter()
    stored = [(f"s{i}", f"p{i % 20}", make_volume(rng, *region, horizon)) for i in range(n_stored)]
    t_make = time.perf_counter() - t
    t = time.perf_counter()
    index = VolumeIndex()
    index.add_many(stored)
    index.rebuild()
    t_index = time.perf_counter() - t
    notices = [
        [(f"n{k}-{j}", "newcomer", make_volume(rng, *region, horizon)) for j in range(10)]
        for k in range(n_notices)
    ]
    times = []
    cpu = []
    found = 0
    for notice in notices:
        t, c = time.perf_counter(), time.process_time()
        found += len(find_conflicts(notice, index, within_new=False))
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    times.sort()
    cpu.sort()
    return {
        "make_s": t_make,
        "index_s": t_index,
        "median_s": statistics.median(times),
        "p95_s": times[int(0.95 * (len(times) - 1))],
        "cpu_median_s": statistics.median(cpu),
        "cpu_p95_s": cpu[int(0.95 * (len(cpu) - 1))],
        "conflicts_per_notice": found / len(notices),
    }


def naive_shapely_loop(items: list[tuple[str, str, Volume4D]]) -> int:
    """The naive reference: lon/lat shapely shapes, every pair, time/alt/party then intersects."""
    shapes = []
    for _, _, v in items:
        fp = v.footprint
        deg = (v.buffered_width_m) / 111_000.0
        if isinstance(fp, CircleFootprint):
            shapes.append(shapely.Point(fp.center).buffer(deg))
        elif isinstance(fp, CorridorFootprint):
            shapes.append(shapely.LineString(fp.centerline).buffer(deg))
        else:
            assert isinstance(fp, PolygonFootprint)
            shapes.append(shapely.Polygon(fp.polygons[0][0]).buffer(deg))
    hits = 0
    for i in range(len(items)):
        _, pa, va = items[i]
        for j in range(i + 1, len(items)):
            _, pb, vb = items[j]
            if pa == pb:
                continue
            if va.buffered_start > vb.buffered_end or vb.buffered_start > va.buffered_end:
                continue
            if va.altitude.upper < vb.altitude.lower or vb.altitude.upper < va.altitude.lower:
                continue
            if shapes[i].intersects(shapes[j]):
                hits += 1
    return hits


def naive_exact_loop(items: list[tuple[str, str, Volume4D]]) -> int:
    """Every pair through the exact check (no index)."""
    hits = 0
    for i in range(len(items)):
        _, pa, va = items[i]
        for j in range(i + 1, len(items)):
            _, pb, vb = items[j]
            if pa != pb and check_pair(va, vb) is not None:
                hits += 1
    return hits


def bench_aco(n: int, n_sub: int, rng: np.random.Generator) -> dict[str, float]:
    """All pairs of an n-volume ACO, and the naive loops on a subsample (extrapolated)."""
    items = [
        (f"a{i:05d}", f"p{i % 8}", make_volume(rng, (2.0, 12.0), (44.0, 51.0), 24 * 60))
        for i in range(n)
    ]
    t, c = time.perf_counter(), time.process_time()
    conflicts = find_all_conflicts(items)
    t_all = time.perf_counter() - t
    c_all = time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    again = find_all_conflicts(items)
    t_warm = time.perf_counter() - t
    c_warm = time.process_time() - c
    assert len(again) == len(conflicts)
    t = time.perf_counter()
    for conflict in conflicts[:200]:
        _ = conflict.overlap.geometry
    t_geom = (time.perf_counter() - t) / max(1, min(200, len(conflicts)))
    sub = [items[i] for i in rng.choice(n, size=n_sub, replace=False)]
    scale = (n * (n - 1)) / (n_sub * (n_sub - 1))
    c = time.process_time()
    naive_shapely_loop(sub)
    t_naive = (time.process_time() - c) * scale
    sub_exact = sub[: max(2, n_sub // 2)]
    scale_exact = (n * (n - 1)) / (len(sub_exact) * (len(sub_exact) - 1))
    c = time.process_time()
    naive_exact_loop(sub_exact)
    t_exact = (time.process_time() - c) * scale_exact
    return {
        "all_pairs_s": t_all,
        "all_pairs_cpu_s": c_all,
        "warm_s": t_warm,
        "warm_cpu_s": c_warm,
        "conflicts": float(len(conflicts)),
        "geometry_ms_per_overlap": t_geom * 1e3,
        "naive_shapely_s_extrapolated": t_naive,
        "naive_exact_s_extrapolated": t_exact,
        "n_sub": float(n_sub),
        "n_sub_exact": float(len(sub_exact)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 stored volumes, fewer runs")
    args = parser.parse_args()
    rng = np.random.default_rng(20261126)
    n_stored = 100_000 if args.quick else 1_000_000
    n_notices = 50 if args.quick else 200
    print(
        f"strategic bench  {datetime.now(UTC):%Y-%m-%d %H:%M}Z  python {platform.python_version()}"
    )
    print(f"machine: {platform.machine()}, shared 2-core VM (numbers are noisy)\n")
    r = bench_notice(n_stored, n_notices, rng)
    print(f"[1] one 10-volume notice vs {n_stored:,} stored volumes ({n_notices} notices)")
    print(f"    build volumes {r['make_s']:.1f} s, build index {r['index_s']:.1f} s")
    print(
        f"    find_conflicts wall median {r['median_s'] * 1e3:.2f} ms,"
        f" p95 {r['p95_s'] * 1e3:.2f} ms;"
        f" CPU median {r['cpu_median_s'] * 1e3:.2f} ms, p95 {r['cpu_p95_s'] * 1e3:.2f} ms;"
        f" {r['conflicts_per_notice']:.2f} conflicts/notice"
    )
    print(f"    target median <= 5 ms: {'MET' if r['median_s'] <= 0.005 else 'NOT MET'} (wall)")
    n_aco = 10_000
    a = bench_aco(n_aco, 400 if args.quick else 800, rng)
    print(f"\n[2] all pairs of a {n_aco:,}-volume ACO (800 x 800 km, 24 h, 8 parties)")
    print(
        f"    find_all_conflicts cold (fresh volumes: densify + project + index + exact)"
        f" wall {a['all_pairs_s']:.2f} s, CPU {a['all_pairs_cpu_s']:.2f} s;"
        f" {int(a['conflicts'])} conflicts"
    )
    print(
        f"    warm (geometry caches filled) wall {a['warm_s']:.2f} s, CPU {a['warm_cpu_s']:.2f} s"
    )
    print(f"    target <= 2 s: {'MET' if a['all_pairs_s'] <= 2.0 else 'NOT MET'} (cold, wall)")
    print(f"    overlap geometry (lazy, per conflict) {a['geometry_ms_per_overlap']:.2f} ms")
    print("\n[3] naive all-pairs loops on the same ACO (CPU s; subsample, extrapolated by pairs)")
    print(
        f"    shapely lon/lat loop (inexact) on {int(a['n_sub'])} volumes -> "
        f"{a['naive_shapely_s_extrapolated']:.1f} s for {n_aco:,}; "
        f"ratio naive/indexed (CPU, cold) = "
        f"{a['naive_shapely_s_extrapolated'] / a['all_pairs_cpu_s']:.0f}x"
    )
    print(
        f"    exact check_pair loop on {int(a['n_sub_exact'])} volumes -> "
        f"{a['naive_exact_s_extrapolated']:.1f} s for {n_aco:,}; "
        f"ratio = {a['naive_exact_s_extrapolated'] / a['all_pairs_cpu_s']:.0f}x"
    )


if __name__ == "__main__":
    main()
