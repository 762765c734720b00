"""``deconflict detect`` on real feeds: cleaning, alignment, events, outputs and plots.

Includes the issue's proof: the Swiss day with an injected head-on conflict, re-encoded as SBS-1
with uneven report times, finds the same conflicts as the aligned CSV, ahead of time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from deconflict.cli import main
from deconflict.formats.clean import extrapolate
from deconflict.formats.frames import detect_frames
from deconflict.formats.sbs import encode_sbs
from deconflict.formats.tracks import read_tracks
from deconflict.tactical import detect

PARIS = "paris_2021-10-07_opensky.csv.gz"
SWISS = "switzerland_2018-08-01_opensky.csv.gz"
SUMMARY = re.compile(r"^detected (\d+) conflicts among (\d+) aircraft in (\d+\.\d+) s$")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["detect", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def paris_small(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Paris day's first 10,000 rows as recorded."""
    head = pd.read_csv(shared_data / PARIS, nrows=10_000, dtype=str, keep_default_na=False)
    path = tmp_path_factory.mktemp("paris") / "paris_small.csv"
    head.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def paris_slice(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Paris day's first 30,000 rows as recorded (ground rows, gaps and glitches kept)."""
    head = pd.read_csv(shared_data / PARIS, nrows=30_000, dtype=str, keep_default_na=False)
    path = tmp_path_factory.mktemp("paris") / "paris_head.csv.gz"
    head.to_csv(path, index=False)
    return path


def test_paris_runs_where_it_used_to_stop_at_row_3(
    paris_slice: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(capsys, str(paris_slice), "--strict", "--align", "0")
    assert code == 2 and "row 3, field 'alt_ft'" in err  # the old behaviour, on request
    out = tmp_path / "c.jsonl"
    code, _, err = _run(capsys, str(paris_slice), "--out", str(out))
    assert code == 0, err
    lines = err.splitlines()
    assert re.match(
        r"^read 30000 reports, kept \d+, dropped \d+ \(ground \d+, incomplete \d+", lines[0]
    )
    found = SUMMARY.match(lines[-1])
    assert found and int(found.group(1)) > 100
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == int(found.group(1))
    assert {"time", "a", "b", "callsign_a", "callsign_b", "hmd_nm"} <= set(records[0])
    assert all(r["a"] < r["b"] for r in records)
    assert sum(1 for r in records if r["callsign_a"]) > 0.9 * len(records)


def test_events_and_every_output_suffix(
    paris_small: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    paris_slice = paris_small
    code, out, err = _run(capsys, str(paris_slice), "--events")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert events and f"{len(events)} encounters" in err
    for event in events:
        assert event["first_alert"] <= event["last_alert"]
        if event["los_start"]:
            assert event["first_alert"] <= event["los_start"] <= event["los_end"]
            assert event["warning_s"] >= 0
        assert event["min_hmd_nm"] <= 5.0 and event["alerts"] >= 1
    assert len({(e["a"], e["b"], e["first_alert"]) for e in events}) == len(events)
    written = {}
    for suffix in (".csv", ".parquet", ".geojson", ".kml"):
        target = tmp_path / f"events{suffix}"
        assert _run(capsys, str(paris_slice), "--events", "--out", str(target))[0] == 0
        written[suffix] = target
    csv = pd.read_csv(written[".csv"], dtype={"a": str, "b": str}, keep_default_na=False)
    parquet = pd.read_parquet(written[".parquet"])
    assert list(csv["a"]) == list(parquet["a"]) == [e["a"] for e in events]
    geo = json.loads(written[".geojson"].read_text())
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == len(events)
    point = geo["features"][0]["geometry"]["coordinates"]
    assert 47 < point[1] < 51 and 0 < point[0] < 5  # the Paris area, lon/lat order
    kml = written[".kml"].read_text()
    assert kml.count("<Placemark") == len(events)
    code, _, err = _run(capsys, str(paris_slice), "--out", str(tmp_path / "x.txt"))
    assert code == 2 and "unknown output type '.txt'" in err


def test_plot_draws_an_encounter(
    paris_small: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    paris_slice = paris_small
    events = tmp_path / "e.csv"
    assert _run(capsys, str(paris_slice), "--events", "--out", str(events))[0] == 0
    png = tmp_path / "enc.png"
    code = main(["plot", str(events), "--tracks", str(paris_slice), "--out", str(png)])
    assert code == 0, capsys.readouterr().err
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert (
        main(["plot", str(events), "--tracks", str(paris_slice), "--out", str(tmp_path / "x.jpg")])
        == 2
    )


def test_readsb_trace_runs_through_detect(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, str(shared_data / "readsb_trace_ac671b_2025-02-04.csv.gz"))
    assert code == 0, err
    assert out == "" and "incomplete" in err.splitlines()[0]  # the row 8 without ground speed


@settings(max_examples=15, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(seed=st.integers(0, 2**31 - 1))
def test_detect_frames_equals_detect_per_snapshot(seed: int) -> None:
    """The multi-snapshot path gives exactly what tactical.detect gives snapshot by snapshot."""
    rng = np.random.default_rng(seed)
    n = 60
    frame = pd.DataFrame({
        "time": pd.to_datetime(1.7e9 + rng.integers(0, 4, n) * 5, unit="s", utc=True),
        "id": [f"x{k:02d}" for k in rng.permutation(n)],
        "lat": 45 + rng.uniform(0, 0.5, n), "lon": 7 + rng.uniform(0, 0.5, n),
        "alt_ft": rng.choice([30000.0, 30500.0, 31000.0, 34975.0], n),
        "gs_kt": rng.uniform(200, 500, n), "track_deg": rng.uniform(0, 360, n),
        "vs_fpm": rng.choice([0.0, -1500.0, 1500.0], n),
    })  # fmt: skip
    got = detect_frames(frame)
    expected = []
    for when, snap in frame.groupby("time", sort=True):
        found = detect(snap.drop(columns="time").reset_index(drop=True))
        expected.append(found.assign(time=when.strftime("%Y-%m-%dT%H:%M:%SZ")))
    want = pd.concat(expected, ignore_index=True)[list(got.columns)]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)


def _head_on_copy(flight: pd.DataFrame) -> pd.DataFrame:
    """The same flight flown backwards along its own path, 500 ft higher, meeting it halfway."""
    rev = flight.iloc[::-1].reset_index(drop=True)
    return rev.assign(
        time=flight["time"].to_numpy(),
        id="c0ffee", callsign="INJECT1",
        track_deg=(rev["track_deg"] + 180.0) % 360.0,
        vs_fpm=-rev["vs_fpm"], alt_ft=rev["alt_ft"] + 500.0,
    )  # fmt: skip


def test_swiss_sbs_with_uneven_times_finds_the_csv_conflicts(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = read_tracks(shared_data / SWISS)
    day = day[(day["time"] >= "2018-08-01T12:00:00Z") & (day["time"] < "2018-08-01T12:35:00Z")]
    longest = day.groupby("id").size().idxmax()
    flight = day[day["id"] == longest].sort_values("time")
    truth = pd.concat([day, _head_on_copy(flight)]).reset_index(drop=True)
    csv = tmp_path / "swiss.csv"
    truth.to_csv(csv, index=False)
    # Each report moved to an uneven time within its 10 s slot, its state extrapolated to it:
    # what a receiver hearing the aircraft at that moment would report.
    rng = np.random.default_rng(7)
    offsets = rng.uniform(0.0, 9.9, len(truth))
    uneven = extrapolate(truth, offsets)
    uneven["time"] = uneven["time"] + pd.to_timedelta(offsets, unit="s")
    sbs = tmp_path / "swiss.sbs"
    sbs.write_bytes(encode_sbs(uneven))
    runs = {}
    for name, path in (("csv", csv), ("sbs", sbs)):
        out = tmp_path / f"{name}.csv"
        code, _, err = _run(capsys, str(path), "--events", "--out", str(out))
        assert code == 0, err
        runs[name] = pd.read_csv(out, dtype={"a": str, "b": str}, keep_default_na=False)
    clear = {  # away from the thresholds (5 NM, 1000 ft) and alerting for 10 s or more
        name: {
            (r.a, r.b)
            for r in run.itertuples()
            if r.min_hmd_nm < 3.5 and r.min_vmd_ft < 500 and r.alerts >= 10
        }
        for name, run in runs.items()
    }
    every = {name: set(zip(run["a"], run["b"], strict=True)) for name, run in runs.items()}
    assert clear["csv"] <= every["sbs"] and clear["sbs"] <= every["csv"]
    injected = runs["sbs"][(runs["sbs"]["a"] == "c0ffee") | (runs["sbs"]["b"] == "c0ffee")]
    head_on = injected[injected[["a", "b"]].isin([longest]).any(axis=1)].iloc[0]
    assert head_on["los_start"] and float(head_on["warning_s"]) > 120  # minutes ahead
    assert float(head_on["min_range_nm"]) < 1.0


def test_input_format_option_overrides_the_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "receiver-log.txt"
    path.write_bytes(
        b"MSG,4,1,1,4CA2D6,1,2008/11/28,14:53:50.000,2008/11/28,14:53:50.000,,,430.0,90.5,,,64,,,,,\n"
        b"MSG,3,1,1,4CA2D6,1,2008/11/28,14:53:50.594,2008/11/28,14:53:50.594,,37000,,,51.45735,-1.02826,,,0,0,0,0\n"
    )  # fmt: skip
    code, _, err = _run(capsys, str(path))
    assert code == 2 and "unknown file type" in err and "--input-format" in err
    code, _, err = _run(capsys, str(path), "--input-format", "sbs")
    assert code == 0 and err.startswith("read 1 reports, kept 1, dropped 0")


def test_progress_bar_only_after_a_second_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from deconflict.cli import detect as detect_cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(detect_cli.sys, "stderr", screen)
    with detect_cli._Progress() as bar:
        bar.update(1, 10)
        assert screen.getvalue() == ""  # under a second: nothing drawn
        bar._started -= 2.0
        bar.update(5, 10)
        assert bar._bar is not None
    piped = io.StringIO()  # not a terminal: never a bar, whatever the duration
    monkeypatch.setattr(detect_cli.sys, "stderr", piped)
    with detect_cli._Progress() as bar:
        bar._started -= 2.0
        bar.update(5, 10)
        assert bar._bar is None
    assert piped.getvalue() == ""
