"""Tile-sharded detection on Ray gives exactly the single-process answer.

One Ray instance for the module (``ray.init(num_cpus=2)``, no dashboard, no usage stats, no
token auth), as in ../shared/ENVIRONMENT.md §4. Compared bit for bit with ``detect_arrays``:
a slice of the Swiss day (both vertical modes) and random dense traffic at the poles and across
the antimeridian; the in-process tile mapper is checked on many tile counts as well.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import ray

from deconflict.cli import main
from deconflict.cluster.ray_detect import choose_engine, detect_arrays_ray
from deconflict.errors import InvalidInputError
from deconflict.examples import levant_snapshot_path
from deconflict.formats.tracks import read_tracks, split_snapshots
from deconflict.tactical import Conflicts, detect_arrays
from deconflict.tactical.sharded import detect_sharded, plan_tiles

COLUMNS = ("lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm")


def assert_identical(a: Conflicts, b: Conflicts) -> None:
    for f in fields(Conflicts):
        assert np.array_equal(getattr(a, f.name), getattr(b, f.name)), f.name


def random_traffic(n: int, lat0: float, lon0: float, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    lat = np.clip(lat0 + rng.uniform(-4.0, 4.0, n), -90.0, 90.0)
    lon = (lon0 + rng.uniform(-12.0, 12.0, n) + 180.0) % 360.0 - 180.0
    alt = 1000.0 * rng.integers(290, 300, n) + rng.choice([0.0, 25.0, -25.0], n)
    gs = rng.uniform(0.0, 550.0, n)
    track = rng.uniform(0.0, 360.0, n)
    vs = np.where(rng.random(n) < 0.25, rng.uniform(-3000.0, 3000.0, n), 0.0)
    return [lat, lon, alt, gs, track, vs]


PLACES = [(90.0, 0.0), (-90.0, 0.0), (0.0, 180.0), (60.0, -180.0)]


@pytest.mark.parametrize(("lat0", "lon0"), PLACES)
def test_local_tiles_equal_whole_snapshot(lat0: float, lon0: float) -> None:
    cols = random_traffic(1500, lat0, lon0, seed=int(lat0 + lon0 + 500))
    whole = detect_arrays(*cols)
    assert len(whole) > 30
    for tiles in (1, 3, 16):
        jobs = plan_tiles(cols[0], cols[1], cols[3], cols[4], tiles)
        owned = np.concatenate([j.members[: j.n_core] for j in jobs])
        assert np.array_equal(np.sort(owned), np.arange(1500))  # every aircraft owned once
        assert_identical(detect_sharded(*cols, n_tiles=tiles), whole)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield None
    finally:
        ray.shutdown()


def test_ray_equals_single_process_at_poles_and_antimeridian(ray_cluster: None) -> None:
    for k, (lat0, lon0) in enumerate(PLACES):
        cols = random_traffic(2500, lat0, lon0, seed=k)
        whole = detect_arrays(*cols)
        assert len(whole) > 30
        ray_answer = detect_arrays_ray(*cols, n_tiles=4)
        assert_identical(ray_answer, whole)


def test_ray_equals_single_process_on_swiss_day_slice(ray_cluster: None, shared_data: Path) -> None:
    tracks = read_tracks(shared_data / "switzerland_2018-08-01_opensky.csv.gz")
    snapshots = split_snapshots(tracks)
    busiest = max(range(len(snapshots)), key=lambda k: len(snapshots[k].states))
    chosen = snapshots[max(0, busiest - 180) : busiest + 180 : 30]
    total = 0
    for snap in chosen:
        cols = [snap.states[c].to_numpy(dtype=np.float64) for c in COLUMNS]
        for mode in ("strict", "flight-level"):
            whole = detect_arrays(*cols, vertical_mode=mode)
            assert_identical(detect_arrays_ray(*cols, n_tiles=3, vertical_mode=mode), whole)
            total += len(whole)
    assert len(chosen) == 12 and total > 0


def test_cli_engine_ray_prints_the_local_answer(
    ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``deconflict detect --engine ray`` prints the same records as ``--engine local`` (the Ray
    instance of this module is reused; the CLI would start one otherwise)."""
    snapshot = str(levant_snapshot_path())
    outputs = []
    for engine in ("local", "ray"):
        code = main(["detect", snapshot, "--strict", "--align", "0", "--engine", engine])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        outputs.append(captured.out)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") >= 3
    code = main(["detect", snapshot, "--engine", "nope"])
    assert code == 2
    assert "engine" in capsys.readouterr().err


def test_engine_choice_threshold_and_override() -> None:
    assert choose_engine(499_999, {}) == "local"
    assert choose_engine(500_000, {}) == "ray"
    assert choose_engine(10, {"DECONFLICT_DETECT_ENGINE": "ray"}) == "ray"
    assert choose_engine(10**7, {"DECONFLICT_DETECT_ENGINE": "local"}) == "local"
    assert choose_engine(20, {"DECONFLICT_RAY_THRESHOLD": "20"}) == "ray"
    assert choose_engine(20, {}, requested="ray") == "ray"
    with pytest.raises(InvalidInputError) as err:
        choose_engine(1, {"DECONFLICT_DETECT_ENGINE": "gpu"})
    assert err.value.field == "DECONFLICT_DETECT_ENGINE"
    with pytest.raises(InvalidInputError) as err:
        choose_engine(1, {"DECONFLICT_RAY_THRESHOLD": "many"})
    assert err.value.field == "DECONFLICT_RAY_THRESHOLD"
