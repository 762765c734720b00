"""``deconflict detect``: predicted losses of separation in an aircraft-state file.

Reads a snapshot file (see :mod:`deconflict.formats.tracks`), runs the tactical detector on each
snapshot (one per distinct ``time``, or the whole file when there is no ``time`` column) and
writes one record per conflicting pair as JSON lines (default) or CSV, to stdout or ``--out``.

The last line on stderr is ``detected K conflicts among N aircraft in S s``: K counts records
(pair-snapshots), N counts aircraft states (rows) summed over all snapshots — with a single
snapshot, the number of aircraft — and S is the time spent in the detector alone (validation
and detection, no file reading, splitting or writing).
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

from deconflict.errors import InvalidInputError
from deconflict.formats.tracks import Snapshot, read_tracks, split_snapshots
from deconflict.tactical import CONFLICT_COLUMNS, HORIZONTAL_NM, LOOKAHEAD_S, VERTICAL_FT, detect

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
            )
        except InvalidInputError as exc:
            raise _in_file_rows(exc, snapshot) from exc
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


def _in_file_rows(exc: InvalidInputError, snapshot: Snapshot) -> InvalidInputError:
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


def detect_command(
    file: Annotated[Path, typer.Argument(help="Aircraft states: .csv[.gz], .jsonl[.gz], .parquet")],
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
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.jsonl,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write records here instead of stdout.")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="Rename a file column, SOURCE=TARGET (e.g. hex=id); repeatable. "
            "icao24=id and timestamp=time apply by default.",
        ),
    ] = None,
) -> None:
    """Find predicted losses of separation between aircraft in FILE.

    Writes one record per conflicting pair, per snapshot when FILE has a time column (rows with
    the same time form a snapshot). The last stderr line reads "detected K conflicts among N
    aircraft in S s": N counts aircraft rows summed over snapshots, S is the detector time
    without I/O.
    """
    _positive("--horizontal-nm", horizontal_nm)
    _positive("--vertical-ft", vertical_ft)
    _positive("--lookahead-s", lookahead_s)
    mapping = _parse_mapping(column or [])
    tracks = read_tracks(file, column_mapping=mapping)
    snapshots = split_snapshots(tracks)
    run = detect_snapshots(
        snapshots,
        horizontal_nm=horizontal_nm,
        vertical_ft=vertical_ft,
        lookahead_s=lookahead_s,
        vertical_mode=vertical_mode.value,
    )
    if out is None:
        write_conflicts(run.conflicts, sys.stdout, output_format.value)
        sys.stdout.flush()
    else:
        try:
            with out.open("w", encoding="utf-8", newline="") as handle:
                write_conflicts(run.conflicts, handle, output_format.value)
        except OSError as exc:
            raise InvalidInputError(field="--out", reason=f"cannot write {out}: {exc}") from exc
    if run.snapshots > 1:
        sys.stderr.write(f"{run.snapshots} snapshots, {tracks['id'].nunique()} distinct ids\n")
    sys.stderr.write(
        f"detected {len(run.conflicts)} conflicts among {run.aircraft} aircraft "
        f"in {run.detect_s:.4f} s\n"
    )


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
    "Find predicted losses of separation between aircraft in FILE.\n\n"
    "Writes one record per conflicting pair, per snapshot when FILE has a time column (rows "
    "with the same time form a snapshot). The last stderr line reads 'detected K conflicts "
    "among N aircraft in S s': N counts aircraft rows summed over snapshots, S is the detector "
    "time without I/O. Bad input: a one-line error naming row and column, exit code 2."
)


def register(app: typer.Typer) -> None:
    """Register ``deconflict detect`` on ``app``."""
    app.command("detect", help=_HELP)(detect_command)
