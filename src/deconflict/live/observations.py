"""Turn one cycle's detector and conformance results into alert :class:`Observation` s.

Pair policy: a pair of aircraft of *different* parties always becomes an observation; a pair of
one party only if that party opted in (``same_party_opt_in``); pairs involving a track without
a party are dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from deconflict.live.alerts import Observation, Subject
from deconflict.live.conformance import Incursion, Nonconformance
from deconflict.live.tracks import TrackStates
from deconflict.tactical import Conflicts


def conflict_observations(
    conflicts: Conflicts,
    states: TrackStates,
    *,
    same_party_opt_in: Collection[str] = (),
) -> list[Observation]:
    """Observations for the detector's conflicting pairs of ``states`` (row indices i, j)."""
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
                metrics={
                    "t_out_s": float(conflicts.t_out_s[k]),
                    "t_cpa_s": float(conflicts.t_cpa_s[k]),
                    "hmd_nm": float(conflicts.hmd_nm[k]),
                    "vmd_ft": float(conflicts.vmd_ft[k]),
                    "range_nm": float(conflicts.range_nm[k]),
                    "vertical_ft": float(conflicts.vertical_ft[k]),
                },
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
