"""Profile per agreement: stored with the agreement (migration 0008), set through the broker
service, and used by the live picture for the pairs whose parties share the agreement; other
pairs keep the engine's profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from deconflict.broker import agreements, parties
from deconflict.cli import main
from deconflict.errors import InvalidInputError, NotFoundError
from deconflict.live.batch import parse_batch
from deconflict.live.daa import governing_profile, pair_profiles
from deconflict.live.engine import LiveConfig, LiveCore
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.web.app import create_app

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _batch(rows: list[tuple[str, float, float, float]], t: datetime) -> Any:
    """rows: (id, lat, lon, track) at 10,000 ft, 300 kt, level."""
    payload = {
        "time": t.timestamp(),
        "id": [r[0] for r in rows],
        "lat": [r[1] for r in rows],
        "lon": [r[2] for r in rows],
        "alt_ft": [10000] * len(rows),
        "gs_kt": [300] * len(rows),
        "track_deg": [r[3] for r in rows],
        "vs_fpm": [0] * len(rows),
    }
    return parse_batch(payload, now_s=t.timestamp(), max_rows=10, max_future_s=10, max_past_s=120)


def test_agreement_profile_is_stored_and_validated(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write() as s:
            ids = {n: parties.create_party(s, n, now=T0).id for n in ("BLUE", "RED", "GREEN")}
            ab = agreements.create_agreement(
                s, "BR", policy="advisory", parties=[ids["BLUE"], ids["RED"]], now=T0
            )
            assert ab.profile == "cylinder"  # the default
            with pytest.raises(InvalidInputError) as bad:
                agreements.set_profile(s, ab.id, "tcas")
            assert bad.value.field == "profile"
            with pytest.raises(NotFoundError):
                agreements.set_profile(s, "nope", "do365b")
            agreements.set_profile(s, ab.id, "do365b")
            agreements.create_agreement(
                s,
                "BG",
                policy="advisory",
                parties=[ids["BLUE"], ids["GREEN"]],
                now=T0,
                profile="airprox",
            )
        with db.read() as s:
            assert agreements.profile_of(s, ab.id) == "do365b"
            assert agreements.get_agreement(s, ab.id).profile == "do365b"
            table = agreements.agreement_profiles(s)
    finally:
        db.dispose()
    assert sorted((sorted(m), p) for m, p in table) == sorted(
        [
            (sorted([ids["BLUE"], ids["RED"]]), "do365b"),
            (sorted([ids["BLUE"], ids["GREEN"]]), "airprox"),
        ]
    )


def test_live_picture_grades_each_pair_with_its_agreement_profile() -> None:
    """What the broker passes to the core each cycle (``agreement_profiles``), wired as
    ``LiveEngine._reload_plans`` wires it."""
    blue, red, green = "p-blue", "p-red", "p-green"
    table = [(frozenset((blue, red)), "do365b"), (frozenset((blue, green)), "airprox")]
    core = LiveCore(LiveConfig(profile="cylinder"), new_alert_id=iter(range(100)).__next__)
    core.daa.set_context(table)
    assert core.daa.pair_profile(blue, red) == "do365b"
    assert core.daa.pair_profile(red, green) == "cylinder"  # no shared agreement
    # three head-on encounters 8 NM apart at the same time, far from each other:
    # BLUE-RED (do365b: warning, level 3), RED-GREEN (no agreement: cylinder, level 1),
    # BLUE-GREEN at 3 NM (airprox: 0.5 NM volume, a 0.2 NM offset -> level 1 airprox)
    for k in range(3):
        t = T0 + timedelta(seconds=k)
        d = 600 * k / 3600 / 60 / 2
        core.ingest(blue, _batch([("B1", 0.0, d, 90.0), ("B2", 2.0, d, 90.0)], t))
        core.ingest(red, _batch([("R1", 0.0, 8 / 60 - d, 270.0), ("R2", 1.0, d, 90.0)], t))
        core.ingest(
            green, _batch([("G1", 1.0, 8 / 60 - d, 270.0), ("G2", 2.0, 3 / 60 - d, 270.0)], t)
        )
        core.cycle(t)
    alerts = {a.key[1:]: a for a in core.open_alerts() if a.kind == "conflict"}
    assert set(alerts) == {("B1", "R1"), ("G1", "R2"), ("B2", "G2")}
    assert alerts[("B1", "R1")].profile == "do365b"
    assert int(alerts[("B1", "R1")].metrics["level"]) == 3
    assert alerts[("G1", "R2")].profile == "cylinder"
    assert alerts[("B2", "G2")].profile == "airprox"
    # guidance follows each pair's profile
    assert set(alerts[("B1", "R1")].guidance) == {"B1", "R1"}


def test_several_shared_agreements_use_the_most_protective_profile() -> None:
    table = pair_profiles([({"a", "b", "c"}, "airprox"), ({"a", "b"}, "do365b")])
    assert table[frozenset(("a", "b"))] == "do365b"
    assert table[frozenset(("a", "c"))] == "airprox"
    assert governing_profile(["airprox", "cylinder", "do365b"], "airprox") == "cylinder"
    assert governing_profile([], "do365b") == "do365b"
    with pytest.raises(InvalidInputError):
        pair_profiles([({"a", "b"}, "tcas")])


def test_agreement_create_profile_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{(tmp_path / 'a.sqlite3').as_posix()}"
    assert main(["db", "upgrade", "--db", url]) == 0
    for name in ("North", "South"):
        assert main(["party", "add", name, "--db", url]) == 0
    capsys.readouterr()
    argv = ["agreement", "create", "ns", "North", "South", "--db", url]
    assert main([*argv, "--profile", "tcas"]) == 2
    assert "profile" in capsys.readouterr().err
    assert main([*argv, "--profile", "do365b"]) == 0
    agreement_id = capsys.readouterr().out.strip().split("\t")[0]
    db = Database(url)
    try:
        with db.write() as s:
            assert agreements.profile_of(s, agreement_id) == "do365b"
            north = parties.get_party(s, "North").id
            _, member = parties.create_key(s, north, "viewer", now=T0)
            _, operator = parties.create_key(s, None, "operator", now=T0)
    finally:
        db.dispose()
    # the agreement settings route (GET: members and operator; PUT: operator)
    path = f"/v1/agreements/{agreement_id}/settings"
    as_member = {"Authorization": f"Bearer {member}"}
    as_operator = {"Authorization": f"Bearer {operator}"}
    app = create_app(Settings(db_url=url, data_dir=tmp_path / "data"))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get(path, headers=as_member).json()["profile"] == "do365b"
        put = client.put(path, json={"profile": "airprox"}, headers=as_operator)
        assert put.status_code == 200 and put.json()["profile"] == "airprox"
        bad = client.put(path, json={"profile": "tcas"}, headers=as_operator)
        assert bad.status_code == 422 and "profile" in bad.text
        assert client.put(path, json={"profile": "do365b"}, headers=as_member).status_code == 403
        kept = client.put(path, json={"limits": None}, headers=as_operator)
        assert kept.status_code == 200 and kept.json()["profile"] == "airprox"
        assert client.get(path, headers=as_member).json()["profile"] == "airprox"
