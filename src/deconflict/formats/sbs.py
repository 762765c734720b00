"""SBS-1 / BaseStation text (dump1090/readsb port 30003): ``MSG,t,...`` lines, 22 fields.

Fields used (1-based): 1 ``MSG``, 2 transmission type, 5 hex ident (ICAO 24-bit), 7/8 date and
time the message was generated (``2008/11/28``, ``23:48:18.611``; taken as UTC: run the receiver
with ``TZ=UTC``), 11 callsign, 12 altitude (ft, barometric), 13 ground speed (kt), 14 track
(deg), 15/16 latitude/longitude (deg), 17 vertical rate (ft/min), 22 is-on-ground (``-1``/``1``
true, ``0`` false). Other lines (``SEL``, ``ID``, ``AIR``, ``STA``, ``CLK``) and malformed lines
are skipped and counted in :attr:`SbsReader.skipped`.

Position, velocity and identity arrive in separate messages (MSG 3, 4, 1); :class:`SbsReader`
assembles them per aircraft (:class:`deconflict.formats.states.Assembler`) chunk by chunk, so a
stream is read in bounded memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from deconflict.formats.states import Assembler, empty_reports, make_reports
from deconflict.formats.streams import LineSplitter, iter_chunks

__all__ = ["SbsReader", "encode_sbs", "iter_sbs", "parse_sbs", "read_sbs"]

_NAMES: Final = [f"f{k}" for k in range(1, 23)]
_USE: Final = ["f1", "f5", "f7", "f8", "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f22"]
_NUM: Final = ("f12", "f13", "f14", "f15", "f16", "f17")


def parse_sbs(data: bytes, *, first_row: int = 1) -> tuple[pd.DataFrame, int]:
    """Parse whole SBS-1 lines into a *messages* table (unassembled) and a skipped-line count.

    Index: 1-based line numbers starting at ``first_row``.
    """
    if not data.strip():
        return empty_reports(), 0
    try:
        raw = pd.read_csv(
            io.BytesIO(data),
            header=None,
            names=_NAMES,
            usecols=_USE,
            dtype={c: (np.float64 if c in _NUM else "str") for c in _USE},
            keep_default_na=False,
            na_values={c: [""] for c in _NUM},
            on_bad_lines="skip",
            skip_blank_lines=False,
            engine="c",
            quoting=3,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError):  # odd lines: split them
        text = pd.Series(data.decode("latin-1").splitlines(), dtype=object)
        split = text.str.split(",", expand=True).reindex(columns=range(22)).fillna("")
        split.columns = _NAMES
        raw = split[_USE]
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    rows = np.arange(first_row, first_row + len(raw), dtype=np.int64)
    is_msg = raw["f1"].str.strip().eq("MSG").to_numpy()
    raw, rows = raw.loc[is_msg], rows[is_msg]
    when = pd.to_datetime(
        raw["f7"].str.strip() + " " + raw["f8"].str.strip(),
        format="%Y/%m/%d %H:%M:%S.%f",
        utc=True,
        errors="coerce",
    )
    numbers = {
        c: raw[c] if raw[c].dtype == np.float64 else pd.to_numeric(raw[c], errors="coerce")
        for c in _NUM
    }
    ground_text = raw["f22"].str.strip()
    onground = np.where(
        ground_text.isin(["-1", "1"]), 1.0, np.where(ground_text.eq("0"), 0.0, np.nan)
    )
    ident = raw["f5"].str.strip().str.lower()
    good = when.notna().to_numpy() & ident.str.fullmatch(r"[0-9a-f~]{6,7}").to_numpy(dtype=bool)
    skipped = lines - int(good.sum())
    messages = make_reports(
        {
            "time": when[good],
            "id": ident[good],
            "callsign": raw["f11"][good],
            "lat": numbers["f15"][good],
            "lon": numbers["f16"][good],
            "alt_ft": numbers["f12"][good],
            "gs_kt": numbers["f13"][good],
            "track_deg": numbers["f14"][good],
            "vs_fpm": numbers["f17"][good],
            "onground": onground[good],
        },
        rows=rows[good],
    )
    return messages, max(skipped, 0)


class SbsReader:
    """Incremental SBS-1 reader: :meth:`push` bytes, get assembled position reports."""

    def __init__(self, *, max_field_age_s: float = 60.0) -> None:
        self._lines = LineSplitter()
        self._assembler = Assembler(max_field_age_s=max_field_age_s)
        self._row = 1
        self.messages = 0
        self.skipped = 0

    def push(self, chunk: bytes, *, final: bool = False) -> pd.DataFrame:
        """Assembled reports from the whole lines in ``chunk`` (and the tail when ``final``)."""
        data = self._lines.push(chunk)
        if final:
            data += self._lines.flush()
        if not data:
            return empty_reports()
        messages, skipped = parse_sbs(data, first_row=self._row)
        self._row += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        self.messages += len(messages)
        self.skipped += skipped
        return self._assembler.push(messages)


def iter_sbs(source: str, *, max_wait_s: float = 1.0) -> Iterator[pd.DataFrame]:
    """Assembled reports from an SBS-1 source (file, ``-``, ``tcp://``) in bounded batches."""
    reader = SbsReader()
    for chunk in iter_chunks(source, max_wait_s=max_wait_s):
        batch = reader.push(chunk)
        if len(batch):
            yield batch
    tail = reader.push(b"", final=True)
    if len(tail):
        yield tail


def read_sbs(source: str) -> pd.DataFrame:
    """All assembled position reports of an SBS-1 source (reads to its end)."""
    parts = list(iter_sbs(source))
    return pd.concat(parts) if parts else empty_reports()


def encode_sbs(reports: pd.DataFrame) -> bytes:
    """SBS-1 lines for a reports table: per report an ``MSG,4`` (ground speed, track, vertical
    rate), when known an ``MSG,1`` (callsign), then an ``MSG,3`` (altitude, position), in time
    order. Numbers are written as BaseStation does: whole feet, ft/min and 0.1 kt/deg,
    5 decimals of a degree. Used by replay tests and the benchmark."""
    if len(reports) == 0:
        return b""
    frame = reports.sort_values("time", kind="stable")
    stamp = pd.DatetimeIndex(frame["time"]).tz_convert("UTC")
    date = stamp.strftime("%Y/%m/%d").to_numpy(dtype=object)
    clock = stamp.strftime("%H:%M:%S.").to_numpy(dtype=object) + pd.Series(
        (stamp.microsecond // 1000).astype(str)
    ).str.zfill(3).to_numpy(dtype=object)
    ident = frame["id"].astype(str).str.upper().to_numpy(dtype=object)
    head = ",1,1," + ident + ",1," + date + "," + clock + "," + date + "," + clock + ","

    def num(column: str, decimals: int) -> npt.NDArray[np.object_]:
        values = frame[column].to_numpy(dtype=np.float64)
        ok = np.isfinite(values)
        rounded = np.round(np.where(ok, values, 0.0), decimals)
        text = (rounded.astype(np.int64) if decimals == 0 else rounded).astype(str).astype(object)
        text[~ok] = ""
        return text

    ground = frame["onground"].to_numpy(dtype=np.float64) if "onground" in frame else None
    flag = (
        np.full(len(frame), "0", dtype=object)
        if ground is None
        else np.where(ground > 0.5, "-1", "0")
    )
    msg3 = "MSG,3" + head + "," + num("alt_ft", 0) + ",,," + num("lat", 5) + "," + num("lon", 5)
    msg3 = msg3 + ",,,0,0,0," + flag
    msg4 = "MSG,4" + head + ",," + num("gs_kt", 1) + "," + num("track_deg", 1) + ",,,"
    msg4 = msg4 + num("vs_fpm", 0) + ",,0,0,0,0"
    lines = [msg4]  # velocity and identity first, so that each position carries them
    if "callsign" in frame:
        calls = frame["callsign"].fillna("").astype(str).to_numpy(dtype=object)
        msg1 = "MSG,1" + head + calls + ",,,,,,,,,,,"
        lines.append(np.where(calls != "", msg1, None))
    lines.append(msg3)
    stacked = np.stack(lines, axis=1).ravel()
    text = "\n".join(v for v in stacked.tolist() if v is not None)
    return (text + "\n").encode("ascii", errors="replace")
