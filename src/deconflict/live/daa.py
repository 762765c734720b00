"""Graded alerting and coordinated guidance in the live picture (pure core, no clock, no I/O).

:class:`LiveDaa` keeps what the live cycle needs between cycles: the DO-365B hysteresis memory
and a cache of coordinated guidance per alert key. Per cycle it turns the current states into
conflict :class:`~deconflict.live.alerts.Observation` s carrying

* ``metrics["level"]`` (the pair's level after hysteresis: the more severe of both ordered
  directions) and ``metrics["warning_level"]`` (the profile's most severe level), from which the
  alert tracker derives the severity (``warning`` at the warning level, else ``caution``);
* ``guidance``: per aircraft id, its own manoeuvre (``deconflict.daa.guidance``), computed for
  pairs at the corrective level or above, at most ``guidance_per_cycle`` new pairs per cycle and
  cached for ``guidance_ttl_s``. The need-to-know view shows each party only its own aircraft's
  entry plus the flag that the other side received a compatible one.

``cylinder`` keeps the tactical detector's pairs (:func:`cylinder_observations` only adds the
level and the guidance); ``do365b`` replaces them by DO-365B levels (:meth:`LiveDaa.observe`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from deconflict.daa import AlertMemory, Profile, States, get_profile, step_alerts
from deconflict.daa.guidance import (
    CoordinatedGuidance,
    Manoeuvre,
    NoCoordinatedGuidance,
    coordinate,
)
from deconflict.live.alerts import Observation, Subject
from deconflict.live.tracks import TrackStates
from deconflict.units import M_PER_NM


def states_of(tracks: TrackStates) -> States:
    """DAA states of live tracks (alerter 1, DWC Phase I: live feeds carry no alerter)."""
    return States.from_arrays(
        tracks.lat_deg,
        tracks.lon_deg,
        tracks.alt_ft,
        tracks.gs_kt,
        tracks.track_deg,
        tracks.vs_fpm,
    )


def manoeuvre_view(m: Manoeuvre) -> dict[str, Any]:
    """The wire form of one aircraft's manoeuvre (``GuidanceView``)."""
    return {
        "dimension": m.dimension,
        "side": m.side,
        "value": round(float(m.value), 1),
        "current": round(float(m.current), 1),
        "text": m.describe(),
    }


@dataclass
class LiveDaa:
    """Live DAA state of one engine: hysteresis memory and guidance cache."""

    profile: Profile
    guidance_per_cycle: int = 1
    guidance_ttl_s: float = 30.0
    memory: AlertMemory = field(default_factory=AlertMemory)
    _guidance: dict[tuple[str, ...], tuple[float, int, dict[str, dict[str, Any]]]] = field(
        default_factory=dict
    )

    @classmethod
    def named(cls, name: str, **kwargs: Any) -> LiveDaa:
        """State for the profile called ``name`` (``cylinder``, ``airprox``, ``do365b``)."""
        return cls(get_profile(name), **kwargs)

    # ---------------------------------------------------------------------- guidance
    def _guide(
        self,
        observations: list[Observation],
        rows: Mapping[str, int],
        states: States,
        now_s: float,
    ) -> list[Observation]:
        """Attach cached or fresh guidance to observations at the corrective level or above."""
        corrective = min(2, self.profile.max_level)
        budget = self.guidance_per_cycle
        out: list[Observation] = []
        live_keys = set()
        for obs in observations:
            level = int(obs.metrics.get("level", 0))
            live_keys.add(obs.key)
            cached = self._guidance.get(obs.key)
            fresh = cached is not None and now_s - cached[0] <= self.guidance_ttl_s
            stale = not fresh or (cached is not None and cached[1] < level)
            if level >= corrective and stale and budget > 0:
                budget -= 1
                a, b = (s.ref for s in obs.subjects[:2])
                views = self._coordinate(states, rows[a], rows[b], a, b)
                self._guidance[obs.key] = (now_s, level, views)
                cached = self._guidance[obs.key]
            if cached is not None and level >= corrective:
                out.append(replace(obs, guidance=cached[2]))
            else:
                out.append(obs)
        for key in [k for k in self._guidance if k not in live_keys]:
            del self._guidance[key]
        return out

    def _coordinate(
        self, states: States, a: int, b: int, id_a: str, id_b: str
    ) -> dict[str, dict[str, Any]]:
        try:
            g: CoordinatedGuidance = coordinate(self.profile, states, a, b)
        except NoCoordinatedGuidance:
            return {}
        return {id_a: manoeuvre_view(g.for_a), id_b: manoeuvre_view(g.for_b)}

    # ---------------------------------------------------------------------- observations
    def observe(
        self,
        tracks: TrackStates,
        now_s: float,
        *,
        same_party_opt_in: Collection[str] = (),
    ) -> list[Observation]:
        """DO-365B (or any profile) conflict observations of one cycle, with guidance."""
        ids = [str(x) for x in tracks.ids]
        states = states_of(tracks)
        step = step_alerts(self.profile, states, ids, now_s, self.memory)
        self.memory = step.memory
        a = step.alerts
        level = np.maximum(step.level, a.level_instant)
        best: dict[tuple[int, int], int] = {}
        for hit in np.flatnonzero(level >= 1).tolist():
            lo, hi = sorted((int(a.own[hit]), int(a.intruder[hit])))
            if (lo, hi) not in best or level[hit] > level[best[(lo, hi)]]:
                best[(lo, hi)] = hit
        observations: list[Observation] = []
        for (i, j), k in sorted(best.items()):
            party_i, party_j = str(tracks.party[i]), str(tracks.party[j])
            if not party_i or not party_j:
                continue
            if party_i == party_j and party_i not in same_party_opt_in:
                continue
            id_i, id_j = ids[i], ids[j]
            if id_j < id_i:
                id_i, id_j, party_i, party_j = id_j, id_i, party_j, party_i
            lv = int(step.level[k]) if step.level[k] >= 1 else int(a.level_instant[k])
            t_in = a.t_in_s[k, lv - 1]
            t_out = a.t_out_s[k, lv - 1]
            dz = float(tracks.alt_ft[j] - tracks.alt_ft[i])
            observations.append(
                Observation(
                    kind="conflict",
                    key=("conflict", id_i, id_j),
                    parties=tuple(sorted({party_i, party_j})),
                    subjects=(
                        Subject("aircraft", party_i, id_i),
                        Subject("aircraft", party_j, id_j),
                    ),
                    t_in_s=float(t_in) if np.isfinite(t_in) else 0.0,
                    metrics={
                        "level": float(lv),
                        "warning_level": float(self.profile.max_level),
                        "t_out_s": float(t_out),
                        "t_cpa_s": float(a.tcpa_s[k]),
                        "hmd_nm": float(a.hmd_nm[k]),
                        "vmd_ft": float(a.vmd_ft[k]),
                        "range_nm": float(_range_nm(states, i, j)),
                        "vertical_ft": abs(dz),
                    },
                    profile=self.profile.name,
                )
            )
        rows = {name: n for n, name in enumerate(ids)}
        return self._guide(observations, rows, states, now_s)

    def annotate(
        self, observations: list[Observation], tracks: TrackStates, now_s: float
    ) -> list[Observation]:
        """Cylinder / airprox: the detector's conflicts get level 1 and guidance."""
        if not observations:
            self._guidance.clear()
            return observations
        tagged = [
            replace(
                obs,
                metrics={**obs.metrics, "level": 1.0, "warning_level": 1.0}
                if obs.kind == "conflict"
                else obs.metrics,
                profile=self.profile.name if obs.kind == "conflict" else obs.profile,
            )
            for obs in observations
        ]
        conflicts = [o for o in tagged if o.kind == "conflict"]
        others = [o for o in tagged if o.kind != "conflict"]
        rows = {str(name): n for n, name in enumerate(tracks.ids)}
        guided = self._guide(conflicts, rows, states_of(tracks), now_s)
        return guided + others


def _range_nm(states: States, i: int, j: int) -> float:
    """Straight-line surface distance between two aircraft, NM (for the alert figures)."""
    lat = np.radians(states.lat_deg[[i, j]])
    lon = np.radians(states.lon_deg[[i, j]])
    d_lat = lat[1] - lat[0]
    d_lon = lon[1] - lon[0]
    h = np.sin(d_lat / 2) ** 2 + np.cos(lat[0]) * np.cos(lat[1]) * np.sin(d_lon / 2) ** 2
    return float(2 * 6_371_008.8 * np.arcsin(np.sqrt(min(1.0, h)))) / M_PER_NM
