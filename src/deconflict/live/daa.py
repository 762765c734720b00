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

``cylinder`` keeps the tactical detector's pairs (:meth:`LiveDaa.annotate` only adds the level
and the guidance); ``do365b`` replaces them by DO-365B levels (:meth:`LiveDaa.observe`).

**Profile per agreement** (:meth:`LiveDaa.set_context`): two aircraft whose parties share an
agreement are graded with that agreement's profile; when they share several with different
profiles, the most protective applies (:data:`PROFILE_PRECEDENCE`: the largest volume first);
pairs with no shared agreement (and same-party pairs) use the engine's profile
(``LiveConfig.profile``, default ``cylinder``).

**Preferences** (:func:`keep_to`): guidance prefers manoeuvres that keep each aircraft on its
party's side of the agreed lines and inside its party's active volumes it is in now.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np

from deconflict.daa import AlertMemory, Profile, States, get_profile, step_alerts
from deconflict.daa.guidance import (
    CoordinatedGuidance,
    Keep,
    Manoeuvre,
    NoCoordinatedGuidance,
    coordinate,
)
from deconflict.live.alerts import Observation, Subject
from deconflict.live.conformance import PartyVolume
from deconflict.live.tracks import BoolArray, TrackStates, row_index
from deconflict.strategic.lines import AgreedLine
from deconflict.units import M_PER_NM, FloatArray


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


def manoeuvre_view(m: Manoeuvre, preference_met: bool = True) -> dict[str, Any]:
    """The wire form of one aircraft's manoeuvre (``GuidanceView``); ``preference_met``: it
    keeps the aircraft on its side of the agreed lines and in its active volumes."""
    return {
        "dimension": m.dimension,
        "side": m.side,
        "value": round(float(m.value), 1),
        "current": round(float(m.current), 1),
        "text": m.describe(),
        "preference_met": bool(preference_met),
    }


PROFILE_PRECEDENCE: Final = ("cylinder", "do365b", "airprox")
"""Profiles from the most protective (largest well-clear volume: 5 NM / 1000 ft) to the least
(0.5 NM / 300 ft); the first one present wins when two parties share several agreements."""


def governing_profile(names: Iterable[str], default: str) -> str:
    """The most protective of ``names`` (:data:`PROFILE_PRECEDENCE`), ``default`` if empty."""
    present = set(names)
    for name in PROFILE_PRECEDENCE:
        if name in present:
            return name
    return default


def pair_profiles(
    agreements: Iterable[tuple[Collection[str], str]],
) -> dict[frozenset[str], str]:
    """``{frozenset({party a, party b}): profile}`` from ``(members, profile)`` per agreement."""
    found: dict[frozenset[str], list[str]] = {}
    for members, name in agreements:
        get_profile(name)  # unknown names are rejected here, not in a cycle
        ordered = sorted(set(members))
        for x, pa in enumerate(ordered):
            for pb in ordered[x + 1 :]:
                found.setdefault(frozenset((pa, pb)), []).append(name)
    return {pair: governing_profile(names, names[0]) for pair, names in found.items()}


def keep_to(
    party: str,
    lat_deg: float,
    lon_deg: float,
    alt_ft: float,
    lines: Sequence[AgreedLine],
    volumes: Sequence[PartyVolume],
    now: datetime,
) -> Keep | None:
    """The preference of an aircraft of ``party`` now at (``lat_deg``, ``lon_deg``, ``alt_ft``).

    A candidate path (positions sampled by :func:`deconflict.daa.guidance.coordinate`) keeps to
    it when it does not cross to the far side of an agreed line on which ``party`` has a side
    and is on that side now, and, if the aircraft is inside one of ``party``'s volumes active at
    ``now`` (tolerant shape, as conformance checks it), stays inside their union. None when
    nothing applies.
    """
    here_lat, here_lon = np.array([lat_deg]), np.array([lon_deg])
    own_lines: list[tuple[AgreedLine, float]] = []
    for line in lines:
        side = line.sides.get(party)
        if side is None:
            continue
        want = 1.0 if side == "left" else -1.0
        x, y = line.project_nm(here_lat, here_lon)
        now_side, _ = line.side_of(np.atleast_1d(x), np.atleast_1d(y))
        if float(now_side[0]) == want:  # across already or beyond its ends: nothing to keep
            own_lines.append((line, want))
    active = [
        v.tolerant
        for v in volumes
        if v.party == party and v.tolerant.active_from <= now < v.tolerant.active_until
    ]
    here_alt = np.array([alt_ft])
    inside = [v for v in active if bool(v.contains(here_lat, here_lon, here_alt, now)[0])]
    if not own_lines and not inside:
        return None

    def keep(lat: FloatArray, lon: FloatArray, alt: FloatArray) -> BoolArray:
        shape = lat.shape
        flat_lat, flat_lon, flat_alt = lat.ravel(), lon.ravel(), alt.ravel()
        ok = np.ones(flat_lat.shape[0], dtype=bool)
        for line, want in own_lines:
            x, y = line.project_nm(flat_lat, flat_lon)
            side, _ = line.side_of(np.asarray(x), np.asarray(y))
            ok &= side != -want
        if inside:
            within = np.zeros(flat_lat.shape[0], dtype=bool)
            for volume in inside:
                within |= np.asarray(volume.contains(flat_lat, flat_lon, flat_alt, now), bool)
            ok &= within
        result: BoolArray = np.asarray(ok.reshape(shape).all(axis=1), dtype=bool)
        return result

    return keep


@dataclass
class LiveDaa:
    """Live DAA state of one engine: hysteresis memories, guidance cache, the agreements'
    profiles and the agreed lines and volumes guidance prefers to keep to."""

    profile: Profile
    """The engine's profile: pairs with no shared agreement."""
    guidance_per_cycle: int = 1
    guidance_ttl_s: float = 30.0
    memories: dict[str, AlertMemory] = field(default_factory=dict)
    _guidance: dict[tuple[str, ...], tuple[float, int, dict[str, dict[str, Any]]]] = field(
        default_factory=dict
    )
    _pairs: dict[frozenset[str], str] = field(default_factory=dict)
    _lines: Sequence[AgreedLine] = ()
    _volumes: Sequence[PartyVolume] = ()

    @classmethod
    def named(cls, name: str, **kwargs: Any) -> LiveDaa:
        """State for the profile called ``name`` (``cylinder``, ``airprox``, ``do365b``)."""
        return cls(get_profile(name), **kwargs)

    @property
    def memory(self) -> AlertMemory:
        """The hysteresis memory of the engine's profile."""
        return self.memories.get(self.profile.name, AlertMemory())

    def set_context(
        self,
        agreements: Iterable[tuple[Collection[str], str]],
        volumes: Sequence[PartyVolume] = (),
        lines: Sequence[AgreedLine] = (),
    ) -> None:
        """Take the agreements' profiles (``(member party ids, profile)`` each), and the volumes
        and agreed lines guidance prefers to keep to (the broker calls this every cycle)."""
        self._pairs = pair_profiles(agreements)
        self._volumes, self._lines = volumes, lines

    def pair_profile(self, party_a: str, party_b: str) -> str:
        """Profile name for a pair of aircraft of ``party_a`` and ``party_b``."""
        if party_a == party_b:
            return self.profile.name
        return self._pairs.get(frozenset((party_a, party_b)), self.profile.name)

    def profile_for(self, party: str, others: Iterable[str]) -> Profile:
        """The profile of ``party``'s bands against aircraft of ``others``: the most protective
        of the pairs' profiles (the engine's when there are none)."""
        names = {self.pair_profile(party, o) for o in others}
        return get_profile(governing_profile(names, self.profile.name))

    def _profiles_in_use(self, parties: Collection[str]) -> set[str]:
        present = set(parties)
        return {name for pair, name in self._pairs.items() if pair <= present}

    # ---------------------------------------------------------------------- guidance
    def _guide(
        self, observations: list[Observation], tracks: TrackStates, now_s: float
    ) -> list[Observation]:
        """Attach cached or fresh guidance to observations at the corrective level or above."""
        rows: Mapping[str, int] | None = None
        states: States | None = None
        budget = self.guidance_per_cycle
        out: list[Observation] = []
        live_keys = set()
        profiles: dict[str, tuple[Profile, int]] = {}  # name -> (profile, corrective level)
        for obs in observations:
            known = profiles.get(obs.profile)
            if known is None:
                found = get_profile(obs.profile) if obs.profile else self.profile
                known = profiles[obs.profile] = (found, min(2, found.max_level))
            profile, corrective = known
            level = int(obs.metrics.get("level", 0))
            live_keys.add(obs.key)
            cached = self._guidance.get(obs.key)
            fresh = cached is not None and now_s - cached[0] <= self.guidance_ttl_s
            stale = not fresh or (cached is not None and cached[1] < level)
            if level >= corrective and stale and budget > 0:
                budget -= 1
                states = states_of(tracks) if states is None else states
                rows = row_index(tracks) if rows is None else rows
                a, b = (s.ref for s in obs.subjects[:2])
                views = self._coordinate(profile, tracks, states, rows[a], rows[b], now_s)
                self._guidance[obs.key] = (now_s, level, views)
                cached = self._guidance[obs.key]
            if cached is not None and level >= corrective:
                out.append(replace(obs, guidance=cached[2]))
            else:
                out.append(obs)
        for key in [k for k in self._guidance if k not in live_keys]:
            del self._guidance[key]
        return out

    def _keep(self, tracks: TrackStates, row: int, now_s: float) -> Keep | None:
        if not self._lines and not self._volumes:
            return None
        return keep_to(
            str(tracks.party[row]),
            float(tracks.lat_deg[row]),
            float(tracks.lon_deg[row]),
            float(tracks.alt_ft[row]),
            self._lines,
            self._volumes,
            datetime.fromtimestamp(now_s, UTC),
        )

    def _coordinate(
        self, profile: Profile, tracks: TrackStates, states: States, a: int, b: int, now_s: float
    ) -> dict[str, dict[str, Any]]:
        try:
            g: CoordinatedGuidance = coordinate(
                profile,
                states,
                a,
                b,
                keep_a=self._keep(tracks, a, now_s),
                keep_b=self._keep(tracks, b, now_s),
            )
        except NoCoordinatedGuidance:
            return {}
        return {
            str(tracks.ids[a]): manoeuvre_view(g.for_a, g.preference_a),
            str(tracks.ids[b]): manoeuvre_view(g.for_b, g.preference_b),
        }

    # ---------------------------------------------------------------------- observations
    def _graded(
        self,
        profile: Profile,
        tracks: TrackStates,
        states: States,
        now_s: float,
        same_party_opt_in: Collection[str],
    ) -> list[Observation]:
        """Observations of the pairs graded with ``profile`` (its hysteresis memory)."""
        ids = [str(x) for x in tracks.ids]
        step = step_alerts(profile, states, ids, now_s, self.memories.get(profile.name))
        self.memories[profile.name] = step.memory
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
            if self.pair_profile(party_i, party_j) != profile.name:
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
                        "warning_level": float(profile.max_level),
                        "t_out_s": float(t_out),
                        "t_cpa_s": float(a.tcpa_s[k]),
                        "hmd_nm": float(a.hmd_nm[k]),
                        "vmd_ft": float(a.vmd_ft[k]),
                        "range_nm": float(_range_nm(states, i, j)),
                        "vertical_ft": abs(dz),
                    },
                    profile=profile.name,
                )
            )
        return observations

    def _agreement_observations(
        self, tracks: TrackStates, states: States, now_s: float, skip: str
    ) -> list[Observation]:
        """Observations of the agreements' profiles other than ``skip``."""
        out: list[Observation] = []
        in_use = self._profiles_in_use({str(p) for p in tracks.party})
        for name in sorted(in_use - {skip}):
            out += self._graded(get_profile(name), tracks, states, now_s, ())
        for name in [m for m in self.memories if m not in in_use and m != skip]:
            del self.memories[name]
        return out

    def observe(
        self,
        tracks: TrackStates,
        now_s: float,
        *,
        same_party_opt_in: Collection[str] = (),
    ) -> list[Observation]:
        """Graded conflict observations of one cycle (the engine's profile for pairs with no
        shared agreement, each agreement's for its members), with guidance."""
        states = states_of(tracks)
        observations = self._graded(self.profile, tracks, states, now_s, same_party_opt_in)
        observations += self._agreement_observations(tracks, states, now_s, self.profile.name)
        return self._guide(observations, tracks, now_s)

    @property
    def grading(self) -> tuple[dict[str, float], str]:
        """What :meth:`annotate` gives the detector's conflicts under the engine's profile:
        the metrics ``level`` and ``warning_level`` (both 1) and the profile name (pass them to
        :func:`deconflict.live.observations.conflict_observations` to build them once)."""
        return {"level": 1.0, "warning_level": 1.0}, self.profile.name

    def annotate(
        self, observations: list[Observation], tracks: TrackStates, now_s: float
    ) -> list[Observation]:
        """Cylinder / airprox engine profile: the detector's conflicts of pairs under the
        engine's profile get level 1; pairs under another agreement profile are graded by it;
        all get guidance."""
        extra: list[Observation] = []
        if self._pairs:
            extra = self._agreement_observations(
                tracks, states_of(tracks), now_s, self.profile.name
            )
        if not observations and not extra:
            self._guidance.clear()
            return observations
        conflicts: list[Observation] = []
        others: list[Observation] = []
        graded, name = self.grading
        for obs in observations:
            if obs.kind != "conflict":
                others.append(obs)
                continue
            if self._pairs:
                pa, pb = (s.party for s in obs.subjects[:2])
                if self.pair_profile(pa, pb) != name:
                    continue  # graded by its agreement's profile (extra)
            level, warning = obs.metrics.get("level"), obs.metrics.get("warning_level")
            if (
                obs.profile == name
                and type(level) is float
                and type(warning) is float
                and (level == 1.0 and warning == 1.0)
            ):
                conflicts.append(obs)  # graded already (``grading``): replace() would equal it
                continue
            # ``replace(obs, metrics=..., profile=name)``, built directly (~2x faster)
            conflicts.append(
                Observation(
                    obs.kind,
                    obs.key,
                    obs.parties,
                    obs.subjects,
                    obs.t_in_s,
                    {**obs.metrics, **graded},
                    obs.guidance,
                    name,
                )
            )
        guided = self._guide(conflicts + extra, tracks, now_s)
        return guided + others


def _range_nm(states: States, i: int, j: int) -> float:
    """Straight-line surface distance between two aircraft, NM (for the alert figures)."""
    lat = np.radians(states.lat_deg[[i, j]])
    lon = np.radians(states.lon_deg[[i, j]])
    d_lat = lat[1] - lat[0]
    d_lon = lon[1] - lon[0]
    h = np.sin(d_lat / 2) ** 2 + np.cos(lat[0]) * np.cos(lat[1]) * np.sin(d_lon / 2) ** 2
    return float(2 * 6_371_008.8 * np.arcsin(np.sqrt(min(1.0, h)))) / M_PER_NM
