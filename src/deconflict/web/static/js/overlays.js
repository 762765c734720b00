// Vector overlays on the map: own notices' 4D volumes, disclosed overlaps, agreed lines with each
// side shaded, and the conflict geometry (two predicted paths and the CPA) of the selected alert.

/* global L */
import {aheadPoint} from './aircraft-layer.js';
import {dhm, toMs, countdown} from './util.js';
import {t, ft, nm} from './i18n.js';

const DEG = Math.PI / 180;

/** Local flat projection around a reference latitude: [lon, lat] <-> NM east/north. */
function toNm([lon, lat], lat0) { return [lon * 60 * Math.cos(lat0 * DEG), lat * 60]; }
function fromNm([x, y], lat0) { return [x / (60 * Math.cos(lat0 * DEG)), y / 60]; }

function circleRing(center, radiusNm, lat0, from = 0, to = 360, steps = 48) {
  const c = toNm(center, lat0);
  const out = [];
  for (let k = 0; k <= steps; k++) {
    const a = (from + ((to - from) * k) / steps) * DEG;
    out.push(fromNm([c[0] + radiusNm * Math.sin(a), c[1] + radiusNm * Math.cos(a)], lat0));
  }
  return out;
}

/** Offset a polyline [[lon, lat], ...] sideways by `distNm` (positive = left of travel). */
function offsetLine(coords, distNm, lat0) {
  const pts = coords.map((p) => toNm(p, lat0));
  const out = [];
  for (let i = 0; i < pts.length; i++) {
    const a = pts[Math.max(0, i - 1)];
    const b = pts[Math.min(pts.length - 1, i + 1)];
    let dx = b[0] - a[0];
    let dy = b[1] - a[1];
    const len = Math.hypot(dx, dy) || 1;
    dx /= len; dy /= len;
    out.push(fromNm([pts[i][0] - dy * distNm, pts[i][1] + dx * distNm], lat0));
  }
  return out;
}

/** Footprint JSON (volume JSON, docs/strategic.md) -> ring of [lon, lat]; null if unknown. */
export function footprintRing(fp) {
  if (!fp || typeof fp !== 'object') return null;
  const type = String(fp.type || '').toLowerCase();
  if (type === 'polygon') return (fp.coordinates && fp.coordinates[0]) || null;
  if (type === 'multipolygon') return (fp.coordinates && fp.coordinates[0] && fp.coordinates[0][0]) || null;
  if (type === 'circle') {
    const c = fp.center;
    return c ? circleRing(c, Number(fp.radius_nm) || 1, c[1]) : null;
  }
  if (type === 'corridor' || type === 'linestring') {
    const line = fp.centerline || fp.coordinates;
    if (!line || line.length < 2) return null;
    const hw = Number(fp.half_width_nm) || 1;
    const lat0 = line[0][1];
    const left = offsetLine(line, hw, lat0);
    const right = offsetLine(line, -hw, lat0).reverse();
    return [...left, ...right, left[0]];
  }
  if (type === 'orbit') {
    const {start, end} = fp;
    if (!start || !end) return null;
    const r = Number(fp.radius_nm) || 1;
    const lat0 = (start[1] + end[1]) / 2;
    const a = toNm(start, lat0);
    const b = toNm(end, lat0);
    const brg = Math.atan2(b[0] - a[0], b[1] - a[1]) / DEG;
    // Racetrack: semicircle round `end` then round `start`.
    return [...circleRing(end, r, lat0, brg - 90, brg + 90, 24),
      ...circleRing(start, r, lat0, brg + 90, brg + 270, 24), null].filter(Boolean);
  }
  return null;
}

const ll = (ring) => ring.map(([lon, lat]) => [lat, lon]);

/** GeoJSON geometry -> array of Leaflet latlng polygons. */
function geojsonPolygons(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return [geometry.coordinates.map(ll)];
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.map((p) => p.map(ll));
  if (geometry.type === 'Feature') return geojsonPolygons(geometry.geometry);
  if (geometry.type === 'GeometryCollection') return geometry.geometries.flatMap(geojsonPolygons);
  const ring = footprintRing(geometry);
  return ring ? [[ll(ring)]] : [];
}

function timeText(start, end) {
  return `${dhm(toMs(start))} → ${dhm(toMs(end))}`;
}

/** A volume's altitude band ({lower, upper, reference}) in the current language. */
export function altBand(alt) {
  const fl = (v) => `FL${String(Math.round(Number(v))).padStart(3, '0')}`;
  if (alt.reference === 'fl') return `${fl(alt.lower)} – ${fl(alt.upper)}`;
  if (alt.reference === 'm_w84') return t('%(lower)s – %(upper)s m WGS-84', {lower: Math.round(alt.lower), upper: Math.round(alt.upper)});
  return `${ft(Number(alt.lower))} – ${ft(Number(alt.upper))}`;
}

export class Overlays {
  constructor(map, {onNoticeClick = null} = {}) {
    this.map = map;
    this.onNoticeClick = onNoticeClick;
    map.createPane('volumes');
    map.getPane('volumes').style.zIndex = 380;
    map.createPane('geometry');
    map.getPane('geometry').style.zIndex = 460;
    this.notices = L.layerGroup().addTo(map);
    this.overlaps = L.layerGroup().addTo(map);
    this.lines = L.layerGroup().addTo(map);
    this.conflict = L.layerGroup().addTo(map);
    this.noticeBounds = null;
  }

  /** Draw own notices (normalised, model.js). `conflicting` is a Set of notice ids in a conflict. */
  setNotices(notices, conflicting = new Set()) {
    this.notices.clearLayers();
    this.byNotice = new Map();
    const bounds = L.latLngBounds([]);
    for (const notice of notices) {
      const inConflict = conflicting.has(notice.id);
      const layers = [];
      for (const vol of notice.volumes) {
        const ring = footprintRing(vol.footprint);
        if (!ring) continue;
        // Conflict: a thicker dashed outline (not only a colour).
        const poly = L.polygon(ll(ring), {
          pane: 'volumes', color: inConflict ? '#d55e00' : '#56b4e9', weight: inConflict ? 3 : 1.4,
          dashArray: inConflict ? '8 4' : null, fillColor: '#56b4e9', fillOpacity: 0.14,
        });
        poly.bindTooltip(
          `<b translate="no">${escapeHtml(notice.name)}</b> <span style="color:#7d8fa1">${escapeHtml(t(notice.state))}</span><br>` +
          `${escapeHtml(altBand(vol.altitude))}<br>${timeText(vol.start, vol.end)}` +
          (inConflict ? `<br><span style="color:#d55e00">${escapeHtml(t('IN CONFLICT'))}</span>` : ''),
          {sticky: true, className: 'dc-tip'});
        if (this.onNoticeClick) poly.on('click', (ev) => this.onNoticeClick(notice, vol, ev.latlng));
        poly.addTo(this.notices);
        layers.push(poly);
        bounds.extend(poly.getBounds());
      }
      this.byNotice.set(notice.id, layers);
    }
    this.noticeBounds = bounds.isValid() ? bounds : null;
  }

  /** The map polygons of one notice. */
  noticeLayers(id) {
    return (this.byNotice && this.byNotice.get(id)) || [];
  }

  /** Draw disclosed overlaps (clipped geometry of another party's volume meeting ours). */
  setOverlaps(overlaps) {
    this.overlaps.clearLayers();
    this.byConflict = new Map();
    for (const ov of overlaps) {
      const band = `${ft(ov.alt_lower_ft)} – ${ft(ov.alt_upper_ft)}`;
      const what = ov.kind === 'line' ? t('Line crossing') : t('Disclosed overlap');
      const layers = [];
      for (const latlngs of geojsonPolygons(ov.geometry)) {
        const poly = L.polygon(latlngs, {pane: 'geometry', color: '#cc79a7', weight: 1.8, dashArray: '5 3',
          fillColor: '#cc79a7', fillOpacity: 0.22})
          .bindTooltip(`<b>${escapeHtml(what)}</b>${ov.notice_name ? ` — <span translate="no">${escapeHtml(ov.notice_name)}</span>` : ''}<br>` +
            `${escapeHtml(band)}<br>${timeText(ov.start, ov.end)}`, {sticky: true, className: 'dc-tip'})
          .addTo(this.overlaps);
        layers.push(poly);
      }
      this.byConflict.set(ov.conflict_id, layers);
    }
  }

  /** Open the tooltip of one overlap (after "show on map"). */
  flashOverlap(conflictId) {
    for (const l of (this.byConflict && this.byConflict.get(conflictId)) || []) l.openTooltip(l.getBounds().getCenter());
  }

  /** Draw agreed lines (member view: `own_side`); own side shaded blue, the other side orange. */
  setLines(lines) {
    this.lines.clearLayers();
    for (const line of lines) {
      const coords = line.coordinates;
      if (coords.length < 2) continue;
      const lat0 = coords[0][1];
      const bandNm = 4;
      const ownSide = line.own_side ? String(line.own_side).toLowerCase() : null;
      for (const [side, sign] of [['left', 1], ['right', -1]]) {
        const off = offsetLine(coords, sign * bandNm, lat0);
        const ring = [...coords, ...off.reverse()];
        const color = ownSide === null ? '#7d8fa1' : side === ownSide ? '#56b4e9' : '#e69f00';
        L.polygon(ll(ring), {pane: 'volumes', stroke: false, fillColor: color, fillOpacity: 0.16, interactive: false})
          .addTo(this.lines);
      }
      const tip = ownSide ? t('own side: %(side)s (shaded blue); other side shaded orange', {side: t(ownSide)}) : '';
      L.polyline(ll(coords), {pane: 'volumes', color: '#f0e442', weight: 2.5})
        .bindTooltip(`<b translate="no">${escapeHtml(line.name)}</b><br>${escapeHtml(tip)}`, {sticky: true, className: 'dc-tip'})
        .addTo(this.lines);
    }
  }

  /**
   * Draw the geometry of one alert: own and other predicted paths to CPA (and a little beyond),
   * the two CPA positions and the miss distance. Returns bounds to fit, or null.
   */
  showConflict(alert) {
    this.conflict.clearLayers();
    if (!alert) return null;
    const bounds = L.latLngBounds([]);
    const tcpa = Math.max(0, alert.tCpaS || 0);
    const horizon = Math.max(tcpa * 1.3, 60);
    const path = (t, color, dash) => {
      if (!t || !Number.isFinite(t.lat)) return null;
      const pts = [];
      for (let k = 0; k <= 12; k++) {
        const s = (horizon * k) / 12;
        pts.push(aheadPoint(t.lat, t.lon, t.track_deg || 0, ((t.gs_kt || 0) * s) / 3600));
      }
      L.polyline(pts, {pane: 'geometry', color, weight: 2.5, dashArray: dash, opacity: 0.95}).addTo(this.conflict);
      pts.forEach((p) => bounds.extend(p));
      return aheadPoint(t.lat, t.lon, t.track_deg || 0, ((t.gs_kt || 0) * tcpa) / 3600);
    };
    const cpaOwn = path(alert.own, '#56b4e9', null);
    const cpaOther = path(alert.other, '#e69f00', '6 4');
    const cpa = alert.cpa || (cpaOwn && cpaOther
      ? [(cpaOwn[0] + cpaOther[0]) / 2, (cpaOwn[1] + cpaOther[1]) / 2] : cpaOwn || cpaOther);
    if (cpaOwn && cpaOther) {
      L.polyline([cpaOwn, cpaOther], {pane: 'geometry', color: '#ffffff', weight: 1, dashArray: '2 3'})
        .addTo(this.conflict);
    }
    for (const p of [cpaOwn, cpaOther]) {
      if (p) L.circleMarker(p, {pane: 'geometry', radius: 4, color: '#fff', weight: 1, fillColor: '#fff', fillOpacity: 1})
        .addTo(this.conflict);
    }
    if (cpa) {
      bounds.extend(cpa);
      const hmd = nm(alert.hmdNm, 1);
      const vmd = ft(alert.vmdFt);
      L.circleMarker(cpa, {pane: 'geometry', radius: 9, color: '#d55e00', weight: 2, fill: false})
        .bindTooltip(escapeHtml(t('CPA in %(time)s, miss %(hmd)s / %(vmd)s', {time: countdown(alert.tCpaS), hmd, vmd})),
          {permanent: true, direction: 'right', className: 'dc-tip', offset: [12, 0], opacity: 0.8})
        .addTo(this.conflict);
    }
    return bounds.isValid() ? bounds : null;
  }
}

export function escapeHtml(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}
