// The duty officer's screen: sign-in, then one party's whole picture. Wires the API, the live event
// stream, the map layers and the panels together. Every panel degrades to "unavailable" on its own.

/* global L */
import {Api, ApiError, failureText} from './api.js';
import {addBasemap} from './basemap.js';
import {AircraftLayer} from './aircraft-layer.js';
import {Overlays, escapeHtml, footprintRing} from './overlays.js';
import {AlertsPanel, AlertTone} from './alerts.js';
import {Timeline, timelineRows} from './timeline.js';
import {HotlinePanel} from './hotline.js';
import {MapDrawer} from './draw.js';
import {PrivatePanel} from './private.js';
import {LedgerPanel} from './ledger.js';
import {GuidanceView} from './bands.js';
import {DisclosuresPanel} from './disclosures.js';
import {normalizePicture, normalizeAlert, normalizeNotice, normalizeConflicts, upsertById,
  ENDED_NOTICE_STATES} from './model.js';
import {age, hms, dhm, toMs, serverNow, el} from './util.js';
import {LiveStream} from './stream.js';
import {t, setLanguage, onLanguage, num, ft, nm, kt, fpm, deg, LANGUAGES} from './i18n.js';

const KEY_STORAGE = 'deconflict.key';
const LANG_STORAGE = 'deconflict.lang';
const STALE_S = 10;
const $ = (id) => document.getElementById(id);

const state = {
  api: null, me: null,
  lastUpdateMs: NaN, lastPictureMs: NaN, pictureTimeMs: NaN,
  notices: [], noticesById: new Map(), conflictList: [], lines: [], lineNames: new Map(),
  conflicts: {conflicting: new Set(), overlaps: [], items: []}, plansError: null, conflictsError: null,
  alertViews: new Map(), alertNos: new Map(), alerts: [], selectedAlert: null, traffic: new Map(),
  errors: [], ready: false, pictureUnavailable: false,
  lastPollMs: {picture: 0, plans: 0, hotline: 0},
};
const hooks = {state, events: []};
window.__deconflict = hooks;

function showOnly(id) {
  for (const s of ['signin', 'operator', 'screen']) $(s).hidden = s !== id;
}

function toast(message) {
  console.warn(message);
  state.errors.push(message);
}

// ---------------------------------------------------------------- language

/** The remembered language: per signed-in key (`deconflict.lang.<key id>`), else the last used. */
function rememberedLanguage(keyId = null) {
  const stored = (keyId && localStorage.getItem(`${LANG_STORAGE}.${keyId}`)) || localStorage.getItem(LANG_STORAGE);
  return LANGUAGES.includes(stored) ? stored : 'en';
}

async function chooseLanguage(lang) {
  localStorage.setItem(LANG_STORAGE, lang);
  if (state.me) localStorage.setItem(`${LANG_STORAGE}.${state.me.key_id}`, lang);
  await setLanguage(lang);
}
hooks.setLanguage = chooseLanguage;

onLanguage((lang) => {
  for (const b of document.querySelectorAll('.lang-btn')) {
    b.classList.toggle('active', b.dataset.lang === lang);
    b.setAttribute('aria-pressed', b.dataset.lang === lang ? 'true' : 'false');
  }
  if (!state.ready) return;
  $('party-role').textContent = t(state.me.role).replace(/_/g, ' ');
  addZoomControl();
  renderMute();
  renderCounts();
  renderPlans();
  alertsPanel.render();
  hotline.render();
  ledger.render();
  if (privateView) privateView.render();
  if (guidance) guidance.render();
  if (disclosures) disclosures.render();
  renderStatus();
});

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
      ? t('Key not recognised.') : failureText(err, t('Sign-in'));
    hooks.ready = true;
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  state.api = api;
  state.me = me;
  await setLanguage(rememberedLanguage(me.key_id));
  if (me.role === 'operator' || me.party_id === null) {
    showOnly('operator');
    hooks.ready = true;
    return;
  }
  showOnly('screen');
  $('party-name').textContent = me.party_name;
  $('party-role').textContent = t(me.role).replace(/_/g, ' ');
  document.title = `deconflict — ${me.party_name}`;
  await startScreen();
}

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  location.hash = '';
  location.reload();
}

// ---------------------------------------------------------------- screen

let guidance; let disclosures; let drawer; let privateView; let map; let aircraft; let overlays; let alertsPanel; let timeline; let hotline; let ledger; let stream;
const tone = new AlertTone();
hooks.tone = tone;

function aircraftPopup(tr) {
  const who = tr.callsign || tr.id;
  const seen = Number.isFinite(tr.timeMs) ? `<br>${escapeHtml(t('seen %(time)s', {time: hms(tr.timeMs)}))}` : '';
  return `<b>${escapeHtml(who)}</b><br>${escapeHtml(ft(tr.alt_ft))} · ${escapeHtml(kt(tr.gs_kt))} · ` +
    `${escapeHtml(deg(tr.track_deg))} · ${escapeHtml(fpm(tr.vs_fpm))}${seen}`;
}

async function startScreen() {
  map = L.map('map', {zoomControl: false, attributionControl: true, worldCopyJump: false, preferCanvas: false,
    minZoom: 2, maxZoom: 13, zoomSnap: 0.5,
    // Keep the view on the one world drawn (a little past ±180° for antimeridian areas).
    maxBounds: [[-85, -220], [85, 220]], maxBoundsViscosity: 0.8}).setView([46, 10], 5);
  map.attributionControl.setPrefix(false).addAttribution('Natural Earth');
  hooks.map = map;
  addZoomControl();
  const basemapReady = addBasemap(map).catch((err) => toast(`basemap: ${err.message}`));
  aircraft = new AircraftLayer({lookaheadS: 300}).addTo(map);
  hooks.aircraft = aircraft;
  overlays = new Overlays(map, {onNoticeClick: (notice, vol, latlng) => {
    if (drawer.active) return; // the map's click goes to the drawing (draw.js)
    const button = el('button', {type: 'button', class: 'small', 'data-testid': 'notice-message',
      onclick: () => { map.closePopup(); hotline.messageAbout(noticeSubject(notice, vol)); }}, t('Message about this'));
    L.popup({className: 'dc-popup'}).setLatLng(latlng)
      .setContent(el('div', {}, el('b', {translate: 'no'}, notice.name), el('br'), button)).openOn(map);
  }});
  hooks.overlays = overlays;
  drawer = new MapDrawer(map);
  hooks.drawer = drawer;
  aircraft.on('aircraftclick', (e) => {
    if (drawer.active) return;
    aircraft.setSelected(e.track.id);
    updateGuidance();
    L.popup({className: 'dc-popup'}).setLatLng(e.latlng).setContent(aircraftPopup(e.track)).openOn(map);
  });
  // Bands and proposed manoeuvre of the selected own aircraft in an alert (bands.js).
  guidance = new GuidanceView(map, {api: state.api, findOwn: (id) => aircraft._own.find((tr) => tr.id === id) || null,
    onConfirm: (a, g) => hotline.messageAbout({kind: 'guidance', alert: a.raw, guidance: g, counterpart: a.otherParty}),
    onClose: () => clearSelection(), onError: toast});
  hooks.guidance = guidance;

  alertsPanel = new AlertsPanel($('alerts'), $('alert-count'), {
    onSelect: (a) => selectAlert(a),
    onAck: async (a) => {
      const view = await state.api.post(`/v1/alerts/${encodeURIComponent(a.id)}/ack`, {});
      const prev = state.alertViews.get(String(view.id));
      if (view.state === 'open') state.alertViews.set(String(view.id), {view, asOfMs: prev ? prev.asOfMs : toMs(view.updated_at)});
      renderAlerts();
    },
    onMessage: (a) => hotline.messageAbout(alertSubject(a)),
    onNewWarning: () => tone.play(),
    lineName: (id) => state.lineNames.get(id) || null,
    onError: toast,
  });
  timeline = new Timeline($('timeline'), $('timeline-range'), {onSelect: (row) => showRow(row)});
  hotline = new HotlinePanel($('tab-hotline'), $('hotline-badge'), {api: state.api, me: state.me, onError: toast,
    onPick: (active) => { $('map').classList.toggle('picking', active); }, drawer,
    showTab: () => openTab('hotline')});
  ledger = new LedgerPanel($('tab-ledger'), {api: state.api});
  privateView = new PrivatePanel($('tab-private'), {api: state.api, map, tabButton: document.querySelector('.tabs button[data-tab=private]'),
    badge: $('private-badge'), showTab: () => openTab('private'), onError: toast});
  hooks.privateView = privateView;
  disclosures = new DisclosuresPanel($('tab-disclosures'), $('disclosure-badge'), {api: state.api,
    noticeName: (id) => (state.noticesById.get(id) || {}).name || null});
  hooks.panels = {alertsPanel, timeline, hotline, ledger, guidance, disclosures};

  bindChrome();
  await basemapReady;

  // Open the stream first so nothing published while the screen loads is missed.
  const opened = new Promise((resolve) => {
    stream = new LiveStream(state.api.key, {
      onEvent: (kind, data) => onStreamEvent(kind, data),
      onStatus: () => { renderStatus(); if (stream && stream.isOpen()) resolve(); },
    });
    setTimeout(resolve, 5000);
  });
  hooks.stream = stream;
  await opened;

  await Promise.allSettled([refreshPicture(), refreshPlans(), hotline.refresh(), ledger.refresh(), privateView.refresh(), disclosures.refresh()]);
  fitInitial();
  state.ready = true;
  hooks.ready = true;

  setInterval(pollWhileDown, 1000);
  // The ledger's head is re-read (and re-verified) only while its tab is open.
  setInterval(() => { if (!$('tab-ledger').hidden) ledger.refresh(); }, 30000);
  setInterval(renderStatus, 500);
}

/** Leaflet's zoom buttons with titles in the current language (re-created on a change). */
let zoomControl = null;
function addZoomControl() {
  if (zoomControl) zoomControl.remove();
  zoomControl = L.control.zoom({zoomInTitle: t('Zoom in'), zoomOutTitle: t('Zoom out'), position: 'topleft'}).addTo(map);
}

function renderMute() {
  const mute = $('mute');
  mute.setAttribute('aria-pressed', tone.muted ? 'true' : 'false');
  mute.textContent = tone.muted ? `✕ ${t('Muted')}` : `♪ ${t('Sound on')}`;
}

function openTab(name) {
  for (const o of document.querySelectorAll('.tabs button')) {
    o.classList.toggle('active', o.dataset.tab === name);
    o.setAttribute('aria-selected', o.dataset.tab === name ? 'true' : 'false');
  }
  for (const tab of document.querySelectorAll('.tab')) tab.hidden = tab.id !== `tab-${name}`;
  if (name === 'ledger') ledger.refresh();
  if (name === 'disclosures') disclosures.refresh();
}
hooks.openTab = openTab;

function bindChrome() {
  for (const b of document.querySelectorAll('.topbar .lang-btn')) {
    b.addEventListener('click', () => chooseLanguage(b.dataset.lang).catch((err) => toast(err.message)));
  }
  renderMute();
  $('mute').addEventListener('click', () => { tone.unlock(); tone.setMuted(!tone.muted); renderMute(); });
  for (const b of document.querySelectorAll('.tl-controls button[data-span]')) {
    b.addEventListener('click', () => {
      for (const o of document.querySelectorAll('.tl-controls button[data-span]')) o.classList.toggle('active', o === b);
      timeline.setSpanHours(Number(b.dataset.span));
    });
  }
  $('tl-now').addEventListener('click', () => timeline.goNow());
  for (const b of document.querySelectorAll('.tabs button')) b.addEventListener('click', () => openTab(b.dataset.tab));
  // Keyboard: Esc clears the selection; A acknowledges the selected alert, or the top one when
  // none is selected; M opens a message about the selected (or top) alert. Not while typing.
  document.addEventListener('keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLTextAreaElement
      || ev.target instanceof HTMLSelectElement || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const target = state.selectedAlert || alertsPanel.top();
    if (ev.key === 'Escape' && state.selectedAlert) alertsPanel.select(state.selectedAlert.id);
    if ((ev.key === 'a' || ev.key === 'A') && target && !target.ackedByMe) alertsPanel.ack(target);
    if ((ev.key === 'm' || ev.key === 'M') && target) hotline.messageAbout(alertSubject(target));
    if ((ev.key === 'g' || ev.key === 'G') && guidance) guidance.focus(); // the guidance panel's first button
  });
}

/** What "Message about this" on an alert prefills: position, altitude, closest approach, references. */
function alertSubject(a) {
  const own = a.own;
  return {kind: 'alert', alertId: a.id, ownCallsign: own ? own.callsign : null, ownRef: a.ownRef,
    otherHandle: a.other ? a.other.handle : null, counterpart: a.otherParty,
    position: own ? {lat: own.lat, lon: own.lon} : null,
    altitudeFt: own ? own.alt_ft : null, hmdNm: a.hmdNm, vmdFt: a.vmdFt, cpaMs: a.cpaMs};
}

// ---------------------------------------------------------------- data
// The screen's model is loaded once over HTTP, then kept current by applying each stream event's
// payload (the same schemas as the HTTP bodies). HTTP polling runs only while the stream is down.

function applyPicture(data) {
  const pic = normalizePicture(data);
  // Other aircraft are labelled "<party>·<alert number>": the number links map and alert list.
  for (const tr of pic.others) tr.callsign = `${tr.party}·${alertNo(tr.alertId)}`;
  state.traffic = new Map(pic.others.map((tr) => [tr.id, tr]));
  aircraft.setData(pic.own, pic.others);
  if (guidance) guidance.onPicture();
  state.pictureTimeMs = pic.timeMs;
  state.lastPictureMs = Date.now();
  state.lastUpdateMs = Date.now();
  if (pic.alerts) {
    state.alertViews = new Map(pic.alerts.map((v) => [String(v.id), {view: v, asOfMs: pic.timeMs}]));
  } else if (pic.alertIds) {
    const open = new Set(pic.alertIds);
    for (const id of [...state.alertViews.keys()]) if (!open.has(id)) state.alertViews.delete(id);
  }
  renderAlerts();
  renderCounts();
}
hooks.applyPicture = applyPicture;

function renderCounts() {
  const own = aircraft.count();
  const stale = aircraft._own.filter((tr) => tr.stale).length;
  const others = state.traffic ? state.traffic.size : 0;
  const parts = [t('%(n)s own', {n: num(own)})];
  if (stale) parts[0] += ` ${t('(%(n)s stale)', {n: num(stale)})}`;
  if (others) parts.push(t('%(n)s disclosed', {n: num(others)}));
  $('counts').textContent = parts.join(' · ');
}

/** A small, stable number per alert id (shown in the list and on the other aircraft's label). */
function alertNo(id) {
  if (!state.alertNos.has(id)) state.alertNos.set(id, state.alertNos.size + 1);
  return state.alertNos.get(id);
}

/** Apply one `alert` event: a live alert view (`alert`), or a hotline alarm (`type`). */
function applyAlertEvent(data) {
  if (!data.alert) { hotline.applyEvent('alert', data); return; }
  const view = data.alert;
  if (view.state === 'open') state.alertViews.set(String(view.id), {view, asOfMs: toMs(view.updated_at)});
  else state.alertViews.delete(String(view.id));
  renderAlerts();
}

/** Normalise the stored alert views and push them to the panel, the map and the selection. */
function renderAlerts() {
  const ownFind = (id) => aircraft.find(id);
  const trafficFind = (h) => (state.traffic ? state.traffic.get(h) || null : null);
  state.alerts = [...state.alertViews.values()]
    .map(({view, asOfMs}) => normalizeAlert(view, {asOfMs, ownFind, trafficFind}));
  for (const a of state.alerts) a.no = alertNo(a.id);
  alertsPanel.setAlerts(state.alerts);
  const hl = new Map();
  for (const a of state.alerts) if (a.ownRef) hl.set(a.ownRef, a.severity);
  aircraft.setHighlights(hl);
  if (state.selectedAlert) {
    const again = state.alerts.find((a) => a.id === state.selectedAlert.id);
    state.selectedAlert = again || null;
    overlays.showConflict(again || null);
  }
  updateGuidance();
}

/**
 * The guidance panel and band arcs follow the selected aircraft: shown while it is an own
 * aircraft in an open alert (the selected alert first), hidden otherwise.
 */
function updateGuidance() {
  if (!guidance) return;
  const id = aircraft._selected;
  const own = id ? aircraft._own.find((tr) => tr.id === id) : null;
  const involves = (a) => a.ownRef === id || (a.raw && a.raw.own.some((x) => x.role === 'aircraft' && String(x.id) === id));
  let alert = null;
  if (own) {
    const sel = state.selectedAlert;
    alert = sel && involves(sel) ? sel : state.alerts.find(involves) || null;
  }
  if (own && alert) guidance.show(id, alert);
  else guidance.hide();
}

/** Deselect the alert and the aircraft (the guidance panel's close button). */
function clearSelection() {
  if (state.selectedAlert) alertsPanel.select(state.selectedAlert.id);
  aircraft.setSelected(null);
  map.closePopup();
  updateGuidance();
}

async function refreshPicture() {
  try {
    applyPicture(await state.api.get('/v1/picture'));
    state.pictureUnavailable = false;
  } catch (err) {
    if (err instanceof ApiError && err.unavailable) state.pictureUnavailable = true;
  }
}

async function refreshPlans() {
  const results = await Promise.allSettled([
    state.api.get('/v1/notices'), state.api.get('/v1/conflicts'), fetchLines(),
  ]);
  const [notices, conflicts, lines] = results;
  if (notices.status === 'fulfilled') {
    state.notices = notices.value.map(normalizeNotice).filter((n) => !ENDED_NOTICE_STATES.has(n.state));
  }
  state.plansError = notices.status === 'rejected' ? failureText(notices.reason, t('Notices')) : null;
  if (conflicts.status === 'fulfilled') state.conflictList = conflicts.value;
  state.conflictsError = conflicts.status === 'rejected' ? failureText(conflicts.reason, t('Conflicts')) : null;
  if (lines.status === 'fulfilled') state.lines = lines.value;
  renderPlans();
}

/** Agreed lines of every agreement the party belongs to. */
async function fetchLines() {
  const agreements = await state.api.get('/v1/agreements');
  const lists = await Promise.all(agreements.map((a) => state.api.get(`/v1/agreements/${encodeURIComponent(a.id)}/lines`)));
  return lists.flat();
}

/** Draw notices, overlaps, lines, the timeline and the Conflicts tab from the model. */
function renderPlans() {
  state.noticesById = new Map(state.notices.map((n) => [n.id, n]));
  state.conflicts = normalizeConflicts(state.conflictList, state.noticesById);
  state.lineNames = new Map(state.lines.map((l) => [String(l.id), l.name]));
  overlays.setNotices(state.notices, state.conflicts.conflicting);
  overlays.setOverlaps(state.conflicts.overlaps);
  overlays.setLines(state.lines);
  if (state.plansError) timeline.setUnavailable(state.plansError);
  else timeline.setRows(timelineRows(state.notices, state.conflicts.overlaps, state.conflicts.conflicting));
  renderConflicts();
}

/** A `notice` event ({id, version, state}): drop an ended notice, else read that one notice. */
async function applyNoticeEvent(data) {
  const id = String(data.id);
  if (ENDED_NOTICE_STATES.has(data.state)) {
    state.notices = state.notices.filter((n) => n.id !== id);
  } else {
    const known = state.noticesById.get(id);
    if (known && known.version === data.version && known.state === data.state) return;
    // The event names the notice only (no geometry): read it (one request).
    state.notices = upsertById(state.notices, normalizeNotice(await state.api.get(`/v1/notices/${encodeURIComponent(id)}`)));
  }
  renderPlans();
}

/** A `conflict` event carries the whole ConflictPublic record: apply it as is. */
function applyConflictEvent(data) {
  state.conflictList = upsertById(state.conflictList, data);
  renderPlans();
}

function conflictWhat(c, ov) {
  if (c.kind === 'line') {
    return ov.depth_nm === undefined ? t('crosses %(line)s', {line: ov.line_name})
      : t('crosses %(line)s by %(depth)s', {line: ov.line_name, depth: nm(ov.depth_nm)});
  }
  return t('overlaps %(party)s', {party: c.counterpart});
}

function renderConflicts() {
  const root = $('tab-conflicts');
  const badge = $('conflict-badge');
  root.replaceChildren();
  if (state.conflictsError) {
    root.append(el('div', {class: 'unavailable'}, state.conflictsError));
    badge.hidden = true;
    return;
  }
  const items = state.conflicts.items;
  badge.hidden = !items.length;
  badge.textContent = String(items.length);
  badge.classList.toggle('hot', items.length > 0);
  if (!items.length) { root.append(el('div', {class: 'empty'}, t('No strategic conflicts'))); return; }
  for (const c of items) {
    const nid = c.own_notice_id === null ? null : String(c.own_notice_id);
    const n = nid ? state.noticesById.get(nid) : null;
    const ov = c.overlap || {};
    const overlap = state.conflicts.overlaps.find((o) => o.conflict_id === String(c.id));
    const band = Number.isFinite(ov.alt_lower_ft) ? `${ft(ov.alt_lower_ft)} – ${ft(ov.alt_upper_ft)}` : '';
    const show = () => { if (overlap && overlap.geometry) showRow({kind: 'overlap', overlap}); else if (n) showRow({kind: 'notice', notice: n}); };
    root.append(el('div', {class: 'conf-item', 'data-testid': 'conflict-item', 'data-kind': c.kind, 'data-conflict-id': c.id,
      role: 'button', tabindex: 0, onclick: show, onkeydown: (ev) => { if (ev.key === 'Enter') show(); }},
    el('div', {}, el('b', {translate: 'no'}, n ? n.name : (nid || t('no own notice'))), ` ${conflictWhat(c, ov)}`,
      c.late ? el('span', {class: 'escalated', style: 'margin-left:6px'}, t('LATE')) : null),
    el('div', {class: 'muted'}, `${band} · ${dhm(toMs(ov.start))} → ${dhm(toMs(ov.end))} · ${t(c.outcome)} · ${t(c.status)}`),
    el('div', {}, el('button', {type: 'button', class: 'small', 'data-testid': 'conflict-message',
      onclick: (ev) => { ev.stopPropagation(); hotline.messageAbout(conflictSubject(c, n)); }}, t('Message about this')))));
  }
}

/** What "Message about this" on a notice prefills (its volume clicked on the map). */
function noticeSubject(n, vol) {
  const ring = footprintRing(vol.footprint);
  const alt = vol.altitude;
  // Flight levels are hundreds of feet of pressure altitude; WGS-84 heights are not feet AMSL: left blank.
  const band = alt.reference === 'fl' ? {lower_ft: alt.lower * 100, upper_ft: alt.upper * 100, reference: 'fl'}
    : alt.reference === 'm_w84' ? null : {lower_ft: alt.lower, upper_ft: alt.upper, reference: 'ft_amsl'};
  return {kind: 'notice', noticeId: n.id, noticeName: n.name, counterpart: null, band,
    start: vol.start, end: vol.end, geometry: ring ? {type: 'Polygon', coordinates: [ring]} : null};
}
hooks.noticeSubject = noticeSubject;

/** What "Message about this" on a conflict prefills. */
function conflictSubject(c, n) {
  const ov = c.overlap || {};
  return {kind: 'conflict', conflictId: String(c.id), noticeId: n ? n.id : null, noticeName: n ? n.name : null,
    counterpart: c.counterpart, band: {lower_ft: ov.alt_lower_ft, upper_ft: ov.alt_upper_ft},
    start: ov.start, end: ov.end, geometry: ov.geometry || null};
}

/** The subject id an event is about (for the event log the browser tests read). */
function eventKey(kind, data) {
  if (kind === 'conflict' || kind === 'notice') return String(data.id);
  if (kind === 'alert' && data.alert) return String(data.alert.id);
  if (data.message) return String(data.message.id);
  return data.message_id ? String(data.message_id) : null;
}

function onStreamEvent(kind, data) {
  state.lastUpdateMs = Date.now();
  hooks.events.push({kind, key: eventKey(kind, data), atMs: Date.now()});
  if (hooks.events.length > 1000) hooks.events.splice(0, 500);
  if (kind === 'picture') applyPicture(data);
  else if (kind === 'alert') applyAlertEvent(data);
  else if (kind === 'conflict') { applyConflictEvent(data); disclosures.refreshSoon(); }
  else if (kind === 'notice') applyNoticeEvent(data).catch((err) => toast(`notice ${data.id}: ${err.message}`));
  else if (kind === 'message' || kind === 'channel') hotline.applyEvent(kind, data);
  else if (kind === 'key') disclosures.applyKeyEvent(data);
}

/** While the stream is down, poll what it would have pushed (it replays on reconnect anyway). */
function pollWhileDown() {
  if (!stream || stream.isOpen()) return;
  const now = Date.now();
  if (now - state.lastPollMs.picture > 2000) { state.lastPollMs.picture = now; refreshPicture(); }
  if (now - state.lastPollMs.plans > 15000) { state.lastPollMs.plans = now; refreshPlans(); }
  if (now - state.lastPollMs.hotline > 10000) { state.lastPollMs.hotline = now; hotline.refresh(); }
}

// ---------------------------------------------------------------- map focus

function selectAlert(alert) {
  state.selectedAlert = alert;
  aircraft.setSelected(alert ? (alert.ownRef || (alert.own && alert.own.id)) : null);
  updateGuidance();
  const bounds = overlays.showConflict(alert);
  // Keep the conflict clear of the guidance panel (bottom right of the map) when it is shown.
  const panelPx = guidance && !guidance.root.hidden ? [guidance.root.offsetWidth + 16, 0] : [0, 0];
  if (bounds) map.flyToBounds(bounds.pad(0.4), {maxZoom: 10, duration: 0.6, paddingBottomRight: panelPx});
  else if (alert && alert.own) map.flyTo([alert.own.lat, alert.own.lon], Math.max(map.getZoom(), 8), {duration: 0.6});
}

function showRow(row) {
  if (row.kind === 'overlap' && row.overlap && row.overlap.geometry) {
    const layer = L.geoJSON(row.overlap.geometry);
    if (layer.getBounds().isValid()) map.flyToBounds(layer.getBounds().pad(0.5), {duration: 0.5});
    overlays.flashOverlap(row.overlap.conflict_id);
    return;
  }
  const n = row.notice;
  if (!n) return;
  const layers = overlays.noticeLayers(n.id);
  const b = layers.reduce((acc, l) => acc.extend(l.getBounds()), L.latLngBounds([]));
  if (b.isValid()) map.flyToBounds(b.pad(0.3), {duration: 0.5});
  for (const l of layers) l.openTooltip(l.getBounds().getCenter());
}
hooks.showRow = showRow;

/** Fit the whole picture: own aircraft, disclosed aircraft, notices and the selected geometry. */
function fitAll() {
  const b = L.latLngBounds([...aircraft._own, ...aircraft._others].map((tr) => [tr.lat, tr.lon]));
  if (overlays.noticeBounds) b.extend(overlays.noticeBounds);
  overlays.conflict.eachLayer((l) => { if (l.getBounds) b.extend(l.getBounds()); else if (l.getLatLng) b.extend(l.getLatLng()); });
  if (b.isValid()) map.fitBounds(b.pad(0.08), {maxZoom: 9, animate: false, paddingTopLeft: [20, 40]});
}
hooks.fitAll = fitAll;

function fitInitial() {
  const pts = aircraft._own.map((tr) => [tr.lat, tr.lon]);
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
  dot.title = live ? t('live stream connected') : t('live stream disconnected');
  dot.textContent = live ? '●' : '○';
  if (state.pictureUnavailable) ageEl.textContent = t('picture unavailable');
  else if (Number.isFinite(pictureAge)) ageEl.textContent = t('picture %(time)s (%(age)s ago)', {time: hms(state.pictureTimeMs), age: ageText(pictureAge)});
  else ageEl.textContent = t('no picture yet');
  ageEl.classList.toggle('stale', !(pictureAge < STALE_S));
  const down = stream && stream.everOpened && !live && stream.downForMs() > 1500;
  const stale = Number.isFinite(state.lastPictureMs) && pictureAge > STALE_S && !state.pictureUnavailable;
  if (down || stale) {
    const last = Number.isFinite(state.lastUpdateMs)
      ? t('%(time)s (%(age)s ago)', {time: hms(state.lastUpdateMs + (serverNow() - Date.now())), age: ageText(since)}) : t('never');
    banner.textContent = t('%(what)s — last update %(last)s — reconnecting…', {what: down ? t('LIVE STREAM LOST') : t('PICTURE STALE'), last});
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

/** An age in words in the current language: "4 s", "3 min", "2 h". */
function ageText(seconds) {
  const a = age(seconds);
  const [n, unit] = a.split(' ');
  return unit ? t(`%(n)s ${unit}`, {n}) : a;
}

function tickClock() {
  $('clock').textContent = hms(serverNow());
}

// ---------------------------------------------------------------- boot

async function boot() {
  setInterval(tickClock, 250);
  tickClock();
  for (const b of document.querySelectorAll('.signout')) b.addEventListener('click', signOut);
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    $('signin-error').textContent = '';
    tone.unlock(); // a user gesture: allow the alert tone later
    signIn($('signin-key').value.trim());
  });
  for (const b of document.querySelectorAll('.signin .lang-btn')) {
    b.addEventListener('click', () => chooseLanguage(b.dataset.lang).catch((err) => toast(err.message)));
  }
  await setLanguage(rememberedLanguage()).catch((err) => toast(err.message));
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
