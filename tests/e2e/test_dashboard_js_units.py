"""The dashboard's pure JavaScript, run in real Chromium and checked against Python references.

* Ledger: the browser's RFC 9162 consistency-proof check agrees with the project's Python
  verifier on every pair of tree sizes up to 20, and rejects tampered proofs and roots; its
  C2SP checkpoint verification (WebCrypto Ed25519) accepts the broker's signer's notes, including
  keys whose base64 contains '+', and rejects a changed body or another key.
* Basemap: after the antimeridian fix no ring of the vendored Natural Earth data has an edge
  longer than 180° of longitude (the "streak across the map" bug), at both scales.
* Model: the broker's alert view (``live/picture.py``) becomes an absolute loss-of-separation
  time, own aircraft reference, severity and acknowledgement state.

The files are served by a plain static HTTP server over the package's ``web`` directory.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from dashboard_browser import REPO

from deconflict.ledger.checkpoint import Checkpoint
from deconflict.ledger.notes import Signer, format_note
from deconflict.ledger.proofs import ProofError, verify_consistency

pytestmark = pytest.mark.e2e

WEB_DIR = REPO / "src" / "deconflict" / "web"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - class attribute of the stdlib handler
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def js(browser: Any) -> Iterator[Any]:
    """A page on the static server's origin (so ES modules import)."""
    handler = functools.partial(_Quiet, directory=str(WEB_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{server.server_address[1]}/static/css/app.css")
    yield page
    page.close()
    server.shutdown()


# ----------------------------------------------------------------- RFC 9162 reference (Python)


def _leaf(i: int) -> bytes:
    return hashlib.sha256(b"\x00" + f"entry-{i}".encode()).digest()


def _node(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + a + b).digest()


def _mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _node(_mth(leaves[:k]), _mth(leaves[k:]))


def _subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [_mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_subproof(m, leaves[:k], b), _mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


def _proof(m: int, leaves: list[bytes]) -> list[bytes]:
    return _subproof(m, leaves, True) if 0 < m < len(leaves) else []


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


VERIFY_JS = """async (cases) => {
  const {verifyConsistency} = await import('/static/js/ledger.js');
  const dec = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const out = [];
  for (const [m, n, proof, r1, r2] of cases) {
    out.push(await verifyConsistency(m, n, proof.map(dec), dec(r1), dec(r2)));
  }
  return out;
}"""


def test_consistency_proofs_agree_with_python(js: Any) -> None:
    leaves = [_leaf(i) for i in range(20)]
    good, bad = [], []
    for n in range(1, 21):
        for m in range(1, n + 1):
            proof = _proof(m, leaves[:n])
            r1, r2 = _mth(leaves[:m]), _mth(leaves[:n])
            verify_consistency(m, n, proof, r1, r2)  # the project's verifier accepts the vector
            good.append([m, n, [_b64(p) for p in proof], _b64(r1), _b64(r2)])
            if proof:
                tampered = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
                with pytest.raises(ProofError):
                    verify_consistency(m, n, tampered, r1, r2)
                bad.append([m, n, [_b64(p) for p in tampered], _b64(r1), _b64(r2)])
            if m < n:
                bad.append([m, n, [_b64(p) for p in proof], _b64(r1), _b64(_mth(leaves[: n - 1]))])
    assert all(js.evaluate(VERIFY_JS, good))
    assert not any(js.evaluate(VERIFY_JS, bad))
    # A log that shrank is never consistent.
    assert js.evaluate(VERIFY_JS, [[5, 4, [], _b64(_mth(leaves[:5])), _b64(_mth(leaves[:4]))]]) == [
        False
    ]


CHECKPOINT_JS = """async ([note, vkey]) => {
  const {verifyCheckpoint} = await import('/static/js/ledger.js');
  return await verifyCheckpoint(note, vkey);
}"""


def test_checkpoint_signature_verified_with_webcrypto(js: Any) -> None:
    signers = [Signer.generate("deconflict.local/ledger") for _ in range(12)]
    # Make sure the '+' in a base64 key is exercised (a real bug this test found).
    assert any("+" in s.verifier.vkey().split("+", 2)[2] for s in signers)
    for signer in signers:
        cp = Checkpoint(origin="deconflict.local/ledger", size=42, root=_leaf(7), timestamp_s=1)
        note = format_note(cp.body(), [signer.sign(cp.body())])
        ok = js.evaluate(CHECKPOINT_JS, [note, signer.verifier.vkey()])
        assert ok["ok"] is True and ok["method"] == "WebCrypto Ed25519", ok
        forged = note.replace("\n42\n", "\n43\n", 1)
        assert js.evaluate(CHECKPOINT_JS, [forged, signer.verifier.vkey()])["ok"] is False
    other = Signer.generate("deconflict.local/ledger")
    cp = Checkpoint(origin="deconflict.local/ledger", size=1, root=_leaf(1), timestamp_s=1)
    note = format_note(cp.body(), [signers[0].sign(cp.body())])
    assert js.evaluate(CHECKPOINT_JS, [note, other.verifier.vkey()])["ok"] is False


STREAK_JS = """async (name) => {
  const {fixRing, splitLine} = await import('/static/js/basemap.js');
  const topo = await (await fetch('/static/vendor/' + name)).json();
  // Decode the TopoJSON arcs by hand (no topojson global needed): delta-encoded, quantised.
  const [sx, sy] = topo.transform.scale;
  const [tx, ty] = topo.transform.translate;
  const arcs = topo.arcs.map((arc) => {
    let x = 0; let y = 0;
    return arc.map(([dx, dy]) => { x += dx; y += dy; return [x * sx + tx, y * sy + ty]; });
  });
  const ringOf = (idx) => {
    const out = [];
    for (const i of idx) {
      const a = i >= 0 ? arcs[i] : arcs[~i].slice().reverse();
      out.push(...(out.length ? a.slice(1) : a));
    }
    return out;
  };
  // Longest east-west edge drawn inside the Web Mercator map (|lat| < 85.05): a closing edge
  // along the pole (Antarctica) lies outside the map and is allowed.
  const widest = (pts) => {
    let w = 0;
    for (let k = 1; k < pts.length; k++) {
      const [x0, y0] = pts[k - 1];
      const [x1, y1] = pts[k];
      if (Math.abs(y0) < 85.05 || Math.abs(y1) < 85.05) w = Math.max(w, Math.abs(x1 - x0));
    }
    return w;
  };
  let rings = 0; let worst = 0; let crossing = 0; let rawWorst = 0;
  for (const g of topo.objects.countries.geometries) {
    const polys = g.type === 'Polygon' ? [g.arcs] : g.type === 'MultiPolygon' ? g.arcs : [];
    for (const poly of polys) for (const r of poly) {
      const ring = ringOf(r);
      rawWorst = Math.max(rawWorst, widest(ring));
      const fixed = fixRing(ring);
      if (fixed.length > 1) crossing++;
      for (const f of fixed) { rings++; worst = Math.max(worst, widest(f)); }
      for (const part of splitLine(ring)) worst = Math.max(worst, widest(part));
    }
  }
  return {rings, worst, crossing, rawWorst};
}"""


@pytest.mark.parametrize("atlas", ["countries-110m.json", "countries-50m.json"])
def test_no_antimeridian_streaks(js: Any, atlas: str) -> None:
    result = js.evaluate(STREAK_JS, atlas)
    assert result["rawWorst"] > 180  # the raw data does cross ±180° (Russia, Fiji, Antarctica)
    assert result["crossing"] >= 2
    assert result["worst"] <= 180, result


NORMALIZE_JS = """async (view) => {
  const {normalizeAlert} = await import('/static/js/model.js');
  const own = {id: 'VIPER11', callsign: 'VIPER11', lat: 35, lon: 31, alt_ft: 25000};
  const traffic = {id: 'A7-2', callsign: 'RED·7', lat: 35.1, lon: 31.5, alt_ft: 25300};
  const a = normalizeAlert(view, {ownFind: (id) => (id === 'VIPER11' ? own : null),
    trafficFind: (h) => (h === 'A7-2' ? traffic : null)});
  return {losMs: a.losMs, ownRef: a.ownRef, ownCallsign: a.own && a.own.callsign,
    other: a.other && a.other.callsign, severity: a.severity, ackedByMe: a.ackedByMe,
    hmd: a.hmdNm, tcpa: a.tCpaS, otherParty: a.otherParty};
}"""


def test_alert_view_normalised(js: Any) -> None:
    view = {
        "id": "A7",
        "kind": "conflict",
        "severity": "warning",
        "state": "open",
        "parties": ["BLUE", "RED"],
        "t_in_s": 95.5,
        "t_cpa_s": 120.0,
        "hmd_nm": 1.2,
        "vmd_ft": 300.0,
        "own": [{"role": "aircraft", "id": "VIPER11"}],
        "others": [{"role": "aircraft", "party": "RED", "handle": "A7-2"}],
        "acknowledged": True,
        "raised_at": "2026-11-26T10:00:00Z",
        "updated_at": "2026-11-26T10:00:05Z",
    }
    got = js.evaluate(NORMALIZE_JS, view)
    assert got["losMs"] == (1795687205 + 95.5) * 1000
    assert got["ownRef"] == "VIPER11" and got["ownCallsign"] == "VIPER11"
    assert got["other"] == "RED·7" and got["otherParty"] == "RED"
    assert got["severity"] == "warning" and got["ackedByMe"] is True
    assert got["hmd"] == 1.2 and got["tcpa"] == 120.0


# ----------------------------------------------------------------- guidance bands (bands.js)

BANDS_JS = """async ([bands, width, keys]) => {
  const B = await import('/static/js/bands.js');
  const out = {track: {}, scales: {}, bearingsOk: true};
  for (const a of B.trackArcs(bands.track_deg.intervals)) {
    out.track[a.region] = (out.track[a.region] || 0) + (a.to - a.from);
    const bs = B.arcBearings(a.from, a.to);
    out.bearingsOk = out.bearingsOk && bs[0] === a.from && Math.abs(bs[bs.length - 1] - a.to) < 1e-9
      && bs.every((b, i) => i === 0 || (b > bs[i - 1] && b - bs[i - 1] <= 3 + 1e-9));
  }
  for (const name of ['gs_kt', 'vs_fpm', 'alt_ft']) {
    const dim = bands[name];
    const [lo, hi] = B.scaleWindow(name, dim);
    const widths = {};
    for (const s of B.scaleSegments(dim.intervals, lo, hi, width, B.GRID_STEP[name])) {
      widths[s.region] = (widths[s.region] || 0) + (s.x1 - s.x0);
    }
    out.scales[name] = {lo, hi, widths};
  }
  out.manoeuvres = keys.map(([d, s]) => B.manoeuvreOf({dimension: d, side: s}));
  const view = {guidance: [{aircraft: 'VIPER11', dimension: 'track_deg', side: 'right', value: 115},
    {aircraft: 'VIPER12', dimension: 'hold', side: 'hold', value: 0}]};
  out.mine = B.guidanceFor(view, 'VIPER11').map((g) => g.aircraft);
  out.text = B.manoeuvreText(view.guidance[0]);
  return out;
}"""


#: The band grids of issue 13 (first value, last value, step).
BAND_GRIDS = {
    "track_deg": (0.0, 359.0, 1.0),
    "gs_kt": (10.0, 700.0, 5.0),
    "vs_fpm": (-6000.0, 6000.0, 100.0),
    "alt_ft": (100.0, 50000.0, 100.0),
}
REGIONS = ("NONE", "FAR", "MID", "NEAR", "RECOVERY")


def _random_bands(rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bands as the route sends them (runs of equal region over each grid, as
    ``DimensionBands.intervals``) and, per dimension, every grid value with its region."""
    wire: dict[str, Any] = {}
    grid: dict[str, Any] = {}
    for name, (first, last, step) in BAND_GRIDS.items():
        n = round((last - first) / step) + 1
        regions = []
        while len(regions) < n:
            regions += [rng.choice(REGIONS)] * rng.randint(1, max(1, n // 6))
        values = [first + k * step for k in range(n)]
        cells = list(zip(values, regions[:n], strict=True))
        runs: list[dict[str, Any]] = []
        for v, r in cells:
            if runs and runs[-1]["region"] == r:
                runs[-1]["high"] = v
            else:
                runs.append({"low": v, "high": v, "region": r})
        wire[name] = {"intervals": runs, "current": rng.choice(values)}
        grid[name] = cells
    return wire, grid


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_band_arcs_and_scales_cover_the_grid(js: Any, seed: int) -> None:
    """Arcs cover each track value's degree once, by its region; each scale gives every region
    the pixels of its grid cells inside the window (brute force over the grid values)."""
    from deconflict.daa.guidance import TEMPLATE_MANOEUVRE

    wire, grid = _random_bands(random.Random(seed))
    keys = sorted(TEMPLATE_MANOEUVRE)
    width = 250
    got = js.evaluate(BANDS_JS, [wire, width, [list(k) for k in keys]])
    want_track: dict[str, float] = {}
    for _v, region in grid["track_deg"]:
        want_track[region] = want_track.get(region, 0.0) + 1.0
    assert got["track"] == pytest.approx(want_track)
    assert sum(got["track"].values()) == pytest.approx(360.0)
    assert got["bearingsOk"]
    for name in ("gs_kt", "vs_fpm", "alt_ft"):
        first, last, step = BAND_GRIDS[name]
        lo, hi = got["scales"][name]["lo"], got["scales"][name]["hi"]
        current = wire[name]["current"]
        if name == "alt_ft":  # ±6,000 ft round the current altitude, within the grid
            assert lo == max(first - step / 2, current - 6000)
            assert hi == min(last + step / 2, current + 6000)
        else:  # the whole grid
            assert (lo, hi) == (first - step / 2, last + step / 2)
        want: dict[str, float] = {}
        for v, region in grid[name]:
            inside = max(0.0, min(hi, v + step / 2) - max(lo, v - step / 2))
            if inside > 0:
                want[region] = want.get(region, 0.0) + inside * width / (hi - lo)
        assert got["scales"][name]["widths"] == pytest.approx(want), name
    # The manoeuvre names are the broker's (daa/guidance.py), for every (dimension, side).
    assert [(m["manoeuvre"], m["target"]) for m in got["manoeuvres"]] == [
        TEMPLATE_MANOEUVRE[k] for k in keys
    ]
    assert got["mine"] == ["VIPER11"]  # only the own aircraft's guidance
    assert got["text"] == "turn_right → 115°"  # no catalogue loaded: the value id, then the target


DISCLOSURES_JS = """async ([rows, keyEvent]) => {
  const D = await import('/static/js/disclosures.js');
  const api = {get: async (path) => (path === '/v1/disclosures' ? {disclosures: rows}
    : {events: [{id: 1, at: '2026-12-05T08:00:00Z', key_id: 'k1', role: 'party_admin',
      issued_by: 'operator', issuer_key_id: null}]})};
  const root = document.createElement('div');
  const badge = document.createElement('span');
  const panel = new D.DisclosuresPanel(root, badge, {api, noticeName: () => 'CAP'});
  await panel.refresh();
  const before = root.querySelectorAll('[data-testid=key-event-row]').length;
  panel.applyKeyEvent(keyEvent);
  panel.applyKeyEvent(keyEvent); // a replayed event is listed once
  return {order: D.newestFirst(rows).map((r) => r.id),
    labels: ['an unaffiliated party', 'RED'].map((l) => D.counterpartLabel(l)),
    rows: root.querySelectorAll('[data-testid=disclosure-row]').length, badge: badge.textContent,
    keysBefore: before,
    keys: [...root.querySelectorAll('[data-testid=key-event-row]')].map((n) => n.dataset.issuedBy),
    operatorFlag: root.querySelector('[data-testid=operator-keys]').textContent};
}"""


def test_disclosures_newest_first_and_labels(js: Any) -> None:
    rows = [
        {"id": 1, "at": "2026-12-05T10:00:00Z"},
        {"id": 3, "at": "2026-12-05T09:00:00Z"},
        {"id": 2, "at": "2026-12-05T10:00:00Z"},
    ]
    key_event = {  # broker/events.py KeyIssued
        "key_id": "k2",
        "role": "duty_officer",
        "issued_by": "party_admin",
        "issuer_key_id": "k1",
        "at": "2026-12-05T09:00:00Z",
        "ledger_index": 7,
    }
    got = js.evaluate(DISCLOSURES_JS, [rows, key_event])
    assert got["order"] == [2, 1, 3]
    # The server's generic label is translated text; a counterpart's name is data.
    assert got["labels"] == [
        {"text": "an unaffiliated party", "data": False},
        {"text": "RED", "data": True},
    ]
    assert got["rows"] == 3 and got["badge"] == "3"
    # The stream's key event is listed at once, newest first, once; the operator's key flagged.
    assert got["keysBefore"] == 1
    assert got["keys"] == ["party_admin", "operator"]
    assert got["operatorFlag"] == "1 by the broker operator"
