// Small helpers shared by the dashboard modules: DOM building, UTC formatting, number picking.

/** Create an element: el('div', {class: 'x', onclick: fn}, child, 'text'). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Parse an ISO-8601 string / epoch seconds / epoch ms into epoch milliseconds (NaN if absent). */
export function toMs(value) {
  if (value === undefined || value === null || value === '') return NaN;
  if (typeof value === 'number') return value < 1e11 ? value * 1000 : value;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : NaN;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** "HH:MM:SSZ" in UTC. */
export function hms(ms) {
  if (!Number.isFinite(ms)) return '--:--:--Z';
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
}

/** "HH:MMZ" in UTC. */
export function hm(ms) {
  if (!Number.isFinite(ms)) return '--:--Z';
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}Z`;
}

/** "DD HH:MMZ" in UTC (day of month first, as in NOTAM/ACO practice). */
export function dhm(ms) {
  if (!Number.isFinite(ms)) return '--';
  const d = new Date(ms);
  return `${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}Z`;
}

/** A countdown "m:ss" (or "-m:ss" when past). */
export function countdown(seconds) {
  if (!Number.isFinite(seconds)) return '--:--';
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(Math.round(seconds));
  if (s >= 3600) return `${sign}${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return `${sign}${Math.floor(s / 60)}:${pad(s % 60)}`;
}

/** Age in words: "4 s", "3 min", "2 h". */
export function age(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** First defined, finite number among obj[keys...]. */
export function num(obj, ...keys) {
  if (!obj) return NaN;
  for (const key of keys) {
    const v = obj[key];
    if (v !== undefined && v !== null && v !== '' && Number.isFinite(Number(v))) return Number(v);
  }
  return NaN;
}

/** First defined non-empty value among obj[keys...]. */
export function pick(obj, ...keys) {
  if (!obj) return undefined;
  for (const key of keys) {
    const v = obj[key];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

/** Accept a list, or {items|data|results|<name>: [...]}, and return an array. */
export function asList(data, ...names) {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== 'object') return [];
  for (const key of [...names, 'items', 'data', 'results']) {
    if (Array.isArray(data[key])) return data[key];
  }
  return [];
}

/** Flight level text from feet: 35000 -> "FL350", 2500 -> "A025". */
export function flightLevel(altFt) {
  if (!Number.isFinite(altFt)) return 'FL---';
  if (altFt >= 6000) return `FL${pad(Math.round(altFt / 100), 3)}`;
  return `A${pad(Math.max(0, Math.round(altFt / 100)), 3)}`;
}

/** Altitude band text for a volume altitude object {lower, upper, reference}. */
export function altBand(alt) {
  if (!alt) return '—';
  const ref = alt.reference || 'ft_amsl';
  const fmt = (v) => {
    if (!Number.isFinite(Number(v))) return '?';
    if (ref === 'fl') return `FL${pad(Math.round(Number(v)), 3)}`;
    if (ref === 'm_w84') return `${Math.round(Number(v))} m W84`;
    return `${Math.round(Number(v)).toLocaleString('en-US')} ft`;
  };
  return `${fmt(alt.lower)} – ${fmt(alt.upper)}`;
}

/** Simple string hash to pick stable colours. */
export function hashStr(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Estimated server-minus-browser clock offset, ms (clock-skew tolerance for countdowns). */
export const clock = {skewMs: 0};

/** "Now" on the server's clock, epoch ms. */
export function serverNow() {
  return Date.now() + clock.skewMs;
}

/** Update the skew estimate from an HTTP Date header (1 s resolution; only large skews matter). */
export function noteServerDate(header) {
  const ms = Date.parse(header || '');
  if (!Number.isFinite(ms)) return;
  const skew = ms + 500 - Date.now();
  clock.skewMs = Math.abs(skew) > 1500 ? skew : 0;
}
