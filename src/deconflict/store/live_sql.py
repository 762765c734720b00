"""SQL storage of the live picture (tables on :data:`deconflict.store.base.metadata`).

Tables (migration ``0003_live``)::

    live_aircraft        aircraft_id PK | party_id (the only party that may report it)
                         | first_seen_at | last_seen_at
    track_history        id | party_id | aircraft_id | time_s (state time, Unix s) | lat_deg
                         | lon_deg | alt_ft | gs_kt | track_deg | vs_fpm | received_s
                         (bounded: rows older than the retention are deleted by the engine)
    live_alerts          id PK | kind | key (the situation, internal) | severity | state
                         | t_in_s | data (subjects and figures, internal: never sent as is)
                         | raised_at | updated_at | resolved_at
    live_alert_parties   (alert_id, party_id) PK | acked_at | acked_by (key id)

Need-to-know is enforced when reading: an alert is found only through its ``live_alert_parties``
row for the caller's party, and rendered by :func:`deconflict.live.picture.alert_view`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from deconflict.store.base import metadata
from deconflict.store.pg_arrays import Float8Array, TextArray
from deconflict.store.tables import parties as parties_table
from deconflict.store.types import BigId, JsonDoc, UTCDateTime

live_aircraft = Table(
    "live_aircraft",
    metadata,
    Column("aircraft_id", String(64), primary_key=True),
    Column("party_id", String(32), ForeignKey("parties.id"), nullable=False, index=True),
    Column("first_seen_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
)

track_history = Table(
    "track_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # no foreign key (migration 0010_ingest_path): the aircraft is claimed in live_aircraft
    Column("party_id", String(32), nullable=False),
    Column("aircraft_id", String(64), nullable=False),
    Column("time_s", Float, nullable=False),
    Column("lat_deg", Float, nullable=False),
    Column("lon_deg", Float, nullable=False),
    Column("alt_ft", Float, nullable=False),
    Column("gs_kt", Float, nullable=False),
    Column("track_deg", Float, nullable=False),
    Column("vs_fpm", Float, nullable=False),
    Column("received_s", Float, nullable=False),
    Index("ix_track_history_aircraft_time", "aircraft_id", "time_s"),
    Index("ix_track_history_received_s", "received_s", postgresql_using="brin"),
)

live_alerts = Table(
    "live_alerts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("key", String(400), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("state", String(10), nullable=False),
    Column("t_in_s", Float, nullable=False),
    Column("data", JsonDoc, nullable=False),
    Column("raised_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Index("ix_live_alerts_state", "state"),
)

live_alert_parties = Table(
    "live_alert_parties",
    metadata,
    Column("alert_id", String(32), ForeignKey("live_alerts.id"), primary_key=True),
    Column("party_id", String(32), ForeignKey("parties.id"), primary_key=True),
    Column("acked_at", UTCDateTime(), nullable=True),
    Column("acked_by", String(32), nullable=True),
)

HISTORY_COLUMNS = ("time_s", "lat_deg", "lon_deg", "alt_ft", "gs_kt", "track_deg", "vs_fpm")
"""Numeric state columns of ``track_history`` (besides ids and ``received_s``)."""


_PG_OWNERS = "SELECT aircraft_id, party_id FROM live_aircraft WHERE aircraft_id = ANY(%s)"
_PG_CLAIM = (
    "INSERT INTO live_aircraft (aircraft_id, party_id, first_seen_at, last_seen_at) "
    "SELECT u.a, %s, %s, %s FROM unnest(%s::varchar[]) AS u(a) ON CONFLICT DO NOTHING"
)


def owners(session: Session, aircraft_ids: Sequence[str]) -> dict[str, str]:
    """``{aircraft_id: party_id}`` for the ids already known. PostgreSQL: one statement over a
    binary array parameter; SQLite: chunked IN queries."""
    out: dict[str, str] = {}
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        if aircraft_ids:
            found = conn.exec_driver_sql(_PG_OWNERS, (TextArray(list(aircraft_ids)),))
            out.update({str(r[0]): str(r[1]) for r in found})
        return out
    for start in range(0, len(aircraft_ids), 500):
        chunk = list(aircraft_ids[start : start + 500])
        rows = session.execute(
            select(live_aircraft.c.aircraft_id, live_aircraft.c.party_id).where(
                live_aircraft.c.aircraft_id.in_(chunk)
            )
        )
        out.update({r.aircraft_id: r.party_id for r in rows})
    return out


def claim(session: Session, party_id: str, aircraft_ids: Sequence[str], now: datetime) -> list[str]:
    """Record ``party_id`` as the reporter of new ``aircraft_ids``; return the ids lost to others.

    Two parties may claim the same new id at the same instant (PostgreSQL runs their
    transactions concurrently). The insert skips ids that exist by then (``ON CONFLICT DO
    NOTHING`` waits for the other transaction), and the ids now owned by another party are
    returned so that the caller refuses the whole batch instead of failing with a key error.
    """
    if not aircraft_ids:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # one statement over a binary array (a row-by-row executemany: ~50 us per id)
        session.connection().exec_driver_sql(
            _PG_CLAIM, (party_id, now, now, TextArray(list(aircraft_ids)))
        )
    else:
        rows = [
            {"aircraft_id": a, "party_id": party_id, "first_seen_at": now, "last_seen_at": now}
            for a in aircraft_ids
        ]
        if dialect == "sqlite":
            from sqlalchemy.dialects import sqlite

            session.execute(sqlite.insert(live_aircraft).on_conflict_do_nothing(), rows)
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            session.execute(insert(live_aircraft), rows)
            return []
    current = owners(session, aircraft_ids)
    return sorted(a for a in aircraft_ids if current.get(a, party_id) != party_id)


def touch(session: Session, party_id: str, now: datetime) -> None:
    """Mark every aircraft of ``party_id`` reported in this batch as seen (coarse: per party)."""
    session.execute(
        update(live_aircraft).where(live_aircraft.c.party_id == party_id).values(last_seen_at=now)
    )


_PG_HISTORY_INSERT = (
    "INSERT INTO track_history (party_id, aircraft_id, "
    + ", ".join(HISTORY_COLUMNS)
    + ", received_s) SELECT %s, u.*, %s FROM unnest(%s::varchar[], "
    + ", ".join(["%s::float8[]"] * len(HISTORY_COLUMNS))
    + ") AS u"
)


def append_history_rows(
    session: Session,
    party_id: str,
    ids: Sequence[str],
    columns: Mapping[str, Any],
    received_s: float,
) -> None:
    """Append one batch of states (columns named as :data:`HISTORY_COLUMNS`) with one DB-API
    ``executemany`` of tuples: the per-row cost of the ORM/Core parameter processing would be
    most of the ingest time."""
    if not ids:
        return
    conn = session.connection()
    names = ("party_id", "aircraft_id", *HISTORY_COLUMNS, "received_s")
    n = len(ids)
    if conn.dialect.name == "postgresql":
        # one statement over arrays (a row-by-row executemany costs PostgreSQL ~10x more CPU),
        # sent in the binary array format (deconflict.store.pg_arrays)
        conn.exec_driver_sql(
            _PG_HISTORY_INSERT,
            (
                party_id,
                float(received_s),
                TextArray(ids),
                *(Float8Array(columns[name]) for name in HISTORY_COLUMNS),
            ),
        )
        return
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO track_history ({', '.join(names)}) "
        f"VALUES ({', '.join([marker] * len(names))})"
    )
    rows = list(
        zip(
            [party_id] * n,
            ids,
            *(np.asarray(columns[name], dtype=np.float64).tolist() for name in HISTORY_COLUMNS),
            [received_s] * n,
            strict=True,
        )
    )
    conn.exec_driver_sql(sql, rows)


def recent_history(
    session: Session, received_after_s: float
) -> tuple[list[str], list[str], dict[str, Any]]:
    """History rows received after ``received_after_s`` (Unix s) as ``(party ids, aircraft
    ids, {column: float64 array})`` with the columns of :data:`HISTORY_COLUMNS` (a restarted
    detector seeds its latest states from it). SQLite: one row per aircraft, the one with the
    greatest state time (SQLite's bare columns of the query's only aggregate, ``max()``),
    grouped in the database; other dialects: every row, oldest first (the caller keeps the
    newest per aircraft)."""
    names = ("party_id", "aircraft_id", *HISTORY_COLUMNS)
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        shown = [("max(time_s)" if c == "time_s" else c) for c in names]
        sql = (
            f"SELECT {', '.join(shown)} FROM track_history WHERE received_s > ? "
            "GROUP BY aircraft_id ORDER BY aircraft_id"
        )
    else:
        marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"SELECT {', '.join(names)} FROM track_history WHERE received_s > {marker} ORDER BY id"
        )
    rows = conn.exec_driver_sql(sql, (float(received_after_s),)).all()
    if not rows:
        return [], [], {c: np.empty(0) for c in HISTORY_COLUMNS}
    cols = list(zip(*rows, strict=True))
    return (
        [str(p) for p in cols[0]],
        [str(a) for a in cols[1]],
        {c: np.asarray(cols[2 + k], dtype=np.float64) for k, c in enumerate(HISTORY_COLUMNS)},
    )


def prune_history(session: Session, older_than_s: float) -> int:
    """Delete history received before ``older_than_s`` (Unix s); returns rows deleted."""
    result = session.execute(delete(track_history).where(track_history.c.received_s < older_than_s))
    return int(getattr(result, "rowcount", 0) or 0)


def save_alerts(session: Session, alerts: Sequence[tuple[dict[str, Any], Sequence[str]]]) -> None:
    """Insert or update many alert rows (and their party rows) with a few statements."""
    if not alerts:
        return
    ids = [row["id"] for row, _ in alerts]
    existing: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        existing |= {
            r.id
            for r in session.execute(select(live_alerts.c.id).where(live_alerts.c.id.in_(chunk)))
        }
    fresh = [(row, ps) for row, ps in alerts if row["id"] not in existing]
    if fresh:
        session.execute(insert(live_alerts), [row for row, _ in fresh])
        session.execute(
            insert(live_alert_parties),
            [{"alert_id": row["id"], "party_id": p} for row, ps in fresh for p in ps],
        )
    stored = [(row, ps) for row, ps in alerts if row["id"] in existing]
    if not stored:
        return
    # one executemany UPDATE for the rows already stored (per-row statements cost ~2.7 ms each,
    # a burst of 600 updates a whole second), then the missing party rows in one INSERT
    session.execute(
        update(live_alerts).where(live_alerts.c.id == bindparam("_alert_id")),
        [
            {**{k: v for k, v in row.items() if k != "id"}, "_alert_id": row["id"]}
            for row, _ in stored
        ],
    )
    known: set[tuple[str, str]] = set()
    stored_ids = [row["id"] for row, _ in stored]
    for start in range(0, len(stored_ids), 500):
        chunk = stored_ids[start : start + 500]
        known |= {
            (r.alert_id, r.party_id)
            for r in session.execute(
                select(live_alert_parties.c.alert_id, live_alert_parties.c.party_id).where(
                    live_alert_parties.c.alert_id.in_(chunk)
                )
            )
        }
    missing = [
        {"alert_id": row["id"], "party_id": p}
        for row, ps in stored
        for p in ps
        if (row["id"], p) not in known
    ]
    if missing:
        session.execute(insert(live_alert_parties), missing)


def set_acks(session: Session, alert_id: str, acked: dict[str, datetime]) -> None:
    """Make the stored acknowledgements of ``alert_id`` equal ``acked`` (party -> time)."""
    rows = session.execute(
        select(live_alert_parties).where(live_alert_parties.c.alert_id == alert_id)
    )
    for r in rows:
        when = acked.get(r.party_id)
        if when != r.acked_at:
            session.execute(
                update(live_alert_parties)
                .where(
                    live_alert_parties.c.alert_id == alert_id,
                    live_alert_parties.c.party_id == r.party_id,
                )
                .values(acked_at=when)
            )


def record_ack(session: Session, alert_id: str, party_id: str, when: datetime, key_id: str) -> None:
    """Store one party's acknowledgement (who and when)."""
    session.execute(
        update(live_alert_parties)
        .where(
            live_alert_parties.c.alert_id == alert_id,
            live_alert_parties.c.party_id == party_id,
        )
        .values(acked_at=when, acked_by=key_id)
    )


def alerts_for(session: Session, party_id: str, *, state: str | None = None) -> list[Any]:
    """Alert rows the party is a member of, newest first, with its own ack columns."""
    query = (
        select(live_alerts, live_alert_parties.c.acked_at, live_alert_parties.c.acked_by)
        .select_from(
            live_alerts.join(live_alert_parties, live_alert_parties.c.alert_id == live_alerts.c.id)
        )
        .where(live_alert_parties.c.party_id == party_id)
        .order_by(live_alerts.c.raised_at.desc(), live_alerts.c.id.desc())
    )
    if state is not None:
        query = query.where(live_alerts.c.state == state)
    return list(session.execute(query))


def party_names(session: Session) -> dict[str, str]:
    """Party id -> the party's own name."""
    rows = session.execute(select(parties_table.c.id, parties_table.c.name))
    return {str(r.id): str(r.name) for r in rows}
