"""The latest state of every reported aircraft, in growable numpy columns (thread-safe).

Ingest writes here under a short lock; the detection cycle takes a *copy* (``snapshot``), so
ingest never waits for detection and detection never sees a half-written batch. No I/O, no clock.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deconflict.live.tracks import (
    FLOAT_COLUMNS,
    BoolArray,
    IntArray,
    ObjectArray,
    RowIndex,
    TrackStates,
    provide_indexes,
)
from deconflict.units import FloatArray

_INITIAL = 1024


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the latest states with the stale flag at ``now_s``."""

    states: TrackStates
    stale: BoolArray


class LatestStates:
    """Latest state per aircraft id; a newer state time replaces an older one, never the reverse."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: dict[str, int] = {}
        self._n = 0
        self._ids: ObjectArray = np.empty(_INITIAL, dtype=object)
        self._party: ObjectArray = np.empty(_INITIAL, dtype=object)
        self._callsign: ObjectArray = np.empty(_INITIAL, dtype=object)
        self._cols: dict[str, FloatArray] = {
            name: np.full(_INITIAL, -np.inf if name == "time_s" else 0.0) for name in FLOAT_COLUMNS
        }
        # party -> its rows (ascending), kept as ids arrive; None after replace_all (then
        # every snapshot's party rows are computed from its party column, as without it)
        self._rows_of: dict[str, list[int]] | None = {}
        self._party_rows: tuple[int, dict[str, IntArray]] = (0, {})  # (n, arrays) last built

    def __len__(self) -> int:
        return self._n

    def _grow(self, needed: int) -> None:
        size = len(self._ids)
        if needed <= size:
            return
        new = max(needed, size * 2)
        for name in ("_ids", "_party", "_callsign"):
            old = getattr(self, name)
            arr = np.empty(new, dtype=object)
            arr[:size] = old
            setattr(self, name, arr)
        for name, old_col in self._cols.items():
            col = np.full(new, -np.inf if name == "time_s" else 0.0)
            col[:size] = old_col
            self._cols[name] = col

    def update(
        self,
        party: str,
        ids: Sequence[str],
        columns: dict[str, FloatArray],
        callsigns: Sequence[str] | None = None,
    ) -> int:
        """Apply one validated batch of ``party``; returns how many rows were newer and applied.

        ``columns`` holds every name of :data:`FLOAT_COLUMNS` (``time_s`` in Unix seconds).
        """
        with self._lock:
            rows = np.empty(len(ids), dtype=np.intp)
            new_ids = [a for a in dict.fromkeys(ids) if a not in self._index]
            self._grow(self._n + len(new_ids))
            for aircraft in new_ids:
                self._index[aircraft] = self._n
                self._ids[self._n] = aircraft
                self._party[self._n] = party
                self._callsign[self._n] = ""
                if self._rows_of is not None:
                    self._rows_of.setdefault(party, []).append(self._n)
                self._n += 1
            index = self._index
            for k, aircraft in enumerate(ids):
                rows[k] = index[aircraft]
            times = columns["time_s"]
            # Within a batch, the last row of an aircraft with the greatest time wins.
            order = np.lexsort((np.arange(len(ids)), times))
            rows_sorted = rows[order]
            newer = times[order] >= self._cols["time_s"][rows_sorted]
            take = order[newer]
            target = rows[take]
            for name in FLOAT_COLUMNS:
                self._cols[name][target] = columns[name][take]
            if callsigns is not None:
                for k in take:
                    self._callsign[rows[k]] = callsigns[k]
            return int(np.unique(target).size)

    def replace_all(
        self,
        ids: Sequence[str],
        party: Sequence[str],
        callsign: Sequence[str],
        columns: dict[str, FloatArray],
    ) -> None:
        """Replace every state by the given rows (distinct ids; ``columns`` holds every name of
        :data:`FLOAT_COLUMNS`). Replicas load the shared states this way (``live_latest``)."""
        n = len(ids)
        size = max(_INITIAL, n)
        id_arr: ObjectArray = np.empty(size, dtype=object)
        party_arr: ObjectArray = np.empty(size, dtype=object)
        call_arr: ObjectArray = np.empty(size, dtype=object)
        id_arr[:n] = list(ids)
        party_arr[:n] = list(party)
        call_arr[:n] = list(callsign)
        cols: dict[str, FloatArray] = {}
        for name in FLOAT_COLUMNS:
            col = np.full(size, -np.inf if name == "time_s" else 0.0)
            col[:n] = columns[name]
            cols[name] = col
        index = {aircraft: k for k, aircraft in enumerate(ids)}
        with self._lock:
            self._ids, self._party, self._callsign, self._cols = id_arr, party_arr, call_arr, cols
            self._index = index
            self._rows_of, self._party_rows = None, (0, {})
            self._n = n

    def snapshot(self, now_s: float, stale_after_s: float) -> Snapshot:
        """Copy of all states; ``stale``: no state newer than ``stale_after_s`` at ``now_s``."""
        with self._lock:
            n = self._n
            states = TrackStates(
                ids=self._ids[:n].copy(),
                party=self._party[:n].copy(),
                callsign=self._callsign[:n].copy(),
                **{name: self._cols[name][:n].copy() for name in FLOAT_COLUMNS},
            )
            index = self._index
            groups: dict[str, IntArray] | None = None
            if self._rows_of is not None:
                built_n, groups = self._party_rows
                if built_n != n or (n and not groups):
                    groups = {
                        name: np.asarray(rows, dtype=np.intp)
                        for name, rows in self._rows_of.items()
                    }
                    self._party_rows = (n, groups)
        # The store's own id index serves the snapshot (rows of ids added later are >= n and
        # ignored; an id's row never changes, replace_all swaps in a new dict): no per-id work.
        provide_indexes(states, RowIndex(index, np.arange(n, dtype=np.intp), states.ids), groups)
        stale = (now_s - states.time_s) > stale_after_s
        return Snapshot(states, np.asarray(stale, dtype=bool))

    def owner(self, aircraft_id: str) -> str | None:
        """The party that reports ``aircraft_id`` (if this process has seen it)."""
        with self._lock:
            row = self._index.get(aircraft_id)
            return None if row is None else str(self._party[row])
