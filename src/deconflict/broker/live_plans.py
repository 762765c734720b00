"""The live engine's view of the plans: the containment objects of the notices that can matter now.

Live conformance checks tracks against the volumes of live notices. Parsing a volume into its
containment objects (exact + tolerant shape, each with a pyproj transformer) costs about 0.1 ms,
so doing it for every stored notice after every notice change does not scale (100,000 stored
volumes: seconds of CPU per change). :class:`PlanCache` instead

* reads only notice rows with a ``change_seq`` it has not seen (the scheme of
  :meth:`deconflict.broker.strategic_state.StrategicState.catch_up`: ``change_seq`` is handed out
  under the strategic lock, so rows commit in ``change_seq`` order);
* keeps, per live notice, just its party and activity window (buffered start and end, Unix s);
* builds a notice's :class:`~deconflict.live.conformance.PartyVolume` objects once, when its window
  starts within ``horizon_s`` of the cycle time (the conformance look-ahead plus
  :data:`PLAN_PREBUILD_S`), fetching the body by id then, and forgets them when the window has
  ended. A volume outside that time range cannot take part in a cycle: incursions look at most
  ``lookahead_s`` ahead and nonconformance only at volumes active now.

Pure bookkeeping plus SQL reads through the caller's session; no clock (``now_s`` passed in).
If the cycle time goes backwards (tests replaying a scenario), the ended plans are reconsidered.
"""

from __future__ import annotations

import heapq
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from deconflict.errors import DeconflictError
from deconflict.live.conformance import PartyVolume
from deconflict.live.engine import LiveConfig
from deconflict.store.tables import notices
from deconflict.strategic.volume import Buffers, parse_utc

log = logging.getLogger("deconflict.live")

LIVE_NOTICE_STATES: Final = frozenset({"notified"})
"""Stored notice states whose volumes count for conformance."""

PLAN_PREBUILD_S: Final = 600.0
"""Build a plan's containment objects this long (s) before it can enter the look-ahead."""

_UNSEEN = (
    select(notices.c.id, notices.c.party_id, notices.c.state, notices.c.body, notices.c.change_seq)
    .where(notices.c.change_seq > bindparam("seen"))
    .order_by(notices.c.change_seq)
)
_BODIES = select(notices.c.id, notices.c.change_seq, notices.c.body).where(
    notices.c.id.in_(bindparam("ids", expanding=True))
)


@dataclass(slots=True)
class _Plan:
    """What is kept per live notice: party, activity window (Unix s), row version."""

    party: str
    from_s: float
    until_s: float
    seq: int
    built: list[PartyVolume] | None = field(default=None)


def activity_window_s(body: Any) -> tuple[float, float]:
    """(earliest buffered start, latest buffered end) of a notice body's volumes, Unix s.

    ``(-inf, inf)`` when the body cannot be read (such a plan is always built, and its volumes
    are logged and skipped as before).
    """
    try:
        lo, hi = math.inf, -math.inf
        for i, vol in enumerate(body["volumes"]):
            where = f"volumes[{i}]"
            buffers = Buffers.from_json(vol.get("buffers"), f"{where}.buffers")
            start = parse_utc(vol.get("start"), f"{where}.start").timestamp()
            end = parse_utc(vol.get("end"), f"{where}.end").timestamp()
            lo = min(lo, start - 60.0 * buffers.before_min)
            hi = max(hi, end + 60.0 * buffers.after_min)
        if lo > hi:
            return -math.inf, math.inf
        return lo, hi
    except (DeconflictError, KeyError, TypeError, AttributeError, ValueError):
        return -math.inf, math.inf


class PlanCache:
    """Incrementally maintained conformance plans (see the module docstring). Not thread-safe:
    used by the live engine's cycle, which runs one at a time."""

    def __init__(self, config: LiveConfig) -> None:
        self.config = config
        self.horizon_s = max(config.lookahead_s, config.conformance.lookahead_s) + PLAN_PREBUILD_S
        self.seen_seq = 0
        self._plans: dict[str, _Plan] = {}
        self._pending: list[tuple[float, int, str]] = []  # (from_s, seq, notice id): a heap
        self._active: dict[str, _Plan] = {}
        self._last_now_s = -math.inf

    def __len__(self) -> int:
        return len(self._plans)

    def apply(self, session: Session) -> bool:
        """Apply committed notice rows not seen yet; True when the active set changed."""
        changed = False
        for row in session.execute(_UNSEEN, {"seen": self.seen_seq}):
            seq = int(row.change_seq)
            self.seen_seq = max(self.seen_seq, seq)
            if self._active.pop(row.id, None) is not None:
                changed = True
            if row.state not in LIVE_NOTICE_STATES:
                self._plans.pop(row.id, None)
                continue
            from_s, until_s = activity_window_s(row.body)
            self._plans[row.id] = _Plan(row.party_id, from_s, until_s, seq)
            heapq.heappush(self._pending, (from_s, seq, row.id))
        return changed

    def advance(self, session: Session, now_s: float) -> bool:
        """Build the plans entering the horizon and drop the ended ones; True when changed."""
        changed = False
        if now_s < self._last_now_s:  # time went backwards: every inactive plan may matter
            self._pending = [
                (p.from_s, p.seq, key) for key, p in self._plans.items() if key not in self._active
            ]
            heapq.heapify(self._pending)
        self._last_now_s = now_s
        due: dict[str, _Plan] = {}
        while self._pending and self._pending[0][0] <= now_s + self.horizon_s:
            _, seq, key = heapq.heappop(self._pending)
            plan = self._plans.get(key)
            if plan is None or plan.seq != seq or key in self._active:
                continue  # superseded entry
            if plan.until_s >= now_s:
                due[key] = plan
        if due:
            changed |= self._build(session, due)
        for key in [k for k, p in self._active.items() if p.until_s < now_s]:
            plan = self._active.pop(key)
            plan.built = None
            changed = True
        return changed

    def _build(self, session: Session, due: dict[str, _Plan]) -> bool:
        keys = list(due)
        changed = False
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            for row in session.execute(_BODIES, {"ids": chunk}):
                plan = due[row.id]
                if int(row.change_seq) != plan.seq:
                    continue  # changed since: the next ``apply`` brings the new version
                plan.built = self._volumes_of(row.id, plan.party, row.body)
                self._active[row.id] = plan
                changed = True
        return changed

    def _volumes_of(self, notice_id: str, party: str, body: Any) -> list[PartyVolume]:
        out: list[PartyVolume] = []
        volumes = body.get("volumes", []) if isinstance(body, dict) else []
        for i, vol in enumerate(volumes):
            key = f"{notice_id}/{vol.get('id', i)}"
            try:
                out.append(PartyVolume.from_json(key, party, vol, self.config.conformance))
            except DeconflictError:  # validated when accepted; never stop the loop
                log.exception("volume %s cannot be used for conformance", key)
        return out

    def volumes(self) -> list[PartyVolume]:
        """The built volumes of every active plan (what the core checks)."""
        return [v for plan in self._active.values() for v in plan.built or ()]
