// The duty officer's screen: sign-in, then one party's whole picture. Wires the API, the live event
// stream, the map layers and the panels together. Every panel degrades to "unavailable" on its own.

/* global L */
import {Api, ApiError, failureText} from './api.js';
import {addBasemap} from './basemap.js';
import {AircraftLayer} from './aircraft-layer.js';
import {Overlays, escapeHtml} from './overlays.js';
import {AlertsPanel, AlertTone} from './alerts.js';
import {Timeline, timelineRows} from './timeline.js';
import {HotlinePanel} from './hotline.js';
import {LedgerPanel} from './ledger.js';
import {normalizePicture, normalizeAlert, normalizeNotice, normalizeConflicts} from './model.js';
import {asList, age, hms, dhm, toMs, serverNow, el, pick} from './util.js';
import {LiveStream} from './stream.js';

const KEY_STORAGE = 'deconflict.key';
const STALE_S = 10;
const $ = (id) => document.getElementById(id);

const state = {
  api: null, me: null, lang: sessionStorage.getItem('deconflict.lang') || 'en',
  lastUpdateMs: NaN, lastPictureMs: NaN, pictureTimeMs: NaN, pictureFromStreamMs: 0,
  notices: [], noticesById: new Map(), conflicts: {conflicting: new Set(), overlaps: [], items: []},
  alerts: [], selectedAlert: null, errors: [], ready: false, pictureUnavailable: false,
};
const hooks = {state};
window.__deconflict = hooks;

function showOnly(id) {
  for (const s of ['signin', 'operator', 'screen']) $(s).hidden = s !== id;
}

function setClassification(text) {
  const t = text || 'UNCLASSIFIED // EXERCISE';
  for (const b of [$('banner-top'), $('banner-bottom')]) {
    b.textContent = t;
    const lower = t.toLowerCase();
    b.classList.toggle('secret', lower.startsWith('secret') || lower.startsWith('top secret'));
    b.classList.toggle('confidential', lower.startsWith('confidential'));
    b.classList.toggle('cui', lower.startsWith('cui'));
  }
}

function toast(message) {
  console.warn(message);
  state.errors.push(message);
}

// ---------------------------------------------------------------- sign-in

async function signIn(key) {
  const api = new Api(key);
  let me;
  try {
    me = await api.get('/v1/me');
  } catch (err) {
    sessionStorage.removeItem(KEY_STORAGE);
    showOnly('signin');
    $('signin-error').textContent = err instanceof ApiError && (err.status === 401 || err.status === 403)
      ? 'Key not recognised.' : failureText(err, 'Sign-in');
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  state.api = api;
  state.me = {
    ...me,
    party_id: pick(me, 'party_id', 'party') ?? null,
    party_name: pick(me, 'party_name', 'name', 'party') ?? null,
    role: String(pick(me, 'role') || ''),
  };
  setClassification(pick(me, 'classification', 'banner'));
  if (state.me.role === 'operator' || state.me.party_id === null) {
    showOnly('operator');
    hooks.ready = true;
    return;
  }
  showOnly('screen');
  $('party-name').textContent = state.me.party_name || state.me.party_id;
  $('party-role').textContent = state.me.role.replace('_', ' ');
  document.title = `deconflict — ${state.me.party_name || state.me.party_id}`;
  await startScreen();
}

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  location.hash = '';
  location.reload();
}

// ---------------------------------------------------------------- screen

let map; let aircraft; let overlays; let alertsPanel; let timeline; let hotline; let ledger; let stream;
const tone = new AlertTone();
hooks.tone = tone;

async function startScreen() {
  map = L.map('map', {zoomControl: true, attributionControl: true, worldCopyJump: false, preferCanvas: false,
    minZoom: 2, maxZoom: 13, zoomSnap: 0.5,
    // Keep the view on the one world drawn (a little past ±180° for antimeridian areas).
    maxBounds: [[-85, -220], [85, 220]], maxBoundsViscosity: 0.8}).setView([46, 10], 5);
  map.attributionControl.setPrefix(false).addAttribution('Natural Earth (public domain)');
  hooks.map = map;
  const basemapReady = addBasemap(map).catch((err) => toast(`basemap: ${err.message}`));
  aircraft = new AircraftLayer({lookaheadS: 300}).addTo(map);
  hooks.aircraft = aircraft;
  overlays = new Overlays(map);
  aircraft.on('aircraftclick', (e) => {
    const t = e.track;
    aircraft.setSelected(t.id);
    L.popup({className: 'dc-popup'}).setLatLng(e.latlng)
      .setContent(`<b>${escapeHtml(t.callsign || t.id)}</b><br>${Math.round(t.alt_ft)} ft · ${Math.round(t.gs_kt)} kt · ` +
        `${Math.round(t.track_deg)}° · ${Math.round(t.vs_fpm || 0)} fpm<br>${t.timeMs ? `seen ${hms(t.timeMs)}` : ''}`)
      .openOn(map);
  });

  alertsPanel = new AlertsPanel($('alerts'), $('alert-count'), {
    onSelect: (a) => selectAlert(a),
    onAck: async (a) => {
      await state.api.post(`/v1/alerts/${encodeURIComponent(a.id)}/ack`, {});
      refreshPicture();
    },
    onNewWarning: () => tone.play(),
    lineName: (id) => (state.lineNames ? state.lineNames.get(id) : null),
    onError: toast,
  });
  timeline = new Timeline($('timeline'), $('timeline-range'), {onSelect: (row) => showRow(row)});
  hotline = new HotlinePanel($('tab-hotline'), $('hotline-badge'), {api: state.api, me: state.me, lang: () => state.lang, onError: toast});
  ledger = new LedgerPanel($('tab-ledger'), {api: state.api});
  hooks.panels = {alertsPanel, timeline, hotline, ledger};

  bindChrome();
  await basemapReady;

  stream = new LiveStream(state.api.key, {
    onEvent: (kind, data) => onStreamEvent(kind, data),
    onStatus: () => renderStatus(),
  });
  hooks.stream = stream;

  await Promise.allSettled([refreshPicture(), refreshPlans(), hotline.refresh(), ledger.refresh()]);
  await refreshAlerts(true);
  fitInitial();
  state.ready = true;
  hooks.ready = true;

  setInterval(() => { if (Date.now() - state.pictureFromStreamMs > 1500) refreshPicture(); }, 1000);
  setInterval(refreshAlerts, 2000);
  setInterval(refreshPlans, 30000);
  setInterval(() => hotline.refresh(), 5000);
  setInterval(() => ledger.refresh(), 30000);
  setInterval(renderStatus, 500);
}

function bindChrome() {
  for (const b of document.querySelectorAll('.lang-btn')) {
    b.classList.toggle('active', b.dataset.lang === state.lang);
    b.addEventListener('click', () => {
      state.lang = b.dataset.lang;
      sessionStorage.setItem('deconflict.lang', state.lang);
      document.documentElement.lang = state.lang;
      for (const o of document.querySelectorAll('.lang-btn')) o.classList.toggle('active', o === b);
      hotline.refresh();
    });
  }
  const mute = $('mute');
  const renderMute = () => {
    mute.setAttribute('aria-pressed', tone.muted ? 'true' : 'false');
    mute.textContent = tone.muted ? '✕ Muted' : '♪ Sound on';
  };
  renderMute();
  mute.addEventListener('click', () => { tone.unlock(); tone.setMuted(!tone.muted); renderMute(); });
  for (const b of document.querySelectorAll('.tl-controls button')) {
    b.addEventListener('click', () => {
      for (const o of document.querySelectorAll('.tl-controls button')) o.classList.toggle('active', o === b);
      timeline.setSpanHours(Number(b.dataset.span));
    });
  }
  for (const b of document.querySelectorAll('.tabs button')) {
    b.addEventListener('click', () => {
      for (const o of document.querySelectorAll('.tabs button')) o.classList.toggle('active', o === b);
      for (const t of document.querySelectorAll('.tab')) t.hidden = t.id !== `tab-${b.dataset.tab}`;
    });
  }
  // Keyboard: Esc clears the selection; A acknowledges the selected alert (not while typing).
  document.addEventListener('keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLTextAreaElement
      || ev.target instanceof HTMLSelectElement) return;
    if (ev.key === 'Escape' && state.selectedAlert) alertsPanel.select(state.selectedAlert.id);
    if ((ev.key === 'a' || ev.key === 'A') && state.selectedAlert && !state.selectedAlert.ackedByMe) {
      alertsPanel.ack(state.selectedAlert);
    }
  });
}

// ---------------------------------------------------------------- data

function applyPicture(data, fromStream = false) {
  const fetched = serverNow();
  const pic = normalizePicture(data, state.me);
  // Other aircraft are labelled "<party>·<alert number>": the number links map and alert list.
  if (pic.alerts) for (const a of pic.alerts) alertNo(a.id);
  for (const t of pic.others) if (t.alertId) t.callsign = `${t.party || 'OTHER'}·${alertNo(t.alertId)}`;
  state.traffic = new Map(pic.others.map((t) => [t.id, t]));
  aircraft.setData(pic.own, pic.others);
  state.pictureTimeMs = Number.isFinite(pic.timeMs) ? pic.timeMs : fetched;
  state.lastPictureMs = Date.now();
  state.lastUpdateMs = Date.now();
  if (fromStream) state.pictureFromStreamMs = Date.now();
  if (pic.alerts) {
    state.alertsFromPictureMs = Date.now();
    setAlerts(pic.alerts, fetched);
  }
  renderCounts();
  return pic;
}
hooks.applyPicture = (data) => applyPicture(data, true);

function renderCounts() {
  const own = aircraft.count();
  const stale = aircraft._own.filter((t) => t.stale).length;
  const others = state.traffic ? state.traffic.size : 0;
  $('counts').textContent = `${own.toLocaleString('en-US')} own${stale ? ` (${stale} stale)` : ''}` +
    `${others ? ` · ${others} disclosed` : ''}`;
}

/** A small, stable number per alert id (shown in the list and on the other aircraft's label). */
function alertNo(id) {
  state.alertNos = state.alertNos || new Map();
  if (!state.alertNos.has(id)) state.alertNos.set(id, state.alertNos.size + 1);
  return state.alertNos.get(id);
}

/** Normalise the broker's alert views and push them to the panel, the map and the selection. */
function setAlerts(rawList, fetched) {
  const ownFind = (id) => aircraft.find(id);
  const trafficFind = (h) => (state.traffic ? state.traffic.get(h) || null : null);
  state.alerts = rawList.map((raw) => normalizeAlert(raw, state.me, fetched, ownFind, trafficFind));
  for (const a of state.alerts) a.no = alertNo(a.id);
  state.lastUpdateMs = Date.now();
  alertsPanel.setAlerts(state.alerts);
  const hl = new Map();
  for (const a of state.alerts) {
    if (a.state !== 'open') continue;
    const ref = a.ownRef || (a.own && a.own.id);
    if (ref) hl.set(ref, a.severity);
  }
  aircraft.setHighlights(hl);
  if (state.selectedAlert) {
    const again = state.alerts.find((a) => a.id === state.selectedAlert.id && a.state === 'open');
    state.selectedAlert = again || null;
    overlays.showConflict(again || null);
  }
}

async function refreshPicture() {
  try {
    const data = await state.api.get('/v1/picture');
    state.pictureUnavailable = false;
    applyPicture(data);
  } catch (err) {
    if (err instanceof ApiError && err.unavailable) state.pictureUnavailable = true;
  }
}

async function refreshAlerts(force = false) {
  // The picture carries the open alerts; poll /v1/alerts only when it does not (or on demand).
  if (!force && Date.now() - (state.alertsFromPictureMs || 0) < 3000) return;
  const fetched = serverNow();
  try {
    const data = await state.api.get('/v1/alerts');
    setAlerts(asList(data, 'alerts'), fetched);
  } catch (err) {
    if (!(err instanceof ApiError && err.network)) alertsPanel.setUnavailable(failureText(err, 'Alerts'));
  }
}

async function refreshPlans() {
  const results = await Promise.allSettled([
    state.api.get('/v1/notices'),
    state.api.get('/v1/conflicts'),
    fetchLines(),
  ]);
  const [notices, conflicts, lines] = results;
  if (notices.status === 'fulfilled') {
    state.notices = asList(notices.value, 'notices').map(normalizeNotice);
    state.noticesById = new Map(state.notices.map((n) => [n.id, n]));
  }
  if (conflicts.status === 'fulfilled') {
    state.conflicts = normalizeConflicts(conflicts.value, state.noticesById);
  }
  overlays.setNotices(state.notices.map((n) => n.raw), state.conflicts.conflicting);
  overlays.setOverlaps(state.conflicts.overlaps);
  if (lines.status === 'fulfilled') {
    state.lineNames = new Map(lines.value.map((l) => [String(l.id), l.name || String(l.id)]));
    overlays.setLines(lines.value, state.me.party_id, state.me.party_name);
  }
  if (notices.status === 'rejected') timeline.setUnavailable(failureText(notices.reason, 'Notices'));
  else timeline.setRows(timelineRows(state.notices, state.conflicts.overlaps, state.conflicts.conflicting));
  renderConflicts(conflicts);
}

/** Agreed lines of every agreement the party belongs to (or GET /v1/lines on a server with it). */
async function fetchLines() {
  let agreements;
  try {
    agreements = asList(await state.api.get('/v1/agreements'), 'agreements');
  } catch (err) {
    if (!(err instanceof ApiError && err.unavailable)) throw err;
    return asList(await state.api.get('/v1/lines'), 'lines');
  }
  state.agreements = agreements;
  const lists = await Promise.all(agreements.map((a) => state.api.get(`/v1/agreements/${encodeURIComponent(a.id)}/lines`)
    .then((x) => asList(x, 'lines')).catch(() => [])));
  return lists.flat();
}

function renderConflicts(result) {
  const root = $('tab-conflicts');
  const badge = $('conflict-badge');
  root.replaceChildren();
  if (result.status === 'rejected') {
    root.append(el('div', {class: 'unavailable'}, failureText(result.reason, 'Conflicts')));
    badge.hidden = true;
    return;
  }
  const items = state.conflicts.items;
  badge.hidden = !items.length;
  badge.textContent = String(items.length);
  badge.classList.toggle('hot', items.length > 0);
  if (!items.length) { root.append(el('div', {class: 'empty'}, 'No strategic conflicts')); return; }
  for (const c of items) {
    const nid = String(pick(c, 'notice_id', 'own_notice_id', 'notice') ?? '');
    const n = state.noticesById.get(nid);
    const cid = pick(c, 'id', 'conflict_id');
    const ovs = state.conflicts.overlaps.filter((o) => o.conflict_id === cid);
    const ov = ovs[0] || c.overlap || {};
    const band = Number.isFinite(Number(ov.alt_lower_ft)) ? `${Math.round(ov.alt_lower_ft)}–${Math.round(ov.alt_upper_ft)} ft` : '';
    const what = c.kind === 'line' ? `crosses ${ov.line_name || 'agreed line'}${ov.depth_nm ? ` by ${Number(ov.depth_nm).toFixed(1)} NM` : ''}`
      : `overlaps ${pick(c, 'counterpart') || 'another party'}`;
    root.append(el('div', {class: 'conf-item', 'data-testid': 'conflict-item', 'data-kind': c.kind || '', onclick: () => {
      if (ovs.length && ovs[0].geometry) showRow({kind: 'overlap', overlap: ovs[0]}); else if (n) showRow({kind: 'notice', notice: n});
    }},
    el('div', {}, el('b', {}, n ? n.name : nid), ` ${what}`, c.late ? el('span', {class: 'escalated', style: 'margin-left:6px'}, 'LATE') : null),
    el('div', {class: 'muted'}, `${band} · ${dhm(toMs(ov.start))} → ${dhm(toMs(ov.end))} · ${pick(c, 'outcome') || ''} · ${pick(c, 'status') || ''}`)));
  }
}

function onStreamEvent(kind, data) {
  state.lastUpdateMs = Date.now();
  if (kind === 'picture') {
    if (data && (Array.isArray(data) || asList(data, 'tracks', 'aircraft').length)) applyPicture(data, true);
    else refreshPicture();
  } else if (kind === 'alert') {
    refreshPicture();
    refreshAlerts(true);
  } else if (kind === 'notice' || kind === 'conflict') {
    refreshPlans();
  } else if (kind === 'message' || kind === 'channel') {
    hotline.refresh();
  } else if (kind === 'ledger') {
    ledger.refresh();
  }
}

// ---------------------------------------------------------------- map focus

function selectAlert(alert) {
  state.selectedAlert = alert;
  aircraft.setSelected(alert ? (alert.ownRef || (alert.own && alert.own.id)) : null);
  const bounds = overlays.showConflict(alert);
  if (bounds) map.flyToBounds(bounds.pad(0.4), {maxZoom: 10, duration: 0.6});
  else if (alert && alert.own) map.flyTo([alert.own.lat, alert.own.lon], Math.max(map.getZoom(), 8), {duration: 0.6});
}

function showRow(row) {
  if (row.kind === 'overlap' && row.overlap && row.overlap.geometry) {
    const layer = L.geoJSON(row.overlap.geometry);
    if (layer.getBounds().isValid()) map.flyToBounds(layer.getBounds().pad(0.5), {duration: 0.5});
    return;
  }
  const n = row.notice;
  if (!n) return;
  const bounds = L.latLngBounds([]);
  overlays.notices.eachLayer((l) => { if (l.getBounds) bounds.extend(l.getBounds()); });
  const layers = [];
  overlays.notices.eachLayer((l) => layers.push(l));
  // Find this notice's polygons by tooltip name; fall back to all notices.
  const own = layers.filter((l) => l.getTooltip() && l.getTooltip().getContent().includes(`>${n.name}<`));
  const b = own.length ? own.reduce((acc, l) => acc.extend(l.getBounds()), L.latLngBounds([])) : bounds;
  if (b.isValid()) map.flyToBounds(b.pad(0.3), {duration: 0.5});
  for (const l of own) l.openTooltip(l.getBounds().getCenter());
}

/** Fit the whole picture: own aircraft, disclosed aircraft, notices and the selected geometry. */
function fitAll() {
  const b = L.latLngBounds([...aircraft._own, ...aircraft._others].map((t) => [t.lat, t.lon]));
  if (overlays.noticeBounds) b.extend(overlays.noticeBounds);
  overlays.conflict.eachLayer((l) => { if (l.getBounds) b.extend(l.getBounds()); else if (l.getLatLng) b.extend(l.getLatLng()); });
  if (b.isValid()) map.fitBounds(b.pad(0.08), {maxZoom: 9, animate: false, paddingTopLeft: [20, 40]});
}
hooks.fitAll = fitAll;

function fitInitial() {
  const pts = aircraft._own.map((t) => [t.lat, t.lon]);
  const b = L.latLngBounds(pts);
  if (overlays.noticeBounds) b.extend(overlays.noticeBounds);
  if (b.isValid()) map.fitBounds(b.pad(0.15), {maxZoom: 9, animate: false});
}

// ---------------------------------------------------------------- status, clock

function renderStatus() {
  const dot = $('stream-dot');
  const banner = $('stream-banner');
  const ageEl = $('picture-age');
  const live = stream && stream.isOpen();
  const since = (Date.now() - state.lastUpdateMs) / 1000;
  const pictureAge = (Date.now() - state.lastPictureMs) / 1000;
  dot.className = `dot ${live ? 'live' : 'down'}`;
  dot.title = live ? 'live stream connected' : 'live stream disconnected';
  if (state.pictureUnavailable) ageEl.textContent = 'picture unavailable';
  else ageEl.textContent = Number.isFinite(pictureAge) ? `picture ${hms(state.pictureTimeMs)} (${age(pictureAge)} ago)` : 'no picture yet';
  ageEl.classList.toggle('stale', !(pictureAge < STALE_S));
  const down = stream && stream.everOpened && !live && stream.downForMs() > 1500;
  const stale = Number.isFinite(state.lastPictureMs) && pictureAge > STALE_S && !state.pictureUnavailable;
  if (down || stale) {
    const last = Number.isFinite(state.lastUpdateMs) ? `${hms(state.lastUpdateMs + (serverNow() - Date.now()))} (${age(since)} ago)` : 'never';
    banner.textContent = `${down ? 'LIVE STREAM LOST' : 'PICTURE STALE'} — last update ${last} — reconnecting…`;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

function tickClock() {
  $('clock').textContent = hms(serverNow());
}

// ---------------------------------------------------------------- boot

function boot() {
  setInterval(tickClock, 250);
  tickClock();
  for (const b of document.querySelectorAll('.signout')) b.addEventListener('click', signOut);
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    $('signin-error').textContent = '';
    tone.unlock(); // a user gesture: allow the alert tone later
    signIn($('signin-key').value.trim());
  });
  // `make demo` prints URLs with the key in the fragment (never sent to the server): take it once.
  const m = location.hash.match(/key=([^&]+)/);
  if (m) {
    sessionStorage.setItem(KEY_STORAGE, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) signIn(key); else { showOnly('signin'); hooks.ready = true; }
}

boot();
