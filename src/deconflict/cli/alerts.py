"""``deconflict alerts``: graded alert levels (cylinder, airprox, DO-365B) for every ordered pair.

Reads an aircraft-state file with the same readers and time handling as ``deconflict detect``
(:mod:`deconflict.formats.tracks`; an optional ``alerter`` column selects each aircraft's
DO-365B alerter: ``DWC_Phase_I``, ``DWC_Phase_II``, ``DWC_Non_Coop`` or 1/2/3), replays the
snapshots in time order through :func:`deconflict.daa.step_alerts` and writes one JSON line per
ordered pair (ownship, intruder) per snapshot where ``level`` or ``level_instant`` is >= 1.
"""

from __future__ import annotations

import json
import math
import sys
import time as clock
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, TextIO

import numpy as np
import pandas as pd
import typer

from deconflict.cli.detect import in_file_rows
from deconflict.daa import AlertMemory, Profile, States, alerter_index, get_profile, step_alerts
from deconflict.errors import InvalidInputError
from deconflict.formats.tracks import read_tracks, split_snapshots
from deconflict.tactical import validate_states


class ProfileOption(StrEnum):
    """``--profile`` values."""

    cylinder = "cylinder"
    airprox = "airprox"
    do365b = "do365b"


@dataclass(frozen=True)
class LoadedSnapshot:
    """One validated snapshot: UTC time text ('' without times), seconds, ids and states."""

    time: str
    time_s: float
    ids: list[str]
    states: States


def iso_utc(when: pd.Timestamp | None) -> str:
    """``2018-08-01T05:00:00Z`` ('' for ``None``)."""
    if when is None:
        return ""
    return str(when.tz_convert("UTC").isoformat()).replace("+00:00", "Z")


def load_snapshots(
    file: Path, profile: Profile, column: Sequence[str] = ()
) -> Iterator[LoadedSnapshot]:
    """Read ``file`` and yield validated snapshots in time order."""
    mapping: dict[str, str] = {}
    for pair in column:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise InvalidInputError(
                field="--column", reason=f"expected SOURCE=TARGET, got {pair!r}"
            )
        mapping[source.strip()] = target.strip()
    tracks = read_tracks(file, column_mapping=mapping)
    alerters = tracks["alerter"] if "alerter" in tracks.columns else None
    for snapshot in split_snapshots(tracks):
        try:
            valid = validate_states(snapshot.states)
        except InvalidInputError as exc:
            raise in_file_rows(exc, snapshot) from exc
        if alerters is None:
            codes = np.ones(len(valid), dtype=np.int64)
        else:
            cells = alerters.loc[snapshot.rows.tolist()].tolist()
            codes = np.empty(len(cells), dtype=np.int64)
            for k, cell in enumerate(cells):
                try:
                    codes[k] = alerter_index(cell, profile)
                except InvalidInputError as exc:
                    raise InvalidInputError(
                        field="alerter", reason=exc.reason, row=int(snapshot.rows[k])
                    ) from exc
        states = States.from_arrays(
            valid["lat"],
            valid["lon"],
            valid["alt_ft"],
            valid["gs_kt"],
            valid["track_deg"],
            valid["vs_fpm"],
            codes,
        )
        when = snapshot.time
        time_s = 0.0 if when is None else when.value / 1e9
        yield LoadedSnapshot(iso_utc(when), time_s, [str(x) for x in valid["id"]], states)


def _num(value: float, decimals: int) -> float | None:
    return round(float(value), decimals) if math.isfinite(value) else None


def alert_records(
    profile: Profile, snapshots: Sequence[LoadedSnapshot]
) -> Iterator[dict[str, Any]]:
    """Replay ``snapshots`` and yield one record per ordered pair with a level >= 1."""
    memory = AlertMemory()
    names = [a.name for a in profile.alerters]
    for snap in snapshots:
        step = step_alerts(profile, snap.states, snap.ids, snap.time_s, memory)
        memory = step.memory
        a = step.alerts
        show = np.flatnonzero((step.level >= 1) | (a.level_instant >= 1))
        order = show[np.lexsort((a.intruder[show], a.own[show]))]
        for k in order:
            record: dict[str, Any] = {}
            if snap.time:
                record["time"] = snap.time
            record.update(
                ownship=snap.ids[int(a.own[k])],
                intruder=snap.ids[int(a.intruder[k])],
                level=int(step.level[k]),
                level_instant=int(a.level_instant[k]),
                alerter=names[int(a.alerter[k]) - 1],
                t_in_s=[_num(v, 2) for v in a.t_in_s[k]],
                t_out_s=[_num(v, 2) for v in a.t_out_s[k]],
                hmd_nm=_num(a.hmd_nm[k], 4),
                vmd_ft=_num(a.vmd_ft[k], 1),
                tcpa_s=_num(a.tcpa_s[k], 2),
                dcpa_nm=_num(a.dcpa_nm[k], 4),
                taumod_s=_num(a.taumod_s[k], 2),
                tcoa_s=_num(a.tcoa_s[k], 2),
            )
            yield record


def write_lines(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    """Write records as JSON lines; return how many."""
    count = 0
    for record in records:
        out.write(json.dumps(record, allow_nan=False))
        out.write("\n")
        count += 1
    return count


COLUMN_HELP: Final = "Rename a file column, SOURCE=TARGET (e.g. hex=id); repeatable."


def alerts_command(
    file: Annotated[Path, typer.Argument(help="Aircraft states: .csv[.gz], .jsonl[.gz], .parquet")],
    profile: Annotated[
        ProfileOption, typer.Option("--profile", help="Alerting profile.")
    ] = ProfileOption.cylinder,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write records here instead of stdout.")
    ] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help=COLUMN_HELP)] = None,
) -> None:
    """Graded alert levels for every ordered pair (ownship, intruder) in FILE.

    One JSON line per ordered pair per snapshot where level (with hysteresis, replaying the
    snapshots in time order) or level_instant is at least 1. The intruder's alerter applies
    (optional column 'alerter': DWC_Phase_I, DWC_Phase_II, DWC_Non_Coop or 1/2/3).
    """
    chosen = get_profile(profile.value)
    started = clock.perf_counter()
    snapshots = list(load_snapshots(file, chosen, column or []))
    records = alert_records(chosen, snapshots)
    if out is None:
        count = write_lines(records, sys.stdout)
        sys.stdout.flush()
    else:
        try:
            with out.open("w", encoding="utf-8") as handle:
                count = write_lines(records, handle)
        except OSError as exc:
            raise InvalidInputError(field="--out", reason=f"cannot write {out}: {exc}") from exc
    aircraft = sum(len(s.states) for s in snapshots)
    sys.stderr.write(
        f"{count} alert records ({chosen.name}) among {aircraft} aircraft states in "
        f"{len(snapshots)} snapshots, {clock.perf_counter() - started:.3f} s\n"
    )


def register(app: typer.Typer) -> None:
    """Register ``deconflict alerts`` on ``app``."""
    app.command("alerts")(alerts_command)
