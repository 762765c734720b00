"""``deconflict feed`` / ``replay`` / ``cot`` against a real broker on 127.0.0.1.

Two parties: BLUE reports a real Paris flight (re-timed to now, as SBS-1 lines), RED a copy of
it 1 NM to the side and 500 ft higher, so the broker raises a conflict alert between them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from defusedxml import ElementTree as SafeET
from live_testkit import LiveEnv, start_env

from deconflict.cli import main
from deconflict.formats.clean import clean_reports
from deconflict.formats.gateway import Gateway, OwnFilter
from deconflict.formats.sbs import encode_sbs
from deconflict.formats.tracks import read_tracks
from deconflict.live.engine import LiveConfig

PARIS = "paris_2021-10-07_opensky.csv.gz"
FLIGHT = "398564"  # AFR9455, climbing out of the Paris area at 12:00


@pytest.fixture(scope="module")
def flight(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    head = pd.read_csv(shared_data / PARIS, nrows=6000, dtype=str, keep_default_na=False)
    path = tmp_path_factory.mktemp("paris") / "head.csv"
    head.to_csv(path, index=False)
    kept, _ = clean_reports(read_tracks(path))
    one = kept[kept["id"] == FLIGHT].iloc[:40]
    assert len(one) >= 30
    return one


@pytest.fixture
def env(tmp_path: Path) -> Iterator[LiveEnv]:
    e = start_env(tmp_path, ("BLUE", "RED"), LiveConfig(interval_s=0.3, min_gap_s=0.2))
    yield e
    e.close()


def _retimed(frame: pd.DataFrame, *, offset_s: float = 0.0) -> pd.DataFrame:
    """The recording moved so that its last report is ``offset_s`` seconds before now."""
    now = pd.Timestamp.now(tz="UTC")
    shift = now - frame["time"].max() - pd.Timedelta(seconds=offset_s)
    return frame.assign(time=frame["time"] + shift)


def _red_copy(frame: pd.DataFrame) -> pd.DataFrame:
    east = 1.0 / (60.0 * np.cos(np.radians(frame["lat"].to_numpy())))
    return frame.assign(id="3a0001", callsign="REDX1", lon=frame["lon"] + east,
                        alt_ft=frame["alt_ft"] + 500)  # fmt: skip


def test_feed_sends_only_own_aircraft_and_an_alert_follows(
    env: LiveEnv, flight: pd.DataFrame, tmp_path: Path
) -> None:
    mixed = pd.concat([_retimed(flight, offset_s=1), _retimed(_red_copy(flight), offset_s=1)])
    source = tmp_path / "receiver.sbs"
    source.write_bytes(encode_sbs(mixed))  # BLUE's receiver hears both aircraft
    url = env.server.url
    code = main(["feed", str(source), "--broker", url, "--key", env.keys["BLUE.duty_officer"],
                 "--own-ids", FLIGHT])  # fmt: skip
    assert code == 0
    picture = env.client.get("/v1/picture", headers=env.h("BLUE.viewer")).json()
    text = str(picture)
    assert FLIGHT in text and "3a0001" not in text  # never another party's aircraft id
    red = tmp_path / "red.sbs"
    red.write_bytes(encode_sbs(_retimed(_red_copy(flight), offset_s=1)))
    code = main(["feed", str(red), "--broker", url, "--key", env.keys["RED.duty_officer"],
                 "--own-callsign-pattern", "REDX\\d"])  # fmt: skip
    assert code == 0
    deadline = time.monotonic() + 20
    alerts: list[dict[str, object]] = []
    while time.monotonic() < deadline and not alerts:
        alerts = env.client.get("/v1/alerts", headers=env.h("BLUE.viewer")).json()
        time.sleep(0.2)
    assert alerts, "no alert between BLUE's flight and RED's copy 1 NM / 500 ft away"


def test_feed_refuses_to_run_without_an_own_rule(
    env: LiveEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "x.sbs"
    source.write_text("")
    code = main(["feed", str(source), "--broker", env.server.url, "--key", "k"])
    assert code == 2
    assert "--own" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gateway_buffers_while_the_broker_is_down(env: LiveEnv, flight: pd.DataFrame) -> None:
    down = Gateway(f"http://127.0.0.1:{_free_port()}", env.keys["BLUE.duty_officer"],
                   OwnFilter(frozenset({FLIGHT})), buffer_rows=25, batch_rows=10)  # fmt: skip
    down.offer(_retimed(flight))
    assert down.flush() == 0
    assert down.buffered == 25 and down.stats.overflow == len(flight) - 25  # bounded
    assert down.stats.failures == 1 and down.backoff.current_s == 0.5
    down.backoff.not_before = 0.0
    assert down.flush() == 0 and down.backoff.current_s == 1.0  # exponential
    # the broker comes back: the same buffer is delivered
    up = Gateway(env.server.url, env.keys["BLUE.duty_officer"], OwnFilter(frozenset({FLIGHT})),
                 batch_rows=10)  # fmt: skip
    up._buffer.extend(down._buffer)
    assert up.flush() == 3  # 25 rows in 3 batches, one state per aircraft per batch
    assert up.buffered == 0
    down.close()
    up.close()


def test_replay_retimes_a_recording_to_now(
    env: LiveEnv, flight: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.sbs"
    path.write_bytes(encode_sbs(flight))  # recorded in 2021: the broker would refuse it as is
    code = main(["replay", str(path), "--broker", env.server.url, "--key",
                 env.keys["BLUE.duty_officer"], "--all-own", "--speed", "20"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "sent " in err and "0 failed posts" in err
    picture = env.client.get("/v1/picture", headers=env.h("BLUE.viewer")).json()
    assert FLIGHT in str(picture)


class _CotListener:
    """A TAK-like CoT TCP listener on 127.0.0.1 collecting the bytes it receives."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.data = bytearray()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.server.settimeout(30)
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(30)
            while chunk := conn.recv(65536):
                self.data += chunk

    def close(self) -> None:
        self.server.close()
        self._thread.join(timeout=5)


def test_cot_forwards_own_aircraft_disclosed_traffic_and_alerts(
    env: LiveEnv, flight: pd.DataFrame, tmp_path: Path
) -> None:
    blue = tmp_path / "blue.sbs"
    blue.write_bytes(encode_sbs(_retimed(flight, offset_s=1)))
    red = tmp_path / "red.sbs"
    red.write_bytes(encode_sbs(_retimed(_red_copy(flight), offset_s=1)))
    url = env.server.url
    assert main(["feed", str(blue), "--broker", url, "--key", env.keys["BLUE.duty_officer"],
                 "--all-own"]) == 0  # fmt: skip
    assert main(["feed", str(red), "--broker", url, "--key", env.keys["RED.duty_officer"],
                 "--all-own"]) == 0  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if env.client.get("/v1/alerts", headers=env.h("BLUE.viewer")).json():
            break
        time.sleep(0.2)
    listener = _CotListener()
    try:
        code = main(["cot", "--broker", url, "--key", env.keys["BLUE.viewer"], "--to",
                     f"tcp://127.0.0.1:{listener.port}", "--interval", "0.5",
                     "--max-seconds", "1.2"])  # fmt: skip
        assert code == 0
    finally:
        time.sleep(0.2)
        listener.close()
    events = [SafeET.fromstring(m) for m in _split_events(bytes(listener.data))]
    kinds = {e.get("type") for e in events}
    assert {"a-f-A", "a-u-A", "b-m-p-s-p-i"} <= kinds
    own = [e for e in events if e.get("type") == "a-f-A"]
    assert own[0].get("uid") == f"deconflict-own-{FLIGHT}"
    point = own[0].find("point")
    assert point is not None and 48 < float(point.get("lat", "0")) < 50
    text = bytes(listener.data).decode()
    assert "3a0001" not in text  # RED's aircraft id never reaches BLUE's display


def _split_events(data: bytes) -> list[bytes]:
    parts = data.split(b"</event>")
    return [p + b"</event>" for p in parts if p.strip()]
