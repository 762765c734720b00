"""``deconflict alerts`` and ``deconflict bands`` end to end on generated files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from daa_reference import Flat, to_states

from deconflict.cli import main

NM = 1852.0
KT = NM / 3600.0


def write_file(path: Path, alerter_b: str = "DWC_Non_Coop", seconds: int = 3) -> Path:
    rows = ["time,id,lat,lon,alt_ft,gs_kt,track_deg,vs_fpm,alerter"]
    for t in range(seconds):
        flats = [
            Flat(0, 0, 10000, 300, 90),
            Flat(9 * NM - 600 * KT * t, 0, 10000, 300, 270),
            Flat(0, 60 * NM, 20000, 300, 0),
        ]
        s = to_states(flats)
        for k, name in enumerate(("A", "B", "C")):
            al = alerter_b if name == "B" else ""
            rows.append(
                f"2026-01-01T00:00:{t:02d}Z,{name},{s.lat_deg[k]:.8f},{s.lon_deg[k]:.8f},"
                f"{s.alt_ft[k]},{s.gs_kt[k]},{s.track_deg[k]},{s.vs_fpm[k]},{al}"
            )
    path.write_text("\n".join(rows) + "\n")
    return path


def test_alerts_cli_do365b(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_file(tmp_path / "enc.csv")
    assert main(["alerts", str(f), "--profile", "do365b"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines, "expected alert records"
    keys = {
        "time",
        "ownship",
        "intruder",
        "level",
        "level_instant",
        "t_in_s",
        "t_out_s",
        "hmd_nm",
        "vmd_ft",
        "tcpa_s",
        "dcpa_nm",
        "taumod_s",
        "tcoa_s",
    }
    for rec in lines:
        assert keys <= set(rec)
        assert len(rec["t_in_s"]) == 3
        assert "C" not in (rec["ownship"], rec["intruder"])
    # B -> A uses A's alerter (Phase I, default); A -> B uses B's (Non-Coop): they differ
    by_pair = {(r["ownship"], r["intruder"]): r for r in lines if r["time"].endswith(":02Z")}
    assert by_pair[("B", "A")]["alerter"] == "DWC_Phase_I"
    assert by_pair[("B", "A")]["level_instant"] >= 2
    assert ("A", "B") not in by_pair or by_pair[("A", "B")]["alerter"] == "DWC_Non_Coop"


def test_alerts_cli_cylinder_both_directions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write_file(tmp_path / "enc.csv")
    assert main(["alerts", str(f), "--profile", "cylinder"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    pairs = {(r["time"], r["ownship"], r["intruder"]) for r in lines}
    assert len(pairs) == 6  # 3 snapshots x (A, B) and (B, A)
    assert all(r["level"] == 1 for r in lines)


def test_bad_alerter_names_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_file(tmp_path / "bad.csv", alerter_b="Phase_IX", seconds=1)
    assert main(["alerts", str(f), "--profile", "do365b"]) == 2
    err = capsys.readouterr().err
    assert "alerter" in err and "row 2" in err


def test_bands_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_file(tmp_path / "enc.csv", seconds=1)
    assert main(["bands", str(f), "--profile", "cylinder", "--ownship", "A"]) == 0
    (rec,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rec["ownship"] == "A"
    assert set(rec["bands"]) == {"track_deg", "gs_kt", "vs_fpm", "alt_ft"}
    assert rec["resolution"]["gs_kt"] == {"up": "+inf", "down": "-inf"}
    assert rec["preferred"]["track_deg"] in ("right", "left")
    regions = {b[2] for b in rec["bands"]["track_deg"]}
    assert regions == {"NONE", "NEAR"}
    assert main(["bands", str(f), "--profile", "do365b", "--all"]) == 0
    owners = {json.loads(x)["ownship"] for x in capsys.readouterr().out.splitlines()}
    assert owners == {"A", "B"}


def test_bands_cli_needs_a_selection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_file(tmp_path / "enc.csv", seconds=1)
    assert main(["bands", str(f), "--profile", "cylinder"]) == 2
    assert "--ownship" in capsys.readouterr().err
