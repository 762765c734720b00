"""VolumeIndex: the spatial-temporal broad phase over stored volumes.

Layout
------
* every volume gets a *slot* holding its key, party, volume, buffered time window (ns) and a
  conservative altitude band in ft AMSL (widened by the conversion uncertainty and the
  vertical buffer, so the filter never drops a possible conflict);
* its buffered footprint becomes one or two lon/lat boxes
  (:func:`deconflict.geo.bounds.core_boxes`);
* boxes live in three tiers, like a small log-structured merge tree: a **main**
  ``shapely.STRtree`` (static, bulk-built), a **mid** STRtree of recent boxes and a **delta** of
  the newest boxes in growing numpy arrays (amortised O(1) append) scanned with numpy; removals
  set a tombstone. The delta is merged into the mid tree when it exceeds :data:`DELTA_MAX`
  boxes (a rebuild costing O(mid)); the mid tree into the main tree when it exceeds
  ``max(REBUILD_MIN_DELTA, REBUILD_FRACTION * main)`` boxes, or when tombstones exceed a quarter
  of the slots. Inserts are amortised O(log n), the expensive full rebuild happens every
  ``REBUILD_FRACTION * n`` inserts only, and a query never scans all volumes.

A query returns candidate keys only; the verdict is always the exact
:func:`deconflict.strategic.conflicts.check_pair`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
import shapely

from deconflict.errors import InvalidInputError
from deconflict.geo.bounds import Box, circle_boxes, core_boxes, many_core_boxes
from deconflict.geo.core import Core
from deconflict.geo.footprints import CircleFootprint
from deconflict.strategic.volume import Volume4D

REBUILD_MIN_DELTA: Final = 256
"""Delta boxes tolerated before the main tree is rebuilt, at least."""

REBUILD_FRACTION: Final = 0.25
"""Mid-tree boxes tolerated before the main tree is rebuilt, as a fraction of the main tree's."""

DELTA_MAX: Final = 512
"""Delta boxes (scanned linearly by every query) before they are merged into the mid tree."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_SLACK_S: Final = 0.001
"""Time slack (s) of the float filter so rounding never drops a touching window."""

_SLACK_FT: Final = 0.001
"""Altitude slack (ft) of the float filter."""


def _ns(dt: datetime) -> int:
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def volume_filter_row(volume: Volume4D) -> tuple[int, int, float, float]:
    """(t0_ns, t1_ns, alt_lo_ft, alt_hi_ft): the conservative filter values of a volume."""
    lo, hi, _ = volume.altitude.amsl_ft()
    vb = volume.buffers.vertical_ft
    return (_ns(volume.buffered_start), _ns(volume.buffered_end), lo - vb, hi + vb)


def volume_boxes(volume: Volume4D) -> list[Box]:
    """Conservative lon/lat boxes of the buffered footprint."""
    return core_boxes(volume.footprint.raw_core, volume.buffered_width_m)


class VolumeIndex:
    """A mutable index of (key, party, volume) supporting candidate queries.

    Keys are unique strings. ``add`` of an existing key raises; use ``remove`` then ``add``
    (a new version of a notice replaces its volumes that way).
    """

    def __init__(self) -> None:
        self._keys: list[str] = []
        self._parties: list[str] = []
        self._volumes: list[Volume4D | None] = []
        self._slot_of: dict[str, int] = {}
        self._party_code: dict[str, int] = {}
        self._party = np.zeros(0, dtype=np.int64)
        self._filt = np.zeros((0, 4), dtype=np.float64)  # t0, t1 (s), alt lo, alt hi
        self._alive = np.zeros(0, dtype=bool)
        self._n = 0
        self._main_boxes = np.zeros((0, 4))
        self._main_slot = np.zeros(0, dtype=np.int64)
        self._tree: shapely.STRtree | None = None
        self._mid_boxes = np.zeros((0, 4))
        self._mid_slot = np.zeros(0, dtype=np.int64)
        self._mid_tree: shapely.STRtree | None = None
        self._delta_boxes = np.zeros((64, 4))
        self._delta_slot = np.zeros(64, dtype=np.int64)
        self._nd = 0
        self._dead = 0

    # ------------------------------------------------------------------------ mutation
    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, key: object) -> bool:
        return key in self._slot_of

    def _grow(self, need: int) -> None:
        cap = len(self._alive)
        if need <= cap:
            return
        new = max(need, 2 * cap, 1024)
        self._party = np.resize(self._party, new)
        self._filt = np.resize(self._filt, (new, 4))
        alive = np.zeros(new, dtype=bool)
        alive[:cap] = self._alive
        self._alive = alive

    def add(self, key: str, party: str, volume: Volume4D) -> None:
        """Insert a volume of ``party`` under ``key`` (amortised O(log n))."""
        self.add_many([(key, party, volume)])

    def add_many(self, items: Iterable[tuple[str, str, Volume4D]]) -> None:
        """Bulk insert; large batches go straight into a rebuilt main tree.

        Circles get their boxes in one vectorised pass (:func:`circle_boxes`).
        """
        circ_slot: list[int] = []
        circ_rows: list[tuple[float, float, float]] = []
        other_slot: list[int] = []
        other_cores: list[Core] = []
        other_width: list[float] = []
        for key, party, volume in items:
            if key in self._slot_of:
                raise InvalidInputError(field="key", reason=f"duplicate volume key {key!r}")
            slot = self._n
            self._grow(slot + 1)
            self._n += 1
            self._keys.append(key)
            self._parties.append(party)
            self._volumes.append(volume)
            self._slot_of[key] = slot
            code = self._party_code.setdefault(party, len(self._party_code))
            self._party[slot] = code
            t0, t1, lo, hi = volume_filter_row(volume)
            self._filt[slot] = (t0 / 1e9, t1 / 1e9, lo, hi)
            self._alive[slot] = True
            fp = volume.footprint
            if isinstance(fp, CircleFootprint):
                circ_slot.append(slot)
                circ_rows.append((fp.center[0], fp.center[1], volume.buffered_width_m))
            else:
                other_slot.append(slot)
                other_cores.append(fp.raw_core)
                other_width.append(volume.buffered_width_m)
        if other_slot:
            owner, boxes = many_core_boxes(other_cores, np.asarray(other_width))
            self._append_delta(np.asarray(other_slot, dtype=np.int64)[owner], boxes)
        if circ_rows:
            rows = np.asarray(circ_rows, dtype=np.float64)
            owner, boxes = circle_boxes(rows[:, 0], rows[:, 1], rows[:, 2])
            self._append_delta(np.asarray(circ_slot, dtype=np.int64)[owner], boxes)
        self._maybe_rebuild()

    def _append_delta(self, slots: IntArray, boxes: FloatArray) -> None:
        """Append boxes to the delta arrays (capacity doubles: amortised O(1) per box)."""
        need = self._nd + len(slots)
        if need > len(self._delta_slot):
            cap = max(need, 2 * len(self._delta_slot))
            grown_boxes = np.zeros((cap, 4))
            grown_boxes[: self._nd] = self._delta_boxes[: self._nd]
            grown_slot = np.zeros(cap, dtype=np.int64)
            grown_slot[: self._nd] = self._delta_slot[: self._nd]
            self._delta_boxes, self._delta_slot = grown_boxes, grown_slot
        self._delta_boxes[self._nd : need] = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        self._delta_slot[self._nd : need] = slots
        self._nd = need

    def remove(self, key: str) -> None:
        """Remove the volume stored under ``key`` (tombstone; O(1) amortised)."""
        slot = self._slot_of.pop(key, None)
        if slot is None:
            raise InvalidInputError(field="key", reason=f"unknown volume key {key!r}")
        self._alive[slot] = False
        self._volumes[slot] = None
        self._dead += 1
        self._maybe_rebuild()

    def _maybe_rebuild(self) -> None:
        limit = max(REBUILD_MIN_DELTA, REBUILD_FRACTION * len(self._main_slot))
        if self._dead > max(REBUILD_MIN_DELTA, self._n // 4):
            self.rebuild()
        elif self._nd > min(DELTA_MAX, limit):
            if len(self._mid_slot) + self._nd > limit:
                self.rebuild()
            else:
                self._merge_delta_into_mid()

    def _merge_delta_into_mid(self) -> None:
        """Rebuild the mid tree from its live boxes plus the delta (O(mid + delta))."""
        nd = self._nd
        boxes = np.concatenate([self._mid_boxes, self._delta_boxes[:nd]])
        slots = np.concatenate([self._mid_slot, self._delta_slot[:nd]])
        keep = self._alive[slots]
        self._mid_boxes, self._mid_slot = boxes[keep], slots[keep]
        self._mid_tree = (
            shapely.STRtree(shapely.box(*self._mid_boxes.T)) if len(self._mid_slot) else None
        )
        self._nd = 0

    def rebuild(self) -> None:
        """Merge the mid tree and the delta into a fresh main tree; drop tombstoned boxes."""
        nd = self._nd
        boxes = np.concatenate([self._main_boxes, self._mid_boxes, self._delta_boxes[:nd]])
        slots = np.concatenate([self._main_slot, self._mid_slot, self._delta_slot[:nd]])
        keep = self._alive[slots]
        self._main_boxes, self._main_slot = boxes[keep], slots[keep]
        self._tree = shapely.STRtree(shapely.box(*self._main_boxes.T)) if len(slots) else None
        self._mid_boxes = np.zeros((0, 4))
        self._mid_slot = np.zeros(0, dtype=np.int64)
        self._mid_tree = None
        self._nd = 0
        if self._dead > max(REBUILD_MIN_DELTA, self._n // 4):
            self._compact()

    def _compact(self) -> None:
        live = np.nonzero(self._alive[: self._n])[0]
        remap = np.full(self._n, -1, dtype=np.int64)
        remap[live] = np.arange(len(live))
        self._keys = [self._keys[i] for i in live]
        self._parties = [self._parties[i] for i in live]
        self._volumes = [self._volumes[i] for i in live]
        self._party = self._party[live].copy()
        self._filt = self._filt[live].copy()
        self._alive = np.ones(len(live), dtype=bool)
        self._n = len(live)
        self._slot_of = {k: i for i, k in enumerate(self._keys)}
        self._main_slot = remap[self._main_slot]
        self._dead = 0

    # --------------------------------------------------------------------------- queries
    def _boxes_of(self, volumes: list[Volume4D]) -> tuple[IntArray, FloatArray]:
        """(owner, boxes) of several volumes; circles in one vectorised pass."""
        owners: list[IntArray] = []
        boxes: list[FloatArray] = []
        circ = [k for k, v in enumerate(volumes) if isinstance(v.footprint, CircleFootprint)]
        if circ:
            rows = np.array(
                [
                    (
                        volumes[k].footprint.center[0],  # type: ignore[union-attr]
                        volumes[k].footprint.center[1],  # type: ignore[union-attr]
                        volumes[k].buffered_width_m,
                    )
                    for k in circ
                ],
                dtype=np.float64,
            )
            owner, cb = circle_boxes(rows[:, 0], rows[:, 1], rows[:, 2])
            owners.append(np.asarray(circ, dtype=np.int64)[owner])
            boxes.append(cb)
        rest = [k for k, v in enumerate(volumes) if not isinstance(v.footprint, CircleFootprint)]
        if rest:
            owner, ob = many_core_boxes(
                [volumes[k].footprint.raw_core for k in rest],
                np.array([volumes[k].buffered_width_m for k in rest], dtype=np.float64),
            )
            owners.append(np.asarray(rest, dtype=np.int64)[owner])
            boxes.append(ob)
        return np.concatenate(owners), np.concatenate(boxes)

    def query_many(
        self, volumes: list[Volume4D], *, exclude_parties: list[str | None] | None = None
    ) -> list[list[str]]:
        """:meth:`query` for several volumes in one tree query (same results)."""
        if not volumes:
            return []
        owner, boxes = self._boxes_of(volumes)
        found_owner: list[IntArray] = []
        found_slot: list[IntArray] = []
        if self._tree is not None or self._mid_tree is not None:
            query_boxes = shapely.box(*boxes.T)
            for tree, tree_slot in (
                (self._tree, self._main_slot),
                (self._mid_tree, self._mid_slot),
            ):
                if tree is not None:
                    hits = tree.query(query_boxes)
                    found_owner.append(owner[hits[0]])
                    found_slot.append(tree_slot[hits[1]])
        if self._nd:
            db = self._delta_boxes[: self._nd]
            ds = self._delta_slot[: self._nd]
            m = (
                (db[None, :, 0] <= boxes[:, None, 2])
                & (db[None, :, 2] >= boxes[:, None, 0])
                & (db[None, :, 1] <= boxes[:, None, 3])
                & (db[None, :, 3] >= boxes[:, None, 1])
            )
            bi, di = np.nonzero(m)
            found_owner.append(owner[bi])
            found_slot.append(ds[di])
        out: list[list[str]] = [[] for _ in volumes]
        if not found_owner:
            return out
        pair = np.unique(np.concatenate(found_owner) * (self._n + 1) + np.concatenate(found_slot))
        own, slots = pair // (self._n + 1), pair % (self._n + 1)
        rows = np.array([volume_filter_row(v) for v in volumes], dtype=np.float64)
        q = rows[own]
        f = self._filt[slots]
        ok = self._alive[slots]
        ok &= (f[:, 0] <= q[:, 1] / 1e9 + _SLACK_S) & (f[:, 1] >= q[:, 0] / 1e9 - _SLACK_S)
        ok &= (f[:, 2] <= q[:, 3] + _SLACK_FT) & (f[:, 3] >= q[:, 2] - _SLACK_FT)
        if exclude_parties is not None:
            codes = np.array(
                [self._party_code.get(p, -1) if p is not None else -1 for p in exclude_parties],
                dtype=np.int64,
            )
            ok &= self._party[slots] != codes[own]
        for o, slot in zip(own[ok].tolist(), slots[ok].tolist(), strict=True):
            out[o].append(self._keys[slot])
        return out

    def query(self, volume: Volume4D, *, exclude_party: str | None = None) -> list[str]:
        """Keys of stored volumes that *may* conflict with ``volume`` (conservative).

        Filters: buffered boxes intersect, buffered (closed) time windows intersect,
        conservative altitude bands intersect, party differs from ``exclude_party``.
        """
        return self.query_many([volume], exclude_parties=[exclude_party])[0]

    def get(self, key: str) -> tuple[str, Volume4D]:
        """(party, volume) stored under ``key``."""
        slot = self._slot_of[key]
        volume = self._volumes[slot]
        assert volume is not None
        return self._parties[slot], volume

    def items(self) -> Iterator[tuple[str, str, Volume4D]]:
        """(key, party, volume) of every live volume."""
        for key, slot in self._slot_of.items():
            volume = self._volumes[slot]
            assert volume is not None
            yield key, self._parties[slot], volume

    def candidate_pairs(self) -> list[tuple[str, str]]:
        """All (key_a, key_b), key_a < key_b, of different parties that may conflict.

        One STRtree self-join plus vectorised time/altitude/party filters.
        """
        self.rebuild()
        if self._tree is None:
            return []
        hits = self._tree.query(shapely.box(*self._main_boxes.T))
        si = self._main_slot[hits[0]]
        sj = self._main_slot[hits[1]]
        keep = si < sj
        si, sj = si[keep], sj[keep]
        fi, fj = self._filt[si], self._filt[sj]
        ok = (fi[:, 0] <= fj[:, 1] + _SLACK_S) & (fj[:, 0] <= fi[:, 1] + _SLACK_S)
        ok &= (fi[:, 2] <= fj[:, 3] + _SLACK_FT) & (fj[:, 2] <= fi[:, 3] + _SLACK_FT)
        ok &= self._party[si] != self._party[sj]
        ok &= self._alive[si] & self._alive[sj]
        pairs = np.unique(np.stack([si[ok], sj[ok]], axis=1), axis=0)
        out = []
        for i, j in pairs:
            a, b = self._keys[i], self._keys[j]
            out.append((a, b) if a < b else (b, a))
        return out
