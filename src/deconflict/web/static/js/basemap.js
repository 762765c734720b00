// Offline basemap: Natural Earth land, coastlines and borders from the vendored world-atlas TopoJSON,
// a graticule and a scale. No tile layer, no network beyond our own /static files.
//
// Antimeridian: Natural Earth rings that cross ±180° (Russia, Fiji, Antarctica) jump from +179.x to
// -179.x, which a planar renderer draws as a streak across the whole map. Rings are *unwrapped* (each
// longitude moved by ±360° to stay within 180° of the previous one), then any ring that leaves
// [-180, 180] is also drawn shifted by ∓360°; a ring that winds round the pole (Antarctica) is closed
// along the map's bottom edge. Lines (borders, coasts) are split where they jump.

/* global L, topojson */
import {t, onLanguage} from './i18n.js';

const nmText = (v) => t('%(value)s NM', {value: v});

const POLE_LAT = -89.5;

/** Unwrap a ring of [lon, lat] so that consecutive longitudes differ by at most 180°. */
export function unwrapRing(ring) {
  const out = [];
  let offset = 0;
  let prev = null;
  for (const [lon, lat] of ring) {
    if (prev !== null) {
      const d = lon + offset - prev;
      if (d > 180) offset -= 360;
      else if (d < -180) offset += 360;
    }
    const x = lon + offset;
    out.push([x, lat]);
    prev = x;
  }
  return out;
}

/**
 * Make a polygon ring safe for a planar map. Returns one or two rings (the second shifted by ∓360°).
 */
export function fixRing(ring) {
  if (ring.length < 3) return [ring];
  let un = unwrapRing(ring);
  const drift = un[un.length - 1][0] - un[0][0];
  if (Math.abs(drift) > 180) {
    // The ring winds round a pole: close it along the bottom edge of the map.
    const last = un[un.length - 1];
    const first = un[0];
    un = [...un, [last[0], POLE_LAT], [first[0], POLE_LAT], first];
  }
  let min = Infinity;
  let max = -Infinity;
  for (const [x] of un) { if (x < min) min = x; if (x > max) max = x; }
  const rings = [un];
  if (max > 180) rings.push(un.map(([x, y]) => [x - 360, y]));
  if (min < -180) rings.push(un.map(([x, y]) => [x + 360, y]));
  return rings;
}

/** Split a line of [lon, lat] where it jumps across the antimeridian. */
export function splitLine(line) {
  const parts = [];
  let cur = [];
  for (let i = 0; i < line.length; i++) {
    if (i > 0 && Math.abs(line[i][0] - line[i - 1][0]) > 180) {
      if (cur.length > 1) parts.push(cur);
      cur = [];
    }
    cur.push(line[i]);
  }
  if (cur.length > 1) parts.push(cur);
  return parts;
}

/** GeoJSON (Multi)Polygon geometry -> list of Leaflet latlng rings (outer rings and holes flattened). */
function polygonsToLatLngs(geometry) {
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates]
    : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
  const out = [];
  for (const poly of polys) {
    // Each ring is fixed on its own; holes (lakes) are rare at these scales and drawn with evenodd.
    const fixedByShift = [[], [], []];
    poly.forEach((ring) => {
      const fixed = fixRing(ring);
      fixed.forEach((r, k) => fixedByShift[k].push(r.map(([x, y]) => [y, x])));
    });
    for (const rings of fixedByShift) if (rings.length) out.push(rings);
  }
  return out;
}

function linesToLatLngs(geometry) {
  const lines = geometry.type === 'LineString' ? [geometry.coordinates]
    : geometry.type === 'MultiLineString' ? geometry.coordinates : [];
  const out = [];
  for (const line of lines) for (const part of splitLine(line)) out.push(part.map(([x, y]) => [y, x]));
  return out;
}

/** Graticule lines every `step` degrees, drawn as one multi-polyline. */
function graticule(step) {
  const lines = [];
  for (let lon = -180; lon <= 180; lon += step) {
    const line = [];
    for (let lat = -80; lat <= 80; lat += 2) line.push([lat, lon]);
    lines.push(line);
  }
  for (let lat = -80; lat <= 80; lat += step) {
    const line = [];
    for (let lon = -180; lon <= 180; lon += 2) line.push([lat, lon]);
    lines.push(line);
  }
  return lines;
}

/**
 * Add the basemap to `map`. Loads 1:110m at once and 1:50m when zoomed in past `detailZoom`.
 * Resolves when the first layer is drawn.
 */
export async function addBasemap(map, {base = 'static/vendor/', detailZoom = 4} = {}) {
  // The renderer must live in the basemap pane itself (a renderer ignores its layers' pane), or
  // the opaque land fill would sit in the overlay pane above the notices' volumes.
  map.createPane('basemap');
  map.getPane('basemap').style.zIndex = 250;
  map.getPane('basemap').style.pointerEvents = 'none';
  const renderer = L.canvas({padding: 0.3, pane: 'basemap'});
  const layers = {};

  const build = (topo) => {
    const land = topojson.feature(topo, topo.objects.land);
    const landRings = [];
    for (const f of land.features || [land]) landRings.push(...polygonsToLatLngs(f.geometry || f));
    const coast = topojson.mesh(topo, topo.objects.land);
    const borders = topojson.mesh(topo, topo.objects.countries, (a, b) => a !== b);
    return L.layerGroup([
      L.polygon(landRings, {renderer, pane: 'basemap', stroke: false, fillColor: '#1a2632', fillOpacity: 1,
        fillRule: 'evenodd', interactive: false, smoothFactor: 1.5}),
      L.polyline(linesToLatLngs(borders), {renderer, pane: 'basemap', color: '#3a4d60', weight: 0.8,
        dashArray: '4 3', interactive: false, smoothFactor: 1.5}),
      L.polyline(linesToLatLngs(coast), {renderer, pane: 'basemap', color: '#4f6b84', weight: 1,
        interactive: false}),
    ]);
  };

  const grat = {
    coarse: L.polyline(graticule(10), {renderer, pane: 'basemap', color: '#1f3344', weight: 0.6,
      interactive: false}),
    fine: L.polyline(graticule(1), {renderer, pane: 'basemap', color: '#1a2c3b', weight: 0.5,
      interactive: false}),
  };

  const load = async (name) => {
    const res = await fetch(`${base}${name}`);
    if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
    return build(await res.json());
  };

  let detailPromise = null;
  const update = () => {
    const z = map.getZoom();
    const wantDetail = z >= detailZoom;
    if (wantDetail && !layers.detail && !detailPromise) {
      detailPromise = load('countries-50m.json').then((layer) => { layers.detail = layer; update(); })
        .catch((err) => console.warn('basemap 1:50m unavailable', err));
    }
    const showDetail = wantDetail && layers.detail;
    if (layers.coarse) {
      if (showDetail) map.removeLayer(layers.coarse); else if (!map.hasLayer(layers.coarse)) layers.coarse.addTo(map);
    }
    if (layers.detail) {
      if (showDetail) { if (!map.hasLayer(layers.detail)) layers.detail.addTo(map); } else map.removeLayer(layers.detail);
    }
    const fine = z >= 6;
    if (fine) { map.removeLayer(grat.coarse); if (!map.hasLayer(grat.fine)) grat.fine.addTo(map); }
    else { map.removeLayer(grat.fine); if (!map.hasLayer(grat.coarse)) grat.coarse.addTo(map); }
  };

  // Metric scale with the unit in the reader's language (Leaflet's own writes "km" / "m").
  const MetricScale = L.Control.Scale.extend({
    _updateMetric(maxMeters) {
      const meters = this._getRoundNum(maxMeters);
      const label = meters < 1000 ? t('%(value)s m', {value: meters}) : t('%(value)s km', {value: meters / 1000});
      this._updateScale(this._mScale, label, meters / maxMeters);
    },
  });
  new MetricScale({imperial: false, metric: true, position: 'bottomleft', maxWidth: 160}).addTo(map);
  // Nautical-mile scale beside the metric one (Leaflet has no NM option).
  const NmScale = L.Control.extend({
    onAdd() {
      this._div = L.DomUtil.create('div', 'leaflet-control-scale leaflet-control');
      this._line = L.DomUtil.create('div', 'leaflet-control-scale-line', this._div);
      map.on('moveend zoomend', () => this._update());
      this._update();
      return this._div;
    },
    _update() {
      const y = map.getSize().y / 2;
      const dist = map.distance(map.containerPointToLatLng([0, y]), map.containerPointToLatLng([160, y]));
      const nm = dist / 1852;
      const pow = 10 ** Math.floor(Math.log10(nm));
      const nice = [5, 2, 1].map((k) => k * pow).find((v) => v <= nm) || pow;
      this._line.style.width = `${Math.round((160 * nice) / nm)}px`;
      this._line.textContent = nmText(nice);
    },
  });
  const nmScale = new NmScale({position: 'bottomleft'}).addTo(map);
  onLanguage(() => { nmScale._update(); map.fire('move'); });

  layers.coarse = await load('countries-110m.json');
  map.on('zoomend', update);
  update();
  return layers;
}
