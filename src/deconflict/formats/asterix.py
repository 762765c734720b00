"""ASTERIX CAT021 (ADS-B target reports) and CAT062 (SDPS system tracks): a reader of the
documented items (EUROCONTROL specifications: CAT021 edition 2.x, CAT062 edition 1.x).

Inputs: raw data blocks (``.ast``, ``.asterix``, ``.raw``: concatenated ``CAT, LEN, records``)
or a pcap capture of UDP datagrams carrying them (``.pcap``; Ethernet, Linux cooked or raw IP
link types). Blocks of other categories are skipped and counted (:attr:`AsterixStats.skipped`).

Every record's FSPEC is walked through the category's UAP, so every item is *skipped* with its
exact length (fixed, extended, repetitive, compound, explicit); these items are *read*:

=========  ==========================================  =====================================
CAT062     item                                        unit / LSB
=========  ==========================================  =====================================
I062/010   SAC/SIC                                     (id fallback)
I062/040   track number                                (id fallback ``SAC-SIC-TRK``)
I062/070   time of track information                   1/128 s since midnight UTC
I062/105   position WGS-84                             180/2^25 deg
I062/185   velocity Vx (east), Vy (north)              0.25 m/s -> gs kt, track deg
I062/136   measured flight level                       1/4 FL -> ft (x 25)
I062/220   rate of climb/descent                       6.25 ft/min
I062/245   target identification (callsign)            6-bit ICAO characters
I062/380   aircraft derived data: ADR (address), ID    24-bit address, 6-bit characters
=========  ==========================================  =====================================

=========  ==========================================  =====================================
CAT021     item                                        unit / LSB
=========  ==========================================  =====================================
I021/080   target address                              24 bits -> ``id``
I021/071   time of applicability for position          1/128 s since midnight UTC
I021/073   time of message reception for position      1/128 s (when 071 is absent)
I021/130   position WGS-84                             180/2^23 deg
I021/131   high-resolution position WGS-84             180/2^30 deg (preferred)
I021/145   flight level                                1/4 FL -> ft (x 25)
I021/155   barometric vertical rate                    6.25 ft/min
I021/160   airborne ground vector                      2^-14 NM/s -> kt; 360/2^16 deg
I021/170   target identification (callsign)            6-bit ICAO characters
I021/040   target report descriptor: GBS (ground bit)  -> ``onground``
=========  ==========================================  =====================================

Times of day are placed on ``date`` (the pcap packet's UTC date, or the ``date`` argument for raw
files; default: today UTC), and wrapped to the nearest day of the packet time near midnight.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from deconflict.errors import InvalidInputError
from deconflict.formats.states import empty_reports, make_reports
from deconflict.units import MPS_PER_KT

__all__ = ["AsterixStats", "decode_blocks", "iter_pcap_payloads", "read_asterix"]

_ICAO6: Final = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ#####_###############0123456789######"
"""The ICAO 6-bit character set (Annex 10): index -> character; '#' invalid, '_' space."""

# item kinds: ("fixed", n) | ("ext", unit) | ("rep", n) | ("compound", [subitems]) | ("explicit",)
# | ("rep_ext",) (CAT062 I062/510: 3-octet units with FX) | None (spare FRN)
Item = tuple[Any, ...] | None


def _compound(*subs: Item) -> tuple[Any, ...]:
    return ("compound", subs)


def _F(n: int) -> tuple[Any, ...]:
    return ("fixed", n)


_EXT = ("ext", 1)


def _REP(n: int) -> tuple[Any, ...]:
    return ("rep", n)


_EXP = ("explicit",)

CAT062_UAP: Final[dict[int, tuple[str, Item]]] = {
    1: ("010", _F(2)), 2: ("spare", None), 3: ("015", _F(1)), 4: ("070", _F(3)),
    5: ("105", _F(8)), 6: ("100", _F(6)), 7: ("185", _F(4)),
    8: ("210", _F(2)), 9: ("060", _F(2)), 10: ("245", _F(7)),
    11: ("380", _compound(_F(3), _F(6), _F(2), _F(2), _F(2), _F(2), _F(2),
                          _F(1), _REP(15), _F(2), _F(2), _F(7), _F(2), _F(2),
                          _F(2), _F(2), _F(2), _F(2), _F(1), _F(8), _F(1),
                          _F(6), _F(2), _F(1), _REP(8), _F(2), _F(2), _F(2))),
    12: ("040", _F(2)), 13: ("080", _EXT),
    14: ("290", _compound(_F(1), _F(1), _F(1), _F(1), _F(2), _F(1), _F(1),
                          _F(1), _F(1), _F(1))),
    15: ("200", _F(1)), 16: ("295", _compound(*([_F(1)] * 31))), 17: ("136", _F(2)),
    18: ("130", _F(2)), 19: ("135", _F(2)), 20: ("220", _F(2)),
    21: ("390", _compound(_F(2), _F(7), _F(4), _F(1), _F(4), _F(1), _F(4),
                          _F(4), _F(3), _F(2), _F(2), _REP(4), _F(6), _F(1),
                          _F(7), _F(7), _F(2), _F(7))),
    22: ("270", _EXT), 23: ("300", _F(1)),
    24: ("110", _compound(_F(1), _F(4), _F(6), _F(2), _F(2), _F(1), _F(1))),
    25: ("120", _F(2)), 26: ("510", ("ext", 3)),
    27: ("500", _compound(_F(4), _F(2), _F(4), _F(1), _F(1), _F(2), _F(2), _F(1))),
    28: ("340", _compound(_F(2), _F(4), _F(2), _F(2), _F(2), _F(1))),
    29: ("spare", None), 30: ("spare", None), 31: ("spare", None), 32: ("spare", None),
    33: ("spare", None), 34: ("RE", _EXP), 35: ("SP", _EXP),
}  # fmt: skip
"""CAT062 edition 1.x UAP: FRN -> (item, structure)."""

CAT021_UAP: Final[dict[int, tuple[str, Item]]] = {
    1: ("010", _F(2)), 2: ("040", _EXT), 3: ("161", _F(2)), 4: ("015", _F(1)),
    5: ("071", _F(3)), 6: ("130", _F(6)), 7: ("131", _F(8)),
    8: ("072", _F(3)), 9: ("150", _F(2)), 10: ("151", _F(2)), 11: ("080", _F(3)),
    12: ("073", _F(3)), 13: ("074", _F(4)), 14: ("075", _F(3)),
    15: ("076", _F(4)), 16: ("140", _F(2)), 17: ("090", _EXT), 18: ("210", _F(1)),
    19: ("070", _F(2)), 20: ("230", _F(2)), 21: ("145", _F(2)),
    22: ("152", _F(2)), 23: ("200", _F(1)), 24: ("155", _F(2)), 25: ("157", _F(2)),
    26: ("160", _F(4)), 27: ("165", _F(2)), 28: ("077", _F(3)),
    29: ("170", _F(6)), 30: ("020", _F(1)),
    31: ("220", _compound(_F(2), _F(2), _F(2), _F(1))),
    32: ("146", _F(2)), 33: ("148", _F(2)),
    34: ("110", _compound(_EXT, _REP(15))), 35: ("016", _F(1)),
    36: ("008", _F(1)), 37: ("271", _EXT), 38: ("132", _F(1)), 39: ("250", _REP(8)),
    40: ("260", _F(7)), 41: ("400", _F(1)), 42: ("295", _compound(*([_F(1)] * 23))),
    43: ("spare", None), 44: ("spare", None), 45: ("spare", None), 46: ("spare", None),
    47: ("spare", None), 48: ("RE", _EXP), 49: ("SP", _EXP),
}  # fmt: skip
"""CAT021 edition 2.x UAP: FRN -> (item, structure)."""


class _Truncated(Exception):
    """A record runs past the end of its data block."""


def _fspec(data: bytes, pos: int, end: int) -> tuple[list[int], int]:
    """FRNs present (1-based) and the position after the FSPEC."""
    frns: list[int] = []
    octet = 0
    while True:
        if pos >= end:
            raise _Truncated
        byte = data[pos]
        for bit in range(7):
            if byte & (0x80 >> bit):
                frns.append(octet * 7 + bit + 1)
        pos += 1
        octet += 1
        if not byte & 1:
            return frns, pos


def _skip(data: bytes, pos: int, end: int, kind: Item) -> int:
    """Position after one item of structure ``kind`` starting at ``pos``."""
    if kind is None:
        raise ValueError("spare FRN set")
    tag = kind[0]
    if tag == "fixed":
        new = pos + int(kind[1])
    elif tag == "ext":
        unit = int(kind[1])
        new = pos
        while True:
            new += unit
            if new > end:
                raise _Truncated
            if not data[new - 1] & 1:
                break
    elif tag == "rep":
        if pos >= end:
            raise _Truncated
        new = pos + 1 + data[pos] * int(kind[1])
    elif tag == "explicit":
        if pos >= end:
            raise _Truncated
        new = pos + max(data[pos], 1)
    elif tag == "compound":
        subs = kind[1]
        present, new = _fspec(data, pos, end)
        for frn in present:
            if frn > len(subs):
                raise ValueError(f"compound subfield {frn} unknown")
            new = _skip(data, new, end, subs[frn - 1])
    else:  # pragma: no cover - the tables above use only these kinds
        raise ValueError(tag)
    if new > end:
        raise _Truncated
    return new


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _chars(raw: bytes) -> str:
    bits = int.from_bytes(raw, "big")
    count = len(raw) * 8 // 6
    text = "".join(_ICAO6[(bits >> (6 * (count - 1 - k))) & 0x3F] for k in range(count))
    return text.replace("_", " ").replace("#", "").strip()


@dataclass
class AsterixStats:
    """Counts of what a decode saw."""

    blocks: dict[int, int] = field(default_factory=dict)
    records: dict[int, int] = field(default_factory=dict)
    skipped: int = 0
    """Blocks of other categories, and records that could not be walked."""


def _record062(data: bytes, items: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "010" in items:
        p = items["010"]
        out["sac_sic"] = f"{data[p]}-{data[p + 1]}"
    if "040" in items:
        p = items["040"]
        out["track_number"] = int.from_bytes(data[p : p + 2], "big")
    if "070" in items:
        p = items["070"]
        out["tod_s"] = int.from_bytes(data[p : p + 3], "big") / 128.0
    if "105" in items:
        p = items["105"]
        lat, lon = struct.unpack(">ii", data[p : p + 8])
        out["lat"], out["lon"] = lat * 180.0 / 2**25, lon * 180.0 / 2**25
    if "185" in items:
        p = items["185"]
        vx, vy = struct.unpack(">hh", data[p : p + 4])
        vx_mps, vy_mps = vx * 0.25, vy * 0.25
        out["gs_kt"] = float(np.hypot(vx_mps, vy_mps)) / MPS_PER_KT
        out["track_deg"] = float(np.degrees(np.arctan2(vx_mps, vy_mps)) % 360.0)
    if "136" in items:
        p = items["136"]
        out["alt_ft"] = struct.unpack(">h", data[p : p + 2])[0] * 25.0
    if "220" in items:
        p = items["220"]
        out["vs_fpm"] = struct.unpack(">h", data[p : p + 2])[0] * 6.25
    if "245" in items:
        p = items["245"]
        out["callsign"] = _chars(data[p + 1 : p + 7])
    if "380" in items:
        p = items["380"]
        present, q = _fspec(data, p, len(data))
        subs = CAT062_UAP[11][1]
        assert subs is not None
        for frn in present:
            if frn == 1:
                out["address"] = data[q : q + 3].hex()
            elif frn == 2 and not out.get("callsign"):
                out["callsign"] = _chars(data[q : q + 6])
            q = _skip(data, q, len(data), subs[1][frn - 1])
    return out


def _record021(data: bytes, items: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "080" in items:
        p = items["080"]
        out["address"] = data[p : p + 3].hex()
    if "010" in items:
        p = items["010"]
        out["sac_sic"] = f"{data[p]}-{data[p + 1]}"
    for name in ("071", "073"):
        if name in items and "tod_s" not in out:
            p = items[name]
            out["tod_s"] = int.from_bytes(data[p : p + 3], "big") / 128.0
    if "131" in items:
        p = items["131"]
        lat, lon = struct.unpack(">ii", data[p : p + 8])
        out["lat"], out["lon"] = lat * 180.0 / 2**30, lon * 180.0 / 2**30
    elif "130" in items:
        p = items["130"]
        lat = _signed(int.from_bytes(data[p : p + 3], "big"), 24)
        lon = _signed(int.from_bytes(data[p + 3 : p + 6], "big"), 24)
        out["lat"], out["lon"] = lat * 180.0 / 2**23, lon * 180.0 / 2**23
    if "145" in items:
        p = items["145"]
        out["alt_ft"] = struct.unpack(">h", data[p : p + 2])[0] * 25.0
    if "155" in items:
        p = items["155"]
        raw = int.from_bytes(data[p : p + 2], "big")
        if not raw & 0x8000:  # RE bit: value exceeds the range
            out["vs_fpm"] = _signed(raw & 0x7FFF, 15) * 6.25
    if "160" in items:
        p = items["160"]
        speed = int.from_bytes(data[p : p + 2], "big")
        if not speed & 0x8000:
            out["gs_kt"] = (speed & 0x7FFF) * 2.0**-14 * 3600.0
        out["track_deg"] = int.from_bytes(data[p + 2 : p + 4], "big") * 360.0 / 2**16
    if "170" in items:
        p = items["170"]
        out["callsign"] = _chars(data[p : p + 6])
    if "040" in items:
        p = items["040"]
        # octet 1: ATP ARC RC RAB FX; first extension: DCR GBS SIM TST SAA CL FX
        if data[p] & 1 and p + 1 < len(data):
            out["onground"] = 1.0 if data[p + 1] & 0x40 else 0.0
    return out


_CATEGORIES: Final[dict[int, tuple[dict[int, tuple[str, Item]], Callable[..., dict[str, Any]]]]] = {
    62: (CAT062_UAP, _record062),
    21: (CAT021_UAP, _record021),
}


def _plausible(values: dict[str, Any]) -> None:
    """Reject a record whose decoded values cannot be right: the block is in another edition
    (its UAP differs) and everything after this point is misaligned."""
    if not 0.0 <= values.get("tod_s", 0.0) < 86400.0:
        raise ValueError("time of day outside [0, 86400) s: edition mismatch")
    if abs(values.get("lat", 0.0)) > 90.0 or abs(values.get("lon", 0.0)) > 180.0:
        raise ValueError("position outside WGS-84 ranges: edition mismatch")


def decode_blocks(data: bytes, stats: AsterixStats | None = None) -> list[dict[str, Any]]:
    """Decode every CAT021/CAT062 record of concatenated data blocks into dicts.

    Keys (when present): ``category``, ``address`` (hex), ``sac_sic``, ``track_number``,
    ``tod_s`` (s since midnight UTC), ``lat``, ``lon`` (deg), ``alt_ft`` (ft), ``gs_kt`` (kt),
    ``track_deg`` (deg), ``vs_fpm`` (ft/min), ``callsign``, ``onground``.
    """
    stats = stats if stats is not None else AsterixStats()
    out: list[dict[str, Any]] = []
    pos = 0
    while pos + 3 <= len(data):
        cat = data[pos]
        length = int.from_bytes(data[pos + 1 : pos + 3], "big")
        if length < 3 or pos + length > len(data):
            stats.skipped += 1
            break
        end = pos + length
        stats.blocks[cat] = stats.blocks.get(cat, 0) + 1
        spec = _CATEGORIES.get(cat)
        if spec is None:
            stats.skipped += 1
            pos = end
            continue
        uap, reader = spec
        rec = pos + 3
        while rec < end:
            try:
                frns, cursor = _fspec(data, rec, end)
                items: dict[str, int] = {}
                for frn in frns:
                    if frn not in uap:
                        raise ValueError(f"FRN {frn} beyond the UAP")
                    name, kind = uap[frn]
                    items[name] = cursor
                    cursor = _skip(data, cursor, end, kind)
                values = reader(data[:end], items)
                _plausible(values)
            except (_Truncated, ValueError, struct.error):
                stats.skipped += 1
                break
            values["category"] = cat
            out.append(values)
            stats.records[cat] = stats.records.get(cat, 0) + 1
            rec = cursor
        pos = end
    return out


def iter_pcap_payloads(blob: bytes) -> Iterator[tuple[float, bytes]]:
    """(capture time in Unix s, UDP payload) of each packet of a classic pcap file."""
    if len(blob) < 24:
        raise InvalidInputError(field="FILE", reason="pcap shorter than its global header")
    magic = blob[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise InvalidInputError(field="FILE", reason="not a pcap file (bad magic)")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(endian + "I", blob[20:24])[0]
    pos = 24
    while pos + 16 <= len(blob):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", blob[pos : pos + 16])
        packet = blob[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        when = sec + frac / (1e9 if nano else 1e6)
        payload = _udp_payload(packet, link)
        if payload is not None:
            yield when, payload


def _udp_payload(packet: bytes, link: int) -> bytes | None:
    if link == 1:  # Ethernet
        offset, ethertype = 14, int.from_bytes(packet[12:14], "big")
        while ethertype == 0x8100 and len(packet) >= offset + 4:  # VLAN tags
            ethertype = int.from_bytes(packet[offset + 2 : offset + 4], "big")
            offset += 4
        if ethertype != 0x0800:
            return None
    elif link == 113:  # Linux cooked capture
        offset = 16
    elif link in (101, 228):  # raw IPv4
        offset = 0
    else:
        return None
    ip = packet[offset:]
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    header = (ip[0] & 0x0F) * 4
    udp = ip[header:]
    if len(udp) < 8:
        return None
    size = int.from_bytes(udp[4:6], "big")
    return bytes(udp[8:size])


def _reports(records: list[dict[str, Any]], days: list[date], stamps: list[float]) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {k: [] for k in ("time", "id", "callsign", "lat", "lon",
                                                  "alt_ft", "gs_kt", "track_deg", "vs_fpm",
                                                  "onground")}  # fmt: skip
    rows: list[int] = []
    for k, (record, day, stamp) in enumerate(zip(records, days, stamps, strict=True)):
        if "lat" not in record or "tod_s" not in record:
            continue
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        when = midnight + record["tod_s"]
        if np.isfinite(stamp):  # wrap across midnight to the day nearest the capture time
            when += round((stamp - when) / 86400.0) * 86400.0
        ident = record.get("address") or (
            f"trk-{record.get('sac_sic', '?')}-{record.get('track_number', '?')}"
        )
        cols["time"].append(when)
        cols["id"].append(ident)
        cols["callsign"].append(record.get("callsign", ""))
        for name in ("lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm", "onground"):
            cols[name].append(record.get(name, float("nan")))
        rows.append(k + 1)
    if not rows:
        return empty_reports()
    return make_reports(cols, rows=np.asarray(rows, dtype=np.int64))


def read_asterix(
    source: str, *, day: date | None = None, stats: AsterixStats | None = None
) -> pd.DataFrame:
    """Reports of every CAT021/CAT062 record with a position in a pcap or raw ASTERIX file.

    Rows are the 1-based record number among decoded CAT021/CAT062 records.
    """
    path = Path(source)
    if not path.is_file():
        raise InvalidInputError(field="FILE", reason=f"no such file: {source}")
    blob = path.read_bytes()
    stats = stats if stats is not None else AsterixStats()
    records: list[dict[str, Any]] = []
    days: list[date] = []
    stamps: list[float] = []
    if blob[:4] in (
        b"\xd4\xc3\xb2\xa1",
        b"\xa1\xb2\xc3\xd4",
        b"\x4d\x3c\xb2\xa1",
        b"\xa1\xb2\x3c\x4d",
    ):
        for when, payload in iter_pcap_payloads(blob):
            found = decode_blocks(payload, stats)
            packet_day = datetime.fromtimestamp(when, tz=UTC).date()
            records += found
            days += [day or packet_day] * len(found)
            stamps += [when if day is None else float("nan")] * len(found)
    else:
        found = decode_blocks(blob, stats)
        today = day or (datetime.now(tz=UTC).date() - timedelta(days=0))
        records += found
        days += [today] * len(found)
        stamps += [float("nan")] * len(found)
    return _reports(records, days, stamps)
