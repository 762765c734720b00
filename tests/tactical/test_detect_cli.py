"""``deconflict detect`` end to end through ``deconflict.cli.main([...])``.

The bundled Levant example was built around chosen closest points of approach (see
``deconflict.examples._build_levant``), so the expected pairs and their geometry come from the
construction, not from a previous run of the detector.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.cli import main
from deconflict.cli.detect import detect_snapshots, write_conflicts
from deconflict.errors import InvalidInputError
from deconflict.examples import levant_snapshot_path
from deconflict.formats.tracks import read_tracks, split_snapshots
from deconflict.tactical import detect

REAL = {("AEE934", "ELY315"), ("BLUE11", "MEA231"), ("CYP402", "RED21")}
"""Head-on, crossing and vertical-only: conflicts in both vertical modes."""
ADJACENT_LEVELS = {("MSR781", "RJA503"), ("THY6RM", "UAE957")}
"""Level aircraft 975 ft apart on adjacent flight levels: strict mode only."""
SUMMARY = re.compile(r"^detected (\d+) conflicts among (\d+) aircraft in (\d+\.\d+) s$")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["detect", "--strict", "--align", "0", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _records(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def _summary(err: str) -> tuple[int, int]:
    last = err.rstrip("\n").splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, f"last stderr line is {last!r}"
    return int(match.group(1)), int(match.group(2))


def _pairs(records: list[dict[str, object]]) -> set[tuple[str, str]]:
    return {(str(r["a"]), str(r["b"])) for r in records}


def test_example_strict_finds_designed_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(levant_snapshot_path()))
    assert code == 0
    records = _records(out)
    assert _pairs(records) == REAL | ADJACENT_LEVELS
    assert _summary(err) == (5, 30)
    by_pair = {(r["a"], r["b"]): r for r in records}
    head_on = by_pair["AEE934", "ELY315"]  # CPA built at 200 s, 0.3 NM offset, 920 kt closure
    assert head_on["t_cpa_s"] == pytest.approx(200.0, abs=1.0)
    assert head_on["hmd_nm"] == pytest.approx(0.3, abs=0.02)
    assert head_on["t_in_s"] == pytest.approx(200.0 - 5.0 / 920.0 * 3600.0, abs=2.0)
    vertical = by_pair["CYP402", "RED21"]  # same velocity, 0.2 NM abeam, 2,500 ft below
    assert vertical["range_nm"] == pytest.approx(0.2, abs=0.002)
    assert vertical["hmd_nm"] == pytest.approx(vertical["range_nm"], abs=0.002)
    assert vertical["vertical_ft"] == pytest.approx(2500.0)
    assert vertical["t_in_s"] == pytest.approx((2500 - 1000) / 2496 * 60, abs=0.1)
    assert vertical["t_out_s"] == pytest.approx((2500 + 1000) / 2496 * 60, abs=0.1)
    for pair in ADJACENT_LEVELS:
        assert by_pair[pair]["vertical_ft"] == pytest.approx(975.0)
    for r in records:
        assert 0.0 <= float(r["t_in_s"]) < float(r["t_out_s"])  # type: ignore[arg-type]
        assert list(r)[:2] == ["a", "b"] and "time" not in r
        assert {r["party_a"], r["party_b"]} <= {"civil", "blue", "red"}


def test_example_flight_level_drops_adjacent_levels(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(levant_snapshot_path()), "--vertical-mode", "flight-level")
    assert code == 0
    assert _pairs(_records(out)) == REAL
    assert _summary(err) == (3, 30)


def test_exactly_1000_ft_is_separated_in_both_modes(capsys: pytest.CaptureFixture[str]) -> None:
    for mode in ("strict", "flight-level"):
        code, out, _ = _run(capsys, str(levant_snapshot_path()), "--vertical-mode", mode)
        assert code == 0
        assert ("BLUE12", "RED22") not in _pairs(_records(out))
    code, out, _ = _run(capsys, str(levant_snapshot_path()), "--vertical-ft", "1001")
    assert ("BLUE12", "RED22") in _pairs(_records(out))  # and it is a real crossing


def test_thresholds_reach_the_detector(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(levant_snapshot_path())
    _, out, _ = _run(capsys, path, "--horizontal-nm", "0.5")
    assert _pairs(_records(out)) == {("AEE934", "ELY315"), ("CYP402", "RED21")}
    _, out, _ = _run(capsys, path, "--lookahead-s", "60")
    assert _pairs(_records(out)) == {("CYP402", "RED21")}
    _, out, _ = _run(capsys, path, "--vertical-ft", "500")
    assert _pairs(_records(out)) == REAL


def test_cli_output_equals_python_api(capsys: pytest.CaptureFixture[str]) -> None:
    states = pd.read_csv(levant_snapshot_path(), dtype={"id": str})
    expected = io.StringIO()
    write_conflicts(detect(states, vertical_mode="flight-level"), expected, "jsonl")
    _, out, _ = _run(capsys, str(levant_snapshot_path()), "--vertical-mode", "flight-level")
    assert out == expected.getvalue()


def test_csv_format_and_out_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, jsonl, _ = _run(capsys, str(levant_snapshot_path()))
    target = tmp_path / "conflicts.csv"
    code, out, err = _run(
        capsys, str(levant_snapshot_path()), "--format", "csv", "--out", str(target)
    )
    assert code == 0
    assert out == ""
    assert _summary(err) == (5, 30)
    table = pd.read_csv(target, dtype={"a": str, "b": str})
    assert table.to_dict("records") == _records(jsonl)


def _timed_file(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """Two snapshots interleaved row by row: the whole example at 10:00:00Z and, at 10:00:10Z,
    the example without RED21, so snapshot row numbers differ from file row numbers."""
    example = pd.read_csv(levant_snapshot_path(), dtype={"id": str})
    first = example.assign(time="2026-11-26T10:00:00Z")
    second = example[example["id"] != "RED21"].assign(time="2026-11-26T12:00:10+02:00")
    rows = []
    for k in range(len(first)):
        rows.append(first.iloc[k])
        if k < len(second):
            rows.append(second.iloc[k])
    table = pd.DataFrame(rows).reset_index(drop=True)
    path = tmp_path / "timed.csv"
    table.to_csv(path, index=False)
    return path, table


def test_time_column_splits_snapshots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, table = _timed_file(tmp_path)
    code, out, err = _run(capsys, str(path))
    assert code == 0
    records = _records(out)
    assert [r["time"] for r in records] == ["2026-11-26T10:00:00Z"] * 5 + [
        "2026-11-26T10:00:10Z"
    ] * 4
    assert next(iter(records[0])) == "time"
    later = {(str(r["a"]), str(r["b"])) for r in records if str(r["time"]).endswith("10Z")}
    assert later == (REAL | ADJACENT_LEVELS) - {("CYP402", "RED21")}
    assert _summary(err) == (9, len(table))  # N: aircraft rows summed over snapshots (30 + 29)
    assert "2 snapshots, 30 distinct ids" in err


def _write_states(tmp_path: Path, rows: list[dict[str, object]], name: str = "s.csv") -> Path:
    path = tmp_path / name
    frame = pd.DataFrame(rows)
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    elif ".jsonl" in name:
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False)
    return path


def _state(ident: str, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": ident, "lat": 34.0, "lon": 33.0, "alt_ft": 35000, "gs_kt": 450,
        "track_deg": 90, "vs_fpm": 0, "time": "2026-11-26T10:00:00Z",
    }  # fmt: skip
    base.update(changes)
    return base


T1 = "2026-11-26T10:00:10Z"


def _bad_rows(column: str, value: object) -> list[dict[str, object]]:
    """Five rows, two snapshots; the bad value sits in file row 4, which is row 2 of snapshot T1."""
    return [
        _state("A", lon=33.0),
        _state("A", lon=33.1, time=T1),
        _state("B", lon=33.2),
        {**_state("B", time=T1), column: value},
        _state("C", lon=33.4, time=T1),
    ]


BAD_VALUES = [
    pytest.param("lat", 91.5, "outside", id="lat-above-90"),
    pytest.param("lat", -90.01, "outside", id="lat-below-90"),
    pytest.param("gs_kt", -1, "negative", id="negative-speed"),
    pytest.param("vs_fpm", "NaN", "missing value", id="nan"),
    pytest.param("alt_ft", "", "missing value", id="empty-cell"),
    pytest.param("track_deg", "inf", "finite", id="infinite"),
    pytest.param("alt_ft", "FL350", "not a number", id="non-numeric"),
    pytest.param("time", "10:00", "ISO-8601", id="bad-time"),
    pytest.param("time", "2026-11-26T10:00:10", "UTC offset", id="zoneless-time"),
    pytest.param("id", "", "empty", id="empty-id"),
]


def _assert_one_line_error(code: int, out: str, err: str, row: int | str, field: str) -> str:
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    where = f"row {row}" if isinstance(row, int) else row
    assert lines[0].startswith(f"deconflict: error: {where}, field '{field}': "), lines[0]
    return lines[0]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_VALUES)
@pytest.mark.parametrize("name", ["s.csv", "s.jsonl", "s.csv.gz"])
def test_bad_value_names_file_row_and_column(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    column: str,
    value: object,
    reason: str,
    name: str,
) -> None:
    path = _write_states(tmp_path, _bad_rows(column, value), name)
    code, out, err = _run(capsys, str(path))
    message = _assert_one_line_error(code, out, err, 4, column)
    assert reason in message


def test_parquet_bad_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _bad_rows("lat", 123.0)
    path = _write_states(tmp_path, rows, "s.parquet")
    code, out, err = _run(capsys, str(path))
    _assert_one_line_error(code, out, err, 4, "lat")


def test_duplicate_id_within_a_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _bad_rows("lat", 34.0)
    rows.append(_state("C", time=T1, lon=34.0))  # row 6 repeats C of row 5 at T1
    path = _write_states(tmp_path, rows)
    code, out, err = _run(capsys, str(path))
    message = _assert_one_line_error(code, out, err, 6, "id")
    assert "duplicate id 'C'" in message
    assert "first at row 5" in message  # the file row, not the snapshot row (3)


def test_same_id_in_different_snapshots_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_states(tmp_path, _bad_rows("lat", 34.0))
    code, _, err = _run(capsys, str(path))
    assert code == 0
    assert _summary(err)[1] == 5


def test_missing_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{k: v for k, v in _state("A").items() if k != "vs_fpm"}]
    path = _write_states(tmp_path, rows)
    code, out, err = _run(capsys, str(path))
    message = _assert_one_line_error(code, out, err, "header", "vs_fpm")
    assert "missing" in message
    path = _write_states(tmp_path, rows, "s.jsonl")
    code, out, err = _run(capsys, str(path))
    _assert_one_line_error(code, out, err, "line 1", "vs_fpm")


def test_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(levant_snapshot_path())
    code, out, err = _run(capsys, path, "--horizontal-nm", "0")
    assert code == 2 and out == "" and "--horizontal-nm" in err and "Traceback" not in err
    code, out, err = _run(capsys, path, "--column", "nonsense")
    assert code == 2 and "--column" in err
    code, out, err = _run(capsys, str(tmp_path / "absent.csv"))
    assert code == 2 and "no such file" in err and "Traceback" not in err


def test_bad_choice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, str(levant_snapshot_path()), "--vertical-mode", "sloppy")
    assert code == 2
    assert "sloppy" in err and "Traceback" not in err


@pytest.mark.parametrize("content", ["", "id,lat,lon,alt_ft,gs_kt,track_deg,vs_fpm\n"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_file_of_no_aircraft(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, fmt: str
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content)
    code, out, err = _run(capsys, str(path), "--format", fmt)
    assert code == 0
    assert _summary(err) == (0, 0)
    if fmt == "jsonl":
        assert out == ""
    else:
        assert (
            out.strip()
            == "a,b,t_in_s,t_out_s,t_cpa_s,hmd_nm,vmd_ft,range_nm,vertical_ft,bearing_deg"
        )


@pytest.mark.parametrize("name", ["timed.csv.gz", "timed.jsonl", "timed.jsonl.gz", "timed.parquet"])
def test_every_input_format_gives_the_same_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path, table = _timed_file(tmp_path)
    _, expected, _ = _run(capsys, str(path))
    other = tmp_path / name
    if name.endswith(".parquet"):
        table.assign(time=pd.to_datetime(table["time"], utc=True)).to_parquet(other, index=False)
    elif ".jsonl" in name:
        table.to_json(other, orient="records", lines=True)
    else:
        table.to_csv(other, index=False)
    code, out, err = _run(capsys, str(other))
    assert code == 0
    assert out == expected
    assert _summary(err) == (9, 59)


def test_bundled_example_is_rebuilt_by_its_script(tmp_path: Path) -> None:
    from deconflict.examples import _build_levant

    rebuilt = tmp_path / "levant.csv"
    _build_levant.write(rebuilt)
    assert rebuilt.read_text() == levant_snapshot_path().read_text(), (
        "levant_snapshot.csv differs from its builder: "
        "python -m deconflict.examples._build_levant src/deconflict/examples/levant_snapshot.csv"
    )


def test_examples_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    from deconflict.examples.__main__ import main as examples_main

    assert examples_main([]) == 0
    assert Path(capsys.readouterr().out.strip()) == levant_snapshot_path()
    assert examples_main(["nope"]) == 2
    assert "unknown example" in capsys.readouterr().err


@settings(max_examples=25, deadline=None)
@given(
    times=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=12),
    bad_at=st.integers(min_value=0, max_value=11),
    bad=st.sampled_from([("lat", 90.5), ("lon", -180.5), ("gs_kt", -3.0), ("vs_fpm", "nan")]),
)
def test_range_error_row_is_the_file_row_property(
    tmp_path_factory: pytest.TempPathFactory,
    times: list[int],
    bad_at: int,
    bad: tuple[str, object],
) -> None:
    """Rows of up to four snapshots in random file order; one out-of-range value anywhere is
    reported by the kernel at its own file row, whatever snapshot it falls in."""
    rows = [
        _state(f"X{k}", lon=33.0 + 0.5 * k, time=f"2026-11-26T10:00:0{t}Z")
        for k, t in enumerate(times)
    ]
    bad_at %= len(rows)
    column, value = bad
    rows[bad_at][column] = value
    path = _write_states(tmp_path_factory.mktemp("prop"), rows)
    err = io.StringIO()  # capsys is function-scoped; hypothesis runs many examples per call
    with contextlib.redirect_stderr(err):
        code = main(["detect", "--strict", "--align", "0", str(path)])
    assert code == 2
    assert err.getvalue().startswith(f"deconflict: error: row {bad_at + 1}, field '{column}': ")
    with pytest.raises(InvalidInputError) as exc:  # and the structured fields agree
        detect_snapshots(split_snapshots(read_tracks(path)))
    assert (exc.value.field, exc.value.row) == (column, bad_at + 1)
