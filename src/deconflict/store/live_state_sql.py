"""Shared live state of broker replicas on one database (migration ``0007_replicas``).

Table::

    live_latest   aircraft_id PK | party_id | callsign (NULL: never given) | time_s (state time,
                  Unix s) | lat_deg | lon_deg | alt_ft | gs_kt | track_deg | vs_fpm
                  | xid (PostgreSQL: xid8 of the transaction that last wrote the row) | writer
                  (id of the engine that last wrote it, 0: unknown; both migration 0009)

Every replica upserts the states it accepts (:func:`upsert_latest`, in the request's
transaction; a newer state time replaces an older one, never the reverse, as
:class:`deconflict.live.latest.LatestStates` does in memory); the leader's detection cycle reads
the union (:func:`load_latest`). On PostgreSQL the table is ``UNLOGGED`` (docs/deployment.md)
and has no secondary index, with half of every page left free, so that each upsert is a
heap-only update (migration ``0010_ingest_path``); parameters go in PostgreSQL's binary
array format (:mod:`deconflict.store.pg_arrays`).

Reading only what changed (PostgreSQL, migration ``0009_live_tail``): sequence numbers or
timestamps are not commit-ordered (a transaction that wrote first may commit last), so a
reader cannot resume from "the greatest value seen". Instead each read also returns the
``xmin`` of the snapshot it read with (:attr:`StoredStates.xmin`: every transaction with a
smaller id had finished when the read ran, so its rows were in it); the next read asks for
``xid >= xmin`` (``changed_since``). That re-reads the rows of transactions that were in
flight at the previous read, or that committed just before it, and merging them again changes
nothing (a newer state wins), so no committed row is ever skipped. A transaction left open
for long holds ``xmin`` back and makes the reads larger, never wrong. A replica already holds
the states it accepted itself in memory: its reads may leave out the rows it wrote last
(``exclude_writer``).

Also the queries a new leader needs to continue the previous leader's alerts with the same ids
(:func:`alerts_since`, :func:`acks_of`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Column, Float, String, Table, delete, or_, select
from sqlalchemy.dialects.postgresql import base as postgresql_base
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType

from deconflict.store.base import metadata
from deconflict.store.live_sql import live_alert_parties, live_alerts
from deconflict.store.pg_arrays import Float8Array, TextArray
from deconflict.units import FloatArray


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id type ``xid8`` (epoch and xid; never wraps)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        """The DDL type name."""
        return "XID8"


# schema reflection (migration checks) then knows the type instead of warning about it
postgresql_base.ischema_names.setdefault("xid8", Xid8)


live_latest = Table(
    "live_latest",
    metadata,
    Column("aircraft_id", String(64), primary_key=True),
    Column("party_id", String(32), nullable=False),
    Column("callsign", String(16), nullable=True),
    Column("time_s", Float, nullable=False),
    Column("lat_deg", Float, nullable=False),
    Column("lon_deg", Float, nullable=False),
    Column("alt_ft", Float, nullable=False),
    Column("gs_kt", Float, nullable=False),
    Column("track_deg", Float, nullable=False),
    Column("vs_fpm", Float, nullable=False),
    # PostgreSQL: DEFAULT pg_current_xact_id(), set again by every applied upsert; SQLite: 0
    Column("xid", BigInteger().with_variant(Xid8(), "postgresql"), nullable=False),
    Column("writer", BigInteger, nullable=False, server_default="0"),
    # no secondary index (migration 0010_ingest_path): every upsert is a heap-only update
)

STATE_COLUMNS = ("time_s", "lat_deg", "lon_deg", "alt_ft", "gs_kt", "track_deg", "vs_fpm")
"""Numeric columns of ``live_latest`` (units in the names; ``time_s`` Unix seconds)."""

_NAMES = ("aircraft_id", "party_id", "callsign", *STATE_COLUMNS)
_UPDATE = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*STATE_COLUMNS, "writer"))
_WHERE = "live_latest.time_s <= EXCLUDED.time_s"
_PG_UPSERT = (
    f"INSERT INTO live_latest (writer, {', '.join(_NAMES)}) "
    "SELECT %s::int8, * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], "
    + ", ".join(["%s::float8[]"] * len(STATE_COLUMNS))
    + ") ON CONFLICT (aircraft_id) DO UPDATE SET "
    + _UPDATE
    + ", party_id = EXCLUDED.party_id"
    + ", callsign = COALESCE(EXCLUDED.callsign, live_latest.callsign)"
    + ", xid = pg_current_xact_id() WHERE "
    + _WHERE
)
_SQLITE_UPSERT = (
    f"INSERT INTO live_latest (writer, {', '.join(_NAMES)}) "
    f"VALUES ({', '.join(['?'] * (len(_NAMES) + 1))}) "
    "ON CONFLICT (aircraft_id) DO UPDATE SET "
    + _UPDATE
    + ", party_id = EXCLUDED.party_id"
    + ", callsign = COALESCE(EXCLUDED.callsign, live_latest.callsign) WHERE "
    + _WHERE
)


@dataclass(frozen=True)
class StoredStates:
    """Rows of ``live_latest`` as columns (``columns`` named as :data:`STATE_COLUMNS`)."""

    ids: list[str]
    party: list[str]
    callsign: list[str]
    columns: dict[str, FloatArray]
    xmin: int | None = None
    """PostgreSQL: ``pg_snapshot_xmin`` of the snapshot these rows were read with; pass it as
    ``changed_since`` to the next :func:`load_latest` to read only rows changed since
    (``None`` on SQLite)."""


def newest_rows(ids: Sequence[str], times: FloatArray) -> list[int]:
    """Row index per distinct id: the greatest time, the last such row on ties (ascending)."""
    best: dict[str, int] = {}
    for k, aircraft in enumerate(ids):
        j = best.get(aircraft)
        if j is None or times[k] >= times[j]:
            best[aircraft] = k
    return sorted(best.values())


def upsert_latest(
    session: Session,
    party_id: str,
    ids: Sequence[str],
    columns: Mapping[str, Any],
    callsigns: Sequence[str] | None,
    writer: int = 0,
) -> None:
    """Write one validated batch of ``party_id`` into ``live_latest`` in the session's
    transaction: per aircraft the newest row of the batch, applied only when not older than the
    stored state, marked as written by ``writer`` (the engine's id, 0 < writer < 2**63; 0:
    unknown). PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays)`` statement."""
    if not ids:
        return
    times = np.asarray(columns["time_s"], dtype=np.float64)
    rows = newest_rows(ids, times)
    take = np.asarray(rows, dtype=np.intp)
    sel_ids = [ids[k] for k in rows]
    sel_cs: list[str | None] = (
        [callsigns[k] for k in rows] if callsigns is not None else [None] * len(rows)
    )
    arrays = [np.asarray(columns[c], dtype=np.float64)[take] for c in STATE_COLUMNS]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # binary array parameters (deconflict.store.pg_arrays): no per-element text round trip
        conn.exec_driver_sql(
            _PG_UPSERT,
            (
                int(writer),
                TextArray(sel_ids),
                TextArray([party_id] * len(rows)),
                TextArray(sel_cs),
                *(Float8Array(a) for a in arrays),
            ),
        )
    else:
        cols = [a.tolist() for a in arrays]
        conn.exec_driver_sql(
            _SQLITE_UPSERT,
            [
                (int(writer), *row)
                for row in zip(sel_ids, [party_id] * len(rows), sel_cs, *cols, strict=True)
            ],
        )


# the snapshot's xmin in the same statement: the rows read are exactly those it sees
_PG_LOAD = (
    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
    + ", ".join(f"array_agg({c})" for c in _NAMES)
    + " FROM live_latest"
)


def load_latest(
    session: Session,
    newer_than_s: float | None = None,
    changed_since: int | None = None,
    exclude_writer: int | None = None,
) -> StoredStates:
    """Every stored state (or those with ``time_s > newer_than_s``, Unix s) as columns.

    ``changed_since`` (PostgreSQL; the :attr:`StoredStates.xmin` of a previous read): only the
    rows written by transactions that were not yet visible to that read, plus some that were
    (see the module docstring); ``None`` reads all. ``exclude_writer``: leave out the rows
    this writer id wrote last (PostgreSQL). Both ignored on SQLite (one process; the table is
    not read there in service).

    PostgreSQL: one row of arrays fetched in the binary protocol (about 3x faster than rows
    for 100,000 states; docs/deployment.md)."""
    conn = session.connection()
    xmin: int | None = None
    if conn.dialect.name == "postgresql":
        conds: list[str] = []
        params: list[Any] = []
        if newer_than_s is not None:
            conds.append("time_s > %s")
            params.append(float(newer_than_s))
        if changed_since is not None:
            conds.append("xid >= %s::text::xid8")
            params.append(str(int(changed_since)))
        if exclude_writer is not None:
            conds.append("writer <> %s")
            params.append(int(exclude_writer))
        where = " WHERE " + " AND ".join(conds) if conds else ""
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor(binary=True) as cur:
            cur.execute(_PG_LOAD + where, params or None)
            row = cur.fetchone()
        assert row is not None  # an aggregate without GROUP BY returns one row
        xmin = int(row[0])
        if row[1] is None:
            return _empty(xmin)
        cols = list(row[1:])
    else:
        query = f"SELECT {', '.join(_NAMES)} FROM live_latest"
        if newer_than_s is not None:
            rows = conn.exec_driver_sql(f"{query} WHERE time_s > ?", (newer_than_s,)).all()
        else:
            rows = conn.exec_driver_sql(query).all()
        if not rows:
            return _empty()
        cols = [list(c) for c in zip(*rows, strict=True)]
    return StoredStates(
        ids=[str(a) for a in cols[0]],
        party=[str(p) for p in cols[1]],
        callsign=[str(c) if c is not None else "" for c in cols[2]],
        columns={c: np.asarray(cols[3 + k], dtype=np.float64) for k, c in enumerate(STATE_COLUMNS)},
        xmin=xmin,
    )


def _empty(xmin: int | None = None) -> StoredStates:
    return StoredStates([], [], [], {c: np.empty(0) for c in STATE_COLUMNS}, xmin)


def prune_latest(session: Session, older_than_s: float) -> int:
    """Delete states with ``time_s < older_than_s`` (Unix s); returns rows deleted."""
    result = session.execute(delete(live_latest).where(live_latest.c.time_s < older_than_s))
    return int(getattr(result, "rowcount", 0) or 0)


def alerts_since(session: Session, resolved_after: datetime) -> list[Any]:
    """``live_alerts`` rows that are open or were resolved after ``resolved_after``."""
    return list(
        session.execute(
            select(live_alerts).where(
                or_(
                    live_alerts.c.state == "open",
                    live_alerts.c.resolved_at > resolved_after,
                )
            )
        )
    )


def acks_of(session: Session, alert_ids: Sequence[str]) -> dict[str, dict[str, datetime]]:
    """``{alert_id: {party_id: acked_at}}`` of the stored acknowledgements (chunked)."""
    out: dict[str, dict[str, datetime]] = {}
    for start in range(0, len(alert_ids), 500):
        chunk = list(alert_ids[start : start + 500])
        rows = session.execute(
            select(
                live_alert_parties.c.alert_id,
                live_alert_parties.c.party_id,
                live_alert_parties.c.acked_at,
            ).where(
                live_alert_parties.c.alert_id.in_(chunk),
                live_alert_parties.c.acked_at.is_not(None),
            )
        )
        for r in rows:
            out.setdefault(str(r.alert_id), {})[str(r.party_id)] = r.acked_at
    return out


def open_alert_acks(session: Session) -> dict[str, dict[str, datetime]]:
    """``{alert_id: {party_id: acked_at}}`` for every open alert with an acknowledgement."""
    rows = session.execute(
        select(
            live_alert_parties.c.alert_id,
            live_alert_parties.c.party_id,
            live_alert_parties.c.acked_at,
        )
        .select_from(
            live_alert_parties.join(live_alerts, live_alerts.c.id == live_alert_parties.c.alert_id)
        )
        .where(live_alerts.c.state == "open", live_alert_parties.c.acked_at.is_not(None))
    )
    out: dict[str, dict[str, datetime]] = {}
    for r in rows:
        out.setdefault(str(r.alert_id), {})[str(r.party_id)] = r.acked_at
    return out
