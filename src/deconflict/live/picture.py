"""Need-to-know: what one party may see of the live picture and of an alert.

This is the *only* place that renders live state for a party; the web layer sends nothing else.

* Own aircraft: every field (id, callsign, position, altitude, velocity, time, stale flag).
* Another party's aircraft: only while it is a subject of an **open** alert that includes the
  viewing party, and only the fields needed to act: position, altitude, velocity, and the
  alert's time to loss of separation and miss distances. It is named by an alert-scoped handle
  (``"<alert id>-<n>"``); its id and callsign never leave this module.
* Another party's volume: a handle only. Agreed lines are shared between their parties, so a
  line subject shows the line id.
* Another party's name: as the viewer knows it. ``names`` is either a flat mapping (party id ->
  name, the same for every viewer) or a :class:`PartyLabels`, which also holds what each viewer
  calls every other party (the pseudonym of their shared agreement when it uses pseudonyms, see
  :func:`deconflict.broker.agreements.display_table`); views are then rendered per viewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from deconflict.live.alerts import Alert
from deconflict.live.tracks import BoolArray, TrackStates, party_rows, row_index
from deconflict.times import utc_iso

ALERT_METRICS = ("t_out_s", "t_cpa_s", "hmd_nm", "vmd_ft", "range_nm", "vertical_ft", "outside_s")
"""Alert figures a party may see (units in the names)."""


def _num(value: float, digits: int) -> float | None:
    return round(float(value), digits) if np.isfinite(value) else None


class PartyLabels(Mapping[str, str]):
    """Party id -> own name (iterates every party), plus what each viewer calls the others.

    Parameters
    ----------
    names:
        Party id -> the party's own name.
    seen:
        Viewer party id -> {party id -> name shown to that viewer}. A viewer or party missing
        from it is shown as ``"another party"``, never by its name.
    """

    def __init__(self, names: Mapping[str, str], seen: Mapping[str, Mapping[str, str]]) -> None:
        self._names = dict(names)
        self._seen = {viewer: dict(labels) for viewer, labels in seen.items()}

    def __getitem__(self, party: str) -> str:
        return self._names[party]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def for_viewer(self, viewer: str) -> dict[str, str]:
        """Party id -> the name ``viewer`` sees it by (itself: its own name)."""
        seen = self._seen.get(viewer, {})
        out = {party: seen.get(party, "another party") for party in self._names}
        if viewer in self._names:
            out[viewer] = self._names[viewer]
        return out


def labels_for(names: Mapping[str, str] | None, viewer: str) -> Mapping[str, str]:
    """The id -> name mapping to render ``viewer``'s views with."""
    if isinstance(names, PartyLabels):
        return names.for_viewer(viewer)
    return names or {}


def relabel(view: Mapping[str, Any], shown: Mapping[str, str]) -> dict[str, Any]:
    """An :func:`alert_view` with its party names replaced through ``shown`` (name -> name).

    Used where a view was rendered with one flat ``names`` mapping for every viewer: party
    names are unique, so ``shown`` maps each party's name to the name the viewer knows it by.
    """
    out = dict(view)
    out["parties"] = [shown.get(p, p) for p in view.get("parties", [])]
    out["others"] = [
        {**o, "party": shown.get(o["party"], o["party"])} if "party" in o else dict(o)
        for o in view.get("others", [])
    ]
    return out


def handle(alert: Alert, index: int) -> str:
    """Alert-scoped handle of the ``index``-th subject (1-based) of ``alert``."""
    return f"{alert.id}-{index}"


def alert_view(
    alert: Alert, party: str, *, names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The JSON view of ``alert`` for ``party`` (must be one of its parties).

    ``names`` maps party ids to display names (ids are shown when absent), or is a
    :class:`PartyLabels` (each party shown as ``party`` knows it).
    """
    label = labels_for(names, party)
    own: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for index, subject in enumerate(alert.subjects, start=1):
        if subject.role == "line":
            own.append({"role": "line", "line_id": subject.ref})
        elif subject.party == party:
            ref_name = "id" if subject.role == "aircraft" else "key"
            own.append({"role": subject.role, ref_name: subject.ref})
        else:
            others.append(
                {
                    "role": subject.role,
                    "party": label.get(subject.party, subject.party),
                    "handle": handle(alert, index),
                }
            )
    metrics = {
        name: _num(alert.metrics[name], 3) for name in ALERT_METRICS if name in alert.metrics
    }
    graded = _graded(alert, party)
    return {
        "id": alert.id,
        "kind": alert.kind,
        "severity": alert.severity,
        "state": alert.state,
        "parties": [label.get(p, p) for p in alert.parties],
        "t_in_s": _num(alert.t_in_s, 1),
        **metrics,
        **graded,
        "own": own,
        "others": others,
        "acknowledged": party in alert.acked,
        "acknowledged_at": utc_iso(alert.acked.get(party)),
        "raised_at": utc_iso(alert.raised_at),
        "updated_at": utc_iso(alert.updated_at),
        "resolved_at": utc_iso(alert.resolved_at),
    }


def _graded(alert: Alert, party: str) -> dict[str, Any]:
    """Level, profile and coordinated guidance (``deconflict.live.daa``) as ``party`` may see
    them: guidance only for ``party``'s own aircraft, and whether another party's aircraft got
    one (never which)."""
    out: dict[str, Any] = {}
    if "level" in alert.metrics:
        out["level"] = int(alert.metrics["level"])
    if alert.profile:
        out["profile"] = alert.profile
    if alert.guidance:
        mine = [s.ref for s in alert.subjects if s.role == "aircraft" and s.party == party]
        theirs = [s.ref for s in alert.subjects if s.role == "aircraft" and s.party != party]
        out["guidance"] = [
            {"aircraft": ref, **alert.guidance[ref]} for ref in mine if ref in alert.guidance
        ]
        out["counterpart_guided"] = any(ref in alert.guidance for ref in theirs)
    return out


def _state_row(states: TrackStates, i: int) -> dict[str, Any]:
    """One row's kinematic fields, rounded for display (the slow per-row reference of
    :func:`_state_rows`)."""
    return {
        "lat": _num(states.lat_deg[i], 6),
        "lon": _num(states.lon_deg[i], 6),
        "alt_ft": _num(states.alt_ft[i], 0),
        "gs_kt": _num(states.gs_kt[i], 1),
        "track_deg": _num(states.track_deg[i], 1),
        "vs_fpm": _num(states.vs_fpm[i], 0),
    }


STATE_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("lat", "lat_deg", 6),
    ("lon", "lon_deg", 6),
    ("alt_ft", "alt_ft", 0),
    ("gs_kt", "gs_kt", 1),
    ("track_deg", "track_deg", 1),
    ("vs_fpm", "vs_fpm", 0),
)
"""Picture field, ``TrackStates`` column, decimals shown."""


def _rounded(values: Any, digits: int) -> list[float | None]:
    """:func:`_num` over an array at once: rounded to ``digits``, non-finite -> ``None``.

    ``np.round`` (scale, round half to even, unscale) instead of Python's correctly rounded
    ``round``: equal to :func:`_num` except, rarely, one unit in the last shown decimal at a
    half-way case (display precision; checked in ``tests/live/test_live_fastpaths.py``)."""
    arr = np.asarray(values, dtype=np.float64)
    out: list[float | None] = np.round(arr, digits).tolist()
    if arr.size and not np.isfinite(arr).all():
        for k in np.flatnonzero(~np.isfinite(arr)).tolist():
            out[k] = None
    return out


def _state_rows(states: TrackStates, rows: Any) -> list[dict[str, Any]]:
    """:func:`_state_row` of every row index in ``rows``, column by column."""
    idx = np.asarray(rows, dtype=np.intp)
    cols = [_rounded(getattr(states, col)[idx], digits) for _, col, digits in STATE_FIELDS]
    names = [name for name, _, _ in STATE_FIELDS]
    return [dict(zip(names, values, strict=True)) for values in zip(*cols, strict=True)]


def _time_strings(times_s: Any) -> list[str]:
    """ISO 8601 UTC of each Unix time (one conversion per distinct time)."""
    cache: dict[float, str] = {}
    out = []
    for t in np.asarray(times_s, dtype=np.float64).tolist():
        text = cache.get(t)
        if text is None:
            text = cache[t] = utc_iso(datetime.fromtimestamp(t, tz=UTC))
        out.append(text)
    return out


def visible_picture(
    states: TrackStates,
    alerts: Iterable[Alert],
    party: str,
    now: datetime,
    *,
    stale: BoolArray | None = None,
    names: Mapping[str, str] | None = None,
    max_own: int | None = None,
    include_alerts: bool = True,
    index: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The live picture ``party`` may see at ``now``.

    Parameters
    ----------
    states:
        Latest states of all parties' aircraft.
    alerts:
        Alerts (only open ones that include ``party`` are used).
    party:
        The viewing party.
    now:
        Time of the picture (UTC).
    stale:
        Optional per-row flag: no update within the stale time.
    names:
        Party id -> display name, or :class:`PartyLabels` (names as ``party`` knows them).
    max_own:
        If the party has more own aircraft than this, ``own`` is left empty and
        ``own_truncated`` set (clients then read ``GET /v1/picture``); ``own_count`` is exact.
    include_alerts:
        Include the party's alert views (``alerts``); otherwise only ``alert_ids`` (the views
        travel as ``alert`` events).
    index:
        Aircraft id -> row of ``states``, if the caller already has it (one per cycle).
    """
    label = labels_for(names, party)
    if index is None:
        index = row_index(states)
    own_rows = party_rows(states).get(party, np.zeros(0, dtype=np.intp))
    truncated = max_own is not None and own_rows.size > max_own
    own: list[dict[str, Any]] = []
    if not truncated and own_rows.size:
        rows = _state_rows(states, own_rows)
        times = _time_strings(states.time_s[own_rows])
        flags = stale[own_rows].tolist() if stale is not None else [False] * own_rows.size
        for i, row, when, flag in zip(own_rows.tolist(), rows, times, flags, strict=True):
            own.append(
                {
                    "id": str(states.ids[i]),
                    "callsign": str(states.callsign[i]),
                    **row,
                    "time": when,
                    "stale": bool(flag),
                }
            )
    views: list[Any] = []
    found: list[tuple[Alert, int, str, int]] = []  # alert, subject number, party, state row
    owners = states.party
    get = index.get
    for alert in alerts:
        if alert.state != "open" or party not in alert.parties:  # ``alert.is_open``, inlined
            continue
        views.append(alert_view(alert, party, names=names) if include_alerts else alert.id)
        for n, subject in enumerate(alert.subjects, start=1):
            if subject.role != "aircraft" or subject.party == party:
                continue
            pos = get(subject.ref)
            if pos is None or owners[pos] != subject.party:
                continue
            found.append((alert, n, subject.party, pos))
    traffic: list[dict[str, Any]] = []
    if found:
        picked = np.fromiter((f[3] for f in found), dtype=np.intp, count=len(found))
        lat, lon, alt, gs, track, vs = (
            _rounded(getattr(states, col)[picked], digits) for _, col, digits in STATE_FIELDS
        )
        nan = float("nan")
        t_in = _rounded([f[0].t_in_s for f in found], 1)
        hmd = _rounded([f[0].metrics.get("hmd_nm", nan) for f in found], 3)
        vmd = _rounded([f[0].metrics.get("vmd_ft", nan) for f in found], 0)
        traffic = [
            {  # the keys of ``handle`` ... ``_state_row`` ... in this order
                "handle": f"{alert.id}-{n}",
                "alert_id": alert.id,
                "party": label.get(owner, owner),
                "lat": lat[k],
                "lon": lon[k],
                "alt_ft": alt[k],
                "gs_kt": gs[k],
                "track_deg": track[k],
                "vs_fpm": vs[k],
                "t_in_s": t_in[k],
                "hmd_nm": hmd[k],
                "vmd_ft": vmd[k],
            }
            for k, (alert, n, owner, _pos) in enumerate(found)
        ]
    return {
        "party": label.get(party, party),
        "at": utc_iso(now),
        "own": own,
        "traffic": traffic,
        ("alerts" if include_alerts else "alert_ids"): views,
    }
