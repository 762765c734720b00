"""``detect`` on a multi-snapshot frame (a ``time`` column) and on ``.data`` holders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import InvalidInputError
from deconflict.tactical import detect

IDS = ["b7", "B7", "a1", "Z9", "x", "x10", "x2", "é3", "AF1", "af1", "_q", "10", "9"]


def _frame(seed: int, n_times: int, time_kind: str, party: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_times):
        chosen = rng.choice(IDS, size=int(rng.integers(0, len(IDS) + 1)), replace=False)
        for ident in chosen:
            rows.append((t, ident))
    n = len(rows)
    steps = np.array([t for t, _ in rows], dtype=np.int64) * 7
    times: object
    if time_kind == "datetime":
        times = pd.to_datetime(1.7e9 + steps, unit="s", utc=True)
    elif time_kind == "text":
        times = [f"t{s:04d}" for s in steps]
    else:
        times = steps.astype(float) + 0.5
    frame = pd.DataFrame({
        "time": times,
        "id": [ident for _, ident in rows],
        "lat": 47 + rng.uniform(0, 0.3, n), "lon": 8 + rng.uniform(0, 0.3, n),
        "alt_ft": rng.choice([30000.0, 30500.0, 31000.0, 30975.0], n),
        "gs_kt": rng.uniform(0, 500, n), "track_deg": rng.uniform(-360, 720, n),
        "vs_fpm": rng.choice([0.0, -1500.0, 1500.0], n),
    })  # fmt: skip
    if party:
        frame["party"] = rng.choice(["civil", "mil"], n)
    return frame.iloc[rng.permutation(n)].reset_index(drop=True)  # times interleaved


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_times=st.integers(2, 5),
    time_kind=st.sampled_from(["datetime", "text", "float"]),
    party=st.booleans(),
    mode=st.sampled_from(["strict", "flight-level"]),
)
def test_multi_snapshot_equals_per_snapshot(
    seed: int, n_times: int, time_kind: str, party: bool, mode: str
) -> None:
    frame = _frame(seed, n_times, time_kind, party)
    if frame["time"].nunique() < 2:
        return
    got = detect(frame, horizontal_nm=8.0, lookahead_s=200.0, vertical_mode=mode)
    parts = []
    for when, snap in frame.groupby("time", sort=True):
        alone = detect(snap.reset_index(drop=True), horizontal_nm=8.0, lookahead_s=200.0,
                       vertical_mode=mode)  # fmt: skip
        assert "time" not in alone.columns  # one time: single-snapshot output
        if len(alone):  # (concat with empty object columns would change the dtypes)
            parts.append(alone.assign(time=when)[["time", *alone.columns]])
    columns = ["time", *detect(frame.iloc[:0].drop(columns="time")).columns]
    assert list(got.columns) == columns
    if parts:
        pd.testing.assert_frame_equal(got, pd.concat(parts, ignore_index=True))
    else:
        assert got.empty
        assert got["time"].dtype == frame["time"].dtype


def _two_times() -> pd.DataFrame:
    return pd.DataFrame({
        "time": [0, 0, 10, 10, 10],
        "id": ["A", "B", "A", "B", "A "],
        "lat": [0.0, 0.0, 0.0, 0.0, 0.0], "lon": [0.0, 0.05, 0.0, 0.05, 0.1],
        "alt_ft": [35000.0] * 5, "gs_kt": [450.0] * 5, "track_deg": [90.0, 270.0, 90, 270, 90],
        "vs_fpm": [0.0] * 5,
    })  # fmt: skip


def test_duplicate_id_within_one_time_names_field_row_and_fix() -> None:
    with pytest.raises(InvalidInputError) as info:
        detect(_two_times())
    err = info.value
    assert err.field == "id" and err.row == 5
    assert "duplicate id 'A' at time 10 (first at row 3)" in err.reason
    assert "drop_duplicates(['time', 'id']" in err.reason


def test_duplicate_id_without_time_names_the_time_column_fix() -> None:
    with pytest.raises(InvalidInputError) as info:
        detect(_two_times().drop(columns="time"))
    assert info.value.field == "id" and info.value.row == 3
    assert "add a 'time' column" in info.value.reason


def test_ids_may_repeat_across_times() -> None:
    got = detect(_two_times().iloc[:4])
    assert got["time"].tolist() == [0, 10]
    assert got[["a", "b"]].values.tolist() == [["A", "B"], ["A", "B"]]


def test_one_distinct_time_is_single_snapshot_output() -> None:
    frame = _two_times().iloc[:2]
    pd.testing.assert_frame_equal(detect(frame), detect(frame.drop(columns="time")))


def test_missing_time_in_a_multi_snapshot_frame() -> None:
    frame = _two_times().iloc[:4].astype({"time": float})
    frame.loc[1, "time"] = np.nan
    with pytest.raises(InvalidInputError) as info:
        detect(frame)
    assert info.value.field == "time" and info.value.row == 2


@dataclass
class _Holder:  # what traffic.core.Traffic looks like to detect()
    data: pd.DataFrame


def test_object_with_data_frame_is_read_through_data() -> None:
    frame = _two_times().iloc[:4]
    pd.testing.assert_frame_equal(detect(_Holder(frame)), detect(frame))
    with pytest.raises(TypeError, match="data DataFrame"):
        detect(object())  # type: ignore[arg-type]
