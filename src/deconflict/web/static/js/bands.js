// Guidance for the selected own aircraft in an alert (issue 13): its DAA bands
// (`GET /v1/aircraft/{id}/bands`, broker/guidance.py `BandsView`) drawn as coloured arcs around the
// aircraft on the map (track) and as small scales (ground speed, vertical speed, altitude) in a
// panel over the map, with the alert's proposed manoeuvre (`AlertView.guidance`, `level`,
// `profile`, `counterpart_guided`, broker/events.py) and a button that opens the hotline template
// `coordinated_guidance` prefilled (hotline.js `prefillFor`, kind `guidance`).
//
// Regions are never colour alone: each has an Okabe-Ito colour, a stroke width / bar height that
// grows with severity, a dash pattern, and a word (legend and the interval lists under the scales).

/* global L */
import {el} from './util.js';
import {t, N_, num, ft, kt, fpm, deg, hotlineLabel} from './i18n.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Band regions of the wire model (`BandInterval.region`), least to most severe. */
export const REGIONS = ['NONE', 'RECOVERY', 'FAR', 'MID', 'NEAR'];

/**
 * Drawing of each region: colour (Okabe-Ito), arc stroke width and bar height (px, growing with
 * severity), dash pattern (null = solid) and the word shown for it.
 */
export const REGION_STYLE = {
  NONE: {color: '#009e73', weight: 3, height: 4, dash: null, word: N_('conflict-free')},
  RECOVERY: {color: '#cc79a7', weight: 5, height: 8, dash: '8 3 2 3', word: N_('recovery')},
  FAR: {color: '#f0e442', weight: 5, height: 8, dash: '6 4', word: N_('far')},
  MID: {color: '#e69f00', weight: 7, height: 12, dash: '2 3', word: N_('mid')},
  NEAR: {color: '#d55e00', weight: 9, height: 16, dash: null, word: N_('near')},
};

/** Grid step of each dimension (issue 13: 1°, 5 kt, 100 fpm, 100 ft). */
export const GRID_STEP = {track_deg: 1, gs_kt: 5, vs_fpm: 100, alt_ft: 100};

/** (dimension, side) of a `GuidanceView` -> hotline `coordinated_guidance` manoeuvre and target
 * field (the same table as deconflict/daa/guidance.py `TEMPLATE_MANOEUVRE`). */
const MANOEUVRES = {
  'hold:hold': ['maintain', null],
  'track_deg:right': ['turn_right', 'target_track_deg'],
  'track_deg:left': ['turn_left', 'target_track_deg'],
  'gs_kt:up': ['increase_speed', 'target_gs_kt'],
  'gs_kt:down': ['reduce_speed', 'target_gs_kt'],
  'vs_fpm:up': ['set_vertical_speed', 'target_vs_fpm'],
  'vs_fpm:down': ['set_vertical_speed', 'target_vs_fpm'],
  'alt_ft:up': ['change_altitude', 'target_altitude_ft'],
  'alt_ft:down': ['change_altitude', 'target_altitude_ft'],
};

/** The hotline manoeuvre name and target field of a guidance entry: {manoeuvre, target}. */
export function manoeuvreOf(g) {
  const m = MANOEUVRES[`${g.dimension}:${g.side}`];
  return m ? {manoeuvre: m[0], target: m[1]} : null;
}

/** A value of `dimension` in the current language with its unit ("120°", "420 kt", "-1,500 fpm"). */
export function dimValue(dimension, value) {
  if (dimension === 'track_deg') return deg(value);
  if (dimension === 'gs_kt') return kt(value);
  if (dimension === 'vs_fpm') return fpm(value);
  if (dimension === 'alt_ft') return ft(value);
  return num(value);
}

/** The guidance entries of an alert view for one own aircraft (never another party's). */
export function guidanceFor(view, aircraftId) {
  const list = view && Array.isArray(view.guidance) ? view.guidance : [];
  return list.filter((g) => String(g.aircraft) === String(aircraftId));
}

/**
 * Arcs of the track bands: [{from, to, region}] in degrees true, clockwise from `from` to `to`;
 * each 1° grid value covers ±half a step so adjacent intervals meet.
 */
export function trackArcs(intervals, step = GRID_STEP.track_deg) {
  const out = [];
  for (const iv of intervals || []) {
    if (!Number.isFinite(iv.low) || !Number.isFinite(iv.high) || iv.high < iv.low) continue;
    const from = iv.low - step / 2;
    const to = Math.min(iv.high + step / 2, from + 360);
    out.push({from, to, region: iv.region});
  }
  return out;
}

/** Points (every <= 3°) of a clockwise arc as [bearing deg, ...]. */
export function arcBearings(from, to, maxStep = 3) {
  const n = Math.max(1, Math.ceil((to - from) / maxStep));
  const out = [];
  for (let k = 0; k <= n; k++) out.push(from + ((to - from) * k) / n);
  return out;
}

/**
 * The value window a scale shows: ground and vertical speed over the whole band grid, altitude
 * ±`altHalfFt` around the current altitude (a 50,000 ft scale would hide a 1,000 ft band).
 * Returns [lo, hi] in the dimension's unit.
 */
export function scaleWindow(name, dim, altHalfFt = 6000) {
  const ivs = dim.intervals || [];
  const step = GRID_STEP[name] || 1;
  let lo = Math.min(...ivs.map((iv) => iv.low)) - step / 2;
  let hi = Math.max(...ivs.map((iv) => iv.high)) + step / 2;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = dim.current - 1; hi = dim.current + 1; }
  if (name === 'alt_ft' && Number.isFinite(dim.current)) {
    lo = Math.max(lo, dim.current - altHalfFt);
    hi = Math.min(hi, dim.current + altHalfFt);
    if (hi <= lo) { lo = dim.current - altHalfFt; hi = dim.current + altHalfFt; }
  }
  return [lo, hi];
}

/** Interval segments of a scale `width` px wide over [lo, hi]: [{x0, x1, region, low, high}]. */
export function scaleSegments(intervals, lo, hi, width, step = 1) {
  const out = [];
  const x = (v) => ((v - lo) / (hi - lo)) * width;
  for (const iv of intervals || []) {
    const a = Math.max(lo, iv.low - step / 2);
    const b = Math.min(hi, iv.high + step / 2);
    if (b <= a) continue;
    out.push({x0: x(a), x1: x(b), region: iv.region, low: iv.low, high: iv.high});
  }
  return out;
}

/** The intervals that are not conflict-free, as text ("near 380–460 kt, far 470–500 kt"). */
export function conflictText(name, intervals, max = 3) {
  const bad = (intervals || []).filter((iv) => iv.region !== 'NONE');
  if (!bad.length) return t('no conflicting values');
  const parts = bad.slice(0, max).map((iv) =>
    `${t((REGION_STYLE[iv.region] || REGION_STYLE.NEAR).word)} ${dimValue(name, iv.low)} – ${dimValue(name, iv.high)}`);
  if (bad.length > max) parts.push('…');
  return parts.join(', ');
}

/** The proposed manoeuvre in the reader's language (the hotline catalogue's manoeuvre labels). */
export function manoeuvreText(g) {
  const m = manoeuvreOf(g);
  if (!m) return null;
  const label = hotlineLabel('values', m.manoeuvre) || m.manoeuvre;
  return m.target ? `${label} → ${dimValue(g.dimension, g.value)}` : label;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children) if (c) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const SCALES = [
  ['gs_kt', N_('Ground speed')],
  ['vs_fpm', N_('Vertical speed')],
  ['alt_ft', N_('Altitude')],
];
const SCALE_W = 280;
const SCALE_H = 30;
const BAR_Y = 17;

/** One scale: the band segments (height by region), the current value (a white ▼ and line) and
 * the preferred resolution (a small ◆), the window's ends labelled. */
function scaleSvg(name, dim) {
  const [lo, hi] = scaleWindow(name, dim);
  const x = (v) => ((v - lo) / (hi - lo)) * SCALE_W;
  const root = svg('svg', {class: 'band-scale', width: SCALE_W + 16, height: SCALE_H, viewBox: `-8 0 ${SCALE_W + 16} ${SCALE_H}`,
    'data-testid': `band-scale-${name}`, 'aria-hidden': 'true'});
  root.append(svg('line', {x1: 0, x2: SCALE_W, y1: BAR_Y, y2: BAR_Y, class: 'band-axis'}));
  for (const s of scaleSegments(dim.intervals, lo, hi, SCALE_W, GRID_STEP[name])) {
    const st = REGION_STYLE[s.region] || REGION_STYLE.NEAR;
    const rect = svg('rect', {x: s.x0, width: Math.max(1, s.x1 - s.x0), y: BAR_Y - st.height / 2, height: st.height,
      fill: st.color, class: `band-seg band-${s.region.toLowerCase()}`, 'data-region': s.region,
      'stroke-dasharray': st.dash, stroke: st.dash ? '#0a0f14' : null});
    rect.append(svg('title', {}, `${t(st.word)} ${dimValue(name, s.low)} – ${dimValue(name, s.high)}`));
    root.append(rect);
  }
  const pref = dim.resolution ? dim.resolution[dim.preferred] : null;
  if (typeof pref === 'number' && pref >= lo && pref <= hi) {
    const px = x(pref);
    root.append(svg('path', {d: `M${px} ${BAR_Y + 5} l4 4 l-4 4 l-4 -4 z`, class: 'band-res', 'data-testid': 'band-preferred'}));
  }
  if (Number.isFinite(dim.current)) {
    const cx = Math.max(0, Math.min(SCALE_W, x(dim.current)));
    root.append(svg('line', {x1: cx, x2: cx, y1: BAR_Y - 9, y2: BAR_Y + 9, class: 'band-current-line'}));
    root.append(svg('path', {d: `M${cx - 5} ${BAR_Y - 15} h10 l-5 6 z`, class: 'band-current',
      'data-testid': `band-current-${name}`, 'data-value': dim.current}));
  }
  const step = GRID_STEP[name] || 1;
  root.append(svg('text', {x: 0, y: SCALE_H - 1, class: 'band-tick', 'text-anchor': 'start'}, num(Math.ceil(lo / step) * step)));
  root.append(svg('text', {x: SCALE_W, y: SCALE_H - 1, class: 'band-tick', 'text-anchor': 'end'}, num(Math.floor(hi / step) * step)));
  return root;
}

/** A legend swatch of a region: a short bar of its colour, height and dash. */
function swatch(region) {
  const st = REGION_STYLE[region];
  return svg('svg', {width: 18, height: 12, class: 'band-swatch', 'aria-hidden': 'true'},
    svg('line', {x1: 1, x2: 17, y1: 6, y2: 6, stroke: st.color, 'stroke-width': Math.min(10, st.height * 0.6), 'stroke-dasharray': st.dash}));
}

/**
 * The guidance of the selected own aircraft: the map arcs (an SVG layer group, one path per
 * track interval, class `dc-band dc-band-<region>`) and the panel (a Leaflet control).
 */
export class GuidanceView {
  /**
   * @param {L.Map} map
   * @param {{api: object, findOwn: Function, onConfirm: Function, onClose: Function, onError: Function}} opts
   *   findOwn(id) -> the own track {lat, lon, callsign, ...}; onConfirm(alert, guidance) opens the
   *   hotline form; onClose() clears the selection.
   */
  constructor(map, opts) {
    this.map = map;
    this.opts = opts;
    this.aircraftId = null;
    this.alert = null;       // the normalised alert (its `raw` is the AlertView)
    this.bands = null;       // BandsView
    this.error = null;
    this.loading = false;
    this.lastFetchMs = 0;
    this.minIntervalMs = 2000;
    this.fetches = 0;
    this.arcs = L.layerGroup().addTo(map);
    this.root = el('section', {class: 'guidance-panel', 'data-testid': 'guidance', role: 'region', hidden: true});
    const Control = L.Control.extend({onAdd: () => this.root, options: {position: 'bottomright'}});
    this.control = new Control().addTo(map);
    L.DomEvent.disableClickPropagation(this.root);
    L.DomEvent.disableScrollPropagation(this.root);
    this.root.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') this.opts.onClose(); });
    map.on('zoomend viewreset', () => this.drawArcs());
  }

  /** Show the guidance of own aircraft `aircraftId` in `alert` (normalised), or hide with null. */
  show(aircraftId, alert) {
    const same = aircraftId !== null && aircraftId === this.aircraftId;
    const view = alert && alert.raw ? alert.raw : {};
    const sig = JSON.stringify([alert ? alert.id : null, view.level, view.profile, view.guidance, view.counterpart_guided]);
    this.alert = aircraftId === null ? null : alert;
    if (same && sig === this.sig) return; // nothing shown changed (pictures come every second)
    this.sig = sig;
    this.aircraftId = aircraftId;
    if (!same) { this.bands = null; this.error = null; this.lastFetchMs = 0; }
    if (aircraftId === null) { this.arcs.clearLayers(); this.render(); return; }
    this.render();
    this.refresh();
  }

  hide() { this.show(null, null); }

  /** Keyboard: move the focus into the panel (key G), on its confirm button when there is one. */
  focus() {
    if (this.root.hidden) return;
    const target = this.root.querySelector('[data-testid=guidance-confirm]') || this.root.querySelector('button');
    if (target) target.focus();
  }

  /** A new picture: move the arcs with the aircraft, re-read the bands at most every 2 s. */
  onPicture() {
    if (this.aircraftId === null) return;
    this.drawArcs();
    if (Date.now() - this.lastFetchMs >= this.minIntervalMs) this.refresh();
  }

  async refresh() {
    const id = this.aircraftId;
    if (id === null || this.loading) return;
    this.loading = true;
    this.lastFetchMs = Date.now();
    try {
      const bands = await this.opts.api.get(`/v1/aircraft/${encodeURIComponent(id)}/bands`);
      this.fetches += 1;
      if (this.aircraftId !== id) return;
      this.bands = bands;
      this.error = null;
    } catch (err) {
      if (this.aircraftId !== id) return;
      this.bands = null;
      this.error = err && err.status === 404 ? t('No bands: the aircraft is not in the live picture.')
        : t('Bands unavailable: %(reason)s', {reason: err && err.message ? err.message : String(err)});
    } finally {
      this.loading = false;
    }
    this.render();
  }

  /** The track arcs around the aircraft, a fixed number of pixels from it at every zoom. */
  drawArcs() {
    this.arcs.clearLayers();
    const own = this.aircraftId === null ? null : this.opts.findOwn(this.aircraftId);
    if (!own || !this.bands || !Number.isFinite(own.lat)) return;
    const map = this.map;
    const c = map.latLngToLayerPoint([own.lat, own.lon]);
    const radius = 40;
    for (const arc of trackArcs(this.bands.track_deg.intervals)) {
      const st = REGION_STYLE[arc.region] || REGION_STYLE.NEAR;
      const pts = arcBearings(arc.from, arc.to).map((b) => map.layerPointToLatLng(
        L.point(c.x + radius * Math.sin(b * Math.PI / 180), c.y - radius * Math.cos(b * Math.PI / 180))));
      this.arcs.addLayer(L.polyline(pts, {className: `dc-band dc-band-${arc.region.toLowerCase()}`, color: st.color,
        weight: st.weight, dashArray: st.dash, opacity: 0.95, lineCap: 'butt', interactive: false}));
    }
    // The preferred track resolution: a short white tick outside the ring.
    const res = this.bands.track_deg.resolution || {};
    const pref = res[this.bands.track_deg.preferred];
    if (typeof pref === 'number') {
      const b = pref * Math.PI / 180;
      const p = (r) => map.layerPointToLatLng(L.point(c.x + r * Math.sin(b), c.y - r * Math.cos(b)));
      this.arcs.addLayer(L.polyline([p(radius + 6), p(radius + 18)], {className: 'dc-band-res', color: '#ffffff',
        weight: 3, opacity: 0.95, interactive: false}));
    }
  }

  /** Redraw the panel (keeping the keyboard focus on the same control). */
  render() {
    const active = document.activeElement;
    const focused = active && this.root.contains(active) ? active.dataset.testid : null;
    this._render();
    if (focused) {
      const again = this.root.querySelector(`[data-testid="${focused}"]`);
      if (again) again.focus();
    }
  }

  _render() {
    const root = this.root;
    root.replaceChildren();
    root.hidden = this.aircraftId === null;
    if (root.hidden) return;
    root.setAttribute('aria-label', t('Guidance'));
    const own = this.opts.findOwn(this.aircraftId);
    const view = this.alert ? this.alert.raw : null;
    const head = el('div', {class: 'g-head'},
      el('b', {}, t('Guidance')), ' ', el('span', {translate: 'no', class: 'mono'}, own && own.callsign ? own.callsign : this.aircraftId),
      view && Number.isFinite(view.level) ? el('span', {class: 'g-level', 'data-testid': 'guidance-level'}, t('level %(n)s', {n: num(view.level)})) : null,
      el('button', {type: 'button', class: 'small g-close', 'data-testid': 'guidance-close', 'aria-label': t('Close guidance'),
        title: t('Close guidance'), onclick: () => this.opts.onClose()}, '✕'));
    root.append(head);
    if (view && view.profile) {
      root.append(el('div', {class: 'muted small', 'data-testid': 'guidance-profile'},
        `${t('Alerting profile')}: ${hotlineLabel('values', view.profile) || view.profile}`));
    }
    const mine = view ? guidanceFor(view, this.aircraftId) : [];
    const g = mine[0] || null;
    root.append(el('div', {class: 'g-manoeuvre', 'data-testid': 'guidance-manoeuvre'},
      g ? [el('span', {class: 'muted'}, `${t('Proposed manoeuvre')}: `), el('b', {}, manoeuvreText(g))]
        : t('No manoeuvre proposed yet.')));
    if (g) {
      root.append(el('div', {class: `small ${view.counterpart_guided ? 'g-ok' : 'g-warn'}`, 'data-testid': 'guidance-counterpart'},
        view.counterpart_guided ? t('The other side has been given a compatible manoeuvre.')
          : t('The other side has not been given a manoeuvre.')));
      root.append(el('button', {type: 'button', class: 'g-confirm', 'data-testid': 'guidance-confirm',
        onclick: () => this.opts.onConfirm(this.alert, g)}, `✉ ${t('Send / confirm via hotline')}`));
    }
    if (this.error) {
      root.append(el('div', {class: 'unavailable', 'data-testid': 'guidance-error'}, this.error));
      return;
    }
    if (!this.bands) {
      root.append(el('div', {class: 'muted small'}, t('Loading bands…')));
      return;
    }
    const b = this.bands;
    const tr = b.track_deg;
    const res = tr.resolution || {};
    const side = (s) => (typeof res[s] === 'number' ? deg(res[s]) : t('none'));
    root.append(el('div', {class: 'g-row', 'data-testid': 'band-track'},
      el('span', {class: 'g-label'}, t('Track')), ' ', el('b', {}, deg(tr.current)), ' · ',
      `${t('right')} ${side('right')} / ${t('left')} ${side('left')}`,
      tr.preferred && res[tr.preferred] !== undefined ? ` · ${t('preferred')}: ${t(tr.preferred)}` : '',
      tr.recovery ? el('span', {class: 'g-warn'}, ` · ${t('recovery')}`) : null,
      el('span', {class: 'small muted g-list'}, ` · ${conflictText('track_deg', tr.intervals)}`)));
    for (const [name, label] of SCALES) {
      const dim = b[name];
      if (!dim) continue;
      root.append(el('div', {class: 'g-row'}, el('span', {class: 'g-label'}, t(label)), ' ',
        el('b', {'data-testid': `band-value-${name}`}, dimValue(name, dim.current)),
        dim.recovery ? el('span', {class: 'g-warn'}, ` · ${t('recovery')}`) : null,
        el('span', {class: 'small muted g-list'}, ` · ${conflictText(name, dim.intervals)}`)));
      root.append(scaleSvg(name, dim));
    }
    root.append(el('div', {class: 'g-legend small', 'data-testid': 'band-legend'},
      ...['NONE', 'FAR', 'MID', 'NEAR', 'RECOVERY'].map((r) => el('span', {}, swatch(r), t(REGION_STYLE[r].word)))));
    this.drawArcs();
  }
}
