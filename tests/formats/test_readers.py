"""Golden tests per reader on real bytes from the shared data and on the formats' documented
sample messages; every reader yields the same columnar reports (formats.states)."""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import sys
import threading
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from deconflict.errors import InvalidInputError
from deconflict.formats.asterix import AsterixStats, decode_blocks, read_asterix
from deconflict.formats.cot import cot_event, parse_cot
from deconflict.formats.modes import decode_frames, parse_beast, read_beast, read_modes_hex
from deconflict.formats.opensky import TRAFFIC_MAPPING, states_reports
from deconflict.formats.readsb import aircraft_json_reports, read_aircraft_json, trace_reports
from deconflict.formats.sbs import encode_sbs, parse_sbs, read_sbs
from deconflict.formats.sources import detect_format, read_reports
from deconflict.formats.states import REPORT_COLUMNS
from deconflict.formats.tracks import read_tracks
from deconflict.units import M_PER_FT, MPS_PER_FPM, MPS_PER_KT

# --- SBS-1 ---------------------------------------------------------------------------------
# The BaseStation socket-data sample lines (woodair.net "barebones42_socket_data"), verbatim.
SBS_DOC = (
    b"MSG,1,145,256,7404F2,11267,2008/11/28,23:48:18.611,2008/11/28,23:53:19.161,RJA1118,,,,,,,,,,,\n"
    b"MSG,3,496,211,4CA2D6,10057,2008/11/28,14:53:50.594,2008/11/28,14:58:51.153,,37000,,,51.45735,-1.02826,,,0,0,0,0\n"
    b"MSG,4,496,469,4CA767,27854,2010/02/19,17:58:13.039,2010/02/19,17:58:13.368,,,288.6,103.2,,,-832,,,,,\n"
    b"SEL,,496,2286,4CA4E5,27215,2010/02/19,18:06:07.710,2010/02/19,18:06:07.710,RYR1427\n"
)  # fmt: skip


def test_sbs_documented_sample_fields() -> None:
    messages, skipped = parse_sbs(SBS_DOC)
    assert skipped == 1  # the SEL line
    assert messages.index.tolist() == [1, 2, 3]
    assert messages["id"].tolist() == ["7404f2", "4ca2d6", "4ca767"]
    assert messages["callsign"].tolist() == ["RJA1118", "", ""]
    pos = messages.loc[2]
    assert (pos["lat"], pos["lon"], pos["alt_ft"]) == (51.45735, -1.02826, 37000.0)
    assert pos["time"] == pd.Timestamp("2008-11-28T14:53:50.594Z")
    vel = messages.loc[3]
    assert (vel["gs_kt"], vel["track_deg"], vel["vs_fpm"]) == (288.6, 103.2, -832.0)


def test_sbs_assembles_position_velocity_identity_per_aircraft(tmp_path: Path) -> None:
    lines = (
        b"MSG,1,1,1,4CA2D6,1,2008/11/28,14:53:49.000,2008/11/28,14:53:49.000,EIN3HT,,,,,,,,,,,\n"
        b"MSG,4,1,1,4CA2D6,1,2008/11/28,14:53:50.000,2008/11/28,14:53:50.000,,,430.0,90.5,,,64,,,,,\n"
        b"MSG,3,1,1,7404F2,1,2008/11/28,14:53:50.200,2008/11/28,14:53:50.200,,12000,,,50.1,-1.0,,,0,0,0,0\n"
        b"MSG,3,1,1,4CA2D6,1,2008/11/28,14:53:50.594,2008/11/28,14:53:50.594,,37000,,,51.45735,-1.02826,,,0,0,0,0\n"
    )  # fmt: skip
    path = tmp_path / "r.sbs"
    path.write_bytes(lines)
    reports = read_sbs(str(path))
    assert list(reports.columns) == list(REPORT_COLUMNS)
    assert reports.index.tolist() == [3, 4]
    full = reports.loc[4]
    assert full["callsign"] == "EIN3HT" and full["gs_kt"] == 430.0 and full["vs_fpm"] == 64.0
    assert np.isnan(reports.loc[3, "gs_kt"])  # 7404f2 never sent a velocity


@pytest.fixture(scope="module")
def paris_head(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    head = pd.read_csv(shared_data / "paris_2021-10-07_opensky.csv.gz", nrows=4000, dtype=str,
                       keep_default_na=False)  # fmt: skip
    path = tmp_path_factory.mktemp("ph") / "head.csv"
    head.to_csv(path, index=False)
    frame = read_tracks(path)
    return frame[
        frame[["lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm"]].notna().all(axis=1)
    ]


def test_sbs_round_trip_of_real_states_in_chunks(paris_head: pd.DataFrame, tmp_path: Path) -> None:
    """Real Paris states as SBS-1 lines, read back in 64 KiB chunks (a stream's bounded
    memory): every state comes back to the precision SBS-1 carries."""
    data = encode_sbs(paris_head)
    from deconflict.formats.sbs import SbsReader

    reader = SbsReader()
    parts = [reader.push(data[k : k + 65536]) for k in range(0, len(data), 65536)]
    parts.append(reader.push(b"", final=True))
    back = pd.concat([p for p in parts if len(p)])
    complete = back.dropna(subset=["gs_kt"])
    assert len(complete) == len(back) == len(paris_head)
    merged = complete.merge(paris_head, on=["id", "time"], suffixes=("", "_src"))
    assert len(merged) == len(complete)
    assert np.allclose(merged["lat"], merged["lat_src"], atol=5e-6)
    assert np.allclose(merged["alt_ft"], merged["alt_ft_src"], atol=0.5)
    assert np.allclose(merged["gs_kt"], merged["gs_kt_src"], atol=0.05)


def test_sbs_from_stdin_and_tcp(paris_head: pd.DataFrame, tmp_path: Path) -> None:
    data = encode_sbs(paris_head.iloc[:300])
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    via_tcp = read_sbs(f"tcp://127.0.0.1:{port}")
    thread.join(timeout=10)
    server.close()
    path = tmp_path / "x.sbs"
    path.write_bytes(data)
    from_file = read_sbs(str(path))
    pd.testing.assert_frame_equal(via_tcp, from_file)
    read_fd, write_fd = os.pipe()  # stdin as a real pipe, fed by a writer thread

    def write() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with os.fdopen(read_fd, "rb") as pipe, mock.patch.object(sys, "stdin", io.TextIOWrapper(pipe)):
        via_stdin = read_sbs("-")
    writer.join(timeout=10)
    pd.testing.assert_frame_equal(via_stdin, from_file)


# --- Mode S / Beast (rs1090) ---------------------------------------------------------------


def test_modes_cdg_frames_match_the_data_readme(shared_data: Path) -> None:
    raw = pd.read_csv(shared_data / "rs1090_cdg_2024-07-06_frames.csv.gz", dtype={"frame": str})
    _, counts = decode_frames(raw["frame"].to_numpy(dtype=object), raw["timestamp"].to_numpy())
    assert {k: counts[k] for k in ("DF0", "DF17", "DF21", "DF20", "DF4", "DF5", "DF16")} == {
        "DF0": 15691, "DF17": 15573, "DF21": 12622, "DF20": 7770, "DF4": 4296, "DF5": 1031,
        "DF16": 810,
    }  # fmt: skip
    reports = read_modes_hex(str(shared_data / "rs1090_cdg_2024-07-06_frames.csv.gz"))
    assert set(reports["id"]) == {"393322"}
    assert set(reports["callsign"]) - {""} == {"AFR34ZG"}
    airborne = reports[reports["onground"] == 0.0]
    assert 5000 < len(airborne) < 8324  # positions need a CPR pair; surface ones a reference
    assert airborne["alt_ft"].max() == pytest.approx(35000, abs=100)  # cruise near FL350
    assert airborne["lat"].between(43.0, 49.2).all()  # Paris-CDG to Toulouse
    assert (np.diff(reports["time"].astype("int64")) >= 0).all()


def test_modes_pymodes_sample_without_header(shared_data: Path) -> None:
    path = shared_data / "pymodes_sample_data_adsb.csv"
    assert detect_format(str(path)) == "modes-hex"
    reports = read_reports(path)
    assert set(reports["id"]) == {"406b90"} and set(reports["callsign"]) - {""} == {"EZY85MH"}
    assert reports["alt_ft"].dropna().between(35000, 37000).all()


def test_beast_capture(shared_data: Path) -> None:
    data = (shared_data / "beast_sample_dump1090.bin").read_bytes()
    counters, signals, frames = parse_beast(data)
    assert len(frames) == 239
    assert sum(len(f) == 14 for f in frames) == 185 and sum(len(f) == 28 for f in frames) == 54
    assert counters == sorted(counters) and all(0 <= s <= 255 for s in signals)
    reports = read_beast(str(shared_data / "beast_sample_dump1090.bin"), start_s=1.7e9)
    assert set(reports["id"]) == {"48520a"} and "TRA89M" in set(reports["callsign"])
    span = reports["time"].max() - reports["time"].min()
    assert pd.Timedelta(0) < span < pd.Timedelta(minutes=5)


# --- readsb JSON ---------------------------------------------------------------------------


def test_aircraft_json_documented_fields(tmp_path: Path) -> None:
    doc = {
        "now": 1707000000.5,
        "messages": 1234,
        "aircraft": [
            {"hex": "4ca2d6", "flight": "EIN3HT  ", "alt_baro": 37000, "gs": 430.1, "track": 90.5,
             "baro_rate": -64, "lat": 51.45735, "lon": -1.02826, "seen_pos": 0.5, "seen": 0.1},
            {"hex": "~2a0b1c", "alt_baro": "ground", "gs": 3.0, "track": 10.0, "lat": 53.4,
             "lon": -2.27, "seen_pos": 2.0},
            {"hex": "400aaa", "alt_baro": 5000, "seen": 1.0},
        ],
    }  # fmt: skip
    reports = aircraft_json_reports(doc)
    assert reports.index.tolist() == [1, 2]  # the third has no position
    first = reports.loc[1]
    assert first["time"] == pd.Timestamp(1707000000.0, unit="s", tz="UTC")
    assert (first["callsign"], first["alt_ft"], first["vs_fpm"]) == ("EIN3HT", 37000.0, -64.0)
    assert reports.loc[2, "onground"] == 1.0 and np.isnan(reports.loc[2, "alt_ft"])
    polls = tmp_path / "polls"
    polls.mkdir()
    for k in range(3):
        (polls / f"{k:04d}.json").write_text(json.dumps({**doc, "now": doc["now"] + k}))
    assert detect_format(str(polls)) == "aircraft-json"
    assert len(read_aircraft_json(str(polls))) == 6


def test_readsb_trace_from_the_shared_trace(shared_data: Path, tmp_path: Path) -> None:
    """The shared readsb trace's first rows written back as a trace_full document."""
    rows = pd.read_csv(shared_data / "readsb_trace_ac671b_2025-02-04.csv.gz", nrows=50,
                       dtype={"icao24": str, "squawk": str})  # fmt: skip
    t = pd.to_datetime(rows["timestamp"], utc=True).dt.as_unit("ns").astype("int64") / 1e9
    base = float(t.iloc[0])
    trace = []
    for k, r in rows.iterrows():
        details = {"flight": r["callsign"]} if isinstance(r["callsign"], str) else None
        alt = "ground" if r["onground"] else r["alt_ft"]
        trace.append([float(t.iloc[k]) - base, r["lat"], r["lon"], alt,
                      None if pd.isna(r["gs_kt"]) else r["gs_kt"],
                      None if pd.isna(r["track_deg"]) else r["track_deg"], 0,
                      None if pd.isna(r["vs_fpm"]) else r["vs_fpm"], details])  # fmt: skip
    doc = {"icao": "ac671b", "timestamp": base, "trace": trace}
    path = tmp_path / "trace_full_ac671b.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    assert detect_format(str(path)) == "readsb-trace"
    reports = read_reports(path)
    assert len(reports) == 50 and set(reports["id"]) == {"ac671b"}
    assert np.allclose(reports["lat"], rows["lat"]) and np.allclose(
        reports["alt_ft"], rows["alt_ft"]
    )
    assert reports["callsign"].iloc[-1] == "DAL1812"
    assert np.isnan(reports["gs_kt"].iloc[7])  # the trace's point without velocity (CSV row 8)
    when = trace_reports(doc)["time"].iloc[3]
    assert abs(when - pd.Timestamp("2025-02-04T21:14:09.509Z")) < pd.Timedelta(microseconds=1)


# --- OpenSky and traffic -------------------------------------------------------------------


def test_opensky_states_documented_response_in_si() -> None:
    # the example response of the OpenSky REST documentation (GET /states/all)
    doc = {"time": 1458564121, "states": [["3c6444", "DLH9LF  ", "Germany", 1458564120,
           1458564120, 6.1546, 50.1964, 9639.3, False, 232.88, 98.26, 4.55, None, 9547.86,
           "1000", False, 0]]}  # fmt: skip
    r = states_reports(doc).iloc[0]
    assert (r["id"], r["callsign"], r["lat"], r["lon"]) == ("3c6444", "DLH9LF", 50.1964, 6.1546)
    assert r["alt_ft"] == pytest.approx(9639.3 / M_PER_FT) == pytest.approx(31625.0, abs=0.1)
    assert r["gs_kt"] == pytest.approx(232.88 / MPS_PER_KT) == pytest.approx(452.69, abs=0.01)
    assert r["vs_fpm"] == pytest.approx(4.55 / MPS_PER_FPM) == pytest.approx(895.67, abs=0.01)
    assert r["time"] == pd.Timestamp(1458564120, unit="s", tz="UTC") and r["onground"] == 0.0


def test_traffic_and_opensky_table_layouts(paris_head: pd.DataFrame, tmp_path: Path) -> None:
    ours = paris_head.iloc[:500]
    reverse = {v: k for k, v in TRAFFIC_MAPPING.items()}
    traffic = ours.reset_index(drop=True).rename(columns=reverse)
    traffic.to_parquet(tmp_path / "t.parquet", index=False)
    back = read_reports(tmp_path / "t.parquet")
    assert np.allclose(back["alt_ft"], ours["alt_ft"]) and list(back["id"]) == list(ours["id"])
    si = traffic.rename(columns={"timestamp": "time", "latitude": "lat", "longitude": "lon",
                                 "altitude": "baroaltitude", "groundspeed": "velocity",
                                 "track": "heading", "vertical_rate": "vertrate"})  # fmt: skip
    si["baroaltitude"] *= M_PER_FT
    si["velocity"] *= MPS_PER_KT
    si["vertrate"] *= MPS_PER_FPM
    si.to_parquet(tmp_path / "o.parquet", index=False)
    back = read_reports(tmp_path / "o.parquet")
    assert np.allclose(back["alt_ft"], ours["alt_ft"]) and np.allclose(
        back["vs_fpm"], ours["vs_fpm"]
    )


# --- ASTERIX -------------------------------------------------------------------------------


def test_asterix_cat062_raw_block_golden(shared_data: Path) -> None:
    """Values cross-checked with libasterix (MIT) 0.36.3, CAT062 edition 1.20."""
    stats = AsterixStats()
    records = decode_blocks((shared_data / "asterix/cat062cat065.raw").read_bytes(), stats)
    assert stats.blocks == {62: 1, 65: 1} and stats.records == {62: 2}
    first, second = records
    assert first["lat"] == pytest.approx(44.73441302776337)
    assert first["lon"] == pytest.approx(13.0415278673172)
    assert first["alt_ft"] == 15700.0 and first["tod_s"] == 30911.6640625
    assert first["vs_fpm"] == -443.75
    vx, vy = -51.25, 170.0  # m/s from I062/185
    assert first["gs_kt"] == pytest.approx(np.hypot(vx, vy) / MPS_PER_KT)
    assert first["track_deg"] == pytest.approx(np.degrees(np.arctan2(vx, vy)) % 360)
    assert (second["address"], second["callsign"], second["alt_ft"]) == (
        "3c0a55",
        "SXD4723",
        35000.0,
    )


def test_asterix_reader_rejects_other_editions_and_categories(shared_data: Path) -> None:
    stats = AsterixStats()
    assert len(read_asterix(str(shared_data / "asterix/asterix.pcap"), stats=stats)) == 0
    assert stats.blocks == {62: 100} and stats.skipped == 100  # 2008 layout: no garbage out
    other = AsterixStats()
    read_asterix(str(shared_data / "asterix/cat_034_048.pcap"), stats=other)
    assert other.blocks == {48: 86, 34: 34} and other.records == {}


def _cat021_record() -> bytes:
    """One CAT021 ed. 2.x record built from the specification's item layouts."""
    # FRN1 010, FRN7 131, (FX) FRN11 080, (FX) FRN21 145, (FX) FRN24 155, FRN26 160, (FX) FRN29 170
    fspec = bytes([0b10000011, 0b00010001, 0b00000011, 0b00101001, 0b10000000])
    i010 = bytes([25, 100])
    lat, lon = round(51.45735 * 2**30 / 180), round(-1.02826 * 2**30 / 180)
    i131 = lat.to_bytes(4, "big", signed=True) + lon.to_bytes(4, "big", signed=True)
    i080 = bytes.fromhex("4ca2d6")
    i145 = (37000 // 25).to_bytes(2, "big", signed=True)
    i155 = (-9 & 0x7FFF).to_bytes(2, "big")  # -9 x 6.25 ft/min
    i160 = round(430.0 / 3600 * 2**14).to_bytes(2, "big") + round(90.0 * 2**16 / 360).to_bytes(
        2, "big"
    )
    chars = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ#####_###############0123456789######"
    bits = 0
    for c in "EIN3HT  ".replace(" ", "_"):
        bits = (bits << 6) | chars.index(c)
    i170 = bits.to_bytes(6, "big")
    return fspec + i010 + i131 + i080 + i145 + i155 + i160 + i170


def test_asterix_cat021_record_from_the_specification() -> None:
    record = _cat021_record()
    block = bytes([21]) + (3 + len(record)).to_bytes(2, "big") + record
    (decoded,) = decode_blocks(block)
    assert decoded["address"] == "4ca2d6" and decoded["callsign"] == "EIN3HT"
    assert decoded["lat"] == pytest.approx(51.45735, abs=1e-7)
    assert decoded["lon"] == pytest.approx(-1.02826, abs=1e-7)
    assert (decoded["alt_ft"], decoded["vs_fpm"]) == (37000.0, -56.25)
    assert decoded["gs_kt"] == pytest.approx(430.0, abs=0.2)
    assert decoded["track_deg"] == pytest.approx(90.0, abs=0.01)


# --- CoT -----------------------------------------------------------------------------------

# The example event of the CoT "Base Schema" primer (MITRE), an aircraft track.
COT_DOC = b"""<?xml version="1.0" standalone="yes"?>
<event version="2.0" uid="J-01334" type="a-h-A-M-F-U-M" time="2005-04-05T11:43:38.07Z"
 start="2005-04-05T11:43:38.07Z" stale="2005-04-05T11:45:38.07Z" how="m-i">
 <detail><track course="45.0" speed="200.0"/><contact callsign="BANDIT1"/></detail>
 <point lat="30.0090027" lon="-85.9578735" ce="45.3" hae="-42.6" le="99.5"/>
</event>"""


def test_cot_documented_event_and_round_trip() -> None:
    r = parse_cot(COT_DOC).iloc[0]
    assert (r["id"], r["callsign"], r["lat"], r["lon"]) == (
        "J-01334",
        "BANDIT1",
        30.0090027,
        -85.9578735,
    )
    assert r["alt_ft"] == pytest.approx(-42.6 / M_PER_FT)
    assert r["gs_kt"] == pytest.approx(200.0 / MPS_PER_KT) and r["track_deg"] == 45.0
    assert r["time"] == pd.Timestamp("2005-04-05T11:43:38.07Z")
    event = cot_event(uid='x"<&', cot_type="a-f-A", when=pd.Timestamp("2026-01-01T00:00:00Z"),
                      stale_s=30, lat=1.5, lon=2.5, callsign="A&B", course_deg=10.0,
                      speed_mps=100.0)  # fmt: skip
    back = parse_cot(event).iloc[0]
    assert (back["id"], back["callsign"], back["lat"]) == ('x"<&', "A&B", 1.5)


def test_cot_refuses_entity_expansion() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa">]>'
        b'<event uid="&a;"><point lat="1" lon="1"/></event>'
    )
    with pytest.raises(InvalidInputError) as exc:
        parse_cot(bomb)
    assert exc.value.field == "event"


def test_unknown_suffix_names_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "x.weird"
    path.write_text("")
    with pytest.raises(InvalidInputError) as exc:
        read_reports(path)
    assert ".sbs" in exc.value.reason and "--input-format" in exc.value.reason


def test_aircraft_json_url_poll_on_loopback() -> None:
    import http.server

    body = json.dumps({"now": 1707000000.0, "aircraft": [
        {"hex": "4ca2d6", "flight": "EIN3HT", "alt_baro": 37000, "gs": 430.0, "track": 90.0,
         "baro_rate": 0, "lat": 51.4, "lon": -1.0, "seen_pos": 1.0}]}).encode()  # fmt: skip

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/data/aircraft.json" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        reports = read_reports(f"{base}/data/aircraft.json")
        assert reports["id"].tolist() == ["4ca2d6"] and reports["alt_ft"].tolist() == [37000.0]
        with pytest.raises(InvalidInputError) as exc:
            read_reports(f"{base}/nothing.json")
        assert "HTTP 404" in exc.value.reason
    finally:
        server.shutdown()
        server.server_close()
