"""Replicas, session 4: the leader reads only changed shared states (xid watermark),
ingest-only replicas (``--no-lead``) and the hung-leader watchdog, on real PostgreSQL.

The watermark test holds a writing transaction open across a read on a second connection and
commits it afterwards (the case a "greatest sequence number seen" watermark gets wrong): the
next read must contain its row. The watchdog test blocks a leader's cycle on an event: the
watchdog gives the lease up, a second engine takes over within seconds, and the stuck cycle's
write transaction is fenced when it finally runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from deconflict.broker import parties
from deconflict.broker.live import LeaseLostError, LiveEngine, merge_states
from deconflict.cli import build_app
from deconflict.cluster.watchdog import CycleWatchdog, default_watchdog_s
from deconflict.live.batch import TrackBatch
from deconflict.live.engine import LiveConfig
from deconflict.live.latest import LatestStates
from deconflict.live.tracks import FLOAT_COLUMNS
from deconflict.settings import Settings
from deconflict.store import live_state_sql
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.web.routes.tracks import start_live_engine


def cols(times: list[float], k0: float = 0.0) -> dict[str, Any]:
    n = len(times)
    out = {name: np.arange(n, dtype=float) + k0 for name in FLOAT_COLUMNS}
    out["time_s"] = np.asarray(times, dtype=float)
    return out


@pytest.fixture
def pg_db(fresh_pg_url: str) -> Iterator[Database]:
    upgrade(fresh_pg_url)
    db = Database(fresh_pg_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.mark.pg
def test_a_transaction_open_across_a_read_is_seen_by_the_next_read(pg_db: Database) -> None:
    """Two connections: T1 upserts ``late`` first and stays open across read 1; T2 upserts
    ``early`` and commits before read 1. T1 commits after read 1 (with a greater sequence
    position than anything read 1 saw). Read 2 (``changed_since`` = read 1's xmin) contains
    ``late``; read 3 (nothing in flight at read 2) contains neither: the reads are incremental."""
    db = pg_db
    with db.write() as s:
        live_state_sql.upsert_latest(s, "P", ["old"], cols([1.0]), None)
    with db.read() as s:
        first = live_state_sql.load_latest(s)
    assert first.ids == ["old"] and first.xmin is not None

    open_tx = db.writer_sessions()
    open_tx.begin()
    live_state_sql.upsert_latest(open_tx, "P", ["late"], cols([5.0]), None)  # xid assigned now
    try:
        with db.write() as s:
            live_state_sql.upsert_latest(s, "P", ["early"], cols([6.0]), None)
        with db.read() as s:
            read1 = live_state_sql.load_latest(s, changed_since=first.xmin)
        assert sorted(read1.ids) == ["early"]  # "old" is behind the watermark, "late" in flight
        assert read1.xmin is not None
        open_tx.commit()
    finally:
        open_tx.close()
    with db.read() as s:
        read2 = live_state_sql.load_latest(s, changed_since=read1.xmin)
    assert "late" in read2.ids
    with db.read() as s:
        read3 = live_state_sql.load_latest(s, changed_since=read2.xmin)
    assert read3.ids == [] and read2.xmin is not None and read3.xmin is not None
    assert read3.xmin >= read2.xmin
    # an older state of a known aircraft changes nothing, hence is not re-read either
    with db.write() as s:
        live_state_sql.upsert_latest(s, "P", ["late", "new"], cols([4.0, 7.0]), None)
    with db.read() as s:
        read4 = live_state_sql.load_latest(s, changed_since=read3.xmin)
    assert read4.ids == ["new"]
    # the same, merged: the incremental reads give the full read's states
    full, step = LatestStates(), LatestStates()
    with db.read() as s:
        merge_states(full, live_state_sql.load_latest(s))
    for read in (first, read1, read2, read3, read4):
        merge_states(step, read)
    a, b = full.snapshot(0, 1e9).states, step.snapshot(0, 1e9).states
    assert sorted(a.ids) == sorted(b.ids) == ["early", "late", "new", "old"]
    ia, ib = {x: k for k, x in enumerate(a.ids)}, {x: k for k, x in enumerate(b.ids)}
    for x in ia:
        assert a.time_s[ia[x]] == b.time_s[ib[x]]


def test_merge_keeps_the_newest_row_of_an_aircraft_given_twice() -> None:
    stored = live_state_sql.StoredStates(
        ["b", "a", "b", "a", "c"],
        ["P1", "P1", "P1", "P1", "P2"],
        ["B-old", "A1", "B-new", "A2", ""],
        cols([9.0, 5.0, 10.0, 5.0, 1.0]),
    )
    latest = LatestStates()
    merge_states(latest, stored)
    snap = latest.snapshot(0, 1e9).states
    assert list(snap.ids) == ["a", "b", "c"]  # party by party, new aircraft in id order
    assert list(snap.callsign) == ["A2", "B-new", ""]  # newest; the last row on equal times
    assert list(snap.time_s) == [5.0, 10.0, 1.0]
    assert list(snap.lat_deg) == [3.0, 2.0, 4.0]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.sampled_from(["P1", "P2"]), st.integers(0, 3)),
        min_size=1,
        max_size=12,
    )
)
def test_merge_of_any_rows_keeps_each_aircraft_s_newest_row(rows: list[Any]) -> None:
    """Property (pure), reference = one row at a time: per aircraft the greatest time, the
    last such row on ties, whatever the parties, duplicates and order of the rows."""
    ids = [a for a, _, _ in rows]
    stored = live_state_sql.StoredStates(
        ids, [p for _, p, _ in rows], [f"c{k}" for k in range(len(rows))],
        cols([float(t) for _, _, t in rows]),
    )  # fmt: skip
    want: dict[str, tuple[float, float]] = {}
    for k, (a, _, t) in enumerate(rows):
        if a not in want or t >= want[a][0]:
            want[a] = (float(t), float(k))  # lat_deg of row k is k
    latest = LatestStates()
    merge_states(latest, stored)
    snap = latest.snapshot(0, 1e9).states
    got = {str(a): (snap.time_s[k], snap.lat_deg[k]) for k, a in enumerate(snap.ids)}
    assert got == want
    assert len(snap.ids) == len(want)


def batch(ids: list[str], t: float) -> TrackBatch:
    return TrackBatch(ids=ids, callsigns=None, columns=cols([t] * len(ids)))


@pytest.mark.pg
def test_leader_reads_changed_rows_and_a_no_lead_replica_never_leads(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = pg_db
    now = datetime.now(UTC)
    with db.write() as s:
        blue = parties.create_party(s, "BLUE", now=now).id
    config = LiveConfig(interval_s=0.2)
    leader, ingest_only = LiveEngine(db, config), LiveEngine(db, config)
    ingest_only.may_lead = False
    reads: list[tuple[int | None, int]] = []
    load = live_state_sql.load_latest

    def counting(*args: Any, **kw: Any) -> live_state_sql.StoredStates:
        out = load(*args, **kw)
        reads.append((kw.get("changed_since"), len(out.ids)))
        return out

    monkeypatch.setattr(live_state_sql, "load_latest", counting)
    try:
        assert ingest_only.cycle(now) == [] and not ingest_only.leader
        assert ingest_only.lease is not None and ingest_only.lease.backend_pid is None
        t = now.timestamp()
        with db.write() as s:
            ingest_only.ingest(s, blue, batch([f"b{k}" for k in range(50)], t), now)
        assert leader.check_lease(now)
        leader.cycle(now)
        assert reads[-1] == (None, 50)  # a new leader reads everything once
        assert len(leader.core.latest) == 50
        with db.write() as s:
            ingest_only.ingest(s, blue, batch(["b3", "b7"], t + 1.0), now)
        leader.cycle(now)
        since, n = reads[-1]
        assert since is not None and n == 2  # only the changed rows
        snap = leader.core.latest.snapshot(t, 30.0).states
        changed = {str(a) for a, ts in zip(snap.ids, snap.time_s, strict=True) if ts == t + 1.0}
        assert changed == {"b3", "b7"}
        # the leader's own accepted states are in its memory: its reads leave them out
        with db.write() as s:
            leader.ingest(s, blue, batch(["b1", "b9"], t + 2.0), now)
        with db.write() as s:
            ingest_only.ingest(s, blue, batch(["b5"], t + 2.0), now)
        leader.cycle(now)
        assert reads[-1][1] == 1
        snap = leader.core.latest.snapshot(t, 30.0).states
        changed = {str(a) for a, ts in zip(snap.ids, snap.time_s, strict=True) if ts == t + 2.0}
        assert changed == {"b1", "b5", "b9"}
        # the lease is free: an ingest-only replica still does not take it
        assert leader.lease is not None
        leader.lease.release()
        assert not ingest_only.check_lease(now) and ingest_only.cycle(now) == []
        assert ingest_only.stats.role == "follower" and ingest_only.lease.backend_pid is None
        # its pictures come from the shared states (full read first, then changed rows only)
        pic = ingest_only.picture(blue, now)
        assert len(pic["own"]) == 50
        assert reads[-1][0] is None
        with db.write() as s:
            leader.ingest(s, blue, batch(["b2"], t + 3.0), now)
        ingest_only._view_at = -float("inf")  # due for a refresh
        ingest_only.picture(blue, now)
        assert reads[-1][0] is not None and reads[-1][1] == 1
    finally:
        for engine in (leader, ingest_only):
            if engine.lease is not None:
                engine.lease.release()


def test_watchdog_fires_once_per_cycle_over_the_limit() -> None:
    clock = [100.0]
    started: list[float | None] = [None]
    fired: list[float] = []
    dog = CycleWatchdog(lambda: started[0], 5.0, fired.append, clock=lambda: clock[0])
    assert not dog.check()  # no cycle
    started[0] = 100.0
    clock[0] = 105.0
    assert not dog.check()  # at the limit
    clock[0] = 105.5
    assert dog.check() and fired == [5.5]
    clock[0] = 200.0
    assert not dog.check()  # once per cycle
    started[0] = 190.0
    assert dog.check() and fired == [5.5, 10.0]  # a new hung cycle
    assert default_watchdog_s(0.5) == 30.0 and default_watchdog_s(2.0) == 60.0
    with pytest.raises(ValueError):
        CycleWatchdog(lambda: None, 0.0, fired.append)


@pytest.mark.pg
def test_hung_leader_gives_the_lease_up_and_its_writes_are_fenced(pg_db: Database) -> None:
    """A leader's cycle blocks (core.cycle waits on an event): after ``watchdog_s`` its
    watchdog closes the lease connection and demotes it; a second engine takes the lease within
    a few seconds; when the stuck cycle resumes, its write transaction is refused (fencing)."""
    db = pg_db
    config = LiveConfig(interval_s=0.1, min_gap_s=0.0)
    hung = LiveEngine(db, config, lease_poll_s=0.05)
    hung.watchdog_s = 0.5
    other = LiveEngine(db, config, lease_poll_s=0.05)
    entered, release = threading.Event(), threading.Event()
    real_cycle = hung.core.cycle

    def blocking_cycle(now: datetime) -> Any:
        entered.set()
        release.wait(20.0)  # bounded
        return real_cycle(now)

    hung.core.cycle = blocking_cycle  # type: ignore[method-assign]
    fenced: list[BaseException | None] = []
    real_fence = hung._fence

    def recording_fence(session: Any) -> None:
        try:
            real_fence(session)
        except BaseException as exc:
            fenced.append(exc)
            raise
        fenced.append(None)

    hung._fence = recording_fence  # type: ignore[method-assign]
    loop = asyncio.new_event_loop()
    task: list[asyncio.Task[None]] = []

    def runner() -> None:
        asyncio.set_event_loop(loop)
        task.append(loop.create_task(hung.run()))
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task[0])

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    try:
        assert entered.wait(10.0), "the leader never started a cycle"
        blocked_at = time.monotonic()
        assert hung.stats.takeovers == 1
        deadline = blocked_at + 10.0
        while hung.leader and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not hung.leader and hung.stats.role == "follower"
        # the lease is free now, but a process whose cycle still hangs does not take it back
        assert not hung.check_lease()
        while not other.check_lease() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert other.leader, "no other replica took the lease over"
        assert time.monotonic() - blocked_at < 5.0
        release.set()  # the stuck cycle resumes: its picture write must be fenced
        deadline = time.monotonic() + 10.0
        while not fenced and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(fenced) == 1 and isinstance(fenced[0], LeaseLostError)
        assert other.check_lease() and not hung.leader
    finally:
        release.set()
        if task:
            loop.call_soon_threadsafe(task[0].cancel)
        thread.join(15.0)
        loop.close()
        if other.lease is not None:
            other.lease.release()


@pytest.mark.pg
def test_no_lead_from_the_cli_and_the_environment(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``deconflict serve --no-lead`` and ``DECONFLICT_LIVE_NO_LEAD`` reach the engine."""
    served: list[FastAPI] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    result = CliRunner().invoke(
        build_app(), ["serve", "--db", pg_db.url, "--no-lead", "--port", "0"]
    )
    assert result.exit_code == 0, result.output
    assert served[0].state.settings.live_no_lead is True
    monkeypatch.setenv("DECONFLICT_LIVE_NO_LEAD", "1")
    monkeypatch.setenv("DECONFLICT_LIVE_WATCHDOG_S", "7.5")
    settings = Settings(db_url=pg_db.url)
    assert settings.live_no_lead and settings.live_watchdog_s == 7.5
    app = FastAPI()
    app.state.db, app.state.settings = pg_db, settings
    start_live_engine(app)
    engine: LiveEngine = app.state.live_engine
    assert engine.may_lead is False and engine.watchdog_s == 7.5
    assert not engine.check_lease() and engine.stats.role == "follower"
