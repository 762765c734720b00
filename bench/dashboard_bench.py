"""Dashboard frame times with 5,000 own aircraft updating every second (headless Chromium).

Starts a real broker (``deconflict serve`` on a temporary SQLite database with one party), signs in
to the dashboard with Playwright, then feeds a synthetic picture through the page's own pipeline
(``JSON.parse`` of a picture document -> normalisation -> the one-canvas aircraft layer) once per
second while the browser's ``requestAnimationFrame`` deltas and Long Animation Frames are recorded.

Three phases per mode, each with the 1 Hz updates: *steady* (map still); *drag* (the mouse drags the
map continuously, released and grabbed again every ~1.5 s, as a duty officer does); *panby*
(``map.panBy`` every frame: a full redraw of every layer each frame, the worst case). Modes:

* ``layer`` — the dashboard's aircraft layer: one canvas, every aircraft drawn in one pass with
  heading vector, trail and decluttered label;
* ``markers`` — reference in the same browser: one Leaflet ``L.circleMarker`` per aircraft on a
  shared ``L.canvas`` renderer, ``setLatLng`` on each update (symbols only: no vectors or labels).

Usage::

    .venv/bin/python bench/dashboard_bench.py [--quick] [--aircraft 5000] [--seconds 15]

Prints a table (median / p95 frame time, long frames, update cost) and the ratio layer/markers.
Never run in the unit tests; numbers depend on the machine (headless, --disable-gpu: CPU raster).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("DECONFLICT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--enable-unsafe-swiftshader",
]

# In-page driver: builds the synthetic fleet, feeds it every second and records frame deltas.
DRIVER_JS = r"""
async ({n, seconds, mode, pan}) => {
  const dc = window.__deconflict;
  const map = dc.map;
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
  const fleet = [];
  for (let i = 0; i < n; i++) {
    fleet.push({id: 'B' + i, callsign: 'BLU' + String(i).padStart(4, '0'), lat: 43 + rnd() * 8,
      lon: 2 + rnd() * 16, alt_ft: 5000 + Math.round(rnd() * 36000), gs_kt: 250 + rnd() * 250,
      track_deg: rnd() * 360, vs_fpm: rnd() < 0.2 ? (rnd() - 0.5) * 4000 : 0});
  }
  const step = () => {
    for (const a of fleet) {
      const d = a.gs_kt / 3600 / 60;
      a.lat += d * Math.cos(a.track_deg * Math.PI / 180);
      a.lon += d * Math.sin(a.track_deg * Math.PI / 180) / Math.cos(a.lat * Math.PI / 180);
      a.track_deg = (a.track_deg + (rnd() - 0.5) * 2 + 360) % 360;
    }
    // A `picture` event exactly as the broker sends it (broker/events.py PictureView).
    const at = new Date().toISOString();
    const own = fleet.map((a) => ({...a, time: at, stale: false}));
    return JSON.stringify({party: 'BLUE', at, own, traffic: [], alert_ids: []});
  };
  map.setView([47, 10], 6, {animate: false});
  let markers = null;
  if (mode === 'markers') {
    dc.aircraft.setData([], []);
    const renderer = L.canvas({padding: 0.1});
    markers = fleet.map((a) => L.circleMarker([a.lat, a.lon], {renderer, radius: 3,
      color: '#3fd0ff', weight: 1, fillOpacity: 0.8, interactive: false}).addTo(map));
  }
  const updateCosts = [];
  const drawCosts = [];
  const feed = () => {
    const t0 = performance.now();
    const text = step();
    if (mode === 'layer') {
      dc.applyPicture(JSON.parse(text));
    } else {
      const pic = JSON.parse(text);
      pic.own.forEach((a, i) => markers[i].setLatLng([a.lat, a.lon]));
    }
    updateCosts.push(performance.now() - t0);
  };
  feed();
  await new Promise((r) => setTimeout(r, 1500));
  const deltas = [];
  const loaf = [];
  let obs = null;
  try {
    obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) loaf.push(e.duration);
    });
    obs.observe({type: 'long-animation-frame', buffered: false});
  } catch (e) { obs = null; }
  const timer = setInterval(feed, 1000);
  const drawsBefore = dc.aircraft.stats.draws;
  await new Promise((resolve) => {
    let last = performance.now();
    const end = last + seconds * 1000;
    let dir = 1;
    let k = 0;
    const frame = (now) => {
      deltas.push(now - last);
      last = now;
      if (mode === 'layer') drawCosts.push(dc.aircraft.stats.lastDrawMs);
      if (pan === 'panby') {
        if (++k % 240 === 0) dir = -dir;
        map.panBy([3 * dir, 1 * dir], {animate: false});
      }
      if (now < end) requestAnimationFrame(frame); else resolve();
    };
    requestAnimationFrame(frame);
  });
  clearInterval(timer);
  if (obs) obs.disconnect();
  if (markers) markers.forEach((m) => m.remove());
  return {deltas, updateCosts, loaf, draws: dc.aircraft.stats.draws - drawsBefore,
    labels: dc.aircraft.stats.labels, visible: dc.aircraft._visibleCount || 0};
}
"""


PHASES = ("steady", "drag", "panby")


def _drag(page: Any, seconds: float) -> None:
    """Drag the map with the mouse for ``seconds``: ~1.5 s strokes, back and forth."""
    end = time.monotonic() + seconds
    cx, cy = 700, 450
    direction = 1
    while time.monotonic() < end:
        page.mouse.move(cx, cy)
        page.mouse.down()
        stroke_end = min(end, time.monotonic() + 1.5)
        x = cx
        while time.monotonic() < stroke_end:
            x += 4 * direction
            page.mouse.move(x, cy + (x - cx) / 4)
            time.sleep(1 / 60)
        page.mouse.up()
        direction = -direction


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str) -> str:
    exe = str(Path(sys.executable).with_name("deconflict"))
    out = subprocess.run([exe, *args], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q * (len(s) - 1))))
    return s[k]


def _summary(result: dict[str, Any]) -> dict[str, float]:
    deltas = [float(d) for d in result["deltas"][1:]]
    return {
        "frames": float(len(deltas)),
        "median_ms": _percentile(deltas, 0.5),
        "p95_ms": _percentile(deltas, 0.95),
        "max_ms": max(deltas) if deltas else float("nan"),
        "over_50ms": float(sum(1 for d in deltas if d > 50)),
        "update_ms": _percentile([float(u) for u in result["updateCosts"]], 0.5),
        "loaf": float(len(result["loaf"])),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per phase instead of 15")
    parser.add_argument("--aircraft", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    seconds = 5.0 if args.quick else args.seconds

    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="dashbench-"))
    db = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("DECONFLICT_DATA_DIR", str(tmp))
    _cli("db", "upgrade", "--db", db)
    _cli("party", "add", "BLUE", "--db", db)
    key = _cli("key", "create", "BLUE", "--role", "duty_officer", "--db", db).splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("deconflict")),
            "serve",
            "--db",
            db,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DECONFLICT_DATA_DIR": str(tmp)},
    )
    rows: list[tuple[str, str, dict[str, float], dict[str, Any]]] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for mode in ("layer", "markers"):
                for phase in PHASES:
                    page = browser.new_page(viewport={"width": 1600, "height": 900})
                    page.goto(f"http://127.0.0.1:{port}/#key={key}")
                    page.wait_for_function(
                        "window.__deconflict && window.__deconflict.state.ready === true",
                        timeout=30000,
                    )
                    params = {"n": args.aircraft, "seconds": seconds, "mode": mode, "pan": phase}
                    page.evaluate(
                        f"(args) => {{ window.__bench = ({DRIVER_JS})(args); return true; }}",
                        params,
                    )
                    if phase == "drag":
                        _drag(page, seconds + 1.6)
                    result = page.evaluate("() => window.__bench")
                    rows.append((mode, phase, _summary(result), result))
                    page.close()
            version = browser.version
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(
        f"dashboard frame times: {args.aircraft} aircraft, 1 Hz updates, {seconds:.0f} s per phase"
    )
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Chromium {version} headless "
        "--disable-gpu, 1600x900"
    )
    header = f"{'mode':8} {'phase':8} {'frames':>6} {'median':>8} {'p95':>8} {'max':>8} "
    header += f"{'>50ms':>6} {'LoAF':>5} {'update':>8}"
    print(header)
    for mode, phase, s, _ in rows:
        print(
            f"{mode:8} {phase:8} {s['frames']:6.0f} {s['median_ms']:7.1f}ms {s['p95_ms']:7.1f}ms "
            f"{s['max_ms']:7.1f}ms {s['over_50ms']:6.0f} {s['loaf']:5.0f} {s['update_ms']:7.1f}ms"
        )
    by = {(m, ph): s for m, ph, s, _ in rows}
    for phase in PHASES:
        lay, ref = by[("layer", phase)], by[("markers", phase)]
        print(
            f"ratio layer/markers ({phase}): p95 {lay['p95_ms'] / ref['p95_ms']:.2f}, "
            f"update {lay['update_ms'] / ref['update_ms']:.2f}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "aircraft": args.aircraft,
                    "seconds": seconds,
                    "chromium": version,
                    "rows": [{"mode": m, "phase": ph, **s} for m, ph, s, _ in rows],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
