"""``deconflict private``: bad input and an unreachable relay are one-line errors (exit 2)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from deconflict.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_errors_are_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    common = ["--broker", url, "--key", "dk_x_y", "--state", str(tmp_path / "s")]
    assert main(["private", "push", str(tmp_path / "missing.geojson"), *common]) == 2
    assert "PLANS" in capsys.readouterr().err
    bad = tmp_path / "bad.geojson"
    feature = {
        "type": "Feature",
        "properties": {
            "id": "X-1",
            "party": "a",
            "alt_lower_ft": 0,
            "alt_upper_ft": 100,
            "start": "2026-11-26T10:00:00",
            "end": "2026-11-26T11:00:00Z",
        },
        "geometry": {"type": "Point", "coordinates": [2.0, 44.0]},
    }
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    assert main(["private", "push", str(bad), *common]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "X-1" in err
    two = tmp_path / "two.geojson"
    ok = dict(
        feature, properties=dict(feature["properties"], start="2026-11-26T10:00:00Z", radius_nm=1)
    )
    other = dict(ok, properties=dict(ok["properties"], id="Y-1", party="b"))
    two.write_text(json.dumps({"type": "FeatureCollection", "features": [ok, other]}))
    assert main(["private", "push", str(two), *common]) == 2
    assert "--party" in capsys.readouterr().err
    assert main(["private", "push", str(two), *common, "--party", "a"]) == 2
    assert "cannot reach the relay" in capsys.readouterr().err
    assert main(["private", "sync", *common]) == 0  # nothing pushed yet: nothing to do
