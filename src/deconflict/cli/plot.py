"""``deconflict plot EVENTS --tracks FILE --out x.png``: one encounter drawn to PNG.

Left: both aircraft's ground tracks (lon/lat, degrees) around the encounter, the point of
minimum separation marked. Right: horizontal separation (NM) and vertical separation (ft) over
time, with the thresholds and the alert / loss-of-separation interval shaded. ``EVENTS`` is the
output of ``deconflict detect FILE --events`` (.jsonl, .csv or .parquet); ``--tracks`` the same
input ``FILE``, which is cleaned and aligned the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import typer

from deconflict.errors import InvalidInputError
from deconflict.formats.clean import prepare_states
from deconflict.formats.sources import read_reports
from deconflict.tactical import HORIZONTAL_NM, VERTICAL_FT
from deconflict.units import M_PER_NM

__all__ = ["draw_encounter", "read_events", "register"]

_MARGIN = pd.Timedelta(seconds=120)


def read_events(path: Path) -> pd.DataFrame:
    """Encounters from a .jsonl / .csv / .parquet file written by ``detect --events``."""
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            frame = pd.read_parquet(path)
        elif name.endswith(".csv"):
            frame = pd.read_csv(path, dtype={"a": str, "b": str}, keep_default_na=False)
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
            frame = pd.DataFrame([json.loads(line) for line in lines if line.strip()])
    except FileNotFoundError as exc:
        raise InvalidInputError(field="EVENTS", reason=f"no such file: {path}") from exc
    except (OSError, ValueError) as exc:
        raise InvalidInputError(field="EVENTS", reason=f"cannot read {path}: {exc}") from exc
    for column in ("a", "b", "first_alert", "last_alert"):
        if column not in frame.columns:
            raise InvalidInputError(
                field=column, reason="missing: EVENTS must come from 'deconflict detect --events'"
            )
    return frame


def _separation(sa: pd.DataFrame, sb: pd.DataFrame) -> pd.DataFrame:
    both = sa.merge(sb, on="time", suffixes=("_a", "_b"))
    lat1, lat2 = np.radians(both["lat_a"]), np.radians(both["lat_b"])
    dlon = np.radians(both["lon_b"] - both["lon_a"])
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    both["h_nm"] = 2 * 6371008.8 * np.arcsin(np.sqrt(np.clip(h, 0, 1))) / M_PER_NM
    both["v_ft"] = (both["alt_ft_a"] - both["alt_ft_b"]).abs()
    return both


def draw_encounter(
    event: pd.Series,
    states: pd.DataFrame,
    out: Path,
    *,
    horizontal_nm: float = HORIZONTAL_NM,
    vertical_ft: float = VERTICAL_FT,
) -> None:
    """Draw one encounter (a row of ``detect --events``) from aligned ``states`` to ``out``."""
    try:  # the optional "plot" extra (pip install 'deconflict[plot]'); Agg: no display needed
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - installed with the test extra
        raise InvalidInputError(
            field="plot", reason="needs matplotlib: pip install 'deconflict[plot]'"
        ) from exc
    start = pd.Timestamp(event["first_alert"]) - _MARGIN
    end = pd.Timestamp(event["last_alert"]) + _MARGIN
    window = states[(states["time"] >= start) & (states["time"] <= end)]
    sa = window[window["id"] == str(event["a"])][["time", "lat", "lon", "alt_ft"]]
    sb = window[window["id"] == str(event["b"])][["time", "lat", "lon", "alt_ft"]]
    if sa.empty or sb.empty:
        raise InvalidInputError(
            field="--tracks",
            reason=f"no states of {event['a']} and {event['b']} around the encounter",
        )
    both = _separation(sa, sb)
    fig, (geo, sep) = plt.subplots(1, 2, figsize=(12, 5))
    for frame, label in (
        (sa, event.get("callsign_a") or event["a"]),
        (sb, event.get("callsign_b") or event["b"]),
    ):
        geo.plot(frame["lon"], frame["lat"], label=str(label))
        geo.plot(frame["lon"].iloc[0], frame["lat"].iloc[0], "o", color="grey", markersize=3)
    if len(both):
        k = int(np.argmin(both["h_nm"].to_numpy()))
        geo.plot([both["lon_a"].iloc[k], both["lon_b"].iloc[k]],
                 [both["lat_a"].iloc[k], both["lat_b"].iloc[k]], "k--", linewidth=1,
                 label=f"min {both['h_nm'].iloc[k]:.2f} NM")  # fmt: skip
    geo.set_xlabel("longitude (deg)")
    geo.set_ylabel("latitude (deg)")
    geo.set_aspect(1 / max(np.cos(np.radians(float(sa["lat"].mean()))), 0.05))
    geo.legend(loc="best", fontsize=8)
    geo.set_title(f"{event['a']} / {event['b']}")
    sep.plot(both["time"], both["h_nm"], color="tab:blue", label="horizontal (NM)")
    sep.axhline(horizontal_nm, color="tab:blue", linestyle=":", linewidth=1)
    sep.set_ylabel("horizontal separation (NM)", color="tab:blue")
    sep.set_xlabel("time (UTC)")
    vert = sep.twinx()
    vert.plot(both["time"], both["v_ft"], color="tab:red", label="vertical (ft)")
    vert.axhline(vertical_ft, color="tab:red", linestyle=":", linewidth=1)
    vert.set_ylabel("vertical separation (ft)", color="tab:red")
    sep.axvspan(pd.Timestamp(event["first_alert"]), pd.Timestamp(event["last_alert"]),
                color="orange", alpha=0.15, label="alerting")  # fmt: skip
    if isinstance(event.get("los_start"), str) and event["los_start"]:
        sep.axvspan(pd.Timestamp(event["los_start"]), pd.Timestamp(event["los_end"]),
                    color="red", alpha=0.15, label="loss of separation")  # fmt: skip
    sep.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=100, format="png")
    except OSError as exc:
        raise InvalidInputError(field="--out", reason=f"cannot write {out}: {exc}") from exc
    finally:
        plt.close(fig)


def plot_command(
    events: Annotated[Path, typer.Argument(help="Encounters from 'deconflict detect --events'.")],
    tracks: Annotated[str, typer.Option("--tracks", help="The input the events came from.")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    index: Annotated[int, typer.Option("--index", help="Which encounter (0-based row).")] = 0,
    input_format: Annotated[str | None, typer.Option("--input-format")] = None,
    align_s: Annotated[float, typer.Option("--align", help="As for detect, s.")] = 1.0,
    max_age_s: Annotated[float, typer.Option("--max-age", help="As for detect, s.")] = 15.0,
) -> None:
    """Draw one encounter's geometry and separation over time to a PNG."""
    if out.suffix.lower() != ".png":
        raise InvalidInputError(field="--out", reason=f"must end in .png, got {out.name!r}")
    table = read_events(events)
    if not 0 <= index < len(table):
        raise InvalidInputError(field="--index", reason=f"{index} not in 0..{len(table) - 1}")
    states, _ = prepare_states(read_reports(tracks, input_format=input_format),
                               align_s=align_s, max_age_s=max_age_s)  # fmt: skip
    draw_encounter(table.iloc[index], states, out)


def register(app: typer.Typer) -> None:
    """Register ``deconflict plot``."""
    app.command("plot", help="Draw one encounter (from detect --events) to a PNG.")(plot_command)
