"""`deconflict demo` through the CLI entry point, for a few seconds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deconflict.cli import main


def test_demo_runs_raises_alerts_and_shuts_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "demo",
            "--duration",
            "8",
            "--speed",
            "15",
            "--port",
            "0",
            "--seed",
            "2",
            "--data-dir",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    for party in ("BLUE", "RED", "CIVIL"):
        assert re.search(rf"{party}\s+duty officer key: dk_[0-9a-f]{{12}}_", out)
    assert "operator key: dk_" in out
    assert re.search(r"on http://127\.0\.0\.1:\d+", out)
    assert "submitted 14 notices and 1 agreed line" in out
    done = re.search(
        r"done: (\d+) alerts open at the end \((\d+) conflicts, (\d+) incursions\)", out
    )
    assert done is not None, out
    assert int(done.group(1)) >= 1
    assert (tmp_path / "demo.sqlite3").is_file()


def test_demo_refuses_a_taken_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code = main(["demo", "--duration", "2", "--port", str(port), "--data-dir", str(tmp_path)])
    assert code == 2
