// Private mode (PSI, issue 15) on the duty officer's screen: the party's conflicts as H3 cells,
// then as exact overlaps after the reveal.
//
// What the browser can honestly show: the broker relays only blinded sets, counts, digests and
// sealed boxes, and never holds a cell id, a coordinate or a time of either party's plans
// (docs/security.md). So the broker can give the browser only the party's private agreements
// (GET /v1/private/agreements: counterpart, grid, epochs). The conflicts themselves are known
// only to the party's own client, `deconflict private sync`, which prints them as JSON lines
// ({own_volume, counterpart, cells: [{h3, slot, layer}], cell_count, window, band_ft_amsl}, and
// after `--reveal` {own_volume, counterpart_volume, overlap, agreed}). The officer imports that
// output here (file chooser or drop): it is read in this browser tab only, never sent anywhere,
// and drawn on the map — cells as hexagons (h3-js, vendored), exact overlaps as polygons.

/* global L */
import {el, toMs, dhm} from './util.js';
import {failureText} from './api.js';
import {t, N_, ft, num} from './i18n.js';

export const MAX_LINES = 5000; // lines read from one file
export const MAX_DRAWN_CELLS = 20000; // hexagons drawn at most (the rest counted)
const MAX_FILE_BYTES = 20 * 1024 * 1024;
const HEX = /^[0-9a-f]{15}$/;

let h3Loading = null;
/** Load the vendored h3-js once (216 KB; only when private conflicts are shown). */
export function loadH3() {
  if (window.h3) return Promise.resolve(window.h3);
  if (!h3Loading) {
    h3Loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = 'static/vendor/h3-js.umd.js';
      s.onload = () => (window.h3 ? resolve(window.h3) : reject(new Error(N_('the hexagon library (h3-js) did not load'))));
      s.onerror = () => { h3Loading = null; reject(new Error(N_('the hexagon library (h3-js) did not load'))); };
      document.head.append(s);
    });
  }
  return h3Loading;
}

/**
 * Parse the JSON lines of `deconflict private sync [--reveal]`.
 * Returns {conflicts, overlaps, errors: [{line, reason}]}; other lines (e.g. `push` summaries)
 * are skipped. Bounded: at most MAX_LINES lines are read.
 */
export function parseSyncLines(text) {
  const conflicts = [];
  const overlaps = [];
  const errors = [];
  const lines = String(text).split(/\r?\n/);
  if (lines.length > MAX_LINES) errors.push({line: MAX_LINES + 1, reason: N_('too many lines; the rest was not read')});
  lines.slice(0, MAX_LINES).forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let obj;
    try { obj = JSON.parse(line); } catch { errors.push({line: i + 1, reason: N_('not JSON')}); return; }
    if (!obj || typeof obj !== 'object') { errors.push({line: i + 1, reason: N_('not an object')}); return; }
    if (Array.isArray(obj.cells)) {
      const cells = obj.cells.filter((c) => c && HEX.test(String(c.h3)));
      if (cells.length !== obj.cells.length) errors.push({line: i + 1, reason: N_('cell without a valid h3 id')});
      conflicts.push({agreement: String(obj.agreement ?? ''), epoch: obj.epoch, ownVolume: String(obj.own_volume ?? ''),
        counterpart: String(obj.counterpart ?? ''), cells, cellCount: Number.isFinite(obj.cell_count) ? obj.cell_count : cells.length,
        start: obj.window ? obj.window.start : null, end: obj.window ? obj.window.end : null,
        lower: obj.band_ft_amsl ? obj.band_ft_amsl.lower : NaN, upper: obj.band_ft_amsl ? obj.band_ft_amsl.upper : NaN});
    } else if (obj.overlap && typeof obj.overlap === 'object') {
      const o = obj.overlap;
      if (!o.geometry || !['Polygon', 'MultiPolygon'].includes(o.geometry.type)) {
        errors.push({line: i + 1, reason: N_('overlap without a polygon geometry')});
        return;
      }
      overlaps.push({agreement: String(obj.agreement ?? ''), ownVolume: String(obj.own_volume ?? ''),
        counterpart: String(obj.counterpart ?? ''), counterpartVolume: String(obj.counterpart_volume ?? ''),
        geometry: o.geometry, start: o.start, end: o.end, lower: o.alt_lower_ft, upper: o.alt_upper_ft,
        reference: o.alt_reference, approximate: Boolean(o.approximate), agreed: obj.agreed ?? null});
    }
  });
  return {conflicts, overlaps, errors};
}

/**
 * An H3 cell's boundary as Leaflet [lat, lon] pairs, longitudes unwrapped round the first vertex
 * so a cell across ±180° is drawn as one small hexagon, not a band round the world.
 */
export function cellRing(h3, hex) {
  const ring = h3.cellToBoundary(hex);
  const lon0 = ring[0][1];
  return ring.map(([lat, lon]) => [lat, lon + 360 * Math.round((lon0 - lon) / 360)]);
}

function ringsOf(geometry) {
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  return polys.map((rings) => rings.map((ring) => ring.map(([lon, lat]) => [lat, lon])));
}

/** t(msgid) with its `%(name)s` placeholders replaced by DOM nodes (commands, shown as written). */
function tNodes(msgid, nodes) {
  return t(msgid).split(/%\((\w+)\)s/).map((part, i) => (i % 2 ? nodes[part] || '' : part));
}

export class PrivatePanel {
  constructor(root, {api, map, tabButton, badge, showTab = () => {}, onError = () => {}}) {
    this.root = root;
    this.api = api;
    this.map = map;
    this.tabButton = tabButton;
    this.badge = badge;
    this.showTab = showTab;
    this.onError = onError;
    this.agreements = [];
    this.error = null;
    this.imported = null; // {name, conflicts, overlaps, errors}
    this.drawn = 0;
    this.cellsLayer = L.layerGroup().addTo(map);
    this.overlapLayer = L.layerGroup().addTo(map);
    this.byItem = new Map(); // item key -> Leaflet layers
    this.tips = new Map(); // item key -> () => tooltip HTML in the current language
  }

  /** The party's private agreements (the only private data the broker can give). */
  async refresh() {
    try {
      const body = await this.api.get('/v1/private/agreements');
      this.agreements = body.agreements || [];
      this.error = null;
    } catch (err) {
      this.agreements = [];
      this.error = err.status === 404 ? null : failureText(err, t('Private mode'));
    }
    this.render();
  }

  /** Read a file of `deconflict private sync` output (in this tab only) and draw it. */
  async importFile(file) {
    if (file.size > MAX_FILE_BYTES) {
      this.imported = {name: file.name, conflicts: [], overlaps: [], errors: [{line: 0, reason: N_('file larger than 20 MB')}]};
      this.render();
      return;
    }
    await this.importText(await file.text(), file.name);
  }

  async importText(text, name = '') {
    this.imported = {name, ...parseSyncLines(text)};
    try {
      await this.draw();
    } catch (err) {
      this.imported.errors.push({line: 0, reason: err.message});
    }
    this.render();
    this.showTab();
  }

  clear() {
    this.imported = null;
    this.cellsLayer.clearLayers();
    this.overlapLayer.clearLayers();
    this.byItem = new Map();
    this.render();
  }

  async draw() {
    this.cellsLayer.clearLayers();
    this.overlapLayer.clearLayers();
    this.byItem = new Map();
    this.tips = new Map();
    this.drawn = 0;
    const imp = this.imported;
    if (!imp) return;
    if (imp.conflicts.length) {
      const h3 = await loadH3();
      imp.conflicts.forEach((c, k) => {
        const layers = [];
        const seen = new Set();
        for (const cell of c.cells) {
          if (seen.has(cell.h3)) continue; // one hexagon per cell id (all its slots and layers)
          seen.add(cell.h3);
          if (this.drawn >= MAX_DRAWN_CELLS) break;
          this.drawn++;
          layers.push(L.polygon(cellRing(h3, cell.h3), {pane: 'geometry', color: '#cc79a7', weight: 1,
            fillColor: '#cc79a7', fillOpacity: 0.28})
            .bindTooltip(this.conflictTip(c), {sticky: true, className: 'dc-tip'})
            .addTo(this.cellsLayer));
        }
        this.byItem.set(`c${k}`, layers);
        this.tips.set(`c${k}`, () => this.conflictTip(c));
      });
    }
    imp.overlaps.forEach((o, k) => {
      const layers = ringsOf(o.geometry).map((rings) => L.polygon(rings, {pane: 'geometry', color: '#d55e00', weight: 2,
        dashArray: '5 3', fillColor: '#d55e00', fillOpacity: 0.25})
        .bindTooltip(this.overlapTip(o), {sticky: true, className: 'dc-tip'})
        .addTo(this.overlapLayer));
      this.byItem.set(`o${k}`, layers);
      this.tips.set(`o${k}`, () => this.overlapTip(o));
    });
  }

  conflictTip(c) {
    const esc = (s) => String(s).replace(/[&<>"']/g, (x) => `&#${x.charCodeAt(0)};`);
    return `<b>${esc(t('Private conflict (cells)'))}</b> — <span translate="no">${esc(c.ownVolume)} / ${esc(c.counterpart)}</span><br>` +
      `${esc(ft(c.lower))} – ${esc(ft(c.upper))}<br>${esc(dhm(toMs(c.start)))} → ${esc(dhm(toMs(c.end)))}`;
  }

  overlapTip(o) {
    const esc = (s) => String(s).replace(/[&<>"']/g, (x) => `&#${x.charCodeAt(0)};`);
    return `<b>${esc(t('Exact overlap (revealed)'))}</b> — <span translate="no">${esc(o.ownVolume)} / ${esc(o.counterpartVolume)}</span><br>` +
      `${esc(ft(o.lower))} – ${esc(ft(o.upper))}<br>${esc(dhm(toMs(o.start)))} → ${esc(dhm(toMs(o.end)))}`;
  }

  /** Fly to one imported item's cells or overlap. */
  show(key) {
    const layers = this.byItem.get(key) || [];
    const b = layers.reduce((acc, l) => acc.extend(l.getBounds()), L.latLngBounds([]));
    if (b.isValid()) this.map.flyToBounds(b.pad(0.4), {duration: 0.5, maxZoom: 10});
    if (layers[0]) layers[0].openTooltip(layers[0].getBounds().getCenter());
  }

  render() {
    const imp = this.imported;
    // Tooltips in the current language (render() runs again on a language switch).
    for (const [key, layers] of this.byItem) {
      const tip = this.tips.get(key);
      if (tip) for (const l of layers) l.setTooltipContent(tip());
    }
    const visible = this.agreements.length > 0 || Boolean(imp);
    if (this.tabButton) this.tabButton.hidden = !visible;
    const n = imp ? imp.conflicts.length + imp.overlaps.length : 0;
    if (this.badge) { this.badge.hidden = n === 0; this.badge.textContent = String(n); this.badge.classList.toggle('hot', n > 0); }
    const out = [];
    if (this.error) out.push(el('div', {class: 'unavailable'}, this.error));
    out.push(el('p', {class: 'muted small'}, ...tNodes(N_('Private mode: the broker relays only blinded sets and never sees a cell or a coordinate; your conflicts are known only to your own client. Import the output of %(sync)s (or %(reveal)s): the file is read in this browser tab only.'), {
      sync: el('code', {translate: 'no'}, 'deconflict private sync'), reveal: el('code', {translate: 'no'}, 'sync --reveal')})));
    for (const a of this.agreements) {
      out.push(el('div', {class: 'conf-item', 'data-testid': 'private-agreement'},
        el('div', {}, el('b', {translate: 'no'}, a.name), ` ${t('with %(party)s', {party: a.counterpart})}`),
        el('div', {class: 'muted'}, t('grid: H3 resolution %(res)s, %(slot)s min slots, %(layer)s layers; epochs: own %(own)s, counterpart %(other)s', {
          res: a.grid.resolution, slot: num(a.grid.slot_s / 60, 0), layer: ft(a.grid.layer_ft), own: a.own_epoch, other: a.counterpart_epoch}))));
    }
    const input = el('input', {type: 'file', accept: '.jsonl,.json,.txt,application/json', 'data-testid': 'private-import',
      'aria-label': t('Import sync output'), onchange: (ev) => { const f = ev.target.files[0]; if (f) this.importFile(f).catch((e) => this.onError(e.message)); }});
    const drop = el('label', {class: 'private-drop', 'data-testid': 'private-drop'}, `⇪ ${t('Import sync output')}`, input,
      el('span', {class: 'muted small'}, ` ${t('or drop the file here')}`));
    drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (ev) => {
      ev.preventDefault();
      drop.classList.remove('over');
      const f = ev.dataTransfer && ev.dataTransfer.files[0];
      if (f) this.importFile(f).catch((e) => this.onError(e.message));
    });
    out.push(el('div', {}, drop, imp ? el('button', {type: 'button', class: 'small', 'data-testid': 'private-clear', onclick: () => this.clear()}, t('Clear')) : null));
    if (imp) {
      out.push(el('div', {class: 'muted small', 'data-testid': 'private-summary'},
        t('%(conflicts)s conflicts as cells (%(cells)s hexagons drawn), %(overlaps)s exact overlaps', {
          conflicts: num(imp.conflicts.length), cells: num(this.drawn), overlaps: num(imp.overlaps.length)})));
      for (const e of imp.errors.slice(0, 5)) {
        out.push(el('div', {class: 'error small', 'data-testid': 'private-error'}, t('line %(n)s: %(reason)s', {n: e.line, reason: t(e.reason)})));
      }
      if (!imp.conflicts.length && !imp.overlaps.length) out.push(el('div', {class: 'empty'}, t('No private conflicts in this file')));
      imp.conflicts.forEach((c, k) => out.push(this.item(`c${k}`, 'private-conflict',
        [el('b', {translate: 'no'}, c.ownVolume), ` ${t('overlaps %(party)s', {party: c.counterpart})} `,
          el('span', {class: 'muted'}, t('%(n)s cells', {n: num(c.cellCount)}))],
        `${ft(c.lower)} – ${ft(c.upper)} · ${dhm(toMs(c.start))} → ${dhm(toMs(c.end))}`)));
      imp.overlaps.forEach((o, k) => out.push(this.item(`o${k}`, 'private-overlap',
        [el('b', {translate: 'no'}, o.ownVolume), ` ${t('exact overlap with %(volume)s', {volume: o.counterpartVolume})} `,
          el('span', {class: o.agreed === false ? 'escalated' : 'muted', 'data-testid': 'private-agreed'},
            o.agreed === true ? `✔ ${t('both sides agree')}` : o.agreed === false ? `✖ ${t('MISMATCH')}` : t('awaiting the counterpart’s verdict'))],
        `${ft(o.lower)} – ${ft(o.upper)}${o.approximate ? ` (${t('approximate')})` : ''} · ${dhm(toMs(o.start))} → ${dhm(toMs(o.end))}`)));
    }
    this.root.replaceChildren(...out);
  }

  item(key, testid, head, detail) {
    const show = () => this.show(key);
    return el('div', {class: 'conf-item', 'data-testid': testid, role: 'button', tabindex: 0, onclick: show,
      onkeydown: (ev) => { if (ev.key === 'Enter') show(); }}, el('div', {}, ...head), el('div', {class: 'muted'}, detail));
  }
}
