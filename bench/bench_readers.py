"""Benchmark of the feed readers (deconflict.formats) on real recordings, with references.

Run:  .venv/bin/python bench/bench_readers.py [--quick]

1. **SBS-1**: the Swiss day (139,098 states) encoded as SBS-1 lines (MSG,4 + MSG,1 + MSG,3 per
   state, ~417,000 messages), read and assembled per aircraft (``read_sbs``). Target:
   >= 200,000 messages/s on one core. Reference: ``pandas.read_csv`` of the same bytes with the
   same 22 columns, no assembly (a floor for any pandas-based parser).
2. **Mode S**: the rs1090 CDG flight (57,793 frames) through ``read_modes_hex`` (DF filter,
   rs1090 decoding, CPR, assembly). Target: >= 50,000 frames/s. Reference: ``rs1090.decode`` of
   the DF17/18 frames alone (the decoder floor).
3. **End to end**: ``deconflict detect`` work on the Swiss day as SBS-1 (read + clean + align to
   1 s + detect every tick): seconds, and states/s.

Each figure is the best of ``--repeat`` runs; the reference runs in the same process so the
ratio holds on a loaded machine.
"""

from __future__ import annotations

import argparse
import io
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import rs1090

from deconflict.formats.clean import prepare_states
from deconflict.formats.frames import detect_frames
from deconflict.formats.modes import downlink_format, read_modes_hex
from deconflict.formats.sbs import encode_sbs, read_sbs
from deconflict.formats.tracks import read_tracks

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs, s."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run each, 3 hours of the day")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    print(f"# bench_readers  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  {platform.machine()} "
          f"{platform.python_version()}  (one core per figure)")  # fmt: skip
    swiss = read_tracks(DATA / "switzerland_2018-08-01_opensky.csv.gz")
    if args.quick:
        swiss = swiss[swiss["time"] < swiss["time"].min() + pd.Timedelta(hours=3)]
    with tempfile.TemporaryDirectory() as tmp:
        sbs_path = Path(tmp) / "swiss.sbs"
        data = encode_sbs(swiss)
        sbs_path.write_bytes(data)
        messages = data.count(b"\n")
        t_sbs = best(lambda: read_sbs(str(sbs_path)), repeat)
        t_ref = best(
            lambda: pd.read_csv(io.BytesIO(data), header=None, names=list(range(22)), dtype=str),
            repeat,
        )
        print(
            f"SBS-1   {messages:>9,} msgs    read_sbs {t_sbs:7.3f} s = "
            f"{messages / t_sbs:>10,.0f} msg/s   pandas.read_csv {t_ref:6.3f} s   "
            f"ratio {t_sbs / t_ref:5.2f}x  (target >= 200,000 msg/s)"
        )

        frames_path = DATA / "rs1090_cdg_2024-07-06_frames.csv.gz"
        raw = pd.read_csv(frames_path, dtype={"frame": str})
        n_frames = len(raw)
        t_modes = best(lambda: read_modes_hex(str(frames_path)), repeat)
        hexes = raw["frame"].to_numpy(dtype=object)
        adsb = np.isin(downlink_format(hexes), (17, 18))
        ts = raw["timestamp"].to_numpy()[adsb].tolist()
        fr = [str(h) for h in hexes[adsb]]
        t_dec = best(lambda: rs1090.decode(fr, ts), repeat)
        print(
            f"Mode S  {n_frames:>9,} frames  read_modes_hex {t_modes:7.3f} s = "
            f"{n_frames / t_modes:>10,.0f} frames/s   rs1090.decode(DF17/18) {t_dec:6.3f} s   "
            f"ratio {t_modes / t_dec:5.2f}x  (target >= 50,000 frames/s)"
        )

        def end_to_end() -> int:
            states, _ = prepare_states(read_sbs(str(sbs_path)))
            return len(detect_frames(states, validate=False))

        started = time.perf_counter()
        found = end_to_end()
        t_e2e = time.perf_counter() - started
        hours = (swiss["time"].max() - swiss["time"].min()).total_seconds() / 3600
        print(f"E2E     Swiss {hours:4.1f} h as SBS-1: read+clean+align(1 s)+detect {t_e2e:7.2f} s "
              f"= {len(swiss) / t_e2e:>9,.0f} states/s, {found:,} pair-ticks")  # fmt: skip


if __name__ == "__main__":
    main()
