"""Turn one cycle's detector and conformance results into alert :class:`Observation` s.

Pair policy: a pair of aircraft of *different* parties always becomes an observation; a pair of
one party only if that party opted in (``same_party_opt_in``); pairs involving a track without
a party are dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

import numpy as np

from deconflict.live.alerts import Observation, Subject
from deconflict.live.conformance import Incursion, Nonconformance
from deconflict.live.tracks import TrackStates
from deconflict.tactical import Conflicts

METRIC_COLUMNS = ("t_out_s", "t_cpa_s", "hmd_nm", "vmd_ft", "range_nm", "vertical_ft")
"""Conflict figures copied into each observation's ``metrics`` (units in the names)."""


def conflict_observations(
    conflicts: Conflicts,
    states: TrackStates,
    *,
    same_party_opt_in: Collection[str] = (),
    graded: Mapping[str, float] | None = None,
    profile: str = "",
) -> list[Observation]:
    """Observations for the detector's conflicting pairs of ``states`` (row indices i, j).

    The pair policy and the id ordering are applied to whole columns (numpy); only the
    observation objects themselves are built one by one. ``graded`` figures (appended to each
    one's ``metrics``) and ``profile``: what :meth:`deconflict.live.daa.LiveDaa.annotate` would
    add (``LiveDaa.grading``), so that it need not build every observation a second time.
    """
    if len(conflicts) == 0:
        return []
    ci = np.asarray(conflicts.i, dtype=np.intp)
    cj = np.asarray(conflicts.j, dtype=np.intp)
    party_i = states.party[ci].astype(str)
    party_j = states.party[cj].astype(str)
    keep = (party_i != "") & (party_j != "")
    same = party_i == party_j
    if same.any():
        opted = np.isin(party_i, np.asarray(sorted(same_party_opt_in), dtype=str))
        keep &= ~same | opted
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return []
    id_i = states.ids[ci[rows]].astype(str)
    id_j = states.ids[cj[rows]].astype(str)
    p_i, p_j = party_i[rows], party_j[rows]
    swap = id_j < id_i
    first_id = np.where(swap, id_j, id_i).tolist()
    second_id = np.where(swap, id_i, id_j).tolist()
    first_party = np.where(swap, p_j, p_i).tolist()
    second_party = np.where(swap, p_i, p_j).tolist()
    t_in = np.asarray(conflicts.t_in_s, dtype=np.float64)[rows].tolist()
    metric_cols = [
        np.asarray(getattr(conflicts, name), dtype=np.float64)[rows].tolist()
        for name in METRIC_COLUMNS
    ]
    columns = dict(zip(METRIC_COLUMNS, metric_cols, strict=True))
    for name, value in (graded or {}).items():  # as ``{**metrics, **graded}`` per observation
        columns[name] = [value] * len(t_in)
    names, metric_cols = tuple(columns), list(columns.values())
    return [
        Observation(  # positional: kind, key, parties, subjects, t_in_s, metrics, guidance, profile
            "conflict",
            ("conflict", a, b),
            (pa,) if pa == pb else ((pa, pb) if pa < pb else (pb, pa)),
            (Subject("aircraft", pa, a), Subject("aircraft", pb, b)),
            t,
            dict(zip(names, figures, strict=True)),
            {},
            profile,
        )
        for a, b, pa, pb, t, figures in zip(
            first_id,
            second_id,
            first_party,
            second_party,
            t_in,
            zip(*metric_cols, strict=True),
            strict=True,
        )
    ]


def conflict_observations_reference(
    conflicts: Conflicts,
    states: TrackStates,
    *,
    same_party_opt_in: Collection[str] = (),
) -> list[Observation]:
    """Pair by pair, obviously correct: the slow reference of :func:`conflict_observations`."""
    out: list[Observation] = []
    ids = states.ids
    parties = states.party
    for k in range(len(conflicts)):
        i, j = int(conflicts.i[k]), int(conflicts.j[k])
        party_i, party_j = str(parties[i]), str(parties[j])
        if not party_i or not party_j:
            continue
        if party_i == party_j and party_i not in same_party_opt_in:
            continue
        id_i, id_j = str(ids[i]), str(ids[j])
        if id_j < id_i:
            id_i, id_j, party_i, party_j = id_j, id_i, party_j, party_i
        out.append(
            Observation(
                kind="conflict",
                key=("conflict", id_i, id_j),
                parties=tuple(sorted({party_i, party_j})),
                subjects=(
                    Subject("aircraft", party_i, id_i),
                    Subject("aircraft", party_j, id_j),
                ),
                t_in_s=float(conflicts.t_in_s[k]),
                metrics={name: float(getattr(conflicts, name)[k]) for name in METRIC_COLUMNS},
            )
        )
    return out


def incursion_observations(incursions: Iterable[Incursion]) -> list[Observation]:
    """Observations for volume and line incursions (parties: the track's and the target's)."""
    out: list[Observation] = []
    for inc in incursions:
        parties = tuple(sorted({inc.party, *inc.target_parties}))
        owner = inc.target_parties[0] if inc.target_kind == "volume" else ""
        out.append(
            Observation(
                kind="incursion",
                key=("incursion", inc.track_id, inc.target_kind, inc.target_key),
                parties=parties,
                subjects=(
                    Subject("aircraft", inc.party, inc.track_id),
                    Subject(inc.target_kind, owner, inc.target_key),
                ),
                t_in_s=inc.t_entry_s,
            )
        )
    return out


def nonconformance_observations(items: Iterable[Nonconformance]) -> list[Observation]:
    """Observations for nonconforming tracks (only the track's own party is told)."""
    return [
        Observation(
            kind="nonconforming",
            key=("nonconforming", item.track_id),
            parties=(item.party,),
            subjects=(Subject("aircraft", item.party, item.track_id),),
            t_in_s=0.0,
            metrics={"outside_s": item.outside_s},
        )
        for item in items
    ]
