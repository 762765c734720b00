"""``deconflict agreement create ... --mode private`` puts a two-party agreement in private mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.store import private_sql
from deconflict.store.base import Database


def test_agreement_create_private(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{(tmp_path / 'a.sqlite3').as_posix()}"
    assert main(["db", "upgrade", "--db", url]) == 0
    for name in ("North", "South", "East"):
        assert main(["party", "add", name, "--db", url]) == 0
    capsys.readouterr()
    argv = ["agreement", "create", "ns", "North", "South", "--mode", "private", "--db", url]
    assert main([*argv, "--grid", "5,900,2000"]) == 0
    out = capsys.readouterr().out.strip().split("\t")
    assert out[-1] == "private"
    db = Database(url)
    try:
        with db.read() as s:
            assert private_sql.grid_of(s, out[0]) == (5, 900, 2000)
    finally:
        db.dispose()
    three = ["agreement", "create", "nse", "North", "South", "East", "--mode", "private"]
    assert main([*three, "--db", url]) == 2
    assert "two parties" in capsys.readouterr().err
    assert (
        main(
            [
                "agreement",
                "create",
                "x",
                "North",
                "South",
                "--grid",
                "1,1,1",
                "--mode",
                "private",
                "--db",
                url,
            ]
        )
        == 2
    )
    assert "--grid" in capsys.readouterr().err
    assert (
        main(["agreement", "create", "y", "North", "South", "--mode", "secret", "--db", url]) == 2
    )
