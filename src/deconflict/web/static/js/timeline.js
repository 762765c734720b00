// Timeline: a Gantt view (SVG) of own notices and disclosed overlaps over the next 24 h. Zoom with
// the span buttons or the mouse wheel (around the cursor), pan by dragging; conflicting bars are
// outlined red; a click on a bar shows it on the map.

import {hm, dhm, toMs} from './util.js';
import {t} from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';
const ROW_H = 20;
const HEAD_H = 20;
const LABEL_W = 190;
const HOUR = 3600e3;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export class Timeline {
  constructor(root, rangeLabel, {onSelect}) {
    this.root = root;
    this.rangeLabel = rangeLabel;
    this.onSelect = onSelect;
    this.rows = [];
    this.spanMs = 24 * HOUR;
    this.startMs = Date.now() - HOUR / 2;
    this.follow = true; // keep "now" near the left edge until the user pans
    this.message = null;
    this._bindInput();
    new ResizeObserver(() => this.render()).observe(root);
    setInterval(() => { if (this.follow) this.startMs = Date.now() - this.spanMs / 48; this.render(); }, 30e3);
  }

  /** Back to following the present: "now" near the left edge, current span. */
  goNow() {
    this.follow = true;
    this.startMs = Date.now() - this.spanMs / 48;
    this.render();
  }

  setSpanHours(hours) {
    this.spanMs = hours * HOUR;
    this.follow = true;
    this.startMs = Date.now() - this.spanMs / 48;
    this.render();
  }

  /** rows: [{id, label, kind: 'notice'|'overlap', bars: [{startMs, endMs, title}], conflict: bool}] */
  setRows(rows) {
    this.rows = rows;
    this.message = null;
    this.render();
  }

  setUnavailable(text) {
    this.message = text;
    this.render();
  }

  _x(ms, width) { return LABEL_W + ((ms - this.startMs) / this.spanMs) * (width - LABEL_W); }

  render() {
    const width = Math.max(300, this.root.clientWidth);
    const height = Math.max(this.root.clientHeight, HEAD_H + Math.max(1, this.rows.length) * ROW_H + 4);
    const end = this.startMs + this.spanMs;
    this.rangeLabel.textContent = `${dhm(this.startMs)} – ${dhm(end)}`;
    const root = svg('svg', {width, height, 'data-testid': 'timeline-svg'});
    const defs = svg('defs');
    const pat = svg('pattern', {id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)'});
    pat.append(svg('rect', {width: 6, height: 6, fill: 'rgba(204,121,167,0.15)'}));
    pat.append(svg('line', {x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#cc79a7', 'stroke-width': 2.5}));
    defs.append(pat);
    root.append(defs);

    // Hour grid and labels; step adapted to the span.
    const stepH = this.spanMs <= 3 * HOUR ? 0.25 : this.spanMs <= 6 * HOUR ? 0.5 : this.spanMs <= 12 * HOUR ? 1 : 2;
    const step = stepH * HOUR;
    for (let t = Math.ceil(this.startMs / step) * step; t <= end; t += step) {
      const x = this._x(t, width);
      root.append(svg('line', {class: 'tl-grid', x1: x, y1: HEAD_H - 4, x2: x, y2: height}));
      const d = new Date(t);
      const label = d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? dhm(t) : hm(t);
      root.append(svg('text', {class: 'tl-tick', x: x + 2, y: 12}, label));
    }
    if (this.message) {
      root.append(svg('text', {class: 'tl-tick', x: LABEL_W, y: HEAD_H + 14}, this.message));
    } else if (!this.rows.length) {
      root.append(svg('text', {class: 'tl-tick', x: LABEL_W, y: HEAD_H + 14}, t('No notices in this window')));
    }
    this.rows.forEach((row, i) => {
      const y = HEAD_H + i * ROW_H;
      if (i % 2) root.append(svg('rect', {x: 0, y, width, height: ROW_H, fill: 'rgba(255,255,255,0.02)'}));
      // The label: words in the reader's language, then data (a notice title, a party or line name)
      // marked translate="no"; shortened to fit the label column.
      const fit = (text, room) => (text.length > room ? `${text.slice(0, Math.max(1, room - 1))}…` : text);
      const label = svg('text', {class: 'tl-label', x: 6, y: y + 14});
      const words = row.words || '';
      if (words) label.append(svg('tspan', {}, `${words} `));
      label.append(svg('tspan', {translate: 'no'}, fit(row.data ?? row.label, 25 - words.length)));
      if (row.kind === 'overlap') label.setAttribute('fill', '#ff8a9c');
      root.append(label);
      for (const bar of [...row.bars, ...(row.overlapBars || [])]) {
        if (!(bar.endMs > this.startMs && bar.startMs < end)) continue;
        const x1 = Math.max(LABEL_W, this._x(bar.startMs, width));
        const x2 = Math.min(width, this._x(bar.endMs, width));
        const isOverlap = row.kind === 'overlap' || Boolean(bar.overlap);
        const rect = svg('rect', {
          class: `tl-bar ${isOverlap ? 'overlap' : ''} ${row.conflict ? 'conflict' : ''}`,
          x: x1, y: y + (bar.overlap ? 6 : 3), width: Math.max(2, x2 - x1), height: ROW_H - (bar.overlap ? 12 : 6), rx: 2,
          'data-testid': isOverlap ? 'timeline-overlap' : 'timeline-bar', 'data-id': row.id,
          'data-conflict-id': isOverlap ? (bar.overlap || row.overlap).conflict_id : null,
        });
        rect.append(svg('title', {}, `${row.label}\n${bar.title || ''}\n${dhm(bar.startMs)} → ${dhm(bar.endMs)}`));
        const target = bar.overlap ? {kind: 'overlap', overlap: bar.overlap} : row;
        rect.addEventListener('click', (ev) => { ev.stopPropagation(); this.onSelect(target); });
        root.append(rect);
      }
    });
    const now = Date.now();
    if (now >= this.startMs && now <= end) {
      const x = this._x(now, width);
      root.append(svg('line', {class: 'tl-now', x1: x, y1: 0, x2: x, y2: height}));
      root.append(svg('text', {class: 'tl-tick', x: x + 3, y: height - 4, fill: '#f0e442', 'data-testid': 'timeline-now-label'}, t('now')));
    }
    this.root.replaceChildren(root);
  }

  _bindInput() {
    this.root.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      const rect = this.root.getBoundingClientRect();
      const width = rect.width;
      const frac = Math.max(0, (ev.clientX - rect.left - LABEL_W) / (width - LABEL_W));
      const at = this.startMs + frac * this.spanMs;
      const factor = ev.deltaY > 0 ? 1.25 : 0.8;
      this.spanMs = Math.min(7 * 24 * HOUR, Math.max(0.5 * HOUR, this.spanMs * factor));
      this.startMs = at - frac * this.spanMs;
      this.follow = false;
      this.render();
    }, {passive: false});
    let drag = null;
    this.root.addEventListener('pointerdown', (ev) => {
      if (ev.target.tagName === 'rect' && ev.target.classList.contains('tl-bar')) return;
      drag = {x: ev.clientX, start: this.startMs};
    });
    window.addEventListener('pointermove', (ev) => {
      if (!drag) return;
      const width = this.root.clientWidth - LABEL_W;
      this.startMs = drag.start - ((ev.clientX - drag.x) / width) * this.spanMs;
      this.follow = false;
      this.render();
    });
    window.addEventListener('pointerup', () => { drag = null; });
  }
}

/**
 * Build timeline rows from normalised notices and overlaps: one row per own notice (its overlaps
 * drawn inside it as well) and one row per disclosed overlap or line crossing.
 */
export function timelineRows(notices, overlaps, conflicting) {
  const rows = [];
  const span = (ov) => ({startMs: toMs(ov.start), endMs: toMs(ov.end)});
  for (const n of notices) {
    const bars = n.volumes.map((v) => ({startMs: toMs(v.start), endMs: toMs(v.end), title: v.id}))
      .filter((b) => Number.isFinite(b.startMs) && Number.isFinite(b.endMs));
    const overlapBars = overlaps.filter((ov) => ov.notice_id === n.id)
      .map((ov) => ({...span(ov), title: t('disclosed overlap'), overlap: ov}))
      .filter((b) => Number.isFinite(b.startMs) && Number.isFinite(b.endMs));
    rows.push({id: n.id, label: n.name, data: n.name, kind: 'notice', bars, overlapBars, conflict: conflicting.has(n.id), notice: n});
  }
  rows.sort((a, b) => Math.min(...a.bars.map((x) => x.startMs), Infinity) - Math.min(...b.bars.map((x) => x.startMs), Infinity));
  overlaps.forEach((ov, i) => {
    const {startMs, endMs} = span(ov);
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs)) return;
    const words = `⚠ ${ov.kind === 'line' ? t('line') : t('overlap with')}`;
    const data = ov.kind === 'line' ? ov.line_name : ov.counterpart;
    rows.push({id: `ov${i}`, label: `${words} ${data}`, words, data, kind: 'overlap',
      bars: [{startMs, endMs, title: t('disclosed overlap')}], conflict: true, overlap: ov});
  });
  return rows;
}
