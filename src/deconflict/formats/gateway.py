"""The live gateway: a party's own aircraft from any feed to the broker's ``POST /v1/tracks``.

:class:`Gateway` takes assembled reports (:mod:`deconflict.formats.states`) as they arrive,
keeps only the party's own aircraft (:class:`OwnFilter`: an explicit id list and/or a rule on
ids or callsigns; other parties' aircraft ids are never sent), drops incomplete and ground
reports, and holds the rest in a bounded local buffer (oldest dropped first when full). Each
:meth:`Gateway.flush` posts the buffer in batches; when the broker is unreachable or answers
5xx the rows stay buffered and the next attempt waits with exponential backoff. Rows older than
the broker's acceptance window (``max_past_s``) are dropped before sending.
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pandas as pd

from deconflict.errors import InvalidInputError

__all__ = ["Backoff", "Gateway", "GatewayStats", "OwnFilter"]

_STATE_FIELDS = ("lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm")


@dataclass(frozen=True)
class OwnFilter:
    """Which aircraft are the party's own: ``ids`` (exact, case-insensitive), ``id_pattern``
    (regular expression matched against the whole id, e.g. ``3c[0-9a-f]{4}``) or
    ``callsign_pattern`` (e.g. ``(GAF|GAM)\\d+``). At least one must be set: sending every aircraft
    a receiver hears would report other parties' aircraft as ours."""

    ids: frozenset[str] = frozenset()
    id_pattern: str | None = None
    callsign_pattern: str | None = None
    everything: bool = False
    """Every aircraft of the source is own (a recording of the party's own fleet)."""

    def __post_init__(self) -> None:
        if self.everything:
            return
        if not self.ids and not self.id_pattern and not self.callsign_pattern:
            raise InvalidInputError(
                field="--own",
                reason="say which aircraft are yours: --own-ids, --own-id-pattern or "
                "--own-callsign-pattern",
            )
        for name, pattern in (("--own-id-pattern", self.id_pattern),
                              ("--own-callsign-pattern", self.callsign_pattern)):  # fmt: skip
            if pattern:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise InvalidInputError(field=name, reason=f"bad pattern: {exc}") from exc

    def mask(self, reports: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """True for the rows of the party's own aircraft."""
        if self.everything:
            return np.ones(len(reports), dtype=bool)
        ids = reports["id"].astype(str).str.lower()
        keep = np.array(ids.isin({i.lower() for i in self.ids}).to_numpy(dtype=bool), copy=True)
        if self.id_pattern:
            keep |= ids.str.fullmatch(self.id_pattern, case=False).fillna(False).to_numpy(bool)
        if self.callsign_pattern and "callsign" in reports.columns:
            calls = reports["callsign"].fillna("").astype(str)
            keep |= calls.str.fullmatch(self.callsign_pattern).fillna(False).to_numpy(bool)
        return keep


@dataclass
class Backoff:
    """Exponential backoff: ``initial_s``, doubling up to ``max_s``; reset on success."""

    initial_s: float = 0.5
    max_s: float = 30.0
    current_s: float = 0.0
    not_before: float = 0.0

    def failed(self, now: float) -> None:
        self.current_s = (
            self.initial_s if self.current_s == 0 else min(self.current_s * 2, self.max_s)
        )
        self.not_before = now + self.current_s

    def succeeded(self) -> None:
        self.current_s = 0.0
        self.not_before = 0.0

    def ready(self, now: float) -> bool:
        return now >= self.not_before


@dataclass
class GatewayStats:
    """What the gateway did (counts of rows)."""

    offered: int = 0
    foreign: int = 0
    unusable: int = 0
    sent: int = 0
    overflow: int = 0
    expired: int = 0
    failures: int = 0
    last_error: str = ""

    def summary(self) -> str:
        """One line for the operator."""
        return (
            f"sent {self.sent} states; skipped {self.foreign} not own, {self.unusable} "
            f"incomplete/ground; dropped {self.overflow} (buffer full), {self.expired} (too old); "
            f"{self.failures} failed posts"
        )


@dataclass
class Gateway:
    """Batches own-aircraft states to the broker (see the module docstring)."""

    broker_url: str
    key: str
    own: OwnFilter
    batch_rows: int = 500
    buffer_rows: int = 50_000
    max_past_s: float = 110.0
    client: httpx.Client | None = None
    clock: Callable[[], float] = time.time
    backoff: Backoff = field(default_factory=Backoff)
    stats: GatewayStats = field(default_factory=GatewayStats)
    _buffer: deque[tuple[Any, ...]] = field(init=False)

    def __post_init__(self) -> None:
        if self.batch_rows < 1 or self.buffer_rows < 1:
            raise InvalidInputError(field="--batch", reason="batch and buffer sizes must be >= 1")
        self._buffer = deque(maxlen=self.buffer_rows)
        if self.client is None:
            self.client = httpx.Client(base_url=self.broker_url.rstrip("/"), timeout=10.0)

    @property
    def buffered(self) -> int:
        """Rows waiting to be sent."""
        return len(self._buffer)

    def offer(self, reports: pd.DataFrame, *, times_s: Iterable[float] | None = None) -> None:
        """Queue the own, complete, airborne reports (``times_s`` overrides their times, Unix s)."""
        if len(reports) == 0:
            return
        self.stats.offered += len(reports)
        own = self.own.mask(reports)
        self.stats.foreign += int((~own).sum())
        values = {c: reports[c].to_numpy(dtype=np.float64) for c in _STATE_FIELDS}
        usable = np.all([np.isfinite(values[c]) for c in _STATE_FIELDS], axis=0)
        if "onground" in reports.columns:
            usable &= ~(reports["onground"].to_numpy(dtype=np.float64) > 0.5)
        usable &= values["gs_kt"] >= 0
        keep = own & usable
        self.stats.unusable += int((own & ~usable).sum())
        if times_s is None:
            stamps = reports["time"].to_numpy(dtype="datetime64[ns]").view(np.int64) / 1e9
        else:
            stamps = np.asarray(list(times_s), dtype=np.float64)
        calls = (
            reports["callsign"].fillna("").astype(str).str.slice(0, 16).to_numpy(dtype=object)
            if "callsign" in reports.columns
            else np.full(len(reports), "", dtype=object)
        )
        ids = reports["id"].astype(str).to_numpy(dtype=object)
        for k in np.flatnonzero(keep):
            if len(self._buffer) == self._buffer.maxlen:
                self.stats.overflow += 1
            self._buffer.append(
                (float(stamps[k]), ids[k], calls[k], *(float(values[c][k]) for c in _STATE_FIELDS))
            )

    def flush(self) -> int:
        """Post buffered rows in batches; returns rows sent. Never raises on network errors:
        failed rows stay buffered and :attr:`backoff` delays the next attempt."""
        now = self.clock()
        while self._buffer and self._buffer[0][0] < now - self.max_past_s:
            self._buffer.popleft()
            self.stats.expired += 1
        if not self._buffer or not self.backoff.ready(time.monotonic()):
            return 0
        sent = 0
        while self._buffer:
            rows = [self._buffer[k] for k in range(min(self.batch_rows, len(self._buffer)))]
            latest: dict[str, int] = {}
            for k, row in enumerate(rows):  # one state per aircraft per batch: the newest
                if row[1] not in latest or rows[latest[row[1]]][0] <= row[0]:
                    latest[row[1]] = k
            chosen = [rows[k] for k in sorted(latest.values())]
            body = {
                "time": [min(r[0], now) for r in chosen],
                "id": [r[1] for r in chosen],
                "callsign": [r[2] for r in chosen],
                **{c: [r[3 + j] for r in chosen] for j, c in enumerate(_STATE_FIELDS)},
            }
            try:
                assert self.client is not None
                response = self.client.post(
                    "/v1/tracks", json=body, headers={"Authorization": f"Bearer {self.key}"}
                )
            except httpx.HTTPError as exc:
                self._failed(f"broker unreachable: {exc}")
                return sent
            if response.status_code >= 500 or response.status_code == 429:
                self._failed(f"broker answered {response.status_code}")
                return sent
            for _ in rows:
                self._buffer.popleft()
            if response.status_code >= 400:  # the broker refused this batch: do not resend it
                self.stats.failures += 1
                self.stats.last_error = f"{response.status_code}: {response.text[:300]}"
                if response.status_code in (401, 403):
                    raise InvalidInputError(
                        field="--key",
                        reason=f"the broker refused the key or an id: {response.text[:300]}",
                    )
                continue
            self.backoff.succeeded()
            sent += len(chosen)
            self.stats.sent += len(chosen)
        return sent

    def _failed(self, message: str) -> None:
        self.stats.failures += 1
        self.stats.last_error = message
        self.backoff.failed(time.monotonic())

    def close(self) -> None:
        """Close the HTTP client."""
        if self.client is not None:
            self.client.close()


def finite(value: float) -> bool:
    """True for a finite float (helper for callers validating options)."""
    return math.isfinite(value)
