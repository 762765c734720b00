// Vector overlays on the map: own notices' 4D volumes, disclosed overlaps, agreed lines with each
// side shaded, and the conflict geometry (two predicted paths and the CPA) of the selected alert.

/* global L */
import {aheadPoint} from './aircraft-layer.js';
import {altBand, dhm, toMs, num, pick, countdown} from './util.js';

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

export class Overlays {
  constructor(map) {
    this.map = map;
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

  /** Draw own notices. `conflicting` is a Set of notice ids that are in a conflict. */
  setNotices(notices, conflicting = new Set()) {
    this.notices.clearLayers();
    const bounds = L.latLngBounds([]);
    for (const notice of notices) {
      const id = String(pick(notice, 'id', 'notice_id') ?? '');
      const name = pick(notice, 'name', 'title', 'designator', 'callsign') || id;
      const state = String(pick(notice, 'state', 'status') || '').toLowerCase();
      const volumes = notice.volumes || (notice.volume ? [notice.volume] : []);
      const inConflict = conflicting.has(id);
      for (const vol of volumes) {
        const ring = footprintRing(vol.footprint);
        if (!ring) continue;
        const poly = L.polygon(ll(ring), {
          pane: 'volumes', color: inConflict ? '#ff3b3b' : '#5aa9ff', weight: inConflict ? 2 : 1.4,
          fillColor: '#5aa9ff', fillOpacity: state.includes('pend') || state.includes('draft') ? 0.06 : 0.14,
          dashArray: state.includes('pend') || state.includes('draft') ? '6 4' : null,
        });
        poly.bindTooltip(
          `<b>${escapeHtml(name)}</b> <span style="color:#7d8fa1">${escapeHtml(state)}</span><br>` +
          `${altBand(vol.altitude)}<br>${timeText(vol.start, vol.end)}` +
          (inConflict ? '<br><span style="color:#ff3b3b">IN CONFLICT</span>' : ''),
          {sticky: true, className: 'dc-tip'});
        poly.addTo(this.notices);
        bounds.extend(poly.getBounds());
      }
    }
    this.noticeBounds = bounds.isValid() ? bounds : null;
  }

  /** Draw disclosed overlaps (clipped geometry of another party's volume meeting ours). */
  setOverlaps(overlaps) {
    this.overlaps.clearLayers();
    for (const ov of overlaps) {
      const polys = geojsonPolygons(ov.geometry || ov.footprint);
      const lo = num(ov, 'alt_lower_ft');
      const hi = num(ov, 'alt_upper_ft');
      const band = Number.isFinite(lo) ? `${Math.round(lo)} – ${Math.round(hi)} ft` : altBand(ov.altitude);
      for (const latlngs of polys) {
        L.polygon(latlngs, {pane: 'geometry', color: '#ff4d6d', weight: 1.8, dashArray: '5 3',
          fillColor: '#ff4d6d', fillOpacity: 0.22})
          .bindTooltip(`<b>Disclosed overlap</b>${ov.notice_name ? ` with ${escapeHtml(ov.notice_name)}` : ''}<br>` +
            `${band}<br>${timeText(ov.start, ov.end)}`, {sticky: true, className: 'dc-tip'})
          .addTo(this.overlaps);
      }
    }
  }

  /** Draw agreed lines; each side shaded in the colour of the party it belongs to. */
  setLines(lines, ownPartyId, ownPartyName) {
    this.lines.clearLayers();
    for (const line of lines) {
      const coords = line.coordinates || (line.geometry && line.geometry.coordinates) || [];
      if (coords.length < 2) continue;
      const lat0 = coords[0][1];
      const bandNm = Number(line.band_nm) || 4;
      const sides = line.sides || {};
      const name = pick(line, 'name', 'id') || 'agreed line';
      // Members see only their own side (`own_side`); the operator view maps party -> side.
      let ownSide = line.own_side ? String(line.own_side).toLowerCase() : null;
      for (const [party, side] of Object.entries(sides)) {
        if (party === String(ownPartyId) || party === ownPartyName) ownSide = String(side).toLowerCase();
      }
      for (const [side, sign] of [['left', 1], ['right', -1]]) {
        const off = offsetLine(coords, sign * bandNm, lat0);
        const ring = [...coords, ...off.reverse()];
        const color = ownSide === null ? '#7d8fa1' : side === ownSide ? '#3fd0ff' : '#ff8a3d';
        L.polygon(ll(ring), {pane: 'volumes', stroke: false, fillColor: color, fillOpacity: 0.16, interactive: false})
          .addTo(this.lines);
      }
      const tip = ownSide ? `own side: ${escapeHtml(ownSide)} (shaded blue); other side shaded orange`
        : Object.entries(sides).map(([p, s]) => `${escapeHtml(p)}: ${escapeHtml(s)} side`).join('<br>');
      L.polyline(ll(coords), {pane: 'volumes', color: '#e0d45a', weight: 2.5})
        .bindTooltip(`<b>${escapeHtml(name)}</b><br>${tip}`, {sticky: true, className: 'dc-tip'})
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
    const cpaOwn = path(alert.own, '#3fd0ff', null);
    const cpaOther = path(alert.other, '#ff8a3d', '6 4');
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
      const hmd = Number.isFinite(alert.hmdNm) ? `${alert.hmdNm.toFixed(1)} NM` : '?';
      const vmd = Number.isFinite(alert.vmdFt) ? `${Math.round(alert.vmdFt)} ft` : '?';
      L.circleMarker(cpa, {pane: 'geometry', radius: 9, color: '#ff3b3b', weight: 2, fill: false})
        .bindTooltip(`CPA in ${countdown(alert.tCpaS)}<br>miss ${hmd} / ${vmd}`,
          {permanent: true, direction: 'right', className: 'dc-tip', offset: [12, 0], opacity: 0.8})
        .addTo(this.conflict);
    }
    return bounds.isValid() ? bounds : null;
  }
}

export function escapeHtml(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}
