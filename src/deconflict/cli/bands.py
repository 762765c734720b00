"""``deconflict bands``: conflict-free track, ground speed, vertical speed and altitude bands.

Reads an aircraft-state file like ``deconflict alerts`` and, per snapshot, writes one JSON line
per selected ownship: the band intervals ``[first, last, REGION]`` of every dimension, the
nearest resolution on each side (``"+inf"``/``"-inf"`` when none) and the preferred side.
``--ownship ID`` (repeatable) selects aircraft; ``--all`` selects every aircraft that has an
alert (``level_instant >= 1`` against some intruder) in the snapshot.
"""

from __future__ import annotations

import math
import sys
import time as clock
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from deconflict.cli.alerts import (
    COLUMN_HELP,
    LoadedSnapshot,
    ProfileOption,
    load_snapshots,
    write_lines,
)
from deconflict.daa import Profile, alert_pairs, get_profile
from deconflict.daa.bands import DIMENSIONS, Bands, band_intruders, compute_bands
from deconflict.errors import InvalidInputError


def _value(v: float) -> float | str:
    if math.isinf(v):
        return "+inf" if v > 0 else "-inf"
    return round(v, 2)


def bands_record(bands: Bands) -> dict[str, Any]:
    """``bands``, ``resolution``, ``preferred``, ``recovery`` and ``current`` of one ownship."""
    out: dict[str, Any] = {"bands": {}, "resolution": {}, "preferred": {}, "recovery": {}}
    current: dict[str, float] = {}
    for name in DIMENSIONS:
        dim = bands.dimension(name)
        out["bands"][name] = [[lo, hi, region] for lo, hi, region in dim.intervals()]
        out["resolution"][name] = {side: _value(v) for side, v in dim.resolution.items()}
        out["preferred"][name] = dim.preferred
        out["recovery"][name] = dim.recovery
        current[name] = round(dim.current, 2)
    out["current"] = current
    return out


def bands_records(
    profile: Profile, snapshots: Sequence[LoadedSnapshot], ownships: Sequence[str], every: bool
) -> Iterator[dict[str, Any]]:
    """One record per selected ownship per snapshot."""
    wanted = set(ownships)
    for snap in snapshots:
        if every:
            alerts = alert_pairs(profile, snap.states)
            rows = sorted({int(k) for k in alerts.own[alerts.level_instant >= 1]})
        else:
            rows = [k for k, name in enumerate(snap.ids) if name in wanted]
        for row in rows:
            intruders = band_intruders(profile, snap.states, row)
            bands = compute_bands(profile, snap.states, row, intruders)
            record: dict[str, Any] = {}
            if snap.time:
                record["time"] = snap.time
            record["ownship"] = snap.ids[row]
            record["intruders"] = [snap.ids[int(k)] for k in intruders]
            record.update(bands_record(bands))
            yield record


def bands_command(
    file: Annotated[Path, typer.Argument(help="Aircraft states: .csv[.gz], .jsonl[.gz], .parquet")],
    profile: Annotated[
        ProfileOption, typer.Option("--profile", help="Alerting profile.")
    ] = ProfileOption.cylinder,
    ownship: Annotated[
        list[str] | None, typer.Option("--ownship", help="Aircraft id; repeatable.")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every aircraft with an alert in each snapshot.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write records here instead of stdout.")
    ] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help=COLUMN_HELP)] = None,
) -> None:
    """Conflict-free bands (track, ground speed, vertical speed, altitude) per ownship.

    One JSON line per selected ownship per snapshot: bands as [first, last, REGION] runs
    (NONE, FAR, MID, NEAR, RECOVERY), the nearest resolution each side ("+inf"/"-inf" when
    none) and the preferred side. Instantaneous bands for cylinder/airprox, kinematic for do365b.
    """
    if bool(ownship) == every:
        raise InvalidInputError(field="--ownship", reason="give --ownship ID (repeatable) or --all")
    chosen = get_profile(profile.value)
    started = clock.perf_counter()
    snapshots = list(load_snapshots(file, chosen, column or []))
    if ownship:
        known = {name for s in snapshots for name in s.ids}
        missing = sorted(set(ownship) - known)
        if missing:
            raise InvalidInputError(
                field="--ownship", reason=f"no aircraft {missing[0]!r} in {file}"
            )
    records = bands_records(chosen, snapshots, ownship or [], every)
    if out is None:
        count = write_lines(records, sys.stdout)
        sys.stdout.flush()
    else:
        try:
            with out.open("w", encoding="utf-8") as handle:
                count = write_lines(records, handle)
        except OSError as exc:
            raise InvalidInputError(field="--out", reason=f"cannot write {out}: {exc}") from exc
    sys.stderr.write(
        f"{count} band records ({chosen.name}) in {len(snapshots)} snapshots, "
        f"{clock.perf_counter() - started:.3f} s\n"
    )


def register(app: typer.Typer) -> None:
    """Register ``deconflict bands`` on ``app``."""
    app.command("bands")(bands_command)
