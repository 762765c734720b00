"""No JIT compilation inside a live cycle (issue 14): the engine's start-up loads every compiled
kernel, so the first cycle that raises alerts, grades them, computes bands and coordinated
guidance with an agreed line as a preference compiles nothing.

CI caught the opposite: on a fresh clone the DAA kernels compiled inside the demo's first alert
cycle (tens of seconds on a loaded two-core machine), so the demo's first FLASH warning went out
minutes of scenario time late. The check runs in a fresh interpreter (this test process may
already hold compiled kernels): after ``LiveEngine.recover`` it records every numba dispatcher's
compiled signatures in :mod:`deconflict.tactical._jit`, :mod:`deconflict.live._jit` and
:mod:`deconflict.daa._jit`, runs the scenario, and fails if any dispatcher gained one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from datetime import UTC, datetime, timedelta
    import numpy as np
    from numba.core.registry import CPUDispatcher
    import deconflict.daa._jit as daa_jit
    import deconflict.live._jit as live_jit
    import deconflict.tactical._jit as tactical_jit
    from deconflict.broker import agreements, parties
    from deconflict.broker.live import LiveEngine
    from deconflict.live.batch import parse_batch
    from deconflict.live.engine import LiveConfig
    from deconflict.store.base import Database
    from deconflict.store.migrate import upgrade

    def signatures():
        out = {}
        for mod in (tactical_jit, live_jit, daa_jit):
            for name, obj in vars(mod).items():
                if isinstance(obj, CPUDispatcher):
                    out[f"{mod.__name__}.{name}"] = len(obj.signatures)
        return out

    db_url = sys.argv[1]
    upgrade(db_url)
    db = Database(db_url)
    t0 = datetime.now(UTC).replace(microsecond=0)
    with db.write() as s:
        ids = {n: parties.create_party(s, n, now=t0).id for n in ("BLUE", "RED")}
        for profile in ("do365b", "cylinder"):
            ag = agreements.create_agreement(
                s, f"BR-{profile}", policy="advisory", parties=[ids["BLUE"], ids["RED"]],
                now=t0, profile=profile,
            )
        # an east-west line 3 NM north of the encounter; both keep south of it
        agreements.add_line(
            s, ag.id, name="L", coordinates=[[32.0, 34.05], [35.0, 34.05]],
            sides={ids["BLUE"]: "right", ids["RED"]: "right"}, now=t0,
        )
    engine = LiveEngine(db, LiveConfig(picture_interval_s=0.0))
    engine.recover(t0)
    before = signatures()
    nm_lon = float(1.0 / (60.0 * np.cos(np.radians(34.0))))
    guided = 0
    for k in range(4):
        now = t0 + timedelta(seconds=5 * k)
        gap_nm = 8.0 - 2 * 450.0 * 5 * k / 3600.0
        for party, lon, track in (("BLUE", 33.0, 90.0), ("RED", 33.0 + gap_nm * nm_lon, 270.0)):
            body = {
                "time": now.isoformat(), "id": [party.lower()], "lat": [34.0], "lon": [lon],
                "alt_ft": [25000.0], "gs_kt": [450.0], "track_deg": [track], "vs_fpm": [0.0],
            }
            batch = parse_batch(
                body, now_s=now.timestamp(), max_rows=10, max_future_s=10.0, max_past_s=120.0
            )
            with db.write() as s:
                engine.ingest(s, ids[party], batch, now)
        engine.cycle(now)
        picture = engine.picture(ids["BLUE"], now)
        guided += sum(
            1 for a in picture["alerts"] for g in a["guidance"] if g["dimension"] != "hold"
        )
    after = signatures()
    db.dispose()
    grown = {k: (before[k], v) for k, v in after.items() if v != before.get(k)}
    print(json.dumps({"guided": guided, "grown": grown, "kernels": len(after)}))
    """
)


def test_first_live_cycles_compile_no_kernel(tmp_path: Path) -> None:
    db_url = f"sqlite:///{(tmp_path / 'jit.sqlite3').as_posix()}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, db_url],
        capture_output=True,
        text=True,
        timeout=600,  # a cold numba cache compiles at start-up (outside the checked region)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["kernels"] >= 20, result  # the modules' dispatchers were found
    assert result["guided"] > 0, result  # corrective guidance was computed in the cycles
    assert result["grown"] == {}, f"compiled inside a live cycle: {result['grown']}"
