"""Drive the simulated duty officers against a running broker, through its HTTP API only.

Each :meth:`OfficerDriver.step` (about once a second of wall time) reads, for every simulated
party, its open alerts (``GET /v1/alerts``), its hotline threads and the messages of the threads
that changed (``GET /v1/hotline/threads``, ``GET /v1/hotline/messages?thread=``) and, every few
steps, the incidents naming it (``GET /v1/incidents``); it tells the party's
:class:`~deconflict.sim.officer.DutyOfficer` what it saw and carries out the actions that are
due (acknowledge, send, file, respond, close). The officer's own aircraft positions come from
the scenario (the simulator knows its own aircraft); the other side's come from nowhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from deconflict.sim.officer import (
    Action,
    AlertSeen,
    DutyOfficer,
    GuidanceSeen,
    IncidentSeen,
    Incoming,
)

INCIDENT_POLL_STEPS = 5
"""Read the incidents every this many steps."""


@dataclass
class _PartyView:
    name: str
    party_id: str
    key: str
    threads: dict[str, str] = field(default_factory=dict)  # thread id -> last_message_at
    watched_threads: set[str] = field(default_factory=set)


class OfficerDriver:
    """Carries out the decisions of simulated duty officers over HTTP.

    Parameters
    ----------
    client:
        An ``httpx.Client`` with the broker's base URL.
    officers:
        Party name -> its simulated officer.
    keys, party_ids:
        Party name -> duty-officer API key / party id.
    log:
        Called with one line per act (for the terminal).
    """

    def __init__(
        self,
        client: httpx.Client,
        officers: Mapping[str, DutyOfficer],
        *,
        keys: Mapping[str, str],
        party_ids: Mapping[str, str],
        log: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.client = client
        self.officers = dict(officers)
        self.views = {p: _PartyView(p, party_ids[p], keys[p]) for p in self.officers}
        self.log = log
        self.counts: Counter[str] = Counter()
        self.escalated: set[str] = set()
        self._steps = 0

    # ------------------------------------------------------------------ HTTP helpers
    def _get(self, party: str, path: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.views[party].key}"}
        response = self.client.get(path, params=params or None, headers=headers)
        if response.status_code != 200:
            self.counts["http_errors"] += 1
            return None
        return response.json()

    def _post(self, party: str, path: str, body: Mapping[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self.views[party].key}"}
        response = self.client.post(path, json=dict(body), headers=headers)
        if response.status_code >= 400:
            self.counts["refused"] += 1
            self.log(f"{party}: {path} refused ({response.status_code}): {response.text[:200]}")
            return None
        return response.json()

    def _mine(self, party: str, ref: Any) -> bool:
        view = self.views[party]
        if isinstance(ref, Mapping):
            return ref.get("name") == view.name or ref.get("id") in (view.party_id, view.name)
        return ref in (view.name, view.party_id)

    # ------------------------------------------------------------------ one step
    def step(self, t_s: float, states: Mapping[str, Any]) -> None:
        """Observe and act once, at scenario time ``t_s`` (``states``: the scenario's columns
        at ``t_s``, for the officers' own aircraft)."""
        self._steps += 1
        rows = {str(a): k for k, a in enumerate(states["ids"])}
        for party, officer in self.officers.items():
            self._alerts(party, officer, t_s, states, rows)
            self._hotline(party, officer, t_s)
            if self._steps % INCIDENT_POLL_STEPS == 1:
                self._incidents(party, officer, t_s)
            for action in officer.due(t_s):
                self._do(party, officer, action)

    def _alerts(
        self,
        party: str,
        officer: DutyOfficer,
        t_s: float,
        states: Mapping[str, Any],
        rows: Mapping[str, int],
    ) -> None:
        alerts = self._get(party, "/v1/alerts")
        for alert in alerts or []:
            others = alert.get("others") or []
            other_party = next((str(o["party"]) for o in others if o.get("party")), None)
            handle = next((str(o["handle"]) for o in others if o.get("role") == "aircraft"), None)
            own = next(
                (str(o["id"]) for o in alert.get("own") or [] if o.get("role") == "aircraft"),
                None,
            )
            guidance = tuple(
                GuidanceSeen(
                    aircraft=str(g["aircraft"]),
                    dimension=str(g["dimension"]),
                    side=str(g["side"]),
                    value=float(g["value"]),
                    current=float(g.get("current") or 0.0),
                )
                for g in alert.get("guidance") or []
            )
            seen: dict[str, Any] = {}
            k = rows.get(own) if own is not None else None
            if k is not None and states["party"][k] == party:
                seen = {
                    "own_callsign": str(states["callsign"][k]),
                    "lat_deg": float(states["lat_deg"][k]),
                    "lon_deg": float(states["lon_deg"][k]),
                    "alt_ft": float(states["alt_ft"][k]),
                }
            officer.on_alert(
                AlertSeen(
                    id=str(alert["id"]),
                    kind=str(alert.get("kind")),
                    severity=str(alert.get("severity")),
                    other_party=other_party,
                    own_aircraft=own if seen else None,
                    hmd_nm=_num(alert.get("hmd_nm")),
                    vmd_ft=_num(alert.get("vmd_ft")),
                    t_cpa_s=_num(alert.get("t_cpa_s")),
                    other_handle=handle,
                    own_handle=_own_handle(str(alert["id"]), len(alert.get("own") or []), others),
                    level=alert.get("level") if isinstance(alert.get("level"), int) else None,
                    profile=str(alert["profile"]) if alert.get("profile") else None,
                    guidance=guidance,
                    counterpart_guided=bool(alert.get("counterpart_guided")),
                    **seen,
                ),
                t_s,
            )

    def _hotline(self, party: str, officer: DutyOfficer, t_s: float) -> None:
        view = self.views[party]
        threads = self._get(party, "/v1/hotline/threads")
        watched = set(officer.sent_ids())
        for thread in threads or []:
            tid = str(thread["id"])
            changed = view.threads.get(tid) != thread.get("last_message_at")
            if not (changed or thread.get("awaiting_my_ack") or tid in view.watched_threads):
                continue
            view.threads[tid] = thread.get("last_message_at")
            messages = self._get(party, "/v1/hotline/messages", thread=tid)
            still_watched = False
            for m in messages or []:
                mid = str(m["id"])
                if m.get("escalations"):
                    self.escalated.add(mid)
                if self._mine(party, m.get("sender")):
                    if mid in watched:
                        officer.on_sent_status(
                            mid,
                            answered=bool(m.get("acks")),
                            escalated=bool(m.get("escalations")),
                            t_s=t_s,
                        )
                        still_watched = still_watched or mid in officer.sent_ids()
                    continue
                answers = tuple(str(a["answer"]) for a in m.get("acks") or [])
                officer.on_message(
                    Incoming(
                        id=mid,
                        thread_id=tid,
                        template=str(m.get("template")),
                        precedence=str(m.get("precedence")),
                        sender=str((m.get("sender") or {}).get("name", "")),
                        answers=answers,
                    ),
                    t_s,
                )
            if still_watched:
                view.watched_threads.add(tid)
            else:
                view.watched_threads.discard(tid)

    def _incidents(self, party: str, officer: DutyOfficer, t_s: float) -> None:
        for inc in self._get(party, "/v1/incidents") or []:
            history = inc.get("history") or []
            mine = [h for h in history if self._mine(party, h.get("party"))]
            officer.on_incident(
                IncidentSeen(
                    id=str(inc["id"]),
                    reporter=party if self._mine(party, inc.get("reporter")) else "other",
                    state=str(inc.get("state")),
                    responded=any(h.get("act") == "responded" for h in mine),
                    agreed_to_close=any(h.get("act") == "closure_agreed" for h in mine),
                ),
                t_s,
            )

    # ------------------------------------------------------------------ acts
    def _do(self, party: str, officer: DutyOfficer, action: Action) -> None:
        kind, ref, body = action.kind, action.ref, action.body
        if kind == "ack":
            body = {"answer": action.answer}
            if action.reason:
                body["reason"] = action.reason
        path = {
            "ack": f"/v1/hotline/messages/{ref}/ack",
            "send": "/v1/hotline/messages",
            "ack_alert": f"/v1/alerts/{ref}/ack",
            "file_incident": "/v1/incidents",
            "respond": f"/v1/incidents/{ref}/responses",
            "close": f"/v1/incidents/{ref}/close",
        }[kind]
        done = self._post(party, path, body)
        if done is None:
            return
        self.counts[kind] += 1
        if kind == "send":
            officer.sent(action.key, str(done["id"]))
            self.views[party].watched_threads.add(str(done.get("thread_id", "")))
            self.log(
                f"{party} officer sends {str(body['precedence']).upper()} "
                f"{body['template']} to {body['recipient']}"
            )
        elif kind == "ack":
            self.log(f"{party} officer answers {action.answer} to message {ref}")
        elif kind == "file_incident":
            self.log(
                f"{party} officer files an {body['category']} incident "
                f"against {', '.join(body['other_parties'])}"
            )
        elif kind == "respond":
            self.log(f"{party} officer responds to incident {ref}")
        elif kind == "close":
            self.log(f"{party} officer agrees to close incident {ref}")


def _own_handle(alert_id: str, n_own: int, others: list[Any]) -> str | None:
    """The handle the other party knows our aircraft by, in a two-subject alert: subjects are
    numbered ``<alert id>-1``, ``-2`` (``live/picture.py``); ours is the number theirs is not."""
    taken = {str(o.get("handle")) for o in others}
    if n_own != 1 or len(others) != 1:
        return None
    free = [f"{alert_id}-{k}" for k in (1, 2) if f"{alert_id}-{k}" not in taken]
    return free[0] if len(free) == 1 else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
