"""Crash safety: ``deconflict serve`` as a subprocess, killed with SIGKILL mid-stream, restarted.

Every write answered 2xx must be there intact after the restart; no notice may be half-written
(each has its ``notice`` event in the outbox and its ledger entry, all from one transaction).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from broker_testkit import circle, notice, seed
from sqlalchemy import func, select

from deconflict.store.base import Database
from deconflict.store.ledger_sql import ledger_entries
from deconflict.store.tables import notices, outbox


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DECONFLICT_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "deconflict"), "serve", "--db", url, "--port", str(port),
         "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server died")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def test_kill_9_mid_stream_loses_no_acknowledged_write(migrated_url: str, tmp_path: Path) -> None:
    _, keys, _, _ = seed(migrated_url, policy="advisory", names=("A", "B", "C", "D"))
    port = _free_port()
    proc = _serve(migrated_url, port, tmp_path / "data")
    acked: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(name: str, lon0: float) -> None:
        i = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            while not stop.is_set():
                body = notice(circle(lon0 + 0.01 * (i % 50), 20.0 + 0.01 * i))
                try:
                    r = c.post("/v1/notices", json=body, headers={
                        "Authorization": f"Bearer {keys[f'{name}.duty_officer']}"})  # fmt: skip
                except httpx.HTTPError:
                    return  # the server is gone: this request was never acknowledged
                if r.status_code == 201:
                    with lock:
                        acked[r.json()["id"]] = r.json()
                i += 1

    threads = [
        threading.Thread(target=client, args=(n, lon0))
        for n, lon0 in (("A", 10.0), ("B", 30.0), ("C", 50.0), ("D", 70.0))
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: four clients are sending
    proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acked) >= 30

    proc = _serve(migrated_url, port, tmp_path / "data")  # restart: migrations + index rebuild
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            for name in ("A", "B", "C", "D"):
                h = {"Authorization": f"Bearer {keys[f'{name}.viewer']}"}
                listed = c.get("/v1/notices?state=all&limit=1000", headers=h).json()
                for n in listed:
                    if n["id"] in acked:
                        want = {k: v for k, v in acked[n["id"]].items() if k != "conflicts"}
                        assert {k: v for k, v in n.items() if k != "conflicts"} == want
    finally:
        proc.kill()
        proc.wait()

    db = Database(migrated_url)
    try:
        with db.read() as s:
            stored = {r.id: r for r in s.execute(select(notices))}
            events = list(s.execute(select(outbox.c.payload).where(outbox.c.kind == "notice")))
            n_ledger = s.execute(
                select(func.count())
                .select_from(ledger_entries)
                .where(ledger_entries.c.kind == "notice.notified")
            ).scalar_one()
    finally:
        db.dispose()
    assert set(acked) <= set(stored), "an acknowledged notice is missing after the crash"
    for nid, want in acked.items():
        assert stored[nid].body["volumes"] == want["volumes"] and stored[nid].version == 1
    # none half-written: each stored notice has exactly its event and its ledger entry
    assert sorted(e.payload["id"] for e in events) == sorted(stored)
    assert n_ledger == len(stored)
