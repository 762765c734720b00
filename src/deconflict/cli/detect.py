"""``deconflict detect``: predicted losses of separation in a recording or feed.

Reads any input of :mod:`deconflict.formats.sources` (our CSV/JSONL/Parquet columns, SBS-1,
aircraft.json, readsb traces, raw Mode S and Beast, OpenSky, ASTERIX CAT021/062, CoT), drops and
counts unusable reports (:mod:`deconflict.formats.clean`; ``--strict`` fails fast instead), aligns
the rest onto a common clock (``--align``, default 1 s) and runs the tactical detector at every
tick (:func:`deconflict.formats.frames.detect_frames`). Writes one record per conflicting pair per
tick, or with ``--events`` one per encounter, to stdout or ``--out`` (.jsonl, .csv, .parquet,
.geojson, .kml by suffix). Files without a ``time`` column are one snapshot, as before.

stderr: first the cleaning summary (``read R reports, kept K, dropped D (ground ..., ...)``), last
``detected K conflicts among N aircraft in S s``: K counts records (pair-ticks), N aircraft states
summed over ticks, S the detector time without I/O.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, TextIO

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from deconflict.cluster.ray_detect import detect_arrays_ray, detect_cycle, ensure_ray
from deconflict.errors import InvalidInputError
from deconflict.formats.clean import prepare_states
from deconflict.formats.events import merge_encounters
from deconflict.formats.frames import detect_frames
from deconflict.formats.outputs import output_format_of, write_table
from deconflict.formats.sources import read_reports
from deconflict.formats.tracks import Snapshot, split_snapshots
from deconflict.tactical import (
    CONFLICT_COLUMNS,
    HORIZONTAL_NM,
    LOOKAHEAD_S,
    VERTICAL_FT,
    detect,
    detect_arrays,
    warm_up,
)
from deconflict.tactical.frame import ArraysKernel

OUTPUT_DECIMALS: Final = {
    "t_in_s": 2,
    "t_out_s": 2,
    "t_cpa_s": 2,
    "hmd_nm": 4,
    "vmd_ft": 1,
    "range_nm": 4,
    "vertical_ft": 1,
    "bearing_deg": 2,
}
"""Decimals written per column: 0.01 s, 0.0001 NM (0.2 m), 0.1 ft, 0.01 deg."""


_ROW_REFERENCE = re.compile(r"\brow (\d+)")


class VerticalModeOption(StrEnum):
    """``--vertical-mode`` values (passed to :func:`deconflict.tactical.detect` as text)."""

    strict = "strict"
    flight_level = "flight-level"


class EngineOption(StrEnum):
    """``--engine`` values (see :mod:`deconflict.cluster.ray_detect`)."""

    auto = "auto"
    local = "local"
    ray = "ray"


def _kernel_of(engine: EngineOption) -> ArraysKernel:
    """The arrays detector for ``--engine``, warmed up (no compilation inside the timing)."""
    warm_up()
    if engine is EngineOption.ray:
        ensure_ray()
        return detect_arrays_ray
    return detect_cycle if engine is EngineOption.auto else detect_arrays


class OutputFormat(StrEnum):
    """``--format`` values."""

    jsonl = "jsonl"
    csv = "csv"


@dataclass(frozen=True)
class DetectionRun:
    """What :func:`detect_snapshots` found.

    Attributes
    ----------
    conflicts:
        One row per conflicting pair per snapshot: ``time`` (only when the snapshots have times),
        then the tactical detector's columns.
    aircraft:
        Aircraft states examined, summed over snapshots.
    snapshots:
        Number of snapshots.
    detect_s:
        Wall-clock seconds spent inside the detector (validation + detection).
    """

    conflicts: pd.DataFrame
    aircraft: int
    snapshots: int
    detect_s: float


def detect_snapshots(
    snapshots: Sequence[Snapshot],
    *,
    horizontal_nm: float = HORIZONTAL_NM,
    vertical_ft: float = VERTICAL_FT,
    lookahead_s: float = LOOKAHEAD_S,
    vertical_mode: str = "strict",
    kernel: ArraysKernel = detect_arrays,
) -> DetectionRun:
    """Run the tactical detector on every snapshot and stack the conflicts.

    Errors the detector raises for a snapshot row are re-raised naming the *file* row.
    """
    frames: list[pd.DataFrame] = []
    times: list[str] = []
    elapsed_s = 0.0
    aircraft = 0
    timed = any(s.time is not None for s in snapshots)
    for snapshot in snapshots:
        started = clock.perf_counter()
        try:
            found = detect(
                snapshot.states,
                horizontal_nm=horizontal_nm,
                vertical_ft=vertical_ft,
                lookahead_s=lookahead_s,
                vertical_mode=vertical_mode,
                kernel=kernel,
            )
        except InvalidInputError as exc:
            raise in_file_rows(exc, snapshot) from exc
        elapsed_s += clock.perf_counter() - started
        aircraft += len(snapshot.states)
        if len(found):
            frames.append(found)
            times.append(_iso_utc(snapshot.time))
    if frames:
        conflicts = pd.concat(frames, ignore_index=True)
        if timed:  # one insert for all snapshots instead of a copy and an insert per snapshot
            lengths = [len(f) for f in frames]
            conflicts.insert(0, "time", np.repeat(np.array(times, dtype=object), lengths))
    else:
        with_party = any("party" in s.states.columns for s in snapshots)
        columns = ["time"] * timed + list(CONFLICT_COLUMNS) + ["party_a", "party_b"] * with_party
        conflicts = pd.DataFrame({c: [] for c in columns})
    return DetectionRun(conflicts, aircraft, len(snapshots), elapsed_s)


def in_file_rows(exc: InvalidInputError, snapshot: Snapshot) -> InvalidInputError:
    """The same error with the snapshot-relative row translated to the file's data row."""
    row: int | str | None = exc.row
    if isinstance(row, int) and 1 <= row <= len(snapshot.rows):
        row = snapshot.file_row(row)

    def file_row(match: re.Match[str]) -> str:
        k = int(match.group(1))
        return f"row {snapshot.file_row(k)}" if 1 <= k <= len(snapshot.rows) else match.group(0)

    # A reason may cite another row (``duplicate id 'X' (first at row 3)``): translate it too.
    reason = _ROW_REFERENCE.sub(file_row, exc.reason)
    if snapshot.time is not None:
        reason = f"{reason} (snapshot {_iso_utc(snapshot.time)})"
    return InvalidInputError(field=exc.field, reason=reason, row=row)


def _iso_utc(when: pd.Timestamp | None) -> str:
    """``2018-08-01T05:00:00Z`` (fractional seconds only when present)."""
    if when is None:
        return ""
    text = when.tz_convert("UTC").isoformat()
    return text.replace("+00:00", "Z")


def write_conflicts(conflicts: pd.DataFrame, out: TextIO, output_format: str) -> None:
    """Write conflicts as JSON lines or CSV (rounded per :data:`OUTPUT_DECIMALS`)."""
    rounded = conflicts.round({k: v for k, v in OUTPUT_DECIMALS.items() if k in conflicts})
    if output_format == OutputFormat.csv.value:
        rounded.to_csv(out, index=False, lineterminator="\n")
        return
    columns = list(rounded.columns)
    for values in rounded.itertuples(index=False, name=None):
        record = {c: _json_value(v) for c, v in zip(columns, values, strict=True)}
        out.write(json.dumps(record, allow_nan=False))
        out.write("\n")


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _json_value(value.item())
    return value


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise InvalidInputError(field=name, reason=f"must be a positive number, got {value}")


class InputFormatOption(StrEnum):
    """``--input-format`` values (see :mod:`deconflict.formats.sources`)."""

    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"
    sbs = "sbs"
    aircraft_json = "aircraft-json"
    readsb_trace = "readsb-trace"
    modes_hex = "modes-hex"
    beast = "beast"
    opensky_json = "opensky-json"
    asterix = "asterix"
    cot = "cot"


def detect_command(
    file: Annotated[
        str,
        typer.Argument(
            help="Input: a file (.csv[.gz], .jsonl, .parquet, .sbs, .bin, .json, .pcap, .ast, "
            ".xml ...), a directory of aircraft.json polls, '-' (SBS-1 on stdin), tcp://HOST:PORT "
            "or an aircraft.json URL."
        ),
    ],
    horizontal_nm: Annotated[
        float, typer.Option("--horizontal-nm", help="Horizontal minimum, NM.")
    ] = HORIZONTAL_NM,
    vertical_ft: Annotated[
        float, typer.Option("--vertical-ft", help="Vertical minimum, ft.")
    ] = VERTICAL_FT,
    lookahead_s: Annotated[
        float, typer.Option("--lookahead-s", help="Look-ahead, s.")
    ] = LOOKAHEAD_S,
    vertical_mode: Annotated[
        VerticalModeOption,
        typer.Option(
            "--vertical-mode",
            help="strict: the cylinder on reported altitudes; flight-level: level aircraft are "
            "compared by their flight level (adjacent levels do not alert).",
        ),
    ] = VerticalModeOption.strict,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option("--format", help="Output format on stdout (default jsonl; --out: by suffix)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write here instead of stdout: .jsonl, .csv, .parquet, .geojson, .kml."
        ),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="Rename a file column, SOURCE=TARGET (e.g. hex=id); repeatable. "
            "icao24=id and timestamp=time apply by default.",
        ),
    ] = None,
    input_format: Annotated[
        InputFormatOption | None,
        typer.Option("--input-format", help="Input format (default: by suffix or contents)."),
    ] = None,
    align_s: Annotated[
        float,
        typer.Option(
            "--align",
            help="Put reports on a common clock every S seconds (0: snapshots are rows with "
            "identical times).",
        ),
    ] = 1.0,
    max_age_s: Annotated[
        float,
        typer.Option(
            "--max-age", help="Drop an aircraft from ticks more than S s after its last report."
        ),
    ] = 15.0,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Stop at the first bad row (naming row and field) instead of dropping ground, "
            "incomplete, implausible and glitch reports.",
        ),
    ] = False,
    events: Annotated[
        bool,
        typer.Option("--events", help="Merge per-snapshot records into encounters (one per pair)."),
    ] = False,
    event_gap_s: Annotated[
        float, typer.Option("--event-gap", help="Alerts further apart start a new encounter, s.")
    ] = 60.0,
    engine: Annotated[
        EngineOption,
        typer.Option(
            "--engine",
            help="local: this process; ray: geographic tiles on Ray (same answer); auto: Ray "
            "from DECONFLICT_RAY_THRESHOLD aircraft per snapshot (DECONFLICT_DETECT_ENGINE).",
        ),
    ] = EngineOption.auto,
) -> None:
    """Find predicted losses of separation between aircraft in FILE."""
    _positive("--horizontal-nm", horizontal_nm)
    _positive("--vertical-ft", vertical_ft)
    _positive("--lookahead-s", lookahead_s)
    if not (math.isfinite(align_s) and align_s >= 0):
        raise InvalidInputError(field="--align", reason=f"must be >= 0 s, got {align_s}")
    if not (math.isfinite(max_age_s) and max_age_s >= 0):
        raise InvalidInputError(field="--max-age", reason=f"must be >= 0 s, got {max_age_s}")
    kind = output_format.value if output_format is not None else "jsonl"
    if out is not None:
        kind = output_format_of(out) if output_format is None else output_format.value
    mapping = _parse_mapping(column or [])
    reports = read_reports(
        file,
        input_format=input_format.value if input_format is not None else None,
        column_mapping=mapping or None,
    )
    states, counts = prepare_states(reports, align_s=align_s, max_age_s=max_age_s, strict=strict)
    timed = "time" in states.columns
    kernel = _kernel_of(engine)
    with _Progress() as bar:
        if timed:
            started = clock.perf_counter()
            conflicts = detect_frames(
                states,
                horizontal_nm=horizontal_nm,
                vertical_ft=vertical_ft,
                lookahead_s=lookahead_s,
                vertical_mode=vertical_mode.value,
                progress=bar.update,
                kernel=kernel,
            )
            detect_s = clock.perf_counter() - started
            n_snapshots = int(states["time"].nunique())
            aircraft = len(states)
        else:
            snapshots = split_snapshots(states)
            run = detect_snapshots(
                snapshots,
                horizontal_nm=horizontal_nm,
                vertical_ft=vertical_ft,
                lookahead_s=lookahead_s,
                vertical_mode=vertical_mode.value,
                kernel=kernel,
            )
            conflicts, detect_s = run.conflicts, run.detect_s
            n_snapshots, aircraft = run.snapshots, run.aircraft
    table = conflicts.round({k: v for k, v in OUTPUT_DECIMALS.items() if k in conflicts})
    if events:
        table = merge_encounters(conflicts, gap_s=event_gap_s).round(EVENT_DECIMALS)
    positions = states if timed and kind in ("geojson", "kml") else None
    if out is None:
        write_table(table, None, kind, out=sys.stdout, positions=positions)
        sys.stdout.flush()
    else:
        write_table(table, out, kind, positions=positions)
    if not strict or counts.gaps:
        sys.stderr.write(counts.summary() + "\n")
    if n_snapshots > 1:
        sys.stderr.write(f"{n_snapshots} snapshots, {states['id'].nunique()} distinct ids\n")
    if events:
        sys.stderr.write(f"{len(table)} encounters\n")
    sys.stderr.write(
        f"detected {len(conflicts)} conflicts among {aircraft} aircraft in {detect_s:.4f} s\n"
    )


EVENT_DECIMALS: Final = {
    "warning_s": 1,
    "min_range_nm": 4,
    "vertical_at_min_ft": 1,
    "min_hmd_nm": 4,
    "min_vmd_ft": 1,
}
"""Decimals of encounter columns: 0.1 s, 0.0001 NM, 0.1 ft."""


class _Progress:
    """A rich progress bar on stderr, shown only when the run lasts over a second and stderr is a
    terminal."""

    def __init__(self) -> None:
        self._started = clock.perf_counter()
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> _Progress:
        return self

    def update(self, done: int, total: int) -> None:
        if self._bar is None:
            if clock.perf_counter() - self._started < 1.0 or not sys.stderr.isatty():
                return
            self._bar = Progress(
                TextColumn("detect"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("snapshots", total=total)
        assert self._task is not None
        self._bar.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise InvalidInputError(
                field="--column", reason=f"expected SOURCE=TARGET, got {pair!r}"
            )
        mapping[source.strip()] = target.strip()
    return mapping


_HELP: Final = (
    "Find predicted losses of separation between aircraft in FILE (any feed format; see "
    "docs/formats.md).\n\n"
    "Ground, incomplete, implausible and glitch reports are dropped and counted (--strict: stop "
    "at the first, naming row and field); the rest are aligned onto ticks every --align s "
    "(0: rows with identical times form a snapshot). Writes one record per conflicting pair per "
    "tick, or per encounter with --events. The last stderr line reads 'detected K conflicts "
    "among N aircraft in S s'. Bad input: a one-line error, exit code 2."
)


def register(app: typer.Typer) -> None:
    """Register ``deconflict detect`` on ``app``."""
    app.command("detect", help=_HELP)(detect_command)
