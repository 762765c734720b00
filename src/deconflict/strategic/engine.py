"""Finding conflicts: a new notice against the index, all pairs, and a brute-force reference.

Multi-volume notices are checked *volume by volume*: a pair of volumes conflicts only if the
same two volumes overlap in footprint, altitude and time; a notice's bounding box is never a
verdict. Only volumes of different parties can conflict. Results are sorted by ``(a, b)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from deconflict.strategic.conflicts import VolumeConflict, check_pair, check_pairs
from deconflict.strategic.index import VolumeIndex
from deconflict.strategic.volume import Volume4D

Item = tuple[str, str, Volume4D]
"""(key, party, volume)."""


def find_conflicts(
    new: Sequence[Item],
    index: VolumeIndex,
    *,
    half_open_time: bool = False,
    within_new: bool = True,
) -> list[VolumeConflict]:
    """Conflicts of the ``new`` volumes with the stored ones (and among themselves).

    Parameters
    ----------
    new:
        (key, party, volume) of the volumes being notified; they are *not* added to ``index``.
    index:
        The stored volumes.
    half_open_time:
        Treat time windows as ``[start, end)``.
    within_new:
        Also report conflicts between new volumes of different parties.

    Returns
    -------
    One :class:`VolumeConflict` per conflicting pair, ``a`` being the new volume's key.
    """
    out: list[VolumeConflict] = []
    meta: list[tuple[str, str, str, str]] = []
    pairs: list[tuple[Volume4D, Volume4D]] = []
    candidates = index.query_many(
        [volume for _, _, volume in new], exclude_parties=[party for _, party, _ in new]
    )
    for (key, party, volume), others in zip(new, candidates, strict=True):
        for other in others:
            if other == key:
                continue
            other_party, other_volume = index.get(other)
            meta.append((key, other, party, other_party))
            pairs.append((volume, other_volume))
    for (a, b, pa, pb), overlap in zip(
        meta, check_pairs(pairs, half_open_time=half_open_time), strict=True
    ):
        if overlap is not None:
            out.append(VolumeConflict(a, b, pa, pb, overlap))
    if within_new and len(new) > 1:
        out.extend(_pairs_among(new, half_open_time))
    out.sort(key=lambda c: (c.a, c.b))
    return out


def _pairs_among(items: Sequence[Item], half_open_time: bool) -> list[VolumeConflict]:
    if len({party for _, party, _ in items}) < 2:
        return []
    local = VolumeIndex()
    local.add_many(items)
    return _check_candidates(local, half_open_time)


def _check_candidates(index: VolumeIndex, half_open_time: bool) -> list[VolumeConflict]:
    out: list[VolumeConflict] = []
    keys = index.candidate_pairs()
    got = [(index.get(a), index.get(b)) for a, b in keys]
    overlaps = check_pairs([(va, vb) for (_, va), (_, vb) in got], half_open_time=half_open_time)
    for (a, b), ((pa, _), (pb, _)), overlap in zip(keys, got, overlaps, strict=True):
        if overlap is not None:
            out.append(VolumeConflict(a, b, pa, pb, overlap))
    return out


def find_all_conflicts(
    items: Sequence[Item], *, half_open_time: bool = False
) -> list[VolumeConflict]:
    """Every conflicting pair (``a < b``) among ``items`` of different parties (indexed)."""
    index = VolumeIndex()
    index.add_many(items)
    out = _check_candidates(index, half_open_time)
    out.sort(key=lambda c: (c.a, c.b))
    return out


def brute_force_conflicts(
    items: Sequence[Item], *, half_open_time: bool = False
) -> list[VolumeConflict]:
    """Reference: exact check of *every* pair of different parties, no index (O(n**2))."""
    out: list[VolumeConflict] = []
    for i, (ka, pa, va) in enumerate(items):
        for kb, pb, vb in items[i + 1 :]:
            if pa == pb:
                continue
            overlap = check_pair(va, vb, half_open_time=half_open_time)
            if overlap is not None:
                a, b = (ka, kb) if ka < kb else (kb, ka)
                first, second = (pa, pb) if ka < kb else (pb, pa)
                out.append(VolumeConflict(a, b, first, second, overlap))
    out.sort(key=lambda c: (c.a, c.b))
    return out
