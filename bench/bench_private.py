"""Private-mode benchmark: cell counts of real-sized volumes, and PSI cost per party.

Run ``.venv/bin/python bench/bench_private.py [--quick]``.

1. *Cells*: 4D cell counts (and discretisation time) of real-sized volumes (an exercise area,
   a transit corridor, a UAS area, an air-refuelling orbit, the worked example) for several
   grids.
2. *PSI*: for 1k, 10k and 100k cells per party (``--quick``: 1k, 10k), the full protocol of one
   party, measured for party A while B's side is computed too: hash + blind + pad its own set,
   double-blind the counterpart's padded set, intersect. Wall and CPU time per party (one core),
   bytes on the wire per party (JSON with base64, both directions) and stored at the broker.
   Reference in the same run: a plain (non-private) intersection of the same cells by SHA-256
   of each cell, the lower bound any hashing scheme pays.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from deconflict.formats.geojson import read_plan
from deconflict.private import psi
from deconflict.private.cells import Cells, Grid, discretise
from deconflict.strategic import (
    AltitudeBand,
    AltitudeReference,
    Buffers,
    CircleFootprint,
    CorridorFootprint,
    OrbitFootprint,
    PolygonFootprint,
    Volume4D,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
EXAMPLE = (
    Path(__file__).resolve().parents[1] / "src/deconflict/examples/corridor_vs_exercise.geojson"
)


def _volumes() -> dict[str, Volume4D]:
    def box(lon: float, lat: float, dlon: float, dlat: float) -> PolygonFootprint:
        ring = ((lon, lat), (lon + dlon, lat), (lon + dlon, lat + dlat), (lon, lat + dlat))
        return PolygonFootprint(((ring,),))

    fl = AltitudeReference.FL
    out = {
        "exercise area 55x55 km FL50-150, 3 h, buffers 1 NM/500 ft/15 min": Volume4D(
            box(1.5, 43.3, 0.7, 0.5),
            AltitudeBand(50, 150, fl),
            T0,
            T0 + timedelta(hours=3),
            Buffers(1.0, 500.0, 15.0, 15.0),
        ),
        "transit corridor 200 km x 4 NM FL80-100, 1 h": Volume4D(
            CorridorFootprint(((0.6, 44.2), (1.4, 43.6), (2.4, 43.2)), 3_704.0),
            AltitudeBand(80, 100, fl),
            T0,
            T0 + timedelta(hours=1),
        ),
        "UAS circle r=2 km 0-400 ft AMSL, 8 h": Volume4D(
            CircleFootprint((2.0, 44.0), 2_000.0),
            AltitudeBand(0, 400, AltitudeReference.FT_AMSL),
            T0,
            T0 + timedelta(hours=8),
        ),
        "AAR orbit 60 km x r=10 NM FL200-240, 2 h": Volume4D(
            OrbitFootprint((3.0, 45.0), (3.7, 45.2), 18_520.0),
            AltitudeBand(200, 240, fl),
            T0,
            T0 + timedelta(hours=2),
        ),
    }
    plan = read_plan(EXAMPLE.read_text(encoding="utf-8"))
    for p in plan.volumes:
        out[f"example {p.key}"] = p.volume
    return out


def bench_cells(grids: list[Grid]) -> None:
    print("\n1. cells per volume (h3 x slots x layers); discretisation time")
    names = _volumes()
    header = "volume".ljust(66) + "".join(
        f"r{g.resolution}/{g.slot_s // 60}min/{g.layer_ft}ft".rjust(20) for g in grids
    )
    print(header)
    for name, v in names.items():
        row = name[:65].ljust(66)
        for g in grids:
            t = time.perf_counter()
            try:
                n = len(discretise(v, g, max_cells=2_000_000))
                row += f"{n:>11,} {time.perf_counter() - t:6.2f}s ".rjust(20)
            except Exception as exc:
                row += f"{type(exc).__name__[:18]}".rjust(20)
        print(row)


def _random_cells(n: int, seed: int, overlap: int) -> Cells:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**40, size=n, dtype=np.int64)
    base[:overlap] = np.arange(overlap)  # shared with the other party
    return Cells(base.astype(np.uint64), np.zeros(n, np.int64), np.zeros(n, np.int64))


def _json_bytes(n_values: int) -> int:
    """Bytes of a JSON body carrying n values of 32 bytes in base64 (+ ~300 B of fields)."""
    return 4 * ((32 * n_values + 2) // 3) + 300


def bench_psi(sizes: list[int], workers: int = 1) -> list[dict[str, float]]:
    print(
        f"\n2. PSI per party ({psi.PROTOCOL}, {workers} thread(s)): wall / CPU s, MB on the "
        "wire and at the broker"
    )
    print(
        "   push = hash to group + blind + pad own set; "
        "sync = answer the counterpart's set + intersect"
    )
    print(
        f"{'cells':>8} {'padded':>8} {'hash s':>7} {'blind s':>8} {'pad s':>6} {'answer s':>9} "
        f"{'push cpu':>9} {'sync cpu':>9} {'total cpu':>10} {'wall':>7} {'up MB':>7} "
        f"{'down MB':>8} {'broker MB':>10} {'us/mult':>8} {'plain s':>8} {'found':>6}"
    )
    grid = Grid()
    rows = []
    for n in sizes:
        overlap = max(1, n // 100)
        cx, cy = _random_cells(n, 1, overlap), _random_cells(n, 2, overlap)
        # party B's side (not A's time): its blinded set, and later its answer to A
        b = psi.new_secret()
        vb, _ = psi.pad_and_sort(psi.blind(b, psi.hash_cells("bench", grid, cy)))
        wall0, cpu0 = time.perf_counter(), time.process_time()
        a = psi.new_secret()
        hashed = psi.hash_cells("bench", grid, cx, workers=workers)
        t_hash = time.process_time()
        blinded = psi.blind(a, hashed, workers=workers)
        t_blind = time.process_time()
        va, origin = psi.pad_and_sort(blinded, workers=workers)
        wall1, cpu1 = time.perf_counter(), time.process_time()
        answer = psi.blind(b, va)  # B answers A (B's time, not A's)
        wall2, cpu2 = time.perf_counter(), time.process_time()
        b_double = psi.blind(a, vb, workers=workers)  # A answers B
        t_answer = time.process_time()
        found = origin[psi.matches(answer, b_double)]
        found = found[found >= 0]
        wall3, cpu3 = time.perf_counter(), time.process_time()
        push_cpu, sync_cpu = cpu1 - cpu0, cpu3 - cpu2
        wall = (wall1 - wall0) + (wall3 - wall2)
        per_mult = (t_blind - t_hash + t_answer - cpu2) / (n + psi.count(vb)) * 1e6
        t = time.perf_counter()
        hx = {hashlib.sha256(r.tobytes()).digest() for r in cx.records()}
        hy = {hashlib.sha256(r.tobytes()).digest() for r in cy.records()}
        plain_found = len(hx & hy)
        plain = time.perf_counter() - t
        assert len(found) == plain_found == overlap
        na, nb = psi.count(va), psi.count(vb)
        up = _json_bytes(na) + _json_bytes(nb + 4)  # own set + sealed answer
        down = _json_bytes(nb) + _json_bytes(na + 4)
        broker = 2 * 32 * (na + nb) + 4 * 200
        rows.append(
            {
                "workers": workers,
                "cells": n,
                "padded": na,
                "hash_cpu_s": round(t_hash - cpu0, 3),
                "blind_cpu_s": round(t_blind - t_hash, 3),
                "pad_cpu_s": round(cpu1 - t_blind, 3),
                "answer_cpu_s": round(t_answer - cpu2, 3),
                "push_cpu_s": round(push_cpu, 3),
                "sync_cpu_s": round(sync_cpu, 3),
                "wall_s": round(wall, 3),
                "up_mb": round(up / 1e6, 3),
                "down_mb": round(down / 1e6, 3),
                "broker_mb": round(broker / 1e6, 3),
                "us_per_mult": round(per_mult, 1),
            }
        )
        print(
            f"{n:>8,} {na:>8,} {t_hash - cpu0:>7.2f} {t_blind - t_hash:>8.2f} "
            f"{cpu1 - t_blind:>6.2f} {t_answer - cpu2:>9.2f} {push_cpu:>9.2f} {sync_cpu:>9.2f} "
            f"{push_cpu + sync_cpu:>10.2f} {wall:>7.2f} {up / 1e6:>7.2f} {down / 1e6:>8.2f} "
            f"{broker / 1e6:>10.2f} {per_mult:>8.1f} {plain:>8.3f} {len(found):>6,}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1k and 10k cells only")
    parser.add_argument("--workers", type=int, default=2, help="threads for an extra PSI row")
    parser.add_argument("--psi-only", action="store_true", help="skip the cell counts")
    args = parser.parse_args()
    print(f"bench_private {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}")
    if not args.psi_only:
        bench_cells([Grid(5, 900, 2000), Grid(6, 300, 1000), Grid(7, 300, 1000)])
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    rows = bench_psi(sizes)
    if args.workers > 1:
        rows += bench_psi(sizes[-1:], workers=args.workers)
    print(json.dumps({"psi": rows}))


if __name__ == "__main__":
    main()
