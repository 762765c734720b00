"""``deconflict cot``: the party's live picture from the broker to a TAK display as CoT events.

Every ``--interval`` seconds it reads ``GET /v1/picture`` with the party's key and sends, over
one TCP connection (``--to tcp://HOST:8087``, reconnected with backoff) or UDP datagrams
(``--to udp://HOST:PORT``; a multicast group such as 239.2.3.1:6969 works the same way):

* each own aircraft: ``a-f-A`` (friendly air), uid ``deconflict-own-<id>``, callsign;
* each aircraft of another party disclosed by an open alert: ``a-u-A`` (unknown air), uid
  ``deconflict-<handle>`` (the alert-scoped handle, never the other party's id), with the
  alert's time to loss of separation and miss distances in ``remarks``;
* each open alert: ``b-m-p-s-p-i`` (a point of interest) at the first own aircraft in it, uid
  ``deconflict-alert-<id>``, the alert summary in ``remarks``.

Heights: the broker's altitudes are pressure altitudes (ft); CoT wants metres above the WGS84
ellipsoid, which needs QNH and the geoid. The events carry ``hae`` = unknown (9999999.0) and the
pressure altitude in ``remarks`` rather than a wrong height.
"""

from __future__ import annotations

import socket
import sys
import time
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import pandas as pd
import typer

from deconflict.errors import InvalidInputError
from deconflict.formats.cot import cot_event
from deconflict.formats.gateway import Backoff
from deconflict.units import MPS_PER_KT

__all__ = ["picture_events", "register"]


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def picture_events(picture: dict[str, Any], *, stale_s: float) -> list[bytes]:
    """CoT events for one ``/v1/picture`` document (see the module docstring)."""
    now = pd.Timestamp.now(tz="UTC")
    events: list[bytes] = []
    where: dict[str, tuple[float, float]] = {}
    for plane in picture.get("own", []):
        lat, lon = _num(plane.get("lat")), _num(plane.get("lon"))
        if lat is None or lon is None:
            continue
        where[str(plane.get("id"))] = (lat, lon)
        gs, trk = _num(plane.get("gs_kt")), _num(plane.get("track_deg"))
        events.append(cot_event(
            uid=f"deconflict-own-{plane.get('id')}", cot_type="a-f-A", when=now, stale_s=stale_s,
            lat=lat, lon=lon, callsign=str(plane.get("callsign") or plane.get("id")),
            course_deg=trk, speed_mps=None if gs is None else gs * MPS_PER_KT,
            remarks=f"pressure altitude {plane.get('alt_ft')} ft",
        ))  # fmt: skip
    for other in picture.get("traffic", []):
        lat, lon = _num(other.get("lat")), _num(other.get("lon"))
        if lat is None or lon is None:
            continue
        gs, trk = _num(other.get("gs_kt")), _num(other.get("track_deg"))
        events.append(cot_event(
            uid=f"deconflict-{other.get('handle')}", cot_type="a-u-A", when=now, stale_s=stale_s,
            lat=lat, lon=lon, callsign=f"{other.get('party')} {other.get('handle')}",
            course_deg=trk, speed_mps=None if gs is None else gs * MPS_PER_KT,
            remarks=f"alert {other.get('alert_id')}: LoS in {other.get('t_in_s')} s, miss "
            f"{other.get('hmd_nm')} NM / {other.get('vmd_ft')} ft; pressure altitude "
            f"{other.get('alt_ft')} ft",
        ))  # fmt: skip
    for alert in picture.get("alerts", []):
        if not isinstance(alert, dict):
            continue
        mine = [o.get("id") for o in alert.get("own", []) if o.get("role") == "aircraft"]
        spot = next((where[str(i)] for i in mine if str(i) in where), None)
        if spot is None:
            continue
        events.append(cot_event(
            uid=f"deconflict-alert-{alert.get('id')}", cot_type="b-m-p-s-p-i", when=now,
            stale_s=stale_s, lat=spot[0], lon=spot[1],
            callsign=f"ALERT {alert.get('kind')} {alert.get('severity')}",
            remarks=f"{alert.get('kind')} alert {alert.get('id')} with "
            f"{', '.join(str(p) for p in alert.get('parties', []))}: LoS in "
            f"{alert.get('t_in_s')} s (raised {alert.get('raised_at')})",
        ))  # fmt: skip
    return events


class _Sender:
    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        if parts.scheme not in ("tcp", "udp") or not parts.hostname or parts.port is None:
            raise InvalidInputError(
                field="--to", reason=f"expected tcp://HOST:PORT or udp://HOST:PORT, got {target!r}"
            )
        self.scheme, self.address = parts.scheme, (parts.hostname, parts.port)
        self.sock: socket.socket | None = None

    def send(self, events: list[bytes]) -> None:
        if self.scheme == "udp":
            if self.sock is None:
                self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            for event in events:
                self.sock.sendto(event, self.address)
            return
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=10.0)
        self.sock.sendall(b"".join(events))

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def cot_command(
    broker: Annotated[str, typer.Option("--broker", help="Broker base URL.")],
    key: Annotated[str, typer.Option("--key", help="The party's API key (viewer is enough).")],
    to: Annotated[
        str, typer.Option("--to", help="tcp://HOST:8087 (TAK server) or udp://HOST:PORT.")
    ],
    interval_s: Annotated[
        float, typer.Option("--interval", help="Seconds between pictures.")
    ] = 2.0,
    stale_s: Annotated[float, typer.Option("--stale", help="CoT stale time, s.")] = 30.0,
    max_seconds: Annotated[
        float | None, typer.Option("--max-seconds", help="Stop after this many seconds.")
    ] = None,
) -> None:
    """Forward the party's aircraft, disclosed traffic and alerts to a TAK display as CoT."""
    if not interval_s > 0 or not stale_s > 0:
        raise InvalidInputError(field="--interval", reason="--interval and --stale must be > 0 s")
    sender = _Sender(to)
    backoff = Backoff(initial_s=0.5, max_s=30.0)
    sent = 0
    started = time.monotonic()
    with httpx.Client(base_url=broker.rstrip("/"), timeout=10.0) as client:
        try:
            while max_seconds is None or time.monotonic() - started < max_seconds:
                cycle = time.monotonic()
                try:
                    response = client.get("/v1/picture", headers={"Authorization": f"Bearer {key}"})
                    if response.status_code in (401, 403):
                        raise InvalidInputError(
                            field="--key", reason=f"refused: {response.text[:200]}"
                        )
                    response.raise_for_status()
                    events = picture_events(response.json(), stale_s=stale_s)
                    if events:
                        sender.send(events)
                        sent += len(events)
                    backoff.succeeded()
                except (httpx.HTTPError, OSError) as exc:
                    sender.close()
                    backoff.failed(time.monotonic())
                    sys.stderr.write(f"cot: {exc}; retrying in {backoff.current_s:.1f} s\n")
                    time.sleep(backoff.current_s)
                    continue
                time.sleep(max(0.0, interval_s - (time.monotonic() - cycle)))
        finally:
            sender.close()
    sys.stderr.write(f"sent {sent} CoT events\n")


def register(app: typer.Typer) -> None:
    """Register ``deconflict cot``."""
    app.command("cot", help="Forward the party's picture and alerts to a TAK display as CoT.")(
        cot_command
    )
