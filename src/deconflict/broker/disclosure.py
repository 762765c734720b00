"""The disclosure budget: how much exact geometry one party may learn of another's plans.

A conflict record shows its viewer the overlap of its own volume with the counterpart's: that is
exact information about the counterpart's plan. Unlimited, it lets a party reconstruct every
plan of its counterparts by probing (issue 11). The budget bounds it, per **ordered pair**
(viewer learns of owner), over a rolling window (default 24 h):

- ``learned`` = what the viewer was charged for exact overlaps of the owner's volumes in the
  window: each overlap grown by :data:`MIN_CHARGE_NM` times its duration (at least
  :data:`MIN_CHARGE_H`), in km^2 x h; cancelled, amended and accepted notices all count (a
  disclosure is never taken back), and so do F3548 refusals (409). Showing the viewer again an
  overlap it was already shown exactly (same owner notice, same overlap) costs nothing.
- ``budget`` = ``max(fraction x notified, floor)``: ``notified`` is the area x duration of the
  owner's notices ending in the window (any state); ``fraction`` (default
  :data:`DEFAULT_FRACTION` = 10 %) and ``floor`` (default :data:`DEFAULT_FLOOR_KM2H` =
  1,000 km^2 x h) are per agreement.
- A disclosure is **exact** when ``learned + this <= budget``; otherwise it is **coarse**: the
  conflict is still found, recorded and told to both sides, with its time window rounded out to
  whole hours, its band rounded out to 5,000 ft and its area as the containing H3 cells at
  resolution :data:`DEFAULT_H3_RESOLUTION` (4: ~1,770 km^2, ~26 km edges; coarser parents when
  more than :data:`MAX_COARSE_CELLS` cells), never the exact geometry.
- Parties that share no agreement learn nothing but the window (``unaffiliated``).

The policy part is pure functions of their arguments (no clock, no I/O); the service part at the
end (:func:`show`, :func:`record_notice_size`, :func:`disclosures_for`) reads and writes the
counters through :mod:`deconflict.store.disclosure_sql` in the notice write's transaction.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import h3
import shapely
import shapely.geometry
from pyproj import Geod
from sqlalchemy.orm import Session

from deconflict.broker import audit, outbox, parties
from deconflict.errors import ForbiddenError
from deconflict.store import disclosure_sql

DEFAULT_FRACTION: Final = 0.10
"""Default share of a counterpart's notified area x time (km^2 x h) a party may learn exactly
per rolling window."""

DEFAULT_FLOOR_KM2H: Final = 1000.0
"""Least budget per ordered pair and window (km^2 x h): the first ordinary conflicts with a small
plan stay exact (e.g. a 20 x 25 km overlap for 2 h); a scan of a large plan is bounded by the
fraction."""

DEFAULT_WINDOW_H: Final = 24.0
"""Rolling window of the budget (h)."""

DEFAULT_H3_RESOLUTION: Final = 4
"""H3 resolution of a coarse area (4: cells of ~1,770 km^2, edges ~26 km)."""

MAX_COARSE_CELLS: Final = 50
"""At most this many cells in a coarse area; beyond, the parent resolution is used."""

MIN_CHARGE_H: Final = 1.0
"""An exact disclosure is charged at least this duration (h): thin time slices cost as much as
an hour, so a footprint cannot be learnt cheaply with one-minute probes."""

MIN_CHARGE_NM: Final = 1.0
"""An exact disclosure is charged the area of the overlap grown by this distance (NM; Steiner:
area + perimeter x r + pi r^2), so thin slivers across a plan are not free."""

COARSE_BAND_FT: Final = 5000.0
"""A coarse band is rounded outward to multiples of this (ft)."""

_GEOD: Final = Geod(ellps="WGS84")


@dataclass(frozen=True)
class DisclosurePolicy:
    """Budget settings of one agreement (units in the names)."""

    fraction: float = DEFAULT_FRACTION
    window_h: float = DEFAULT_WINDOW_H
    h3_resolution: int = DEFAULT_H3_RESOLUTION
    floor_km2h: float = DEFAULT_FLOOR_KM2H

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | None) -> DisclosurePolicy:
        """From an agreement's stored ``disclosure`` settings (missing keys: defaults)."""
        obj = obj or {}
        return cls(
            fraction=float(obj.get("fraction", DEFAULT_FRACTION)),
            window_h=float(obj.get("window_h", DEFAULT_WINDOW_H)),
            h3_resolution=int(obj.get("h3_resolution", DEFAULT_H3_RESOLUTION)),
            floor_km2h=float(obj.get("floor_km2h", DEFAULT_FLOOR_KM2H)),
        )

    def to_json(self) -> dict[str, float]:
        """Wire / storage form."""
        return {
            "fraction": self.fraction,
            "window_h": self.window_h,
            "h3_resolution": self.h3_resolution,
            "floor_km2h": self.floor_km2h,
        }


def geodesic_area_km2(geometry: Mapping[str, Any] | None) -> float:
    """Area (km^2, WGS84 geodesic) of a GeoJSON (multi)polygon in lon/lat degrees; 0 if none."""
    if not geometry:
        return 0.0
    return _area_perimeter(shapely.geometry.shape(geometry))[0]


def _area_perimeter(geom: Any) -> tuple[float, float]:
    """Geodesic (area km^2, perimeter km) of a shapely (multi)polygon in lon/lat degrees."""
    if geom.is_empty:
        return 0.0, 0.0
    area = perimeter = 0.0
    for poly in list(geom.geoms) if hasattr(geom, "geoms") else [geom]:
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        a, p = _GEOD.geometry_area_perimeter(shapely.geometry.polygon.orient(poly, 1.0))
        area += abs(float(a))
        perimeter += abs(float(p))
    return area / 1e6, perimeter / 1e3


def hours_between(start: datetime, end: datetime) -> float:
    """``end - start`` in hours (>= 0)."""
    return max(0.0, (end - start).total_seconds() / 3600.0)


def volume_km2h(footprint_area_km2: float, start: datetime, end: datetime) -> float:
    """A volume's (or overlap's) size in km^2 x h."""
    return footprint_area_km2 * hours_between(start, end)


def budget_km2h(notified_km2h: float, policy: DisclosurePolicy) -> float:
    """The exact area x time a viewer may learn of an owner that notified ``notified_km2h``."""
    return max(max(0.0, policy.fraction) * max(0.0, notified_km2h), policy.floor_km2h)


def is_exact(learned_km2h: float, this_km2h: float, notified_km2h: float,
             policy: DisclosurePolicy) -> bool:  # fmt: skip
    """Whether a disclosure of ``this_km2h`` may be exact, after ``learned_km2h`` so far."""
    return learned_km2h + this_km2h <= budget_km2h(notified_km2h, policy) + 1e-9


def _ring_points(geom: Any) -> Iterable[tuple[float, float]]:
    """Boundary points (lon, lat) densified every ~0.05 deg, for the cell cover."""
    polys = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    for poly in polys:
        if poly.geom_type != "Polygon":
            continue
        coords = list(poly.exterior.coords)
        for (x0, y0), (x1, y1) in itertools.pairwise(coords):
            steps = max(1, int(math.hypot(x1 - x0, y1 - y0) / 0.05))
            for k in range(steps):
                f = k / steps
                yield (x0 + f * (x1 - x0), y0 + f * (y1 - y0))


def coarse_cells(geometry: Mapping[str, Any] | None, resolution: int) -> tuple[list[str], int]:
    """H3 cells covering ``geometry`` (GeoJSON, lon/lat) and the resolution used.

    Interior cells (centre inside) plus the cells of the densified boundary; while there are
    more than :data:`MAX_COARSE_CELLS`, their parents are used instead.
    """
    if not geometry:
        return [], resolution
    geom = shapely.geometry.shape(geometry)
    cells: set[str] = set()
    polys = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    for poly in polys:
        if poly.geom_type == "Polygon" and not poly.is_empty:
            cells.update(h3.geo_to_cells(shapely.geometry.mapping(poly), resolution))
    for lon, lat in _ring_points(geom):
        cells.add(h3.latlng_to_cell(lat, lon, resolution))
    res = resolution
    while len(cells) > MAX_COARSE_CELLS and res > 0:
        res -= 1
        cells = {h3.cell_to_parent(c, res) for c in cells}
    return sorted(cells), res


def _outline(cells: list[str]) -> dict[str, Any] | None:
    """GeoJSON (lon, lat) of the union of ``cells``: the coarse area to draw (no more than the
    cells themselves say)."""
    if not cells:
        return None
    geo = h3.cells_to_geo(cells)
    return {"type": geo["type"], "coordinates": json.loads(json.dumps(geo["coordinates"]))}


def _floor_hour(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(t: datetime) -> datetime:
    floor = _floor_hour(t)
    return floor if floor == t else floor + timedelta(hours=1)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def coarse_overlap(overlap: Mapping[str, Any], policy: DisclosurePolicy) -> dict[str, Any]:
    """The coarse form of an overlap (``Overlap.to_json()`` shape): no exact geometry.

    Returns ``{"coarse_area": {"h3_cells", "h3_resolution", "outline" (GeoJSON of the cells)},
    "start", "end" (whole hours,
    outward), "alt_lower_ft", "alt_upper_ft" (multiples of 5,000 ft, outward), "alt_reference",
    "approximate": true, "coarse": true}``.
    """
    cells, res = coarse_cells(overlap.get("geometry"), policy.h3_resolution)
    start = datetime.fromisoformat(str(overlap["start"]).replace("Z", "+00:00"))
    end = datetime.fromisoformat(str(overlap["end"]).replace("Z", "+00:00"))
    out: dict[str, Any] = {
        "coarse": True,
        "coarse_area": {"h3_cells": cells, "h3_resolution": res, "outline": _outline(cells)},
        "start": _iso(_floor_hour(start)),
        "end": _iso(_ceil_hour(end)),
        "approximate": True,
    }
    if "alt_lower_ft" in overlap and "alt_upper_ft" in overlap:
        lo, hi = float(overlap["alt_lower_ft"]), float(overlap["alt_upper_ft"])
        out["alt_lower_ft"] = math.floor(lo / COARSE_BAND_FT) * COARSE_BAND_FT
        out["alt_upper_ft"] = math.ceil(hi / COARSE_BAND_FT) * COARSE_BAND_FT
        out["alt_reference"] = overlap.get("alt_reference", "ft_amsl")
    return out


def unaffiliated_overlap(overlap: Mapping[str, Any]) -> dict[str, Any]:
    """What a party learns of a conflict with a party it shares no agreement with: the window
    rounded out to whole hours, nothing else."""
    start = datetime.fromisoformat(str(overlap["start"]).replace("Z", "+00:00"))
    end = datetime.fromisoformat(str(overlap["end"]).replace("Z", "+00:00"))
    return {"start": _iso(_floor_hour(start)), "end": _iso(_ceil_hour(end)), "coarse": True}


def overlap_km2h(overlap: Mapping[str, Any]) -> float:
    """Size (km^2 x h) of an exact overlap (``Overlap.to_json()`` shape), as disclosed."""
    start = datetime.fromisoformat(str(overlap["start"]).replace("Z", "+00:00"))
    end = datetime.fromisoformat(str(overlap["end"]).replace("Z", "+00:00"))
    return volume_km2h(geodesic_area_km2(overlap.get("geometry")), start, end)


def charge_km2h(overlap: Mapping[str, Any]) -> float:
    """What an exact disclosure of ``overlap`` costs the viewer's budget (km^2 x h).

    The overlap grown by :data:`MIN_CHARGE_NM` (area + perimeter x r + pi r^2, geodesic) times
    its duration, at least :data:`MIN_CHARGE_H` hours.
    """
    start = datetime.fromisoformat(str(overlap["start"]).replace("Z", "+00:00"))
    end = datetime.fromisoformat(str(overlap["end"]).replace("Z", "+00:00"))
    r_km = MIN_CHARGE_NM * 1.852
    geometry = overlap.get("geometry")
    area, perimeter_km = _area_perimeter(shapely.geometry.shape(geometry)) if geometry else (0, 0)
    grown = area + perimeter_km * r_km + math.pi * r_km**2
    return grown * max(MIN_CHARGE_H, hours_between(start, end))


# ---------------------------------------------------------------------------- the service
UNAFFILIATED_LABEL: Final = "an unaffiliated party"
"""How each side of a conflict between parties without a shared agreement is named."""


@dataclass(frozen=True)
class Shown:
    """What one viewer is shown of one conflict's overlap.

    Attributes
    ----------
    overlap:
        The overlap as the viewer may see it (exact, coarse or window only).
    kind:
        ``exact``, ``coarse`` or ``unaffiliated``.
    counterpart:
        The label of the other side for the viewer (:data:`UNAFFILIATED_LABEL` when no
        agreement is shared, else the label given).
    """

    overlap: dict[str, Any]
    kind: str
    counterpart: str


def policy_for(session: Session, agreement_id: str | None) -> DisclosurePolicy:
    """The disclosure settings of an agreement (defaults when unset)."""
    if agreement_id is None:
        return DisclosurePolicy()
    return DisclosurePolicy.from_json(
        disclosure_sql.get_settings(session, agreement_id)["disclosure"]
    )


def show(
    session: Session,
    *,
    viewer: str,
    owner: str,
    owner_notice_id: str,
    viewer_notice_id: str | None,
    agreement_id: str | None,
    overlap: Mapping[str, Any],
    viewer_label: str,
    owner_label: str,
    now: datetime,
) -> Shown:
    """Decide and record what ``viewer`` learns of ``owner``'s plan through one overlap.

    Charges the viewer's budget for an exact disclosure, writes the ``disclosures`` row and a
    ledger entry (``disclosure``) the owner can open; for parties without an agreement also an
    operator event. ``viewer_label`` is how the owner knows the viewer, ``owner_label`` how the
    viewer knows the owner.
    """
    start = datetime.fromisoformat(str(overlap["start"]).replace("Z", "+00:00"))
    end = datetime.fromisoformat(str(overlap["end"]).replace("Z", "+00:00"))
    area = geodesic_area_km2(overlap.get("geometry"))
    if agreement_id is None:
        shown = Shown({**unaffiliated_overlap(overlap), "unaffiliated": True}, "unaffiliated",
                      UNAFFILIATED_LABEL)  # fmt: skip
        charge = 0.0
        detail: dict[str, Any] = {"viewer_label": UNAFFILIATED_LABEL}
    else:
        policy = policy_for(session, agreement_id)
        since = now - timedelta(hours=policy.window_h)
        digest = _digest(overlap)
        seen = disclosure_sql.shown_exact(session, viewer, owner_notice_id, digest, since)
        charge = 0.0 if seen else charge_km2h(overlap)
        learned = disclosure_sql.learned_km2h(session, viewer, owner, since)
        notified = disclosure_sql.notified_km2h(session, owner, since)
        if seen or is_exact(learned, charge, notified, policy):
            shown = Shown(dict(overlap), "exact", owner_label)
            detail = {"viewer_label": viewer_label, "overlap_sha256": digest}
        else:
            coarse = coarse_overlap(overlap, policy)
            shown = Shown(coarse, "coarse", owner_label)
            charge = 0.0
            detail = {"viewer_label": viewer_label, "coarse_area": coarse["coarse_area"]}
    disclosure_sql.add_disclosure(
        session,
        created_at=now,
        viewer_party_id=viewer,
        owner_party_id=owner,
        agreement_id=agreement_id,
        owner_notice_id=owner_notice_id,
        viewer_notice_id=viewer_notice_id,
        conflict_id=None,
        kind=shown.kind,
        exact=shown.kind == "exact",
        charge_km2h=charge,
        area_km2=area if shown.kind == "exact" else 0.0,
        start_at=start,
        end_at=end,
        detail=detail,
    )
    audit.record(
        session,
        "disclosure",
        [owner],
        {
            "own_notice_id": owner_notice_id,
            "counterpart": detail["viewer_label"],
            "kind": shown.kind,
            "area_km2": round(area, 3) if shown.kind == "exact" else None,
            "start": _iso(start),
            "end": _iso(end),
        },
        now=now,
    )
    if agreement_id is None:
        disclosure_sql.add_operator_event(
            session,
            "unaffiliated_conflict",
            {"parties": sorted({viewer, owner}), "start": _iso(start), "end": _iso(end)},
            now,
        )
    return shown


def _digest(overlap: Mapping[str, Any]) -> str:
    """SHA-256 of an overlap's canonical JSON (to recognise one shown before)."""
    text = json.dumps(overlap, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def record_notice_size(
    session: Session,
    notice_id: str,
    party_id: str,
    volumes: Iterable[tuple[float, datetime, datetime]],
    now: datetime,
) -> None:
    """Remember what a notice notifies (km^2 x h over its volumes ``(area_km2, start, end)``),
    the base of its owner's budget toward every counterpart."""
    items = list(volumes)
    total = sum(volume_km2h(a, s, e) for a, s, e in items)
    end = max((e for _, _, e in items), default=now)
    disclosure_sql.put_notice_size(session, notice_id, party_id, total, end, now)


def disclosures_for(session: Session, owner: str, limit: int = 500) -> list[dict[str, Any]]:
    """What counterparts have learned of ``owner``'s plans, newest first (owner's view)."""
    out = []
    for row in disclosure_sql.disclosures_of_owner(session, owner, limit):
        detail = row.detail or {}
        item: dict[str, Any] = {
            "id": int(row.id),
            "at": _iso(row.created_at),
            "counterpart": str(detail.get("viewer_label", "another party")),
            "own_notice_id": row.owner_notice_id,
            "kind": row.kind,
            "exact": bool(row.exact),
            "area_km2": round(float(row.area_km2), 3),
            "start": _iso(row.start_at),
            "end": _iso(row.end_at),
        }
        if detail.get("coarse_area"):
            item["coarse_area"] = detail["coarse_area"]
        out.append(item)
    return out


def operator_events(session: Session, limit: int = 500) -> list[dict[str, Any]]:
    """The broker operator's events (unaffiliated conflicts ...), newest first."""
    return [
        {"id": int(r.id), "at": _iso(r.created_at), "kind": r.kind, "data": dict(r.data)}
        for r in disclosure_sql.list_operator_events(session, limit)
    ]


def key_events(session: Session, party_id: str, limit: int = 500) -> list[dict[str, Any]]:
    """Who issued each of the party's keys (``operator`` or ``party_admin``), newest first."""
    return [
        {
            "id": int(r.id),
            "at": _iso(r.created_at),
            "key_id": r.key_id,
            "role": r.role,
            "issued_by": r.issued_by,
            "issuer_key_id": r.issuer_key_id,
        }
        for r in disclosure_sql.list_key_events(session, party_id, limit)
    ]


def issue_key(
    session: Session,
    *,
    issuer_role: str,
    issuer_key_id: str | None,
    party_id: str,
    role: str,
    now: datetime,
    expires_days: float | None = None,
    label: str = "",
) -> tuple[parties.KeyInfo, str]:
    """Issue an API key to a party under the trust model (docs/security.md).

    The broker operator may issue a party only its **first** key, a ``party_admin`` one;
    afterwards the party's own admins issue its keys (:class:`ForbiddenError` otherwise).
    Every issuance is recorded (``key_events``, ``GET /v1/key-events``), is a ledger entry
    the party can open (``key.issued``) and is announced on the party's stream (``event: key``).
    """
    if issuer_role == "operator":
        if role != "party_admin":
            raise ForbiddenError(
                "the broker operator issues only a party's first party_admin key; "
                "the party's own admins issue its other keys"
            )
        if parties.list_keys(session, party_id):
            raise ForbiddenError("the party already has keys: its own admins issue further keys")
    info, key = parties.create_key(
        session, party_id, role, now=now, expires_days=expires_days, label=label
    )
    issued_by = "operator" if issuer_role == "operator" else "party_admin"
    disclosure_sql.add_key_event(
        session,
        created_at=now,
        party_id=party_id,
        key_id=info.key_id,
        role=role,
        issued_by=issued_by,
        issuer_key_id=issuer_key_id,
    )
    index = audit.record(
        session,
        "key.issued",
        [party_id],
        {"key_id": info.key_id, "role": role, "issued_by": issued_by},
        now=now,
    )
    # Announced on the party's own stream (events.KeyEvent), never on another party's.
    outbox.publish(
        session,
        party_id,
        "key",
        {
            "key_id": info.key_id,
            "role": role,
            "issued_by": issued_by,
            "issuer_key_id": issuer_key_id,
            "at": _iso(now),
            "ledger_index": index,
        },
        now=now,
    )
    return info, key
