"""``detect`` and ``validate_states``: the DataFrame surface and its input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deconflict.errors import InvalidInputError
from deconflict.tactical import CONFLICT_COLUMNS, STATE_COLUMNS, detect, validate_states


def snapshot() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["zulu", "alpha", "mike", "far"],
            "lat": [46.0, 46.0, 46.0, 10.0],
            "lon": [8.05, 8.0, 8.0, 10.0],
            "alt_ft": [35000, 35000, 35500, 35000],
            "gs_kt": [450.0, 450.0, 300.0, 0.0],
            "track_deg": [270.0, 90.0, 0.0, 0.0],
            "vs_fpm": [0.0, 0.0, 0.0, 0.0],
            "party": ["red", "blue", "blue", "red"],
            "time": ["t0"] * 4,
        }
    )


def test_detect_columns_order_and_parties() -> None:
    out = detect(snapshot())
    assert list(out.columns) == [*CONFLICT_COLUMNS, "party_a", "party_b"]
    assert list(zip(out.a, out.b, strict=True)) == [
        ("alpha", "mike"),
        ("alpha", "zulu"),
        ("mike", "zulu"),
    ]
    assert list(out.party_a) == ["blue", "blue", "blue"]
    assert list(out.party_b) == ["blue", "red", "red"]
    row = out.iloc[1]  # alpha (west) -> zulu (east)
    assert abs(row.bearing_deg - 90.0) < 0.1
    row = out.iloc[2]  # mike (west, row 3) -> zulu: bearing from a = mike
    assert abs(row.bearing_deg - 90.0) < 0.1


def test_mapping_input_without_party_and_empty_results() -> None:
    cols = {k: v for k, v in snapshot().to_dict("list").items() if k != "party"}
    out = detect(cols)
    assert list(out.columns) == list(CONFLICT_COLUMNS)
    empty = detect({name: [] for name in STATE_COLUMNS})
    assert list(empty.columns) == list(CONFLICT_COLUMNS) and len(empty) == 0
    lonely = detect({k: v[:1] for k, v in cols.items()})
    assert len(lonely) == 0 and list(lonely.columns) == list(CONFLICT_COLUMNS)


def test_numeric_ids_become_text() -> None:
    frame = snapshot().drop(columns="party")
    frame["id"] = [10, 9, 8, 7]
    out = detect(frame)
    assert set(out.a) | set(out.b) == {"10", "9", "8"}
    assert all(a < b for a, b in zip(out.a, out.b, strict=True))


@pytest.mark.parametrize(
    ("column", "row", "value", "reason"),
    [
        ("lat", 2, 90.5, "outside"),
        ("lat", 3, float("nan"), "missing"),
        ("lon", 1, -180.01, "outside"),
        ("lon", 4, float("inf"), "finite"),
        ("gs_kt", 2, -1.0, "negative"),
        ("alt_ft", 3, "FL350", "not a number"),
        ("vs_fpm", 1, None, "missing"),
        ("id", 2, None, "missing"),
        ("id", 4, "zulu", "duplicate"),
        ("track_deg", 3, "", "missing"),
    ],
)
def test_bad_values_name_row_and_column(column: str, row: int, value: object, reason: str) -> None:
    frame = snapshot().astype({column: object})
    frame.loc[row - 1, column] = value
    with pytest.raises(InvalidInputError) as info:
        detect(frame)
    assert info.value.field == column
    assert info.value.row == row
    assert reason in info.value.reason
    assert f"row {row}" in str(info.value)


def test_missing_column_and_row_offset() -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_states(snapshot().drop(columns="vs_fpm"))
    assert info.value.field == "vs_fpm" and info.value.row is None
    frame = snapshot()
    frame.loc[2, "lat"] = -91.0
    with pytest.raises(InvalidInputError) as info:
        validate_states(frame, row_offset=100)
    assert info.value.row == 103


def test_boolean_column_rejected_and_edges_accepted() -> None:
    frame = snapshot()
    frame["vs_fpm"] = [True, False, True, False]
    with pytest.raises(InvalidInputError, match="boolean"):
        validate_states(frame)
    edges = snapshot()
    edges["lat"] = [90.0, -90.0, 0.0, 0.0]
    edges["lon"] = [180.0, -180.0, 0.0, 0.0]
    edges["gs_kt"] = 0.0
    table = validate_states(edges)
    assert table["lat"].dtype == np.float64 and list(table["id"]) == list(edges["id"])
