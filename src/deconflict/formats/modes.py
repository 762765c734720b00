"""Raw Mode S frames (hex with timestamps) and Beast binary, decoded with ``rs1090`` (MIT).

Inputs:

* **Hex CSV**: a timestamp column (Unix seconds: ``timestamp``, ``mintime``, ``ts`` or ``time``)
  and a frame column (``frame``, ``rawmsg``, ``hex``, ``msg``), 14 or 28 hex digits; or a
  header-less ``ts,hex,...`` file (the pyModeS sample layout).
* **Beast binary** (dump1090/readsb port 30005): ``0x1a``, a type byte (``'1'`` Mode A/C,
  ``'2'`` Mode S short, ``'3'`` Mode S long), a 6-byte 12 MHz MLAT counter, a signal byte and the
  frame, with every ``0x1a`` inside doubled. The counter is not a clock: times are
  ``start_s + (counter - first counter) / 12e6``; for files ``start_s`` defaults to the file's
  modification time minus the capture duration, for streams to the arrival time.

Only ADS-B frames (DF17/18) are decoded for states: airborne position (BDS 0,5: barometric
altitude ft; CPR pairs decoded globally by rs1090), surface position (BDS 0,6: on the ground),
airborne velocity (BDS 0,9: ground speed kt, track deg, vertical rate ft/min) and identification
(BDS 0,8: callsign). Position, velocity and identity are assembled per aircraft
(:class:`deconflict.formats.states.Assembler`). Other downlink formats are counted, not used.
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import rs1090

from deconflict.errors import InvalidInputError
from deconflict.formats.states import Assembler, empty_reports, make_reports
from deconflict.formats.streams import iter_chunks

__all__ = [
    "BeastFramer",
    "decode_frames",
    "parse_beast",
    "read_beast",
    "read_modes_hex",
]

MLAT_HZ: Final = 12_000_000.0
"""Beast MLAT counter frequency, Hz."""

_TIME_COLUMNS: Final = ("timestamp", "mintime", "ts", "time")
_FRAME_COLUMNS: Final = ("frame", "rawmsg", "hex", "msg")
_BEAST_LENGTH: Final = {0x31: 2, 0x32: 7, 0x33: 14}
_ESC: Final = 0x1A


def downlink_format(frames: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
    """The downlink format (first 5 bits) of each hex frame; -1 where not hex."""
    heads = pd.Series(frames, dtype=object).str.slice(0, 2).str.lower()
    values = heads.map(_HEX_BYTE).to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isfinite(values), values, -8).astype(np.int64) >> 3


_HEX_BYTE: Final = {f"{k:02x}": float(k) for k in range(256)}
"""Two lowercase hex digits -> their value (a dict lookup is vectorised by ``Series.map``)."""


def decode_frames(
    frames: Sequence[str] | npt.NDArray[np.object_],
    times_s: npt.NDArray[np.float64],
    *,
    rows: npt.NDArray[np.int64] | None = None,
    reference: tuple[float, float] | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Decode hex frames into a *messages* table (unassembled) and counts per downlink format.

    Parameters
    ----------
    frames:
        Hex strings (14 or 28 digits).
    times_s:
        Reception times, Unix seconds.
    rows:
        Source record numbers (default 1..n).
    reference:
        (lat, lon) degrees of the receiver, needed for surface positions.
    """
    hexes = np.asarray(frames, dtype=object)
    n = hexes.size
    rows = np.arange(1, n + 1, dtype=np.int64) if rows is None else rows
    df = downlink_format(hexes)
    counts: dict[str, int] = {}
    uniq, freq = np.unique(df, return_counts=True)
    for value, count in zip(uniq.tolist(), freq.tolist(), strict=True):
        counts["invalid" if value < 0 else f"DF{value}"] = int(count)
    adsb = np.flatnonzero((df == 17) | (df == 18))
    if adsb.size == 0:
        return empty_reports(), counts
    lengths = pd.Series(hexes[adsb], dtype=object).str.len().to_numpy()
    adsb = adsb[lengths == 28]
    decoded: list[Any] = rs1090.decode(
        [str(h) for h in hexes[adsb]],
        [float(t) for t in times_s[adsb]],
        reference=reference,
    )
    cols = _columns(decoded)
    messages = make_reports({"time": times_s[adsb], **cols}, rows=rows[adsb])
    return messages, counts


def _columns(decoded: list[Any]) -> dict[str, Any]:
    ident: list[Any] = []
    call: list[Any] = []
    lat: list[Any] = []
    lon: list[Any] = []
    alt: list[Any] = []
    gs: list[Any] = []
    trk: list[Any] = []
    vs: list[Any] = []
    gnd: list[Any] = []
    for m in decoded:
        if not m:
            m = {}
        bds = m.get("bds")
        ident.append(m.get("icao24"))
        call.append(m.get("callsign"))
        lat.append(m.get("latitude"))
        lon.append(m.get("longitude"))
        airborne = bds == "05"
        alt.append(m.get("altitude") if airborne and m.get("source") == "barometric" else None)
        velocity = bds == "09"
        gs.append(m.get("groundspeed") if velocity else None)
        trk.append(m.get("track") if velocity else None)
        vs.append(m.get("vertical_rate") if velocity else None)
        gnd.append(1.0 if bds == "06" else (0.0 if airborne or velocity else None))
    return {
        "id": ident,
        "callsign": call,
        "lat": lat,
        "lon": lon,
        "alt_ft": alt,
        "gs_kt": gs,
        "track_deg": trk,
        "vs_fpm": vs,
        "onground": gnd,
    }


def read_modes_hex(
    source: str, *, reference: tuple[float, float] | None = None, chunk_rows: int = 200_000
) -> pd.DataFrame:
    """Assembled position reports from a hex-frame CSV (see the module docstring)."""
    path = Path(source)
    if not path.is_file():
        raise InvalidInputError(field="FILE", reason=f"no such file: {source}")
    opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        first = handle.readline()
    names = [c.strip().strip('"').lower() for c in first.split(",")]
    time_col = next((c for c in _TIME_COLUMNS if c in names), None)
    frame_col = next((c for c in _FRAME_COLUMNS if c in names), None)
    header: int | None = 0
    if time_col is None or frame_col is None:
        try:
            float(names[0])
            int(names[1], 16)
        except (ValueError, IndexError) as exc:
            raise InvalidInputError(
                field="columns",
                reason=f"need a time column ({', '.join(_TIME_COLUMNS)}) and a frame column "
                f"({', '.join(_FRAME_COLUMNS)}); found {', '.join(names)}",
                row="header",
            ) from exc
        header, time_col, frame_col = None, "0", "1"
    assembler = Assembler()
    parts = []
    reader = pd.read_csv(
        path,
        header=header,
        dtype=str,
        keep_default_na=False,
        chunksize=chunk_rows,
        compression="infer",
    )
    first_row = 1
    for chunk in reader:
        chunk.columns = [str(c).strip().lower() for c in chunk.columns]
        times = pd.to_numeric(chunk[time_col], errors="coerce").to_numpy(dtype=np.float64)
        frames = chunk[frame_col].str.strip().str.lower().to_numpy(dtype=object)
        rows = np.arange(first_row, first_row + len(chunk), dtype=np.int64)
        first_row += len(chunk)
        ok = np.isfinite(times)
        messages, _ = decode_frames(frames[ok], times[ok], rows=rows[ok], reference=reference)
        parts.append(assembler.push(messages))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts) if parts else empty_reports()


class BeastFramer:
    """Splits a Beast byte stream into frames; keeps a partial frame between :meth:`push` calls."""

    def __init__(self) -> None:
        self._rest = b""
        self.skipped_bytes = 0

    def push(self, chunk: bytes) -> tuple[list[int], list[int], list[str]]:
        """(MLAT counters, signal levels, hex frames) of the complete Mode S frames."""
        data = self._rest + chunk
        counters: list[int] = []
        signals: list[int] = []
        frames: list[str] = []
        n = len(data)
        i = 0
        keep_from = n
        while i < n:
            if data[i] != _ESC or i + 1 >= n:
                if data[i] != _ESC:
                    self.skipped_bytes += 1
                    i += 1
                    continue
                keep_from = i
                break
            kind = data[i + 1]
            length = _BEAST_LENGTH.get(kind)
            if length is None:  # an escaped 0x1a outside a frame, or a status frame: resync
                i += 1
                self.skipped_bytes += 1
                continue
            need = 7 + length
            body = bytearray()
            j = i + 2
            while j < n and len(body) < need:
                byte = data[j]
                if byte == _ESC:
                    if j + 1 >= n:
                        break
                    if data[j + 1] != _ESC:  # an unescaped 0x1a: a new frame starts; drop this
                        break
                    j += 1
                body.append(byte)
                j += 1
            if len(body) < need:
                if j >= n or (j + 1 >= n and data[j] == _ESC):
                    keep_from = i
                    break
                self.skipped_bytes += j - i
                i = j
                continue
            if kind != 0x31:
                counters.append(int.from_bytes(body[:6], "big"))
                signals.append(body[6])
                frames.append(body[7:].hex())
            i = j
        self._rest = data[keep_from:] if keep_from < n else b""
        if len(self._rest) > 1 << 16:  # garbage that never forms a frame: bounded memory
            self._rest = b""
        return counters, signals, frames


def parse_beast(data: bytes) -> tuple[list[int], list[int], list[str]]:
    """All complete frames of a Beast capture: (MLAT counters, signal levels, hex frames)."""
    return BeastFramer().push(data)


def read_beast(
    source: str,
    *,
    start_s: float | None = None,
    reference: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Assembled position reports from a Beast file or ``tcp://host:30005`` stream."""
    return _concat(iter_beast(source, start_s=start_s, reference=reference))


def iter_beast(
    source: str,
    *,
    start_s: float | None = None,
    reference: tuple[float, float] | None = None,
    max_wait_s: float = 1.0,
) -> Iterator[pd.DataFrame]:
    """Assembled reports from a Beast source in bounded batches (see :func:`read_beast`)."""
    framer = BeastFramer()
    assembler = Assembler()
    is_file = Path(source).is_file()
    base_s = start_s
    origin: int | None = None
    row = 1
    if is_file and base_s is None:
        data = _read_all(source)
        counters, _, _ = parse_beast(data)
        span = (counters[-1] - counters[0]) / MLAT_HZ if counters else 0.0
        base_s = os.path.getmtime(source) - max(span, 0.0)
    for chunk in iter_chunks(source, max_wait_s=max_wait_s):
        counters, _, frames = framer.push(chunk)
        if not frames:
            continue
        ticks = np.asarray(counters, dtype=np.float64)
        if origin is None:
            origin = counters[0]
            if base_s is None:
                base_s = time.time()
        times = float(base_s or 0.0) + (ticks - origin) / MLAT_HZ
        rows = np.arange(row, row + len(frames), dtype=np.int64)
        row += len(frames)
        messages, _ = decode_frames(
            np.asarray(frames, dtype=object), times, rows=rows, reference=reference
        )
        batch = assembler.push(messages)
        if len(batch):
            yield batch


def _read_all(source: str) -> bytes:
    with open(source, "rb") as handle:
        head = handle.read(2)
    if head == b"\x1f\x8b":
        with gzip.open(source, "rb") as handle:
            return handle.read()
    return Path(source).read_bytes()


def _concat(parts: Iterator[pd.DataFrame]) -> pd.DataFrame:
    frames = [p for p in parts if len(p)]
    return pd.concat(frames) if frames else empty_reports()
