"""Shared live state of replicas (``live_latest``), alert take-over, NOTIFY wake-ups, readiness.

Fast, in-process tests; the two-process scenario is ``test_replicas_serve.py``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from deconflict.broker import parties, readiness
from deconflict.broker.live import LiveEngine, merge_states
from deconflict.broker.outbox import check_events, publish
from deconflict.cluster.notify import OUTBOX_CHANNEL, TRACKS_CHANNEL, PgListener
from deconflict.live.alerts import HysteresisPolicy, Observation, Subject
from deconflict.live.engine import ReplicaTracker
from deconflict.live.latest import LatestStates
from deconflict.live.tracks import FLOAT_COLUMNS
from deconflict.store import live_sql, live_state_sql
from deconflict.store.base import Database, metadata
from deconflict.store.migrate import upgrade

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def columns(times: list[float], k0: float = 0.0) -> dict[str, Any]:
    n = len(times)
    cols = {name: np.arange(n, dtype=float) + k0 for name in FLOAT_COLUMNS}
    cols["time_s"] = np.asarray(times, dtype=float)
    return cols


def test_live_latest_matches_the_migration_and_upserts_like_memory(db_url: str) -> None:
    """Both backends: schema = migration; a sequence of batches leaves the same states in the
    table as in :class:`LatestStates` (the in-memory reference): newer time wins, within a
    batch the last row of the greatest time, a missing callsign keeps the known one."""
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write_engine.connect() as conn:
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": False}), metadata
            )
        assert [d for d in diffs if "live_latest" in repr(d)] == []
        ref = LatestStates()
        batches = [
            ("P1", ["a", "b", "a"], [10.0, 10.0, 12.0], ["A1", "B1", "A2"], 0.0),
            ("P1", ["a", "b"], [11.0, 10.0], None, 100.0),  # a older: ignored; b equal: applied
            ("P2", ["c", "c"], [5.0, 5.0], ["C1", "C2"], 200.0),  # tie: the last row wins
            ("P1", ["b"], [20.0], None, 300.0),  # no callsign: keeps B1
        ]
        for party, ids, times, calls, k0 in batches:
            cols = columns(times, k0)
            ref.update(party, ids, cols, calls)
            with db.write() as s:
                live_state_sql.upsert_latest(s, party, ids, cols, calls)
        with db.read() as s:
            stored = live_state_sql.load_latest(s)
            newer = live_state_sql.load_latest(s, newer_than_s=10.0)
        assert sorted(newer.ids) == ["a", "b"]
        snap = ref.snapshot(0.0, 1e9).states
        got = LatestStates()
        merge_states(got, stored)
        mine = got.snapshot(0.0, 1e9).states
        order = np.argsort(snap.ids)
        assert sorted(mine.ids) == sorted(snap.ids) == ["a", "b", "c"]
        index = {a: k for k, a in enumerate(mine.ids)}
        for k in order:
            j = index[snap.ids[k]]
            assert mine.party[j] == snap.party[k] and mine.callsign[j] == snap.callsign[k]
            for name in FLOAT_COLUMNS:
                assert getattr(mine, name)[j] == getattr(snap, name)[k], (snap.ids[k], name)
        with db.write() as s:
            assert live_state_sql.prune_latest(s, 10.5) == 1  # c (t=5)
    finally:
        db.dispose()


def test_track_history_rows_are_stored_as_sent_on_both_backends(db_url: str) -> None:
    """``append_history_rows`` (PostgreSQL: one ``INSERT ... SELECT FROM unnest``; SQLite: an
    ``executemany``) stores every row of a batch, in order, with its party and receive time."""
    upgrade(db_url)
    db = Database(db_url)
    try:
        now = T0
        with db.write() as s:
            pid = parties.create_party(s, "HIST", now=now).id
        ids = ["h1", "h2", "h1", "x'; DROP TABLE track_history; --"]
        cols = {name: np.arange(4, dtype=float) * 1.5 + 0.25 for name in live_sql.HISTORY_COLUMNS}
        cols["time_s"] = np.array([100.0, 100.0, 101.0, 102.5])
        with db.write() as s:
            live_sql.append_history_rows(s, pid, ids, cols, 1234.5)
            live_sql.append_history_rows(s, pid, [], cols, 1235.0)  # nothing to store
        with db.read() as s:
            rows = s.execute(
                select(live_sql.track_history).order_by(live_sql.track_history.c.id)
            ).all()
        assert [r.aircraft_id for r in rows] == ids
        assert {r.party_id for r in rows} == {pid} and {r.received_s for r in rows} == {1234.5}
        for name in live_sql.HISTORY_COLUMNS:
            assert [getattr(r, name) for r in rows] == cols[name].tolist(), name
    finally:
        db.dispose()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 5)), min_size=1, max_size=6),
        min_size=1,
        max_size=5,
    )
)
def test_merge_of_stored_rows_equals_applying_every_batch(batches: list[Any]) -> None:
    """Property (pure): the per-aircraft newest row of each batch (what ``upsert_latest``
    keeps) merged in any number of steps gives the states of applying every batch in memory."""
    ref, merged = LatestStates(), LatestStates()
    for step, rows in enumerate(batches):
        ids = [a for a, _ in rows]
        cols = columns([float(t) for _, t in rows], 10.0 * step)
        ref.update("P", ids, cols)
        keep = live_state_sql.newest_rows(ids, cols["time_s"])
        stored = live_state_sql.StoredStates(
            [ids[k] for k in keep],
            ["P"] * len(keep),
            [""] * len(keep),
            {c: v[np.asarray(keep, dtype=np.intp)] for c, v in cols.items()},
        )
        merge_states(merged, stored)
    a, b = ref.snapshot(0, 1e9).states, merged.snapshot(0, 1e9).states
    ia = {x: k for k, x in enumerate(a.ids)}
    ib = {x: k for k, x in enumerate(b.ids)}
    assert set(ia) == set(ib)
    for x in ia:
        for name in FLOAT_COLUMNS:
            assert getattr(a, name)[ia[x]] == getattr(b, name)[ib[x]]


def obs(key: str) -> Observation:
    return Observation(
        kind="conflict",
        key=("conflict", key),
        parties=("P1", "P2"),
        subjects=(Subject("aircraft", "P1", "x"), Subject("aircraft", "P2", "y")),
        t_in_s=60.0,
    )


def test_a_new_leader_continues_alert_ids_and_acknowledgements() -> None:
    """The follower's tracker restores the stored alerts: an observed situation keeps its id
    (no second ``raised``), an acknowledgement made elsewhere is merged, a situation that went
    away resolves under the usual hysteresis, and one resolved within the hold re-opens."""
    policy = HysteresisPolicy(clear_cycles=1, clear_s=0.0, reraise_hold_s=60.0)
    ids = iter(f"OLD{k}" for k in range(10))
    old = ReplicaTracker(policy, new_id=lambda: next(ids))
    old.observe([obs("k1"), obs("k2"), obs("k3")], T0)
    old.observe([obs("k1"), obs("k2")], T0 + timedelta(seconds=1))  # k3 resolved
    stored = [*old.open_alerts(), old.get("OLD2")]
    new = ReplicaTracker(policy, new_id=lambda: "NEW")
    new.restore(stored)
    assert new.merge_acks({"OLD0": {"P2": T0, "P9": T0}}) == 1  # P9 is no party of it
    events = new.observe([obs("k1"), obs("k3")], T0 + timedelta(seconds=2))
    kinds = sorted((e.kind, e.alert.id, e.reopened) for e in events)
    assert kinds == [("raised", "OLD2", True), ("resolved", "OLD1", False)]
    assert new.get("OLD0").acked == {"P2": T0}
    assert [a.id for a in new.open_alerts()] == ["OLD0", "OLD2"]


def test_notify_wakes_a_listener_on_commit_only(fresh_pg_url: str) -> None:
    upgrade(fresh_pg_url)
    db = Database(fresh_pg_url)
    woke = {OUTBOX_CHANNEL: threading.Event(), TRACKS_CHANNEL: threading.Event()}
    listener = PgListener(db.url, {name: ev.set for name, ev in woke.items()})
    stop = threading.Event()
    thread = threading.Thread(target=listener.run, args=(stop,), kwargs={"poll_s": 0.1})
    thread.start()
    checking = check_events(False)  # placeholder payloads: the wake-up is under test
    try:
        deadline = time.monotonic() + 10
        while not listener.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        assert listener.connected
        time.sleep(0.1)
        for ev in woke.values():
            ev.clear()  # the catch-up wake-up after connecting
        with db.write() as s:
            party = parties.create_party(s, "BLUE", now=T0).id
        try:
            with db.write() as s:
                publish(s, party, "alert", {"event": "x"}, now=T0)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        time.sleep(0.5)
        assert not woke[OUTBOX_CHANNEL].is_set()  # rolled back: no notification
        with db.write() as s:
            publish(s, party, "alert", {"event": "x"}, now=T0)
            publish(s, party, "alert", {"event": "y"}, now=T0)
        assert woke[OUTBOX_CHANNEL].wait(5.0)
        assert not woke[TRACKS_CHANNEL].is_set()
        assert listener.received == 1  # one per transaction
    finally:
        check_events(checking)
        stop.set()
        thread.join(10)
        db.dispose()


def test_readiness_reports_database_migrations_and_role(db_url: str) -> None:
    db = Database(db_url)
    try:
        report = readiness.check(db, None, None)
        assert (report.ready, report.database, report.migrations) == (False, "ok", "behind")
        upgrade(db_url)
        engine = LiveEngine(db)
        report = readiness.check(db, engine, None)
        assert report.ready and report.migrations == "current" and report.revision
        if db.sqlite:
            assert (report.role, report.listener) == ("single", "none")
        else:
            assert (report.role, report.listener) == ("follower", "down")
            assert engine.check_lease(T0) and readiness.check(db, engine, None).role == "leader"
            other = LiveEngine(db)
            assert not other.check_lease(T0) and other.cycle(T0) == []  # one leader only
            assert engine.lease is not None
            engine.lease.release()  # the server frees the lock when the session has ended
            deadline = time.monotonic() + 5
            while not other.check_lease(T0) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert other.leader and other.stats.takeovers == 1
            assert not engine.check_lease(T0) and engine.stats.role == "follower"
            assert other.lease is not None
            other.lease.release()
    finally:
        db.dispose()
