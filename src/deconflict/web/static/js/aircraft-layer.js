// One canvas for every aircraft: a Leaflet layer that redraws all symbols, heading vectors, trails and
// labels in a single pass (a few batched canvas paths), so 5,000 tracks updating every second stay
// smooth. No DOM node per aircraft. Projection is inlined Web Mercator (EPSG:3857, as Leaflet's default
// CRS) to avoid allocating a Point per aircraft per frame.

/* global L */
import {t as translate, N_} from './i18n.js';

const DEG = Math.PI / 180;
const NM_PER_DEG_LAT = 60;
const TRAIL_POINTS = 8;
const TRAIL_MAX_VISIBLE = 2500;
const LABEL_W = 74;
const LABEL_H = 26;
const MAX_LABELS = 700;

function mercX(lonDeg, scale) { return scale * (lonDeg + 180) / 360; }
function mercY(latDeg, scale) {
  const lat = Math.max(-85.05, Math.min(85.05, latDeg)) * DEG;
  return scale * (0.5 - Math.log(Math.tan(Math.PI / 4 + lat / 2)) / (2 * Math.PI));
}

/** Point `distNm` along `trackDeg` from (lat, lon), flat-earth (fine for a few tens of NM). */
export function aheadPoint(latDeg, lonDeg, trackDeg, distNm) {
  const dLat = (distNm * Math.cos(trackDeg * DEG)) / NM_PER_DEG_LAT;
  const dLon = (distNm * Math.sin(trackDeg * DEG)) / (NM_PER_DEG_LAT * Math.max(0.05, Math.cos(latDeg * DEG)));
  return [latDeg + dLat, lonDeg + dLon];
}

export const AircraftLayer = L.Layer.extend({
  options: {
    pane: 'aircraftPane',
    lookaheadS: 300,
    ownColor: '#56b4e9',
    otherColor: '#e69f00',
    alertColor: '#d55e00',
    cautionColor: '#f0e442',
  },

  initialize(options) {
    L.setOptions(this, options);
    this._own = [];          // normalised tracks: {id, callsign, lat, lon, alt_ft, gs_kt, track_deg, vs_fpm}
    this._others = [];       // disclosed other-party tracks (same shape + handle)
    this._trails = new Map(); // id -> [[lat, lon], ...] most recent last
    this._highlight = new Map(); // id -> 'warning' | 'caution' | 'advisory'
    this._selected = null;
    this._px = new Float32Array(0);
    this._py = new Float32Array(0);
    this._frame = null;
    this.stats = {draws: 0, lastDrawMs: 0, labels: 0};
  },

  onAdd(map) {
    if (!map.getPane(this.options.pane)) {
      map.createPane(this.options.pane);
      map.getPane(this.options.pane).style.zIndex = 450;
      map.getPane(this.options.pane).style.pointerEvents = 'none';
    }
    this._canvas = L.DomUtil.create('canvas', 'dc-aircraft-canvas');
    this._canvas.setAttribute('data-testid', 'aircraft-canvas');
    this._canvas.style.position = 'absolute';
    this.getPane().appendChild(this._canvas);
    this._ctx = this._canvas.getContext('2d');
    this._reset();
    this._onClick = (e) => this._click(e);
    map.on('click', this._onClick);
  },

  onRemove(map) {
    map.off('click', this._onClick);
    L.DomUtil.remove(this._canvas);
  },

  getEvents() {
    return {
      moveend: this._reset, resize: this._reset, zoomend: this._reset, viewreset: this._reset,
      zoomstart: () => { this._canvas.style.visibility = 'hidden'; },
    };
  },

  /** Replace the own and disclosed aircraft (arrays of normalised tracks) and schedule one redraw. */
  setData(own, others = []) {
    this._own = own;
    this._others = others;
    const seen = new Set();
    for (const list of [own, others]) {
      for (const t of list) {
        seen.add(t.id);
        let trail = this._trails.get(t.id);
        if (!trail) { trail = []; this._trails.set(t.id, trail); }
        const last = trail[trail.length - 1];
        if (!last || last[0] !== t.lat || last[1] !== t.lon) {
          trail.push([t.lat, t.lon]);
          if (trail.length > TRAIL_POINTS) trail.shift();
        }
      }
    }
    for (const id of this._trails.keys()) if (!seen.has(id)) this._trails.delete(id);
    this.redraw();
  },

  /** Mark aircraft involved in alerts: Map id -> severity. */
  setHighlights(highlight) { this._highlight = highlight; this.redraw(); },

  setSelected(id) { this._selected = id; this.redraw(); },

  setLookahead(seconds) { this.options.lookaheadS = seconds; this.redraw(); },

  count() { return this._own.length; },

  /** Find a track by id among own and disclosed ones. */
  find(id) {
    return this._own.find((t) => t.id === id) || this._others.find((t) => t.id === id) || null;
  },

  redraw() {
    if (this._frame || !this._map) return;
    this._frame = L.Util.requestAnimFrame(() => { this._frame = null; this._draw(); });
  },

  _reset() {
    if (!this._map) return;
    const size = this._map.getSize();
    const dpr = window.devicePixelRatio || 1;
    if (this._canvas.width !== size.x * dpr || this._canvas.height !== size.y * dpr) {
      this._canvas.width = size.x * dpr;
      this._canvas.height = size.y * dpr;
      this._canvas.style.width = `${size.x}px`;
      this._canvas.style.height = `${size.y}px`;
    }
    this._canvas.style.visibility = 'visible';
    this._draw();
  },

  _draw() {
    const map = this._map;
    if (!map || !this._ctx) return;
    const t0 = performance.now();
    const ctx = this._ctx;
    const dpr = window.devicePixelRatio || 1;
    const size = map.getSize();
    // Keep the canvas pinned to the container's top-left, whatever panning happened since.
    L.DomUtil.setPosition(this._canvas, map.containerPointToLayerPoint([0, 0]));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size.x, size.y);

    const zoom = map.getZoom();
    const scale = 256 * 2 ** zoom;
    const origin = map.getPixelBounds().min; // world pixel of the container's top-left corner
    const ox = origin.x;
    const oy = origin.y;
    const w = size.x;
    const h = size.y;
    const lookNm = (gs) => (gs * this.options.lookaheadS) / 3600;
    const sym = zoom >= 7 ? 5 : zoom >= 5 ? 4 : 3;

    const own = this._own;
    const n = own.length;
    if (this._px.length < n) { this._px = new Float32Array(n * 2); this._py = new Float32Array(n * 2); }
    const px = this._px;
    const py = this._py;
    const visible = [];

    // Pass 1: project and cull.
    for (let i = 0; i < n; i++) {
      const t = own[i];
      const x = mercX(t.lon, scale) - ox;
      const y = mercY(t.lat, scale) - oy;
      px[i] = x;
      py[i] = y;
      if (x > -60 && y > -60 && x < w + 60 && y < h + 60) visible.push(i);
    }

    // Trails: one path, faint. In a dense picture (> TRAIL_MAX_VISIBLE aircraft on screen) only
    // aircraft in alert keep their trail: thousands of trails are clutter, not information.
    ctx.lineWidth = 1;
    ctx.strokeStyle = 'rgba(63, 208, 255, 0.28)';
    ctx.beginPath();
    const allTrails = visible.length <= TRAIL_MAX_VISIBLE;
    for (const i of visible) {
      if (!allTrails && !this._highlight.has(own[i].id)) continue;
      const trail = this._trails.get(own[i].id);
      if (!trail || trail.length < 2) continue;
      ctx.moveTo(mercX(trail[0][1], scale) - ox, mercY(trail[0][0], scale) - oy);
      for (let k = 1; k < trail.length; k++) ctx.lineTo(mercX(trail[k][1], scale) - ox, mercY(trail[k][0], scale) - oy);
    }
    ctx.stroke();

    // Heading vectors (look-ahead length) and symbols, batched by colour.
    // Stale tracks (no report within the broker's stale time) are grey: never mistaken for live.
    const groups = {stale: [], normal: [], warning: [], caution: [], advisory: []};
    for (const i of visible) {
      const sev = this._highlight.get(own[i].id);
      (groups[sev] || (own[i].stale ? groups.stale : groups.normal)).push(i);
    }
    const colorOf = {stale: '#6b7b8a', normal: this.options.ownColor, warning: this.options.alertColor,
      caution: this.options.cautionColor, advisory: this.options.ownColor};
    for (const [name, idx] of Object.entries(groups)) {
      if (!idx.length) continue;
      ctx.strokeStyle = colorOf[name];
      ctx.fillStyle = colorOf[name];
      ctx.globalAlpha = name === 'normal' || name === 'stale' ? 0.55 : 0.9;
      ctx.lineWidth = name === 'normal' || name === 'stale' ? 1 : 1.6;
      ctx.beginPath();
      for (const i of idx) {
        const t = own[i];
        if (!(t.gs_kt > 0)) continue;
        const [la, lo] = aheadPoint(t.lat, t.lon, t.track_deg, lookNm(t.gs_kt));
        ctx.moveTo(px[i], py[i]);
        ctx.lineTo(mercX(lo, scale) - ox, mercY(la, scale) - oy);
      }
      ctx.stroke();
      ctx.globalAlpha = 1;
      // Position symbols. Ordinary aircraft: a small filled square (radar-display style; the
      // heading is the vector), drawn with fillRect, the cheapest primitive in software raster
      // (a single path of 5,000 chevrons costs ~240 ms, 5,000 fillRects ~13 ms on 2 cores).
      // Aircraft in alert: a chevron pointing along the track, outlined, larger.
      if (name === 'normal' || name === 'stale') {
        const side = sym + 1;
        const half = Math.floor(side / 2);
        for (const i of idx) ctx.fillRect(Math.round(px[i]) - half, Math.round(py[i]) - half, side, side);
      } else {
        ctx.strokeStyle = '#000';
        ctx.lineWidth = 1;
        for (const i of idx) {
          ctx.beginPath();
          this._chevron(ctx, px[i], py[i], own[i].track_deg, sym + 2);
          ctx.fill();
          ctx.stroke();
        }
      }
    }

    // Disclosed other-party aircraft: orange diamonds, dashed vectors.
    const others = this._others;
    const oxs = [];
    if (others.length) {
      ctx.strokeStyle = this.options.otherColor;
      ctx.fillStyle = this.options.otherColor;
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (const t of others) {
        const x = mercX(t.lon, scale) - ox;
        const y = mercY(t.lat, scale) - oy;
        oxs.push([x, y, t]);
        if (t.gs_kt > 0 && Number.isFinite(t.track_deg)) {
          const [la, lo] = aheadPoint(t.lat, t.lon, t.track_deg, lookNm(t.gs_kt));
          ctx.moveTo(x, y);
          ctx.lineTo(mercX(lo, scale) - ox, mercY(la, scale) - oy);
        }
      }
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.beginPath();
      const d = sym + 3;
      for (const [x, y] of oxs) {
        ctx.moveTo(x, y - d); ctx.lineTo(x + d, y); ctx.lineTo(x, y + d); ctx.lineTo(x - d, y); ctx.closePath();
      }
      ctx.fill();
    }

    // Selected ring.
    if (this._selected) {
      const idx = own.findIndex((t) => t.id === this._selected);
      const target = idx >= 0 ? [px[idx], py[idx]] : (oxs.find((o) => o[2].id === this._selected) || null);
      if (target) {
        ctx.strokeStyle = '#ffffff';
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.arc(target[0], target[1], sym + 7, 0, 2 * Math.PI);
        ctx.stroke();
      }
    }

    // Labels with decluttering: priority to highlighted/selected, then a coarse occupancy grid.
    ctx.font = '11px "DejaVu Sans Mono", monospace';
    ctx.textBaseline = 'top';
    // Decluttering: an occupancy grid of 8-px cells; each label tries four positions around its
    // aircraft (right, left, above, below) and takes the first free one, else is dropped. Symbols
    // of labelled aircraft also block cells so labels do not hide other aircraft.
    const CELL = 8;
    const cols = Math.ceil(w / CELL) + 2;
    const rowsN = Math.ceil(h / CELL) + 2;
    const occupied = new Uint8Array(cols * rowsN);
    const boxFree = (x0, y0, x1, y1) => {
      const c0 = Math.max(0, Math.floor(x0 / CELL));
      const c1 = Math.min(cols - 1, Math.floor(x1 / CELL));
      const r0 = Math.max(0, Math.floor(y0 / CELL));
      const r1 = Math.min(rowsN - 1, Math.floor(y1 / CELL));
      for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) if (occupied[r * cols + c]) return false;
      return true;
    };
    const claim = (x0, y0, x1, y1) => {
      const c0 = Math.max(0, Math.floor(x0 / CELL));
      const c1 = Math.min(cols - 1, Math.floor(x1 / CELL));
      const r0 = Math.max(0, Math.floor(y0 / CELL));
      const r1 = Math.min(rowsN - 1, Math.floor(y1 / CELL));
      for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) occupied[r * cols + c] = 1;
    };
    let labels = 0;
    const tryLabel = (x, y, line1, line2, color, force) => {
      if (!force && labels >= MAX_LABELS) return;
      const bw = Math.max(line1.length, line2.length) * 6.7 + 4;
      const bh = 26;
      const spots = [[x + 9, y - 6], [x - 9 - bw, y - 6], [x - bw / 2, y - 12 - bh], [x - bw / 2, y + 12]];
      let spot = null;
      for (const [lx, ly] of spots) {
        if (lx < 0 || ly < 0 || lx + bw > w || ly + bh > h) continue;
        if (boxFree(lx, ly, lx + bw, ly + bh)) { spot = [lx, ly]; break; }
      }
      if (!spot) {
        if (!force) return;
        spot = spots[0];
      }
      const [lx, ly] = spot;
      claim(lx, ly, lx + bw, ly + bh);
      claim(x - 4, y - 4, x + 4, y + 4);
      labels++;
      ctx.fillStyle = 'rgba(8, 12, 16, 0.6)';
      ctx.fillRect(lx, ly, bw, bh);
      ctx.fillStyle = color;
      ctx.fillText(line1, lx + 2, ly + 1);
      ctx.fillStyle = '#b6c6d4';
      ctx.fillText(line2, lx + 2, ly + 13);
    };
    const labelText = (t) => [
      t.callsign || t.id,
      `${flText(t.alt_ft)} ${Number.isFinite(t.gs_kt) ? Math.round(t.gs_kt) : '---'}${vsArrow(t.vs_fpm)}`,
    ];
    for (const [x, y, t] of oxs) {
      const [l1, l2] = labelText(t);
      tryLabel(x, y, l1, l2, this.options.otherColor, true);
    }
    const order = [...groups.warning, ...groups.caution, ...groups.advisory];
    for (const i of order) {
      const [l1, l2] = labelText(own[i]);
      tryLabel(px[i], py[i], l1, l2, colorOf[this._highlight.get(own[i].id)] || this.options.ownColor, true);
    }
    // Ordinary labels only when the picture is not too dense for the zoom.
    const density = visible.length / ((w * h) / (LABEL_W * LABEL_H));
    if (zoom >= 6 || density < 0.6) {
      for (const i of groups.normal) {
        const [l1, l2] = labelText(own[i]);
        tryLabel(px[i], py[i], l1, l2, this.options.ownColor, own[i].id === this._selected);
      }
      for (const i of groups.stale) {
        const [l1, l2] = labelText(own[i]);
        tryLabel(px[i], py[i], `${l1} ${translate(N_('STALE'))}`, l2, colorOf.stale, own[i].id === this._selected);
      }
    }
    this._visibleCount = visible.length;
    this.stats.labels = labels;
    this.stats.draws += 1;
    this.stats.lastDrawMs = performance.now() - t0;
  },

  _chevron(ctx, x, y, trackDeg, s) {
    const a = (Number.isFinite(trackDeg) ? trackDeg : 0) * DEG;
    const sin = Math.sin(a);
    const cos = Math.cos(a);
    // Nose, right wing, tail notch, left wing (screen y grows downwards).
    const pts = [[0, -s * 1.6], [s, s], [0, s * 0.35], [-s, s]];
    for (let k = 0; k < 4; k++) {
      const [u, v] = pts[k];
      const X = x + u * cos - v * sin;
      const Y = y + u * sin + v * cos;
      if (k === 0) ctx.moveTo(X, Y); else ctx.lineTo(X, Y);
    }
    ctx.closePath();
  },

  _click(e) {
    const p = e.containerPoint;
    let best = null;
    let bestD = 12 * 12;
    for (let i = 0; i < this._own.length; i++) {
      const dx = this._px[i] - p.x;
      const dy = this._py[i] - p.y;
      const d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = this._own[i]; }
    }
    if (best) this.fire('aircraftclick', {track: best, latlng: L.latLng(best.lat, best.lon)});
  },
});

function flText(altFt) {
  if (!Number.isFinite(altFt)) return 'FL---';
  return altFt >= 6000 ? `FL${String(Math.round(altFt / 100)).padStart(3, '0')}`
    : `A${String(Math.max(0, Math.round(altFt / 100))).padStart(3, '0')}`;
}

function vsArrow(vsFpm) {
  if (!Number.isFinite(vsFpm) || Math.abs(vsFpm) < 300) return '';
  return vsFpm > 0 ? '↑' : '↓';
}
