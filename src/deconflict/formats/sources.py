"""One entry point for every input: :func:`read_reports` picks the reader by name or suffix.

Formats (``--input-format`` names; suffixes in brackets; docs/formats.md has fields and units):

``csv``, ``jsonl``, ``parquet``
    Our normalised columns (:mod:`deconflict.formats.tracks`) [.csv .csv.gz .jsonl .ndjson
    .parquet .pq]. Parquet and CSV in the ``traffic`` library layout (``latitude``,
    ``groundspeed``...) or OpenSky's SI layout (``baroaltitude`` m, ``velocity`` m/s) are
    recognised by their columns (:mod:`deconflict.formats.opensky`).
``sbs``
    SBS-1 / BaseStation text [.sbs .sbs.gz .basestation], ``-`` (stdin), ``tcp://host:30003``.
``aircraft-json``
    readsb / dump1090 ``aircraft.json`` [a file, a directory of polls, ``http(s)://`` URL].
``readsb-trace``
    readsb / tar1090 ``trace_full`` JSON [.json with a ``trace`` key].
``modes-hex``
    Raw Mode S frames with timestamps: CSV ``timestamp,frame`` (or OpenSky ``mintime,rawmsg``,
    pyModeS ``ts,hex``) [.csv whose header names them]; decoded with ``rs1090``.
``beast``
    Beast binary (dump1090 port 30005) [.bin .beast, ``tcp://host:30005``].
``opensky-json``
    OpenSky REST ``/states/all`` responses [.json with a ``states`` key; one or several].
``asterix``
    ASTERIX CAT021 and CAT062 records [.ast .asterix .raw .pcap].
``cot``
    Cursor-on-Target XML events [.cot .xml].
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import pandas as pd

from deconflict.errors import InvalidInputError
from deconflict.formats.asterix import read_asterix
from deconflict.formats.cot import read_cot
from deconflict.formats.modes import read_beast, read_modes_hex
from deconflict.formats.opensky import read_layout_table, read_opensky_json
from deconflict.formats.readsb import read_aircraft_json, read_readsb_trace
from deconflict.formats.sbs import read_sbs
from deconflict.formats.tracks import read_tracks

__all__ = ["INPUT_FORMATS", "detect_format", "read_reports"]

Reader = Callable[[str], pd.DataFrame]

_READERS: Final[Mapping[str, Reader]] = MappingProxyType(
    {
        "sbs": read_sbs,
        "aircraft-json": read_aircraft_json,
        "readsb-trace": read_readsb_trace,
        "modes-hex": read_modes_hex,
        "beast": read_beast,
        "opensky-json": read_opensky_json,
        "asterix": read_asterix,
        "cot": read_cot,
    }
)

_SUFFIXES: Final[Mapping[str, str]] = MappingProxyType(
    {
        ".csv": "csv",
        ".csv.gz": "csv",
        ".jsonl": "jsonl",
        ".jsonl.gz": "jsonl",
        ".ndjson": "jsonl",
        ".ndjson.gz": "jsonl",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".sbs": "sbs",
        ".sbs.gz": "sbs",
        ".basestation": "sbs",
        ".bin": "beast",
        ".beast": "beast",
        ".ast": "asterix",
        ".asterix": "asterix",
        ".raw": "asterix",
        ".pcap": "asterix",
        ".cot": "cot",
        ".xml": "cot",
    }
)

INPUT_FORMATS: Final = (
    "csv",
    "jsonl",
    "parquet",
    "sbs",
    "aircraft-json",
    "readsb-trace",
    "modes-hex",
    "beast",
    "opensky-json",
    "asterix",
    "cot",
)
"""Every ``--input-format`` name."""


def detect_format(source: str) -> str:
    """The input format of ``source`` from its scheme, suffix, or (for .json/.csv) contents."""
    if source == "-":
        return "sbs"
    lower = source.lower()
    if lower.startswith("tcp://"):
        return "beast" if lower.rstrip("/").endswith(":30005") else "sbs"
    if lower.startswith(("http://", "https://")):
        return "aircraft-json"
    path = Path(source)
    if path.is_dir():
        return "aircraft-json"
    name = path.name.lower()
    if name.endswith((".json", ".json.gz")):
        return _sniff_json(path)
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            kind = _SUFFIXES[suffix]
            if kind == "csv" and path.is_file() and _is_modes_csv(path):
                return "modes-hex"
            return kind
    known = ", ".join([*_SUFFIXES, ".json"])
    raise InvalidInputError(
        field="FILE",
        reason=f"unknown file type {path.name!r}; use {known} or --input-format "
        f"({', '.join(INPUT_FORMATS)})",
    )


def _sniff_json(path: Path) -> str:
    if not path.is_file():
        raise InvalidInputError(field="FILE", reason=f"no such file: {path}")
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener: Any = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8") as handle:
        head = handle.read(4096)
    for key, kind in (('"aircraft"', "aircraft-json"), ('"trace"', "readsb-trace")):
        if key in head:
            return kind
    if '"states"' in head:
        return "opensky-json"
    try:  # a small file: look at the real keys
        with opener(path, "rt", encoding="utf-8") as handle:
            doc = json.load(handle)
    except (ValueError, OSError) as exc:
        raise InvalidInputError(field="FILE", reason=f"not JSON: {exc}") from exc
    if isinstance(doc, dict):
        for key, kind in (
            ("aircraft", "aircraft-json"),
            ("trace", "readsb-trace"),
            ("states", "opensky-json"),
        ):
            if key in doc:
                return kind
    raise InvalidInputError(
        field="FILE",
        reason=f"{path.name}: JSON is neither aircraft.json ('aircraft'), a readsb trace "
        "('trace') nor OpenSky state vectors ('states'); use --input-format",
    )


def _is_modes_csv(path: Path) -> bool:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            header = handle.readline().strip().lower().replace('"', "")
    except (OSError, UnicodeDecodeError, EOFError):
        return False
    cells = [c.strip() for c in header.split(",")]
    names = set(cells)
    if names & {"frame", "rawmsg", "hex"} and "lat" not in names:
        return True
    if len(cells) >= 2 and len(cells[1]) in (14, 28):  # header-less "ts,hex,..." (pyModeS)
        try:
            float(cells[0])
            int(cells[1], 16)
        except ValueError:
            return False
        return True
    return False


def read_reports(
    source: str | Path,
    *,
    input_format: str | None = None,
    column_mapping: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read any supported input into a reports table (:mod:`deconflict.formats.states`).

    ``csv``/``jsonl``/``parquet`` return :func:`~deconflict.formats.tracks.read_tracks` columns
    (``time``, ``callsign``, ``onground`` only when the file has them); message feeds return
    assembled position reports with every column.
    """
    text = str(source)
    kind = input_format or detect_format(text)
    if kind in ("csv", "jsonl", "parquet"):
        if column_mapping:
            return read_tracks(text, column_mapping=column_mapping, file_format=kind)
        try:
            return read_layout_table(text, kind)
        except FileNotFoundError as exc:
            raise InvalidInputError(field="FILE", reason=f"no such file: {text}") from exc
    if kind not in INPUT_FORMATS:
        raise InvalidInputError(
            field="--input-format",
            reason=f"unknown format {kind!r}; use {', '.join(INPUT_FORMATS)}",
        )
    reader = _READERS.get(kind)
    if reader is None:  # pragma: no cover - every format registers on import of the package
        raise InvalidInputError(field="--input-format", reason=f"no reader for {kind!r}")
    return reader(text)
