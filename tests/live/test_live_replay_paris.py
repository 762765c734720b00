"""Replay 30 minutes of the real Paris recording through the API as one party."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from live_testkit import LiveEnv, start_env

from deconflict.live.engine import LiveConfig

REPLAY_S = 30 * 60
STEP_S = 5


@pytest.fixture
def env(tmp_path: Path) -> Iterator[LiveEnv]:
    # One party watching its own traffic: it opts in to same-party alerts. The engine loop is
    # slowed down; the test runs one cycle per replayed step itself.
    def config(ids: dict[str, str]) -> LiveConfig:
        return LiveConfig(
            interval_s=3600.0, min_gap_s=3600.0, same_party_opt_in=frozenset({ids["PARIS"]})
        )

    e = start_env(tmp_path, ("PARIS",), config)
    yield e
    e.close()


def test_replay_30_minutes_of_paris(env: LiveEnv, shared_data: Path) -> None:
    frame = pd.read_csv(
        shared_data / "paris_2021-10-07_opensky.csv.gz", dtype={"icao24": str, "squawk": str}
    )
    frame["t"] = pd.to_datetime(frame["timestamp"], utc=True)
    t0 = frame["t"].min()
    frame["rel_s"] = (frame["t"] - t0).dt.total_seconds()
    frame = frame[frame["rel_s"] < REPLAY_S]
    airborne = (
        (frame["onground"].astype(str) != "True")
        & frame["alt_ft"].between(-1500, 60000)
        & frame[["lat", "lon", "gs_kt", "track_deg"]].notna().all(axis=1)
    )
    frame = frame[airborne].copy()
    frame["vs_fpm"] = frame["vs_fpm"].fillna(0.0).clip(-30000, 30000)
    frame["gs_kt"] = frame["gs_kt"].clip(0, 2000)
    frame["step"] = (frame["rel_s"] // STEP_S).astype(int)
    posted = 0
    raised = 0
    engine = env.engine
    for _step, group in frame.groupby("step"):
        now = datetime.now(UTC).timestamp()
        # Keep the recording's spacing within the step, ending now.
        times = now - (group["rel_s"].max() - group["rel_s"].to_numpy())
        body = {
            "time": [float(t) for t in times],
            "id": group["icao24"].tolist(),
            "callsign": group["callsign"].fillna("").str.slice(0, 16).tolist(),
            "lat": group["lat"].tolist(),
            "lon": group["lon"].tolist(),
            "alt_ft": group["alt_ft"].tolist(),
            "gs_kt": group["gs_kt"].tolist(),
            "track_deg": group["track_deg"].tolist(),
            "vs_fpm": group["vs_fpm"].tolist(),
        }
        response = env.client.post("/v1/tracks", json=body, headers=env.h("PARIS.duty_officer"))
        assert response.status_code == 200, response.text
        posted += int(response.json()["accepted"])
        raised += sum(1 for e in engine.cycle() if e.kind == "raised")
    alerts = env.client.get("/v1/alerts?state=all", headers=env.h("PARIS.viewer")).json()
    print(
        f"\nParis replay: {posted} states of {frame['icao24'].nunique()} aircraft in "
        f"{REPLAY_S // 60} min; {len(alerts)} alerts ({raised} raise events, "
        f"{sum(a['kind'] == 'conflict' for a in alerts)} conflicts)"
    )
    assert posted == len(frame)
    assert len(alerts) >= 1
    assert np.isfinite([a["t_in_s"] for a in alerts]).all()
