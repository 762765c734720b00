"""``deconflict feed`` and ``deconflict replay``: a party's own aircraft from a receiver or a
recording to the broker, through :class:`deconflict.formats.gateway.Gateway`."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from deconflict.errors import InvalidInputError
from deconflict.formats.clean import clean_reports
from deconflict.formats.gateway import Backoff, Gateway, OwnFilter
from deconflict.formats.modes import iter_beast
from deconflict.formats.readsb import poll_aircraft_json
from deconflict.formats.sbs import iter_sbs
from deconflict.formats.sources import INPUT_FORMATS, detect_format, read_reports
from deconflict.formats.streams import is_stream

BrokerOpt = Annotated[
    str, typer.Option("--broker", help="Broker base URL, e.g. http://127.0.0.1:8000")
]
KeyOpt = Annotated[str, typer.Option("--key", help="The party's API key (duty officer role).")]
OwnIdsOpt = Annotated[
    str | None,
    typer.Option("--own-ids", help="Own aircraft ids, comma-separated, or @FILE (one a line)."),
]
OwnIdPatternOpt = Annotated[
    str | None,
    typer.Option("--own-id-pattern", help="Regex on the whole id, e.g. '3c[0-9a-f]{4}'."),
]
OwnCallOpt = Annotated[
    str | None, typer.Option("--own-callsign-pattern", help="Regex on the whole callsign.")
]
AllOwnOpt = Annotated[
    bool, typer.Option("--all-own", help="Every aircraft of the source is the party's own.")
]
FormatOpt = Annotated[
    str | None, typer.Option("--input-format", help=f"One of: {', '.join(INPUT_FORMATS)}.")
]


def own_filter(
    ids: str | None, id_pattern: str | None, callsign: str | None, all_own: bool
) -> OwnFilter:
    """The :class:`OwnFilter` of the command-line options (``@FILE`` reads ids one a line)."""
    listed: set[str] = set()
    if ids:
        if ids.startswith("@"):
            try:
                text = Path(ids[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidInputError(
                    field="--own-ids", reason=f"cannot read {ids[1:]}: {exc}"
                ) from exc
            listed = {line.strip() for line in text.splitlines() if line.strip()}
        else:
            listed = {part.strip() for part in ids.split(",") if part.strip()}
    return OwnFilter(frozenset(listed), id_pattern, callsign, everything=all_own)


def _batches(source: str, kind: str, poll_s: float) -> Iterator[pd.DataFrame]:
    if kind == "sbs":
        yield from iter_sbs(source, max_wait_s=0.5)
    elif kind == "beast":
        yield from iter_beast(source, max_wait_s=0.5)
    elif kind == "aircraft-json" and source.lower().startswith(("http://", "https://")):
        while True:
            started = time.monotonic()
            yield poll_aircraft_json(source)
            time.sleep(max(0.0, poll_s - (time.monotonic() - started)))
    else:
        yield read_reports(source, input_format=kind)


def feed_command(
    source: Annotated[
        str,
        typer.Argument(
            help="tcp://HOST:30003 (SBS-1), tcp://HOST:30005 (Beast), '-', an aircraft.json "
            "URL or a file."
        ),
    ],
    broker: BrokerOpt,
    key: KeyOpt,
    own_ids: OwnIdsOpt = None,
    own_id_pattern: OwnIdPatternOpt = None,
    own_callsign_pattern: OwnCallOpt = None,
    all_own: AllOwnOpt = False,
    input_format: FormatOpt = None,
    batch: Annotated[int, typer.Option("--batch", help="Rows per POST.")] = 500,
    buffer: Annotated[
        int, typer.Option("--buffer", help="Rows kept while the broker is down.")
    ] = 50_000,
    poll_s: Annotated[
        float, typer.Option("--poll", help="aircraft.json URL poll interval, s.")
    ] = 1.0,
    max_seconds: Annotated[
        float | None, typer.Option("--max-seconds", help="Stop after this many seconds.")
    ] = None,
) -> None:
    """Send the party's own aircraft from SOURCE to the broker continuously."""
    own = own_filter(own_ids, own_id_pattern, own_callsign_pattern, all_own)
    kind = input_format or detect_format(source)
    gateway = Gateway(broker, key, own, batch_rows=batch, buffer_rows=buffer)
    reconnect = Backoff(initial_s=0.5, max_s=30.0)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        while True:
            try:
                for reports in _batches(source, kind, poll_s):
                    reconnect.succeeded()
                    gateway.offer(reports)
                    gateway.flush()
                    if deadline is not None and time.monotonic() > deadline:
                        break
            except (OSError, InvalidInputError) as exc:
                if not is_stream(source) and not source.lower().startswith("http"):
                    raise
                reconnect.failed(time.monotonic())
                sys.stderr.write(f"feed: {exc}; reconnecting in {reconnect.current_s:.1f} s\n")
                time.sleep(reconnect.current_s)
            if not (is_stream(source) and source.lower().startswith("tcp://")):
                break  # a file or stdin ended
            if deadline is not None and time.monotonic() > deadline:
                break
        _drain(gateway, deadline_s=10.0)
    finally:
        gateway.close()
    sys.stderr.write(gateway.stats.summary() + "\n")


def _drain(gateway: Gateway, *, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while gateway.buffered and time.monotonic() < end:
        gateway.flush()
        if gateway.buffered:
            time.sleep(min(0.2, max(0.0, gateway.backoff.not_before - time.monotonic())))


def replay_command(
    file: Annotated[str, typer.Argument(help="A recording in any input format.")],
    broker: BrokerOpt,
    key: KeyOpt,
    speed: Annotated[
        float, typer.Option("--speed", help="Replay speed factor (10 = ten times faster).")
    ] = 1.0,
    start: Annotated[
        str | None, typer.Option("--start", help="Start at this recording time (ISO 8601 UTC).")
    ] = None,
    own_ids: OwnIdsOpt = None,
    own_id_pattern: OwnIdPatternOpt = None,
    own_callsign_pattern: OwnCallOpt = None,
    all_own: AllOwnOpt = False,
    input_format: FormatOpt = None,
    batch: Annotated[int, typer.Option("--batch", help="Rows per POST.")] = 500,
    max_seconds: Annotated[
        float | None, typer.Option("--max-seconds", help="Stop after this many wall-clock seconds.")
    ] = None,
) -> None:
    """Re-time a recording to now and feed it to the broker through the gateway."""
    if not (np.isfinite(speed) and speed > 0):
        raise InvalidInputError(field="--speed", reason=f"must be > 0, got {speed}")
    own = own_filter(own_ids, own_id_pattern, own_callsign_pattern, all_own)
    reports, counts = clean_reports(read_reports(file, input_format=input_format))
    if "time" not in reports.columns:
        raise InvalidInputError(field="time", reason="a replay needs report times")
    reports = reports.sort_values("time", kind="stable")
    if start is not None:
        try:
            begin = pd.Timestamp(start)
        except ValueError as exc:
            raise InvalidInputError(field="--start", reason=f"not a time: {start!r}") from exc
        if begin.tzinfo is None:
            raise InvalidInputError(
                field="--start", reason="give a UTC offset, e.g. 2021-10-07T12:30:00Z"
            )
        reports = reports[reports["time"] >= begin]
    sys.stderr.write(counts.summary() + "\n")
    gateway = Gateway(broker, key, own, batch_rows=batch)
    try:
        if len(reports):
            _replay(gateway, reports, speed, max_seconds)
        _drain(gateway, deadline_s=10.0)
    finally:
        gateway.close()
    sys.stderr.write(gateway.stats.summary() + "\n")


def _replay(
    gateway: Gateway, reports: pd.DataFrame, speed: float, max_seconds: float | None
) -> None:
    rec_s = reports["time"].to_numpy(dtype="datetime64[ns]").view(np.int64) / 1e9
    t0 = rec_s[0]
    wall0 = time.time()
    due = wall0 + (rec_s - t0) / speed
    step = np.floor((due - wall0) / 0.5).astype(np.int64)  # post every 0.5 s of wall time
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(step)) + 1, [len(step)]))
    for k in range(len(bounds) - 1):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        wait = due[hi - 1] - time.time()
        if max_seconds is not None and due[hi - 1] - wall0 > max_seconds:
            break
        if wait > 0:
            time.sleep(wait)
        gateway.offer(reports.iloc[lo:hi], times_s=np.minimum(due[lo:hi], time.time()))
        gateway.flush()


def register(app: typer.Typer) -> None:
    """Register ``deconflict feed`` (``deconflict replay`` registers from its own module)."""
    app.command(
        "feed", help="Send the party's own aircraft from a receiver or feed to the broker."
    )(feed_command)
