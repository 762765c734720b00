// Drawing on the map for the hotline forms, with plain Leaflet (no plugin):
//   point   — one click;
//   circle  — press on the centre and drag to the edge, or click the centre then click the edge;
//   polygon — one click per vertex; double-click or Enter closes it (3 vertices at least).
// Escape cancels. While drawing, map dragging and double-click zoom are off and the shapes under
// the cursor do not take the clicks. The finished shape stays drawn (dashed) until clear().
//
// Shapes are returned in the wire's units: degrees (longitude wrapped to ±180°) and nautical
// miles. The hotline's Area is a circle on the wire (centre + radius_nm): polygonCircle() turns a
// polygon into the circle that contains it (centre = vertices' centroid, radius = the farthest
// vertex, rounded up), so the area sent never leaves out a part of what was drawn.

/* global L */

export const METRES_PER_NM = 1852;
const EARTH_RADIUS_M = 6371008.8;
const DRAG_PX = 6; // a press that moves further than this is a drag (circle radius), not a click

const rad = (d) => (d * Math.PI) / 180;
const deg = (r) => (r * 180) / Math.PI;

/** Longitude wrapped to [-180, 180). */
export function wrapLon(lon) {
  return ((((lon + 180) % 360) + 360) % 360) - 180;
}

/** Great-circle distance between two {lat, lon} points, nautical miles (haversine). */
export function distanceNm(a, b) {
  const dlat = rad(b.lat - a.lat);
  const dlon = rad(b.lon - a.lon);
  const h = Math.sin(dlat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dlon / 2) ** 2;
  return (2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)))) / METRES_PER_NM;
}

/** Round up to `step` (radius in NM: never smaller than drawn). */
export function ceilTo(value, step = 0.1) {
  return Math.max(step, Math.ceil(value / step - 1e-9) * step);
}

/**
 * The circle containing a polygon [{lat, lon}, ...]: centre = the vertices' centroid (on the
 * unit sphere, so it is right across ±180°), radius = distance to the farthest vertex (NM,
 * rounded up to 0.1). The disk is convex and holds every vertex, hence the whole polygon.
 */
export function polygonCircle(vertices) {
  let x = 0; let y = 0; let z = 0;
  for (const v of vertices) {
    x += Math.cos(rad(v.lat)) * Math.cos(rad(v.lon));
    y += Math.cos(rad(v.lat)) * Math.sin(rad(v.lon));
    z += Math.sin(rad(v.lat));
  }
  const center = {lat: deg(Math.atan2(z, Math.hypot(x, y))), lon: wrapLon(deg(Math.atan2(y, x)))};
  const far = Math.max(...vertices.map((v) => distanceNm(center, v)));
  return {center, radiusNm: ceilTo(far, 0.1)};
}

const STYLE = {pane: 'geometry', color: '#f0e442', weight: 2, dashArray: '6 4', fillColor: '#f0e442', fillOpacity: 0.12, interactive: false};

export class MapDrawer {
  /** @param {L.Map} map */
  constructor(map) {
    this.map = map;
    this.layer = L.layerGroup().addTo(map);
    this.mode = null; // 'point' | 'circle' | 'polygon' while drawing
    this.onDone = null;
    this.onCancel = null;
    this._handlers = {
      click: (e) => this._click(e), dblclick: (e) => this._dblclick(e), mousedown: (e) => this._down(e),
      mousemove: (e) => this._move(e), mouseup: (e) => this._up(e),
    };
    this._key = (ev) => this._keydown(ev);
  }

  /** True while a shape is being drawn (other map clicks should be ignored). */
  get active() { return this.mode !== null; }

  /**
   * Start drawing `mode`; `onDone(shape)` gets {kind: 'point', lat, lon} |
   * {kind: 'circle', center: {lat, lon}, radiusNm} | {kind: 'polygon', vertices: [{lat, lon}]};
   * `onCancel()` is called on Escape or when another drawing starts.
   */
  start(mode, onDone, onCancel = () => {}) {
    if (this.active) this.cancel();
    this.clear();
    this.mode = mode;
    this.onDone = onDone;
    this.onCancel = onCancel;
    this.center = null;
    this.phase = null;
    this.vertices = [];
    this.preview = null;
    this._wasDragging = this.map.dragging.enabled();
    this._wasDblZoom = this.map.doubleClickZoom.enabled();
    this.map.dragging.disable();
    this.map.doubleClickZoom.disable();
    this.map.getContainer().classList.add('drawing');
    this.map.on(this._handlers);
    document.addEventListener('keydown', this._key, true);
  }

  /** Stop drawing without a shape (Escape). */
  cancel() {
    if (!this.active) return;
    const cb = this.onCancel;
    this._stop();
    this.clear();
    if (cb) cb();
  }

  /** Remove the drawn shape from the map. */
  clear() { this.layer.clearLayers(); }

  _stop() {
    this.map.off(this._handlers);
    document.removeEventListener('keydown', this._key, true);
    if (this._wasDragging) this.map.dragging.enable();
    if (this._wasDblZoom) this.map.doubleClickZoom.enable();
    this.map.getContainer().classList.remove('drawing');
    this.mode = null;
    this.onDone = null;
    this.onCancel = null;
  }

  _finish(shape) {
    const cb = this.onDone;
    this._stop();
    this.clear();
    if (shape.kind === 'point') {
      L.circleMarker([shape.lat, shape.lon], {...STYLE, radius: 6, dashArray: null}).addTo(this.layer);
    } else if (shape.kind === 'circle') {
      L.circle([shape.center.lat, shape.center.lon], {...STYLE, radius: shape.radiusNm * METRES_PER_NM}).addTo(this.layer);
    } else {
      L.polygon(shape.vertices.map((v) => [v.lat, v.lon]), STYLE).addTo(this.layer);
      const c = polygonCircle(shape.vertices);
      L.circle([c.center.lat, c.center.lon], {...STYLE, fill: false, weight: 1, radius: c.radiusNm * METRES_PER_NM}).addTo(this.layer);
    }
    if (cb) cb(shape);
  }

  static _ll(latlng) { return {lat: latlng.lat, lon: wrapLon(latlng.lng)}; }

  _click(e) {
    if (this.mode === 'point') this._finish({kind: 'point', ...MapDrawer._ll(e.latlng)});
    else if (this.mode === 'polygon') {
      const last = this.vertices[this.vertices.length - 1];
      const px = e.containerPoint;
      // The two clicks of a double-click land on one spot: one vertex.
      if (last && last.px.distanceTo(px) < DRAG_PX) return;
      this.vertices.push({...MapDrawer._ll(e.latlng), latlng: e.latlng, px});
      this._drawPolygon(null);
    }
  }

  _dblclick() {
    if (this.mode === 'polygon') this._closePolygon();
  }

  _closePolygon() {
    if (this.vertices.length < 3) return;
    this._finish({kind: 'polygon', vertices: this.vertices.map(({lat, lon}) => ({lat, lon}))});
  }

  _down(e) {
    if (this.mode !== 'circle' || this.center) return;
    this.center = e.latlng;
    this.downPx = e.containerPoint;
    this.phase = 'press';
    this._drawCircle(e.latlng);
  }

  _move(e) {
    if (this.mode === 'circle' && this.center) this._drawCircle(e.latlng);
    else if (this.mode === 'polygon' && this.vertices.length) this._drawPolygon(e.latlng);
  }

  _up(e) {
    if (this.mode !== 'circle' || !this.center) return;
    if (this.phase === 'press' && e.containerPoint.distanceTo(this.downPx) <= DRAG_PX) {
      this.phase = 'edge'; // a click on the centre: the next click sets the edge
      return;
    }
    const center = MapDrawer._ll(this.center);
    const edge = MapDrawer._ll(e.latlng);
    this._finish({kind: 'circle', center, radiusNm: ceilTo(distanceNm(center, {lat: e.latlng.lat, lon: e.latlng.lng}), 0.1), edge});
  }

  _keydown(ev) {
    if (ev.key === 'Escape') { ev.preventDefault(); ev.stopPropagation(); this.cancel(); }
    else if (ev.key === 'Enter' && this.mode === 'polygon') { ev.preventDefault(); ev.stopPropagation(); this._closePolygon(); }
  }

  _drawCircle(cursor) {
    const r = this.map.distance(this.center, cursor);
    if (!this.preview) this.preview = L.circle(this.center, {...STYLE, radius: Math.max(r, 1)}).addTo(this.layer);
    else this.preview.setRadius(Math.max(r, 1));
  }

  _drawPolygon(cursor) {
    const pts = this.vertices.map((v) => v.latlng);
    if (cursor) pts.push(cursor);
    if (!this.preview) this.preview = L.polygon(pts, STYLE).addTo(this.layer);
    else this.preview.setLatLngs(pts);
  }
}
