"""Binary array parameters (:mod:`deconflict.store.pg_arrays`) against real PostgreSQL: every
float64 (signed zeros, subnormals, extremes, infinities, NaN payload aside) and every string
(any Unicode but NUL, empty, NULL) comes back exactly as sent, in order; the oracle is the
value itself. A track batch stored through both ingest statements reads back bit for bit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.broker import parties
from deconflict.store import live_sql, live_state_sql
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.store.pg_arrays import Float8Array, TextArray

pytestmark = pytest.mark.pg


@pytest.fixture(scope="module")
def conn(pg_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        yield c


def _bits(values: np.ndarray) -> list[int]:
    return np.asarray(values, dtype=np.float64).view(np.int64).tolist()


FLOATS = st.floats(allow_nan=False, allow_infinity=True, allow_subnormal=True, width=64)
TEXTS = st.one_of(st.none(), st.text(st.characters(blacklist_characters="\x00"), max_size=20))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(FLOATS, max_size=300), st.lists(TEXTS, max_size=300))
def test_float_and_text_arrays_round_trip_exactly(
    conn: psycopg.Connection, floats: list[float], texts: list[str | None]
) -> None:
    sent = np.asarray(floats, dtype=np.float64)
    got = conn.execute(
        "SELECT coalesce(array_agg(v ORDER BY k), '{}') FROM unnest(%s::float8[]) "
        "WITH ORDINALITY AS u(v, k)",
        (Float8Array(sent),),
    ).fetchone()
    assert got is not None
    assert _bits(np.asarray(got[0], dtype=np.float64)) == _bits(sent)
    back = conn.execute(
        "SELECT coalesce(array_agg(v ORDER BY k), '{}'), count(*) FROM unnest(%s::varchar[]) "
        "WITH ORDINALITY AS u(v, k)",
        (TextArray(texts),),
    ).fetchone()
    assert back is not None and back[1] == len(texts)
    assert list(back[0]) == texts


def test_a_track_batch_reads_back_bit_for_bit(fresh_pg_url: str) -> None:
    upgrade(fresh_pg_url)
    db = Database(fresh_pg_url)
    try:
        rng = np.random.default_rng(7)
        n = 2000
        ids = [f"аэ-{k}" if k % 3 else f"ac{k}" for k in range(n)]  # non-ASCII ids too
        cols = {
            "time_s": 1.8e9 + rng.random(n),
            "lat_deg": rng.uniform(-90, 90, n),
            "lon_deg": rng.uniform(-180, 180, n),
            "alt_ft": rng.uniform(-1000, 60000, n),
            "gs_kt": rng.uniform(0, 600, n),
            "track_deg": rng.uniform(0, 360, n),
            "vs_fpm": rng.uniform(-6000, 6000, n),
        }
        cols["lat_deg"][:2] = (-0.0, 5e-324)
        callsigns = [None if k % 2 else f"CS{k}" for k in range(n)]
        with db.write() as s:
            party = parties.create_party(s, "P1", now=datetime.now(UTC)).id
            live_sql.append_history_rows(s, party, ids, cols, 1.8e9)
            live_state_sql.upsert_latest(s, party, ids, cols, callsigns, writer=9)
        with db.read() as s:
            stored = live_state_sql.load_latest(s)
            history = (
                s.connection()
                .exec_driver_sql(
                    "SELECT aircraft_id, lat_deg, vs_fpm FROM track_history ORDER BY id"
                )
                .all()
            )
        order = {a: k for k, a in enumerate(ids)}
        at = np.asarray([order[a] for a in stored.ids])
        assert sorted(stored.ids) == sorted(ids)
        for name, values in cols.items():
            assert _bits(stored.columns[name]) == _bits(values[at]), name
        assert stored.callsign == [callsigns[k] or "" for k in at]  # NULL reads back as ""
        assert stored.party == [party] * n
        assert [r.aircraft_id for r in history] == ids
        assert _bits(np.asarray([r.lat_deg for r in history])) == _bits(cols["lat_deg"])
        assert _bits(np.asarray([r.vs_fpm for r in history])) == _bits(cols["vs_fpm"])
    finally:
        db.dispose()
