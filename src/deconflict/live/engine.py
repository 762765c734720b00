"""The live cycle as a pure core: latest states -> detection + conformance -> alert events.

No I/O and no clock: :class:`LiveCore` is fed states (``ingest``), plans (``set_plans``) and a
``now`` per cycle, and returns the alert events; the web adapter
(:mod:`deconflict.web.routes.tracks`) reads the clock and the database, persists the events and
publishes them. One cycle: the latest non-stale states are dead-reckoned to ``now``, the
tactical detector and the conformance checks run on them, and the alert tracker turns what they
found into lifecycle events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from deconflict.errors import NotFoundError
from deconflict.live import _jit as live_jit
from deconflict.live.alerts import (
    Alert,
    AlertEvent,
    AlertTracker,
    HysteresisPolicy,
    Subject,
    _Entry,
)
from deconflict.live.batch import TrackBatch
from deconflict.live.conformance import (
    ConformanceMonitor,
    ConformancePolicy,
    PartyVolume,
    find_incursions,
)
from deconflict.live.daa import LiveDaa
from deconflict.live.density import DensityPolicy, cluster_observations, thin
from deconflict.live.latest import LatestStates
from deconflict.live.observations import (
    conflict_observations,
    incursion_observations,
    nonconformance_observations,
)
from deconflict.live.picture import visible_picture
from deconflict.live.tracks import BoolArray, TrackStates, extrapolate, share_indexes
from deconflict.strategic.lines import AgreedLine
from deconflict.tactical import Conflicts, detect_arrays
from deconflict.tactical.constants import HORIZONTAL_NM, LOOKAHEAD_S, VERTICAL_FT


@dataclass(frozen=True)
class LiveConfig:
    """Knobs of the live engine (units in the names)."""

    stale_after_s: float = 30.0
    interval_s: float = 1.0
    min_gap_s: float = 0.5
    horizontal_nm: float = HORIZONTAL_NM
    vertical_ft: float = VERTICAL_FT
    lookahead_s: float = LOOKAHEAD_S
    vertical_mode: str = "strict"
    history_retention_s: float = 3600.0
    max_batch_rows: int = 20_000
    max_future_s: float = 10.0
    max_past_s: float = 120.0
    picture_interval_s: float = 1.0
    picture_full_max: int = 1000
    same_party_opt_in: frozenset[str] = frozenset()
    conformance: ConformancePolicy = field(default_factory=ConformancePolicy)
    hysteresis: HysteresisPolicy = field(default_factory=HysteresisPolicy)
    density: DensityPolicy = field(default_factory=DensityPolicy)
    profile: str = "cylinder"
    """Alerting profile (``deconflict.daa``): ``cylinder`` keeps the tactical detector and adds
    level 1 and coordinated guidance; ``airprox`` and ``do365b`` grade conflicts by level."""
    guidance: bool = True
    """Attach coordinated guidance to conflicts at the corrective level (cached per alert)."""

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> LiveConfig:
        """Take ``stale_after_s`` and ``detection_interval_s`` from the broker settings."""
        base: dict[str, Any] = {
            "stale_after_s": float(settings.stale_after_s),
            "interval_s": float(settings.detection_interval_s),
        }
        base.update(overrides)
        return cls(**base)


def alert_record(alert: Alert) -> dict[str, Any]:
    """The ``live_alerts`` row of ``alert`` (``data`` holds internal details, never sent as is)."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "key": "|".join(alert.key)[:400],
        "severity": alert.severity,
        "state": alert.state,
        "t_in_s": float(alert.t_in_s),
        "data": {
            "key": list(alert.key),
            "parties": list(alert.parties),
            "subjects": [[s.role, s.party, s.ref] for s in alert.subjects],
            "metrics": {k: float(v) for k, v in alert.metrics.items() if np.isfinite(v)},
            "last_seen_at": alert.last_seen_at.isoformat(),
            "guidance": {k: dict(v) for k, v in alert.guidance.items()},
            "profile": alert.profile,
        },
        "raised_at": alert.raised_at,
        "updated_at": alert.updated_at,
        "resolved_at": alert.resolved_at,
    }


def alert_from_row(row: Any, acked: Mapping[str, datetime]) -> Alert:
    """Rebuild an :class:`Alert` from a ``live_alerts`` row and the known acknowledgements."""
    data = row.data
    return Alert(
        id=row.id,
        kind=row.kind,
        key=tuple(data["key"]),
        parties=tuple(data["parties"]),
        subjects=tuple(Subject(s[0], s[1], s[2]) for s in data["subjects"]),
        severity=row.severity,
        t_in_s=float(row.t_in_s),
        metrics=dict(data.get("metrics", {})),
        raised_at=row.raised_at,
        updated_at=row.updated_at,
        last_seen_at=datetime.fromisoformat(data["last_seen_at"]),
        acked=dict(acked),
        state=row.state,
        resolved_at=row.resolved_at,
        guidance=dict(data.get("guidance", {})),
        profile=str(data.get("profile", "")),
    )


@dataclass(frozen=True)
class CycleResult:
    """What one cycle produced."""

    events: list[AlertEvent]
    open_alerts: list[Alert]
    states: TrackStates
    conflicts: int


class ReplicaTracker(AlertTracker):
    """An :class:`AlertTracker` that can take over alerts stored by another replica.

    A replica that becomes the leader restores the open (and recently resolved) alerts of the
    previous leader, so the same situations keep the same alert ids (no second ``raised``), and
    merges acknowledgements recorded by other replicas before each cycle.
    """

    def restore(self, alerts: Iterable[Alert]) -> None:
        """Replace every held alert by ``alerts`` (open ones stay open with their ids and
        acknowledgements; resolved ones can be re-opened within ``reraise_hold_s``)."""
        opened: dict[tuple[str, ...], _Entry] = {}
        resolved: dict[tuple[str, ...], Alert] = {}
        by_id: dict[str, tuple[str, ...]] = {}
        for alert in sorted(alerts, key=lambda a: (a.raised_at, a.id)):
            if alert.is_open:
                opened[alert.key] = _Entry(alert=alert, published=alert)
            else:
                prev = resolved.get(alert.key)
                if prev is None or (prev.resolved_at or prev.updated_at) <= (
                    alert.resolved_at or alert.updated_at
                ):
                    resolved[alert.key] = alert
        for key, entry in opened.items():
            resolved.pop(key, None)
            by_id[entry.alert.id] = key
        for key, alert in resolved.items():
            by_id[alert.id] = key
        self._open, self._resolved, self._by_id = opened, resolved, by_id

    def merge_acks(self, acks: Mapping[str, Mapping[str, datetime]]) -> int:
        """Add acknowledgements recorded elsewhere (``{alert_id: {party: at}}``) to the open
        alerts (a party's own earlier acknowledgement is kept); returns how many were added."""
        added = 0
        for entry in self._open.values():
            alert = entry.alert
            stored = acks.get(alert.id)
            if not stored:
                continue
            new = {p: at for p, at in stored.items() if p in alert.parties and p not in alert.acked}
            if new:
                entry.alert = replace(alert, acked={**alert.acked, **new})
                added += len(new)
        return added


class LiveCore:
    """Latest states, plans, alert tracker and conformance memory of one broker process.

    Thread-safe: ingest (request threads) and the cycle (a worker thread) may run concurrently;
    the cycle works on a copy of the states.
    """

    def __init__(
        self,
        config: LiveConfig,
        *,
        new_alert_id: Callable[[], str],
        detector: Callable[..., Conflicts] = detect_arrays,
    ) -> None:
        live_jit.warm_up()  # the density guard's compiled kernel: loaded before any cycle
        self.config = config
        self.detector = detector
        """The arrays detector (``detect_arrays``; the broker passes the engine chooser of
        ``deconflict.cluster.ray_detect``, which gives the same answer)."""
        self.latest = LatestStates()
        self.tracker = ReplicaTracker(config.hysteresis, new_id=new_alert_id)
        self.monitor = ConformanceMonitor(config.conformance)
        self.daa = LiveDaa.named(config.profile, guidance_per_cycle=1 if config.guidance else 0)
        self.volumes: list[PartyVolume] = []
        self.lines: list[AgreedLine] = []
        self._lock = threading.Lock()

    def ingest(self, party: str, batch: TrackBatch) -> int:
        """Apply a validated batch of ``party`` to the latest states."""
        return self.latest.update(party, batch.ids, batch.columns, batch.callsigns)

    def set_plans(self, volumes: list[PartyVolume], lines: list[AgreedLine]) -> None:
        """Replace the volumes and lines conformance checks against."""
        self.volumes, self.lines = volumes, lines

    def current_states(self, now: datetime) -> tuple[TrackStates, BoolArray]:
        """Non-stale states dead-reckoned to ``now``, and the stale flags of all states."""
        snap = self.latest.snapshot(now.timestamp(), self.config.stale_after_s)
        live = snap.states.select(~snap.stale) if snap.stale.any() else snap.states
        dt = np.clip(now.timestamp() - live.time_s, 0.0, None)
        lat, lon, alt = extrapolate(
            live.lat_deg, live.lon_deg, live.alt_ft, live.gs_kt, live.track_deg, live.vs_fpm, dt
        )
        moved = TrackStates(
            ids=live.ids,
            party=live.party,
            callsign=live.callsign,
            lat_deg=lat,
            lon_deg=lon,
            alt_ft=alt,
            gs_kt=live.gs_kt,
            track_deg=live.track_deg,
            vs_fpm=live.vs_fpm,
            time_s=live.time_s,
        )
        share_indexes(live, moved)  # same ids and parties: the same id index and party rows
        return moved, snap.stale

    def cycle(self, now: datetime) -> CycleResult:
        """One detection cycle at ``now``."""
        cfg = self.config
        states, _stale = self.current_states(now)
        # bounded work whatever the density: co-located / too dense aircraft are grouped into
        # one dense-cluster alert instead of N^2 pairs (deconflict.live.density)
        dense = thin(states.lat_deg, states.lon_deg, states.alt_ft, states.party, cfg.density)
        near = states if dense.keep.all() else states.select(dense.keep)
        if cfg.profile == "cylinder":
            conflicts = self.detector(
                near.lat_deg,
                near.lon_deg,
                near.alt_ft,
                near.gs_kt,
                near.track_deg,
                near.vs_fpm,
                horizontal_nm=cfg.horizontal_nm,
                vertical_ft=cfg.vertical_ft,
                lookahead_s=cfg.lookahead_s,
                vertical_mode=cfg.vertical_mode,
            )
            graded, profile = self.daa.grading
            observations = conflict_observations(
                conflicts,
                near,
                same_party_opt_in=cfg.same_party_opt_in,
                graded=graded,
                profile=profile,
            )
            observations = self.daa.annotate(observations, near, now.timestamp())
            found = len(conflicts)
        else:
            observations = self.daa.observe(
                near, now.timestamp(), same_party_opt_in=cfg.same_party_opt_in
            )
            found = len(observations)
        observations += cluster_observations(dense.clusters)
        volumes, lines = self.volumes, self.lines
        observations += incursion_observations(
            find_incursions(states, volumes, lines, now, cfg.conformance)
        )
        with self._lock:
            observations += nonconformance_observations(self.monitor.update(states, volumes, now))
            events = self.tracker.observe(observations, now)
            open_alerts = self.tracker.open_alerts()
        return CycleResult(events, open_alerts, states, found)

    def restore_alerts(self, alerts: Iterable[Alert]) -> None:
        """Take over stored alerts (:meth:`ReplicaTracker.restore`)."""
        with self._lock:
            self.tracker.restore(alerts)

    def merge_acks(self, acks: Mapping[str, Mapping[str, datetime]]) -> int:
        """Merge acknowledgements recorded elsewhere (:meth:`ReplicaTracker.merge_acks`)."""
        with self._lock:
            return self.tracker.merge_acks(acks)

    def open_alerts(self) -> list[Alert]:
        """The open alerts."""
        with self._lock:
            return self.tracker.open_alerts()

    def acknowledge(
        self, alert_id: str, party: str, now: datetime
    ) -> tuple[AlertEvent | None, Alert | None]:
        """Acknowledge for ``party`` if the alert is held here: ``(event or None, alert)``;
        ``(None, None)`` when the tracker does not know it (resolved and forgotten, or not the
        party's)."""
        with self._lock:
            try:
                event = self.tracker.acknowledge(alert_id, party, now)
                return event, self.tracker.get(alert_id)
            except NotFoundError:
                return None, None

    def picture(
        self, party: str, now: datetime, *, names: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """``party``'s visible picture (own aircraft incl. stale ones, flagged)."""
        snap = self.latest.snapshot(now.timestamp(), self.config.stale_after_s)
        return visible_picture(
            snap.states, self.open_alerts(), party, now, stale=snap.stale, names=names
        )
