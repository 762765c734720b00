"""Real-data proof on the Swiss en-route recording (OpenSky, 2018-08-01, 842 aircraft).

The whole day is read through ``deconflict.formats.tracks`` (the shared normalised schema, mapped
``icao24 -> id`` and ``timestamp -> time``), split into its 6,120 snapshots (10 s grid) and run
through the detector in both vertical modes. Run with ``-s`` to see the counts.

What the data README establishes independently (``scripts/find_encounters.py``): 144 raw
encounters (< 5 NM and < 1,000 ft at a grid time, hits of one pair within 60 s merged), every one
of them two aircraft at adjacent RVSM levels reading 900-975 ft apart. So:

* strict mode must alert during every one of those 144 encounters, and counting its current
  proximities (< 5 NM and < 1,000 ft now) the README's way must give about 144 events;
* flight-level mode compares level aircraft by their level: two level aircraft snapped to levels
  1,000 ft or more apart can never alert, so an alert during one of those encounters needs an
  aircraft that is climbing/descending or off its level, and the day's alert count drops far
  below strict mode's;
* a copy of a real flight moved 2 NM sideways and 500 ft up is a loss of separation in both modes
  at every snapshot where both fly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from pyproj import Geod

from deconflict.cli.detect import DetectionRun, detect_snapshots
from deconflict.formats.tracks import Snapshot, read_tracks, split_snapshots
from deconflict.tactical import LEVEL_FLIGHT_VS_FPM, LEVEL_GRID_FT, LEVEL_TOLERANCE_FT
from deconflict.units import M_PER_NM

pytestmark = pytest.mark.slow

RECORDING = "switzerland_2018-08-01_opensky.csv.gz"
ENCOUNTERS = "encounters_switzerland_2018-08-01.csv"
EVENT_GAP_S = 60.0
"""Hits of one pair at most this far apart form one event (the data README's rule)."""
MODES = ("strict", "flight-level")


@dataclass(frozen=True)
class Day:
    """The recording, its snapshots and one detection run per vertical mode."""

    tracks: pd.DataFrame
    snapshots: list[Snapshot]
    runs: dict[str, DetectionRun]


@pytest.fixture(scope="module")
def day(shared_data: Path) -> Day:
    tracks = read_tracks(shared_data / RECORDING)
    snapshots = split_snapshots(tracks)
    runs = {mode: detect_snapshots(snapshots, vertical_mode=mode) for mode in MODES}
    return Day(tracks, snapshots, runs)


def pair_events(conflicts: pd.DataFrame) -> int:
    """Distinct pair-events: one pair's alerts at most ``EVENT_GAP_S`` apart form one event."""
    if conflicts.empty:
        return 0
    table = conflicts.assign(t=pd.to_datetime(conflicts["time"], utc=True))
    table = table.sort_values(["a", "b", "t"])
    same_pair = (table["a"] == table["a"].shift()) & (table["b"] == table["b"].shift())
    gap_s = table["t"].diff().dt.total_seconds()
    return int((~(same_pair & (gap_s <= EVENT_GAP_S))).sum())


def is_level_snapped(alt_ft: pd.Series[float], vs_fpm: pd.Series[float]) -> pd.Series[bool]:
    """Aircraft flight-level mode compares at a level (tactical constants, see VerticalMode)."""
    grid_ft = (alt_ft / LEVEL_GRID_FT).round() * LEVEL_GRID_FT
    return (vs_fpm.abs() < LEVEL_FLIGHT_VS_FPM) & ((alt_ft - grid_ft).abs() <= LEVEL_TOLERANCE_FT)


def with_states(conflicts: pd.DataFrame, tracks: pd.DataFrame) -> pd.DataFrame:
    """Conflicts joined with both aircraft's states at the snapshot time."""
    states = tracks.reset_index(drop=True)[["id", "time", "alt_ft", "vs_fpm"]]
    table = conflicts.assign(t=pd.to_datetime(conflicts["time"], utc=True))
    for side in ("a", "b"):
        renamed = states.rename(
            columns={"id": side, "time": "t", "alt_ft": f"alt_{side}", "vs_fpm": f"vs_{side}"}
        )
        table = table.merge(renamed, on=[side, "t"], how="left", validate="many_to_one")
    return table


def test_counts_per_mode(day: Day) -> None:
    counts = {}
    for mode, run in day.runs.items():
        c = run.conflicts
        now = c[(c["range_nm"] < 5.0) & (c["vertical_ft"] < 1000.0)]
        counts[mode] = (len(c), pair_events(c), len(now), pair_events(now))
        print(
            f"\n{mode:>12}: {len(c)} pair-snapshots, {pair_events(c)} pair-events, "
            f"{c.groupby(['a', 'b']).ngroups} distinct pairs; current proximity (<5 NM, <1000 ft "
            f"reported): {len(now)} pair-snapshots, {pair_events(now)} events; "
            f"{run.aircraft} aircraft states in {run.snapshots} snapshots, "
            f"detector {run.detect_s:.1f} s"
        )
    assert day.runs["strict"].snapshots == 6120
    assert day.runs["strict"].aircraft == len(day.tracks) == 139_098
    strict, flight_level = counts["strict"], counts["flight-level"]
    # "Far fewer": less than half of strict mode's alerts. A flight-level mode that did not remove
    # the adjacent-level alerts, which make up this recording's raw encounters, would sit near 1.
    assert flight_level[0] < strict[0] / 2
    assert flight_level[1] < strict[1] / 2


def test_strict_mode_matches_the_readme_encounters(day: Day, shared_data: Path) -> None:
    encounters = read_encounters(shared_data)
    strict = day.runs["strict"].conflicts
    alerted = alerted_during(strict, encounters)
    print(f"\nstrict mode alerts during {alerted.sum()} of {len(encounters)} README encounters")
    assert alerted.all()
    now = strict[(strict["range_nm"] < 5.0) & (strict["vertical_ft"] < 1000.0)]
    # Same test (< 5 NM and < 1,000 ft at grid times, 60 s merge) on the same 10 s grid; the
    # README additionally cuts tracks at gaps > 60 s and interpolates across shorter ones, which
    # can split or merge a few events: allow 5 %.
    assert abs(pair_events(now) - len(encounters)) <= 0.05 * len(encounters)


def test_flight_level_mode_is_quiet_on_adjacent_levels(day: Day, shared_data: Path) -> None:
    encounters = read_encounters(shared_data)
    flight_level = with_states(day.runs["flight-level"].conflicts, day.tracks)
    assert flight_level[["alt_a", "alt_b"]].notna().all().all()
    level_a = is_level_snapped(flight_level["alt_a"], flight_level["vs_a"])
    level_b = is_level_snapped(flight_level["alt_b"], flight_level["vs_b"])
    snapped_gap_ft = (
        (flight_level["alt_a"] / LEVEL_GRID_FT).round()
        - (flight_level["alt_b"] / LEVEL_GRID_FT).round()
    ).abs() * LEVEL_GRID_FT
    # Two aircraft held at levels 1,000 ft or more apart never alert, anywhere in the day.
    assert not (level_a & level_b & (snapped_gap_ft >= 1000)).any()
    alerted = alerted_during(day.runs["flight-level"].conflicts, encounters)
    print(
        f"\nflight-level mode alerts during {alerted.sum()} of {len(encounters)} README encounters "
        "(each with a climbing, descending or off-level aircraft)"
    )
    # The README's encounters are level pairs on adjacent levels: by the property above, the
    # only alerts left during them involve an aircraft not held at a level, a small minority.
    assert alerted.sum() <= 0.05 * len(encounters)


def read_encounters(shared_data: Path) -> pd.DataFrame:
    table = pd.read_csv(shared_data / ENCOUNTERS, dtype={"icao24_a": str, "icao24_b": str})
    table["start"] = pd.to_datetime(table["start"], utc=True)
    table["end"] = pd.to_datetime(table["end"], utc=True)
    ordered = np.sort(table[["icao24_a", "icao24_b"]].to_numpy(dtype=str), axis=1)
    table["a"], table["b"] = ordered[:, 0], ordered[:, 1]
    assert len(table) == 144  # the README's count: the file is the reference, not our output
    return table


def alerted_during(conflicts: pd.DataFrame, encounters: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """For each encounter: did the detector alert on that pair at a snapshot within it?"""
    times = pd.to_datetime(conflicts["time"], utc=True)
    keyed = pd.DataFrame({"a": conflicts["a"], "b": conflicts["b"], "t": times})
    joined = encounters.reset_index().merge(keyed, on=["a", "b"], how="inner")
    inside = joined[(joined["t"] >= joined["start"]) & (joined["t"] <= joined["end"])]
    return np.isin(np.arange(len(encounters)), inside["index"].to_numpy())


# --------------------------------------------------------------------------- injected conflict


def shifted_copy(
    tracks: pd.DataFrame, ident: str, *, right_nm: float, up_ft: float
) -> pd.DataFrame:
    """The rows of aircraft ``ident`` moved ``right_nm`` to the right of its track (WGS84
    geodesic, pyproj) and ``up_ft`` up, under a new id."""
    flight = tracks[tracks["id"] == ident].copy()
    lon, lat, _ = Geod(ellps="WGS84").fwd(
        flight["lon"].to_numpy(),
        flight["lat"].to_numpy(),
        flight["track_deg"].to_numpy() + 90.0,
        np.full(len(flight), right_nm * M_PER_NM),
    )
    flight["lon"], flight["lat"] = lon, lat
    flight["alt_ft"] = flight["alt_ft"] + up_ft
    flight["id"] = f"copy-{ident}"
    return flight


def test_injected_conflict_found_in_both_modes(day: Day) -> None:
    ident = str(day.tracks["id"].value_counts().idxmax())  # the aircraft seen longest that day
    copy = shifted_copy(day.tracks, ident, right_nm=2.0, up_ft=500.0)
    times = set(copy["time"])
    involved = day.tracks[day.tracks["time"].isin(times)]
    combined = pd.concat([involved, copy]).sort_values("time", kind="stable")
    snapshots = split_snapshots(combined)
    assert len(snapshots) == len(copy) >= 100
    copy_id = f"copy-{ident}"
    a, b = sorted((ident, copy_id))
    for mode in MODES:
        found = detect_snapshots(snapshots, vertical_mode=mode).conflicts
        mine = found[(found["a"] == a) & (found["b"] == b)]
        print(
            f"\n{mode}: injected pair {a}/{b} alerted at {len(mine)} of {len(snapshots)} "
            "snapshots, "
            f"range {mine['range_nm'].min():.3f}-{mine['range_nm'].max():.3f} NM"
        )
        assert len(mine) == len(snapshots)  # a loss of separation at every snapshot
        assert (mine["t_in_s"] == 0.0).all()
        assert np.allclose(mine["range_nm"], 2.0, atol=0.002)  # 0.1 % of 2 NM
        assert np.allclose(mine["vertical_ft"], 500.0)
        # Nothing else changed: the other alerts are exactly the whole-day run's at those times.
        others = found[(found["a"] != copy_id) & (found["b"] != copy_id)]
        baseline = day.runs[mode].conflicts
        baseline = baseline[pd.to_datetime(baseline["time"], utc=True).isin(times)]
        key = ["time", "a", "b"]
        assert others.sort_values(key)[key].values.tolist() == (
            baseline.sort_values(key)[key].values.tolist()
        )
