"""Aircraft-state file reader: formats, column mapping, times, snapshots and parse errors.

Every bad-input case asserts that the error names the offending column and the 1-based data row
of the *file* (row 1 = first record after the CSV header / first JSON line / first Parquet row).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import InvalidInputError
from deconflict.formats.tracks import (
    NORMALISED_SCHEMA_MAPPING,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    read_tracks,
    split_snapshots,
)

ROWS: list[dict[str, object]] = [
    {"id": "A1", "lat": 34.5, "lon": 33.25, "alt_ft": 35000.0, "gs_kt": 450.0,
     "track_deg": 90.0, "vs_fpm": 0.0, "party": "blue", "time": "2018-08-01T05:00:00Z"},
    {"id": "B2", "lat": -12.0, "lon": -179.5, "alt_ft": 34975.0, "gs_kt": 0.0,
     "track_deg": 359.9, "vs_fpm": -1280.0, "party": "red", "time": "2018-08-01T05:00:00Z"},
    {"id": "A1", "lat": 34.6, "lon": 33.3, "alt_ft": 35025.0, "gs_kt": 451.5,
     "track_deg": 91.0, "vs_fpm": 64.0, "party": "blue", "time": "2018-08-01T05:00:10Z"},
]  # fmt: skip


def _write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _write_parquet(path: Path, rows: list[dict[str, object]]) -> Path:
    frame = pd.DataFrame(rows)
    if "time" in frame:
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame.to_parquet(path, index=False)
    return path


WRITERS: dict[str, Callable[[Path, list[dict[str, object]]], Path]] = {
    "states.csv": _write_csv,
    "states.csv.gz": _write_csv,
    "states.jsonl": _write_jsonl,
    "states.jsonl.gz": _write_jsonl,
    "states.parquet": _write_parquet,
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_every_format_reads_the_same_frame(tmp_path: Path, name: str) -> None:
    frame = read_tracks(WRITERS[name](tmp_path / name, ROWS))
    assert list(frame.columns) == [*REQUIRED_COLUMNS, "party", "time"]
    assert frame.index.name == "row"
    assert frame.index.tolist() == [1, 2, 3]
    assert frame["id"].tolist() == ["A1", "B2", "A1"]
    assert frame["party"].tolist() == ["blue", "red", "blue"]
    for column in NUMERIC_COLUMNS:
        assert frame[column].dtype == np.float64
        assert frame[column].tolist() == [float(r[column]) for r in ROWS]  # type: ignore[arg-type]
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert frame["time"].iloc[2] == pd.Timestamp("2018-08-01T05:00:10Z")


def test_gzip_csv_is_really_compressed(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "x.csv.gz", ROWS)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert len(read_tracks(path)) == 3


def test_normalised_shared_schema_is_mapped(tmp_path: Path) -> None:
    path = tmp_path / "swiss_like.csv.gz"
    path.write_bytes(
        gzip.compress(
            b"timestamp,icao24,callsign,lat,lon,alt_ft,gs_kt,track_deg,vs_fpm,onground,squawk\n"
            b"2018-08-01T05:00:00Z,4067f2,TOM2XE,46.679232,10.202179,38000.0,438.1,292.41,0.0,,\n"
            b"2018-08-01T05:00:00Z,00a1b2,LDM150,47.7052,6.465797,35025.0,415.5,193.5,0.0,,\n"
        )
    )
    frame = read_tracks(path)
    assert frame["id"].tolist() == ["4067f2", "00a1b2"]  # leading zeros kept: ids are text
    assert set(frame.columns) == {*REQUIRED_COLUMNS, "time", "callsign", "onground"}
    assert frame["callsign"].tolist() == ["TOM2XE", "LDM150"]  # passed through for the output
    assert np.isnan(frame["onground"]).all()  # empty flag: unknown
    assert dict(NORMALISED_SCHEMA_MAPPING) == {"icao24": "id", "timestamp": "time"}


def test_existing_id_wins_over_mapped_source(tmp_path: Path) -> None:
    path = tmp_path / "both.csv"
    path.write_text("id,icao24,lat,lon,alt_ft,gs_kt,track_deg,vs_fpm\nMINE,abc123,1,2,3,4,5,6\n")
    assert read_tracks(path)["id"].tolist() == ["MINE"]


def test_explicit_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "hex.csv"
    path.write_text("hex,lat,lon,alt_ft,gs_kt,track_deg,vs_fpm,owner\nabc,1,2,3,4,5,6,blue\n")
    frame = read_tracks(path, column_mapping={"hex": "id", "owner": "party"})
    assert frame["id"].tolist() == ["abc"]
    assert frame["party"].tolist() == ["blue"]


def test_times_with_offsets_and_unix_seconds_become_utc(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    base = "id,lat,lon,alt_ft,gs_kt,track_deg,vs_fpm,time\n"
    path.write_text(
        base + "a,1,2,3,4,5,6,2018-08-01T07:00:00+02:00\nb,1,2,3,4,5,6,2018-08-01T05:00:00.5Z\n"
    )
    times = read_tracks(path)["time"].tolist()
    assert times == [pd.Timestamp("2018-08-01T05:00:00Z"), pd.Timestamp("2018-08-01T05:00:00.5Z")]
    path.write_text(base + "a,1,2,3,4,5,6,1533099600\nb,1,2,3,4,5,6,1533099600.25\n")
    times = read_tracks(path)["time"].tolist()
    assert times == [pd.Timestamp("2018-08-01T05:00:00Z"), pd.Timestamp("2018-08-01T05:00:00.25Z")]


def test_empty_files_have_no_aircraft(tmp_path: Path) -> None:
    for name, content in [("e.csv", ""), ("e.jsonl", "\n"), ("h.csv", ",".join(REQUIRED_COLUMNS))]:
        path = tmp_path / name
        path.write_text(content)
        frame = read_tracks(path)
        assert len(frame) == 0
        assert list(frame.columns)[:7] == list(REQUIRED_COLUMNS)
        assert split_snapshots(frame) == []


def test_snapshots_keep_file_rows(tmp_path: Path) -> None:
    rows = [dict(ROWS[0], id=f"X{k}", time=t) for k, t in enumerate("31213")]
    for r in rows:
        r["time"] = f"2018-08-01T05:00:0{r['time']}Z"
    snapshots = split_snapshots(read_tracks(_write_csv(tmp_path / "s.csv", rows)))
    assert [s.time.second for s in snapshots if s.time is not None] == [1, 2, 3]
    assert [s.rows.tolist() for s in snapshots] == [[2, 4], [3], [1, 5]]
    assert [s.states["id"].tolist() for s in snapshots] == [["X1", "X3"], ["X2"], ["X0", "X4"]]
    assert all(s.states.index.tolist() == list(range(len(s.states))) for s in snapshots)
    assert snapshots[2].file_row(2) == 5
    assert "time" not in snapshots[0].states.columns


def test_without_time_one_snapshot(tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "time"} for r in ROWS]
    snapshots = split_snapshots(read_tracks(_write_csv(tmp_path / "n.csv", rows)))
    assert len(snapshots) == 1
    assert snapshots[0].time is None
    assert snapshots[0].rows.tolist() == [1, 2, 3]


# ----------------------------------------------------------------------------- bad input


def _assert_names(exc: pytest.ExceptionInfo[InvalidInputError], field: str, row: int | str) -> None:
    assert exc.value.field == field
    assert exc.value.row == row
    message = str(exc.value)
    where = f"row {row}" if isinstance(row, int) else str(row)
    assert message.startswith(f"{where}, field '{field}'"), message
    assert "\n" not in message


@pytest.mark.parametrize("name", sorted(WRITERS))
@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
def test_missing_column_is_named(tmp_path: Path, name: str, column: str) -> None:
    rows = [{k: v for k, v in r.items() if k != column} for r in ROWS]
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(WRITERS[name](tmp_path / name, rows))
    where = {"csv": "header", "jsonl": "line 1", "parquet": "schema"}
    kind = "csv" if ".csv" in name else "jsonl" if ".jsonl" in name else "parquet"
    _assert_names(exc, column, where[kind])
    assert "missing" in exc.value.reason


@pytest.mark.parametrize("name", ["states.csv", "states.jsonl", "states.parquet"])
@pytest.mark.parametrize("column", NUMERIC_COLUMNS)
def test_non_numeric_value_names_row_and_column(tmp_path: Path, name: str, column: str) -> None:
    rows = [dict(r) for r in ROWS]
    rows[1][column] = "abc"
    if name.endswith(".parquet"):  # a text column in Parquet: every cell is a string
        for r in rows:
            r[column] = str(r[column])
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(WRITERS[name](tmp_path / name, rows))
    _assert_names(exc, column, 2)
    assert "'abc'" in exc.value.reason


def test_empty_numeric_cells_pass_through_as_nan(tmp_path: Path) -> None:
    path = tmp_path / "nan.csv"
    path.write_text("id,lat,lon,alt_ft,gs_kt,track_deg,vs_fpm\na,1,2,,4,5,NaN\n")
    frame = read_tracks(path)
    assert np.isnan(frame["alt_ft"].iloc[0])
    assert np.isnan(frame["vs_fpm"].iloc[0])  # range validation (the kernel) rejects it later


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("yesterday", "not an ISO-8601 time"),
        ("2018-13-45T00:00:00Z", "not an ISO-8601 time"),
        ("2018-08-01T05:00:00", "no UTC offset"),
        ("", "is empty"),
    ],
)
def test_bad_time_names_row(tmp_path: Path, value: str, reason: str) -> None:
    rows = [dict(r) for r in ROWS]
    rows[2]["time"] = value
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(_write_csv(tmp_path / "t.csv", rows))
    _assert_names(exc, "time", 3)
    assert reason in exc.value.reason


def test_naive_parquet_timestamps_are_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame(ROWS)
    frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None)
    frame.to_parquet(tmp_path / "naive.parquet", index=False)
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(tmp_path / "naive.parquet")
    _assert_names(exc, "time", 1)
    assert "time zone" in exc.value.reason


def test_empty_id_names_row(tmp_path: Path) -> None:
    rows = [dict(r) for r in ROWS]
    rows[1]["id"] = ""
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(_write_csv(tmp_path / "i.csv", rows))
    _assert_names(exc, "id", 2)


def test_jsonl_record_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps(ROWS[0])
    path.write_text(f"{good}\n{{not json\n")
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(path)
    _assert_names(exc, "json", 2)
    path.write_text(f"{good}\n[1, 2]\n")
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(path)
    _assert_names(exc, "json", 2)
    missing = {k: v for k, v in ROWS[0].items() if k != "gs_kt"}
    path.write_text(f"{good}\n{good}\n{json.dumps(missing)}\n")
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(path)
    _assert_names(exc, "gs_kt", 3)
    path.write_text(f"{good}\n{json.dumps(dict(ROWS[0], lat=True))}\n")
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(path)
    _assert_names(exc, "lat", 2)


def test_malformed_csv_line_names_row(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "id,lat,lon,alt_ft,gs_kt,track_deg,vs_fpm\na,1,2,3,4,5,6\nb,1,2,3,4,5,6\nc,1,2,3,4,5,6,7,8\n"
    )
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(path)
    assert exc.value.row == 3
    assert str(exc.value).startswith("row 3, ")


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(tmp_path / "nope.csv")
    assert "no such file" in exc.value.reason
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(tmp_path / "states.xlsx")
    assert "unknown file type" in exc.value.reason
    (tmp_path / "fake.parquet").write_text("not parquet")
    with pytest.raises(InvalidInputError):
        read_tracks(tmp_path / "fake.parquet")
    (tmp_path / "fake.csv.gz").write_text("not gzip")
    with pytest.raises(InvalidInputError):
        read_tracks(tmp_path / "fake.csv.gz")


# ----------------------------------------------------------------------------- properties

_finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=64)
_state = st.fixed_dictionaries(
    {
        "id": st.text(alphabet="ABCDEFXYZ0123456789", min_size=1, max_size=6),
        **{c: _finite for c in NUMERIC_COLUMNS},
        "time": st.integers(min_value=1_500_000_000, max_value=1_500_000_003).map(
            lambda s: pd.Timestamp(s, unit="s", tz="UTC").isoformat()
        ),
    }
)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(_state, min_size=1, max_size=25),
    fmt=st.sampled_from(["states.csv", "states.jsonl.gz", "states.parquet"]),
    bad=st.tuples(st.integers(min_value=0, max_value=24), st.sampled_from(NUMERIC_COLUMNS)),
)
def test_round_trip_and_bad_cell_row_property(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[dict[str, object]],
    fmt: str,
    bad: tuple[int, str],
) -> None:
    """Values survive every format exactly; snapshots partition the rows; a bad cell anywhere is
    reported at its own row and column."""
    folder = tmp_path_factory.mktemp("prop")
    frame = read_tracks(WRITERS[fmt](folder / fmt, rows))
    for column in NUMERIC_COLUMNS:
        assert frame[column].tolist() == [r[column] for r in rows]
    snapshots = split_snapshots(frame)
    all_rows = sorted(r for s in snapshots for r in s.rows.tolist())
    assert all_rows == list(range(1, len(rows) + 1))
    for s in snapshots:
        for k, file_row in enumerate(s.rows.tolist()):
            assert s.states["id"].iloc[k] == rows[file_row - 1]["id"]
            assert frame["time"].loc[file_row] == s.time
    row_index, column = bad
    row_index %= len(rows)
    broken = [dict(r) for r in rows]
    broken[row_index][column] = "1.2.3"
    if fmt.endswith(".parquet"):
        for r in broken:
            r[column] = str(r[column])
    with pytest.raises(InvalidInputError) as exc:
        read_tracks(WRITERS[fmt](folder / ("bad-" + fmt), broken))
    assert (exc.value.field, exc.value.row) == (column, row_index + 1)


def test_nulls_in_json_and_parquet(tmp_path: Path) -> None:
    rows = [dict(r) for r in ROWS]
    rows[1]["alt_ft"] = None
    frame = read_tracks(_write_jsonl(tmp_path / "n.jsonl", rows))
    assert np.isnan(frame["alt_ft"].loc[2])  # left to range validation, like an empty CSV cell
    rows[2]["id"] = None
    for name in ("n.jsonl", "n.parquet"):
        with pytest.raises(InvalidInputError) as exc:
            read_tracks(WRITERS["states" + name[1:]](tmp_path / name, rows))
        _assert_names(exc, "id", 3)


def test_surrounding_whitespace_in_header_and_cells(tmp_path: Path) -> None:
    path = tmp_path / "ws.csv"
    path.write_text(" id , lat,lon,alt_ft,gs_kt,track_deg,vs_fpm\n A7 , 1.5,2,3,4,5,6\n")
    frame = read_tracks(path)
    assert frame["id"].tolist() == ["A7"]
    assert frame["lat"].tolist() == [1.5]
