// Hotline panel: threads with their messages, precedence, acknowledgement countdowns and escalation;
// a form per template (human labels, units and help in the reader's language, points picked and
// circles or areas drawn on the map (draw.js), the server's field errors shown next to the field);
// "Message about this" prefills it from an alert, a conflict, a notice or a coordinated guidance.
// Messages are rendered in the browser from their structured fields with the hotline's own catalogue (the same translations the server renders with), so a message
// that arrives as one stream event is shown at once, in whichever language this reader chose.

import {el, toMs, countdown, serverNow, hms} from './util.js';
import {failureText, ApiError} from './api.js';
import {partyMatches, upsertById} from './model.js';
import {t, N_, has, hotlineLabel, num, language} from './i18n.js';
import {polygonCircle} from './draw.js';

const PRECEDENCES = ['routine', 'priority', 'immediate', 'flash'];
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;

// ------------------------------------------------------------------ rendering (hotline/render.py)

const fmtPad = new Map();
function padded(value, intDigits, fracDigits) {
  const key = `${language()}:${intDigits}:${fracDigits}`;
  if (!fmtPad.has(key)) {
    fmtPad.set(key, new Intl.NumberFormat(language() === 'ru' ? 'ru-RU' : 'en-US', {minimumIntegerDigits: intDigits,
      minimumFractionDigits: fracDigits, maximumFractionDigits: fracDigits, useGrouping: false}));
  }
  return fmtPad.get(key).format(value);
}

function pattern(key, params) {
  const text = hotlineLabel('formats', key) || key;
  return text.replace(/%\((\w+)\)s/g, (_, k) => String(params[k] ?? ''));
}

/** Up to 2 decimals, no trailing zeros (Babel "#,##0.##"). */
function num2(value) {
  const rounded = Math.round(value * 100) / 100;
  return num(rounded, Number.isInteger(rounded) ? 0 : Math.round(rounded * 10) === rounded * 10 ? 1 : 2);
}

export function utcText(ms) {
  const d = new Date(ms);
  const iso = d.toISOString();
  return d.getUTCSeconds() ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;
}

function position(p) {
  const lat = pattern(p.lat_deg >= 0 ? 'lat_n' : 'lat_s', {deg: padded(Math.abs(p.lat_deg), 1, 4)});
  const lon = pattern(p.lon_deg >= 0 ? 'lon_e' : 'lon_w', {deg: padded(Math.abs(p.lon_deg), 3, 4)});
  return `${lat}, ${lon}`;
}

const feet = (v) => t('%(value)s ft', {value: num(v, 0)});

/** One field value formatted like the server's `format_value` (units from the field name). */
export function formatValue(name, value) {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => formatValue(name, v)).join(', ');
  if (typeof value === 'object') {
    if ('lat_deg' in value && 'lon_deg' in value) return position(value);
    if ('center' in value && 'radius_nm' in value) {
      return pattern('circle', {radius: pattern('nm', {value: num2(value.radius_nm)}), center: position(value.center)});
    }
    if ('lower_ft' in value && 'upper_ft' in value) {
      if (value.reference === 'fl') {
        const fl = (v) => String(Math.round(v / 100)).padStart(3, '0');
        return pattern('band_fl', {lower: fl(value.lower_ft), upper: fl(value.upper_ft)});
      }
      return pattern('band_amsl', {lower: feet(value.lower_ft), upper: feet(value.upper_ft)});
    }
    return JSON.stringify(value);
  }
  if (typeof value === 'string') {
    if (ISO_TIME.test(value)) return utcText(toMs(value));
    return hotlineLabel('values', value) ?? value;
  }
  if (typeof value === 'number') {
    if (name.endsWith('_nm')) return pattern('nm', {value: num2(value)});
    if (name.endsWith('_ft')) return feet(value);
    if (name.endsWith('_mhz')) return t('%(value)s MHz', {value: num2(value)});
    return num2(value);
  }
  return String(value);
}

/** Fields whose values are data shown as written (ids, references, call signs): `translate="no"`. */
const DATA_FIELD = /(_ref|_id|^callsigns?|_callsign)$/;

/**
 * A message (server JSON) -> {title, precedence, header: [{label, value, ref?, data?}], lines: [...]}.
 * `data`: the value is data shown as written; `ref`: a reference shown as written after `value`.
 */
export function renderMessage(m, order = null) {
  const h = (k) => hotlineLabel('headers', k) || k;
  const header = [
    {label: h('from'), value: m.sender.name, data: true},
    {label: h('to'), value: m.recipient.name, data: true},
    {label: h('sent'), value: utcText(toMs(m.created_at))},
  ];
  if (m.ack_deadline) header.push({label: h('ack_deadline'), value: utcText(toMs(m.ack_deadline))});
  else header.push({label: h('queued'), value: '—'});
  if (m.attachment) {
    header.push({label: h('attachment'), value: hotlineLabel('values', m.attachment.kind) || m.attachment.kind, ref: String(m.attachment.ref)});
  }
  const names = order ? [...order.filter((k) => k in m.fields), ...Object.keys(m.fields).filter((k) => !order.includes(k))]
    : Object.keys(m.fields);
  const lines = [];
  for (const name of names) {
    const value = m.fields[name];
    if (value === null || value === undefined || (Array.isArray(value) && !value.length)) continue;
    lines.push({label: hotlineLabel('fields', name) || name, value: formatValue(name, value), data: DATA_FIELD.test(name)});
  }
  return {
    title: hotlineLabel('templates', m.template) || m.template,
    precedence: hotlineLabel('values', m.precedence) || m.precedence.toUpperCase(),
    header, lines,
    freeTextLabel: m.free_text ? h('free_text') : null,
  };
}

// ------------------------------------------------------------------ template forms

/** Labels of the parts of a structured field (Position, Area, AltitudeBand). */
const PART_LABELS = {
  lat_deg: N_('latitude'), lon_deg: N_('longitude'), radius_nm: N_('radius'), lower_ft: N_('lower limit'),
  upper_ft: N_('upper limit'), reference: N_('vertical reference'), center: N_('centre'),
};
const UNIT_OF = (name) => (name.endsWith('_deg') ? '°' : name.endsWith('_nm') ? t('NM') : name.endsWith('_ft') ? t('ft')
  : name.endsWith('_mhz') ? t('MHz') : '');
/** Help shown under a field (English message ids, translated). */
const HELP = {
  position: N_('Decimal degrees, north and east positive. “Pick on map”, then click the map.'),
  entry_point: N_('Decimal degrees, north and east positive. “Pick on map”, then click the map.'),
  area: N_('A circle: its centre in decimal degrees and its radius in nautical miles. “Draw circle”: press on the centre and drag to the edge (or click the centre, then the edge); “Draw area”: click the corners, double-click or Enter to close — the circle around it is sent. Esc cancels.'),
  altitude: N_('Feet above mean sea level; with reference FL the limits are pressure altitudes in feet (FL250 = 25000).'),
  callsigns: N_('Call signs separated by commas.'),
  assistance: N_('One or more, separated by commas.'),
  conflict_ref: N_('The conflict id as listed in the Conflicts tab.'),
  notice_ref: N_('The notice id.'),
  ref_message_id: N_('The id of the message this refers to.'),
  track_ref: N_('A track id or an alert handle as shown on the map.'),
  other_track_ref: N_('The other aircraft as shown on the map (its alert handle).'),
  affected_track_ref: N_('The affected aircraft as shown on the map.'),
  hmd_nm: N_('Predicted horizontal miss distance at the closest point, nautical miles.'),
  vmd_ft: N_('Predicted vertical miss distance at the closest point, feet.'),
  altitude_ft: N_('Feet above mean sea level.'),
  frequency_low_mhz: N_('Megahertz.'),
  frequency_high_mhz: N_('Megahertz.'),
  proposed_action: N_('Tactical request (from an alert): position, altitude, closest approach, both miss distances and this action. Plan conflict: the conflict reference, altitude band and window instead.'),
};
const DATETIME_HELP = N_('UTC, for example 2026-12-05T14:30Z.');
/** Text with the key names Esc and Enter as key caps (`<kbd translate="no">`: the same in every language). */
function withKeys(text) {
  return String(text).split(/\b(Esc|Enter)\b/).map((part, i) => (i % 2 ? el('kbd', {translate: 'no'}, part) : part));
}

/** What to do on the map while drawing (shown next to the field). */
const DRAW_HINTS = {
  point: N_('Click the map. Esc cancels.'),
  circle: N_('Press on the centre and drag to the edge, or click the centre, then the edge. Esc cancels.'),
  polygon: N_('Click each corner; double-click or Enter closes the area. Esc cancels.'),
};

function resolve(schema, s) {
  const defs = schema.$defs || {};
  if (s && s.$ref) return resolve(schema, defs[s.$ref.split('/').pop()]);
  if (s && s.anyOf) {
    const nonNull = s.anyOf.filter((x) => x.type !== 'null');
    if (nonNull.length === 1) return {...resolve(schema, nonNull[0]), nullable: true};
  }
  return s;
}

/**
 * A template's schema -> the form's inputs [{name (dotted path), top, type, required, enum, unit, items}].
 * Structured values (Position, Area, AltitudeBand) become one input per part.
 */
export function templateFields(tpl) {
  const schema = tpl.schema;
  const out = [];
  const walk = (s, prefix, top, required, depth) => {
    const req = new Set(s.required || []);
    for (const [key, raw] of Object.entries(s.properties || {})) {
      const sub = resolve(schema, raw);
      const name = prefix ? `${prefix}.${key}` : key;
      const isRequired = required && req.has(key);
      if (sub.type === 'object' && sub.properties && depth < 3) {
        walk(sub, name, top || key, isRequired || (!prefix && req.has(key)), depth + 1);
        continue;
      }
      out.push({name, top: top || key, part: prefix ? key : null, required: prefix ? isRequired : req.has(key),
        type: sub.format === 'date-time' ? 'datetime' : sub.type, enum: sub.enum || null,
        items: sub.items ? resolve(schema, sub.items) : null, default: sub.default ?? raw.default});
    }
  };
  walk(schema, '', null, true, 0);
  return out;
}

/** Human label of a form input: "Area — centre latitude (°)". */
export function fieldLabel(f) {
  const topLabel = hotlineLabel('fields', f.top) || f.top;
  let label = topLabel;
  if (f.part) {
    const parts = f.name.split('.').slice(1).map((p) => t(PART_LABELS[p] || p));
    label = `${topLabel} — ${parts.join(' ')}`;
  }
  const unit = UNIT_OF(f.name);
  return unit ? `${label} (${unit})` : label;
}

function setPath(obj, dotted, value) {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) cur = cur[k] = cur[k] || {};
  cur[keys[keys.length - 1]] = value;
}

function coerce(field, text) {
  if (text === '') return undefined;
  if (field.type === 'integer') return Number(text.replace(',', '.'));
  if (field.type === 'number') return Number(text.replace(/\s/g, '').replace(',', '.'));
  if (field.type === 'boolean') return text === 'true';
  if (field.type === 'array') return text.split(',').map((s) => s.trim()).filter(Boolean);
  if (field.type === 'datetime') {
    const ms = Date.parse(/Z$|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
    return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : text;
  }
  return text;
}

const isoMinute = (ms) => new Date(ms).toISOString().slice(0, 16) + 'Z';
const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

/** Centroid and enclosing radius (NM) of a GeoJSON polygon's outer ring. */
function geometryCircle(geometry) {
  if (!geometry) return null;
  const ring = geometry.type === 'Polygon' ? geometry.coordinates[0]
    : geometry.type === 'MultiPolygon' ? geometry.coordinates[0][0] : null;
  if (!ring || !ring.length) return null;
  const lon = ring.reduce((a, p) => a + p[0], 0) / ring.length;
  const lat = ring.reduce((a, p) => a + p[1], 0) / ring.length;
  const r = Math.max(...ring.map((p) => Math.hypot((p[0] - lon) * 60 * Math.cos(lat * Math.PI / 180), (p[1] - lat) * 60)));
  return {lat, lon, radiusNm: Math.max(0.5, Math.ceil(r * 10) / 10)};
}

/** The manoeuvre of a GuidanceView (dimension, side) as the template's (daa/guidance.py). */
const GUIDANCE_MANOEUVRE = {
  'hold:hold': ['maintain', null],
  'track_deg:right': ['turn_right', 'target_track_deg'], 'track_deg:left': ['turn_left', 'target_track_deg'],
  'gs_kt:up': ['increase_speed', 'target_gs_kt'], 'gs_kt:down': ['reduce_speed', 'target_gs_kt'],
  'vs_fpm:up': ['set_vertical_speed', 'target_vs_fpm'], 'vs_fpm:down': ['set_vertical_speed', 'target_vs_fpm'],
  'alt_ft:up': ['change_altitude', 'target_altitude_ft'], 'alt_ft:down': ['change_altitude', 'target_altitude_ft'],
};

/**
 * Our aircraft as the other party knows it: its alert-scoped handle. In a two-aircraft alert the
 * subjects are `<alert id>-1` and `-2` (live/picture.py) and ours is the one theirs is not; else
 * the alert id. Never our track id (the message goes to the other party).
 */
export function ownHandle(alert) {
  const id = String(alert.id);
  const others = Array.isArray(alert.others) ? alert.others : [];
  const own = Array.isArray(alert.own) ? alert.own : [];
  if (own.length === 1 && others.length === 1) {
    const free = [`${id}-1`, `${id}-2`].filter((h) => h !== String(others[0].handle));
    if (free.length === 1) return free[0];
  }
  return id;
}

/**
 * Fields of the `coordinated_guidance` template confirming one GuidanceView of an alert (the same
 * mapping as the broker's daa/guidance.py `guidance_template_fields`): {path: value}.
 * `guidance`: an AlertView.guidance item {aircraft, dimension, side, value}; `alert`: the
 * AlertView {id, profile, level, counterpart_guided, own, others}; `status` defaults to
 * `guidance_confirmed`. `track_ref` is ownHandle(alert), never our aircraft id.
 */
export function guidanceFields(guidance, alert, status = 'guidance_confirmed') {
  const [manoeuvre, target] = GUIDANCE_MANOEUVRE[`${guidance.dimension}:${guidance.side}`] || ['maintain', null];
  const values = {status, alert_ref: String(alert.id), track_ref: ownHandle(alert), manoeuvre,
    counterpart: alert.counterpart_guided ? 'counterpart_guided' : 'counterpart_not_guided'};
  if (alert.profile) values.profile = alert.profile;
  if (Number.isFinite(alert.level)) values.alert_level = alert.level;
  if (target) {
    const v = round(Number(guidance.value), target === 'target_vs_fpm' || target === 'target_altitude_ft' ? 0 : 1);
    values[target] = target === 'target_track_deg' ? v % 360 : v; // 359.96° rounds to 360.0: the template wants [0, 360)
  }
  return values;
}

/**
 * What "Message about this" fills in: {template, recipientName, subject, attachment, values: {path: value}}.
 * `subject.kind`: 'alert' | 'conflict' | 'notice' | 'guidance' ({kind: 'guidance', alert: AlertView
 * (or {id, profile, level, counterpart_guided}), guidance: one of its `guidance` items,
 * counterpart: the other party's name}). Stable: the guidance panel calls it.
 */
export function prefillFor(subject) {
  const values = {};
  let template = 'request_to_deconflict';
  let attachment = null;
  let title = '';
  if (subject.kind === 'alert') {
    if (subject.ownCallsign && /^[A-Z0-9][A-Z0-9-]{1,11}$/.test(subject.ownCallsign)) values.own_callsign = subject.ownCallsign;
    if (subject.otherHandle) values.other_track_ref = subject.otherHandle;
    if (subject.position) {
      values['position.lat_deg'] = round(subject.position.lat, 4);
      values['position.lon_deg'] = round(subject.position.lon, 4);
    }
    if (Number.isFinite(subject.altitudeFt)) values.altitude_ft = Math.round(subject.altitudeFt);
    if (Number.isFinite(subject.cpaMs)) values.time_of_closest_approach = isoMinute(subject.cpaMs);
    if (Number.isFinite(subject.hmdNm)) values.hmd_nm = round(subject.hmdNm, 2);
    if (Number.isFinite(subject.vmdFt)) values.vmd_ft = Math.round(subject.vmdFt);
    // A tactical request: position, altitude, closest approach and miss distances from the alert;
    // the proposed action is the officer's choice (the band and window belong to plan conflicts).
    attachment = {kind: 'alert', ref: subject.alertId};
    title = t('Alert %(id)s', {id: subject.alertId});
  } else if (subject.kind === 'conflict') {
    values.conflict_ref = subject.conflictId;
    const c = geometryCircle(subject.geometry);
    if (c) { values['position.lat_deg'] = round(c.lat, 4); values['position.lon_deg'] = round(c.lon, 4); }
    if (Number.isFinite(subject.band.lower_ft)) {
      values['altitude.lower_ft'] = subject.band.lower_ft;
      values['altitude.upper_ft'] = subject.band.upper_ft;
    }
    if (subject.start) values.valid_from = isoMinute(toMs(subject.start));
    if (subject.end) values.valid_to = isoMinute(toMs(subject.end));
    attachment = {kind: 'conflict', ref: subject.conflictId};
    title = t('Conflict with %(party)s', {party: subject.counterpart});
  } else if (subject.kind === 'notice') {
    template = 'activity_notification';
    values.notice_ref = subject.noticeId;
    const c = geometryCircle(subject.geometry);
    if (c) {
      values['area.center.lat_deg'] = round(c.lat, 4);
      values['area.center.lon_deg'] = round(c.lon, 4);
      values['area.radius_nm'] = c.radiusNm;
    }
    if (subject.band) {
      values['altitude.lower_ft'] = subject.band.lower_ft;
      values['altitude.upper_ft'] = subject.band.upper_ft;
      if (subject.band.reference === 'fl') values['altitude.reference'] = 'fl';
    }
    if (subject.start) values.start = isoMinute(toMs(subject.start));
    if (subject.end) values.end = isoMinute(toMs(subject.end));
    attachment = {kind: 'notice', ref: subject.noticeId};
    title = t('Notice %(name)s', {name: subject.noticeName});
  } else if (subject.kind === 'guidance') {
    template = 'coordinated_guidance';
    Object.assign(values, guidanceFields(subject.guidance, subject.alert, subject.status || 'guidance_confirmed'));
    attachment = {kind: 'alert', ref: String(subject.alert.id)};
    title = t('Alert %(id)s', {id: subject.alert.id});
  }
  return {template, recipientName: subject.counterpart || null, subject: title, attachment, values};
}

/** The server's validation reasons (pydantic's wording) in the reader's language; others as sent. */
const REASONS = [
  [/^Field required$/, () => t('Required.')],
  [/^Input should be less than or equal to (-?[\d.]+)$/, (m) => t('At most %(n)s.', {n: num2(Number(m[1]))})],
  [/^Input should be greater than or equal to (-?[\d.]+)$/, (m) => t('At least %(n)s.', {n: num2(Number(m[1]))})],
  [/^Input should be less than (-?[\d.]+)$/, (m) => t('Less than %(n)s.', {n: num2(Number(m[1]))})],
  [/^Input should be greater than (-?[\d.]+)$/, (m) => t('More than %(n)s.', {n: num2(Number(m[1]))})],
  [/^Input should be a valid (number|integer)/, () => t('A number is required.')],
  [/^Input should be a valid datetime/, () => t('A UTC date and time is required (2026-12-05T14:30Z).')],
  [/^String should match pattern/, () => t('Not in the expected format.')],
  [/^String should have at (most|least)/, () => t('Wrong length.')],
  [/^Input should be /, () => t('Choose one of the listed values.')],
];
export function reasonText(reason) {
  for (const [re, fn] of REASONS) {
    const m = re.exec(String(reason));
    if (m) return fn(m);
  }
  return String(reason);
}

// ------------------------------------------------------------------ panel

export class HotlinePanel {
  constructor(root, badge, {api, me, onError, onPick = () => {}, showTab = () => {}, drawer = null}) {
    this.root = root;
    this.badge = badge;
    this.api = api;
    this.me = me;
    this.onError = onError;
    this.onPick = onPick;
    this.showTab = showTab;
    this.templates = null;
    this.threads = [];
    this.messages = new Map(); // thread id -> [message]
    this.recipients = [];
    this.form = null; // {template, replyTo, prefill, values, errors}
    this.status = null; // {msgid, params}: translated when shown (a language switch re-renders it)
    this.picking = null; // {target: field prefix, mode: 'point' | 'circle' | 'polygon'} while drawing
    this.drawer = drawer; // a MapDrawer (draw.js), or null: then app.js calls pickedPoint on a map click
    this.busy = false;
    this.countdowns = [];
    setInterval(() => this.tick(), 500);
  }

  /** Load templates, threads, channels and the recent threads' messages (HTTP). */
  async refresh() {
    if (this.busy) return;
    this.busy = true;
    try {
      if (!this.templates) {
        try {
          this.templates = await this.api.get('/v1/hotline/templates');
        } catch (err) {
          this.templates = [];
          this.templatesError = failureText(err, t('Templates'));
        }
      }
      let threads;
      try {
        threads = await this.api.get('/v1/hotline/threads');
      } catch (err) {
        this.error = failureText(err, t('Hotline'));
        this.render();
        return;
      }
      this.error = null;
      const recipients = new Map();
      try {
        for (const c of await this.api.get('/v1/hotline/channels')) {
          recipients.set(String(c.other_party.id), {id: String(c.other_party.id), name: c.other_party.name, state: c.state});
        }
      } catch { /* channels are optional: recipients also come from threads */ }
      for (const th of threads) {
        const o = th.other_party;
        if (!recipients.has(String(o.id))) recipients.set(String(o.id), {id: String(o.id), name: o.name, state: 'active'});
      }
      // Messages of the most recent threads (the list is "latest first").
      for (const th of threads.slice(0, 12)) {
        try {
          this.messages.set(th.id, await this.api.get(`/v1/hotline/messages?thread=${encodeURIComponent(th.id)}`));
        } catch (err) {
          th.error = failureText(err, t('Messages'));
        }
      }
      this.recipients = [...recipients.values()];
      this.threads = threads;
      this.render();
    } finally {
      this.busy = false;
    }
  }

  // ---------------------------------------------------------------- stream events

  /** Apply a `message`, `channel` or hotline `alert` event payload to the panel's model. */
  applyEvent(kind, data) {
    if (kind === 'message' && (data.type === 'message' || data.type === 'message_delivered')) {
      this.upsertMessage(data.message);
      if (data.type === 'message') this.status = {msgid: N_('new message %(time)s'), params: {time: hms(serverNow())}};
    } else if (data.type === 'ack') {
      const m = this.findMessage(data.message_id);
      if (m) {
        m.acks = [...m.acks.filter((a) => a.party !== data.party), {party: data.party, answer: data.answer, at: data.at, reason: data.reason}];
        m.state = 'acknowledged';
      }
    } else if (data.type === 'escalation') {
      const m = this.findMessage(data.message_id);
      if (m && !m.escalations.some((e) => e.level === data.level)) {
        m.escalations = [...m.escalations, {level: data.level, target: data.target, due_at: data.due_at, at: data.at}];
      }
    } else if (data.type === 'incident') {
      this.status = {msgid: N_('incident %(id)s: %(state)s'), params: {id: String(data.incident_id).slice(0, 8), state: () => hotlineLabel('values', data.state) || data.state}};
    } else if (data.type === 'channel_state') {
      for (const r of this.recipients) if (r.name === data.other_party) r.state = data.state;
      this.status = {msgid: N_('channel with %(party)s: %(state)s'), params: {party: data.other_party, state: () => hotlineLabel('values', data.state) || data.state}};
    } else if (data.type === 'comm_check') {
      this.status = {msgid: N_('communications check %(n)s: answer by %(time)s'), params: {n: data.sequence, time: hms(toMs(data.answer_by))}};
    } else if (data.type === 'comm_check_missed') {
      this.status = {msgid: N_('communications check %(n)s not answered by %(party)s'), params: {n: data.sequence, party: data.party}};
    }
    this.render();
  }

  findMessage(id) {
    for (const list of this.messages.values()) {
      const m = list.find((x) => x.id === id);
      if (m) return m;
    }
    return null;
  }

  /** Insert or replace a message; a message of a thread not seen yet opens it (`subject` if known). */
  upsertMessage(m, subject = null) {
    const list = this.messages.get(m.thread_id) || [];
    this.messages.set(m.thread_id, upsertById(list, m));
    const known = this.threads.find((th) => th.id === m.thread_id);
    // The stream's copy of our own message may arrive before the POST's answer: keep the subject.
    if (known && subject && !known.subject) known.subject = subject;
    if (!known) {
      const other = this.isIncoming(m) ? m.sender : m.recipient;
      this.threads = [{id: m.thread_id, subject, other_party: other, created_at: m.created_at, last_message_at: m.created_at}, ...this.threads];
      if (!this.recipients.some((r) => r.id === String(other.id))) this.recipients.push({id: String(other.id), name: other.name, state: 'active'});
    }
  }

  // ---------------------------------------------------------------- helpers

  isIncoming(msg) {
    return partyMatches(msg.recipient.id, this.me) || partyMatches(msg.recipient.name, this.me);
  }

  isAckedByMe(msg) {
    return msg.acks.some((a) => partyMatches(a.party, this.me));
  }

  templateOrder(name) {
    const tpl = (this.templates || []).find((x) => x.name === name);
    return tpl ? Object.keys(tpl.schema.properties || {}) : null;
  }

  // ---------------------------------------------------------------- rendering

  /** The status line in the current language (labels resolved now, times as they were). */
  statusText() {
    if (!this.status) return '';
    const params = {};
    for (const [k, v] of Object.entries(this.status.params)) params[k] = typeof v === 'function' ? v() : v;
    return t(this.status.msgid, params);
  }

  render() {
    const frag = [];
    this.countdowns = [];
    let pending = 0;
    frag.push(el('div', {class: 'hl-toolbar'},
      el('button', {type: 'button', 'data-testid': 'hotline-new', onclick: () => {
        this.form = this.form ? null : {template: null, replyTo: null, prefill: null, errors: {}};
        this.render();
      }}, this.form ? t('Close form') : `✉ ${t('New message')}`),
      el('span', {class: 'muted small', 'data-testid': 'hotline-status', 'aria-live': 'polite'}, this.statusText())));
    if (this.error) frag.push(el('div', {class: 'unavailable', 'data-testid': 'hotline-unavailable'}, this.error));
    if (this.form) frag.push(this.renderForm());
    else this.stopDrawing(true);
    if (!this.threads.length && !this.error) frag.push(el('div', {class: 'empty'}, t('No hotline threads')));
    const latest = (th) => Math.max(toMs(th.last_message_at) || 0, ...(this.messages.get(th.id) || []).map((m) => toMs(m.created_at)));
    for (const th of [...this.threads].sort((a, b) => latest(b) - latest(a))) {
      const msgs = [...(this.messages.get(th.id) || [])].sort((a, b) => toMs(a.created_at) - toMs(b.created_at));
      const box = el('div', {class: 'hl-thread', 'data-testid': 'hotline-thread', 'data-thread-id': th.id},
        el('div', {class: 'hl-thread-head'},
          // A subject the broker wrote is translated; one a duty officer typed is shown as written.
          th.subject ? el('span', {translate: has(th.subject) ? null : 'no', 'data-testid': 'hotline-subject'}, t(th.subject))
            : el('span', {}, msgs.length ? renderMessage(msgs[0]).title : t('Thread %(id)s', {id: String(th.id).slice(0, 8)})),
          el('span', {class: 'muted small'}, t('with'), ' ', el('span', {translate: 'no'}, th.other_party.name), ' ',
            el('button', {type: 'button', class: 'small', 'data-testid': 'hotline-reply', onclick: () => {
              this.form = {template: null, replyTo: {threadId: th.id, recipient: String(th.other_party.id), subject: th.subject}, prefill: null, errors: {}};
              this.render();
            }}, t('Reply')))));
      if (th.error) box.append(el('div', {class: 'unavailable'}, th.error));
      for (const m of msgs) {
        const incoming = this.isIncoming(m);
        const needsMyAck = incoming && !this.isAckedByMe(m) && m.state !== 'queued';
        if (needsMyAck) pending++;
        const r = renderMessage(m, this.templateOrder(m.template));
        const deadline = toMs(m.ack_deadline);
        const cd = el('span', {class: 'ack-countdown', 'data-testid': 'ack-countdown'});
        if (Number.isFinite(deadline) && !m.acks.length) this.countdowns.push({node: cd, deadline});
        // One line per header / field; data (names, ids, references) marked translate="no".
        const body = [...r.header, ...r.lines].flatMap((x, i) => [i ? '\n' : '', `${x.label}: `,
          x.data ? el('span', {translate: 'no'}, x.value) : x.value, x.ref ? ' ' : '', x.ref ? el('span', {translate: 'no'}, x.ref) : '']);
        const escal = m.escalations.length ? m.escalations[m.escalations.length - 1] : null;
        const lastAck = m.acks.length ? m.acks[m.acks.length - 1] : null;
        box.append(el('div', {class: `hl-msg ${incoming ? 'incoming' : 'outgoing'} ${needsMyAck ? 'pending' : ''}`,
          'data-testid': 'hotline-message', 'data-message-id': m.id, 'data-state': m.state, 'data-template': m.template},
        el('div', {class: 'hdr'},
          el('span', {class: `prec ${m.precedence}`}, r.precedence),
          el('b', {'data-testid': 'hotline-title'}, r.title),
          el('span', {translate: 'no'}, incoming ? `${m.sender.name} →` : `→ ${m.recipient.name}`),
          el('span', {}, hms(toMs(m.delivered_at || m.created_at))),
          m.state === 'queued' ? el('span', {class: 'escalated'}, t('QUEUED')) : null,
          escal ? el('span', {class: 'escalated', 'data-testid': 'escalated', title: t('due %(time)s', {time: hms(toMs(escal.due_at))})},
            t('ESCALATED L%(level)s → %(target)s', {level: escal.level, target: hotlineLabel('values', escal.target) || escal.target})) : null,
          cd),
        el('span', {class: 'body', 'data-testid': 'hotline-body'}, ...body),
        m.free_text ? el('span', {class: 'body muted'}, `${r.freeTextLabel}: `, el('span', {translate: 'no'}, `“${m.free_text}”`)) : null,
        el('div', {class: 'hdr'},
          lastAck ? el('span', {class: 'verified', 'data-testid': 'hotline-acked'},
            `✔ ${hotlineLabel('values', lastAck.answer) || lastAck.answer} ${hms(toMs(lastAck.at))}`) : null,
          needsMyAck ? el('button', {type: 'button', class: 'ack', 'data-testid': 'hotline-ack',
            title: t('Acknowledge receipt'), onclick: () => this.ack(m, 'received')}, t('ACK')) : null,
          needsMyAck ? el('button', {type: 'button', 'data-testid': 'hotline-wilco',
            title: t('Will comply'), onclick: () => this.ack(m, 'will_comply')}, t('WILCO')) : null)));
      }
      frag.push(box);
    }
    this.badge.hidden = pending === 0;
    this.badge.textContent = String(pending);
    this.badge.classList.toggle('hot', pending > 0);
    // Keep what the officer typed across re-renders (events arrive while the form is open).
    const typed = this.captureForm();
    this.root.replaceChildren(...frag);
    if (typed) this.restoreForm(typed);
    this.tick();
  }

  captureForm() {
    const form = this.root.querySelector('.hl-form');
    if (!form) return null;
    const values = {};
    for (const input of form.querySelectorAll('[name]')) values[input.name] = input.value;
    return values;
  }

  restoreForm(values) {
    const form = this.root.querySelector('.hl-form');
    if (!form) return;
    for (const input of form.querySelectorAll('[name]')) {
      if (input.name in values && input.name !== 'template') input.value = values[input.name];
    }
  }

  tick() {
    const now = serverNow();
    for (const {node, deadline} of this.countdowns) {
      const s = (deadline - now) / 1000;
      node.textContent = s >= 0 ? t('ack due %(time)s', {time: countdown(s)}) : t('ACK OVERDUE %(time)s', {time: countdown(-s)});
      node.classList.toggle('overdue', s < 0);
    }
  }

  /** Open the form prefilled from an alert, a conflict or a notice (see prefillFor). */
  messageAbout(subject) {
    const prefill = prefillFor(subject);
    this.stopDrawing(true);
    this.form = {template: prefill.template, replyTo: null, prefill, errors: {}};
    this.root.querySelector('.hl-form')?.remove();
    this.showTab();
    this.render();
    this.root.querySelector('.hl-form')?.scrollIntoView({block: 'nearest'});
  }

  /** Map click while picking a point (without a drawer): fill the position (or area centre) inputs. */
  pickedPoint(lat, lon) {
    const target = this.picking ? this.picking.target : null;
    this.stopDrawing(false);
    if (target) this.applyShape(target, {kind: 'point', lat, lon});
  }

  /** Start picking a point or drawing a circle / area for the inputs under `target` (a field prefix). */
  startDrawing(target, mode) {
    this.picking = {target, mode};
    this.onPick(true);
    if (this.drawer) {
      this.drawer.start(mode, (shape) => {
        this.picking = null;
        this.onPick(false);
        this.applyShape(target, shape);
        this.refreshDrawButtons();
      }, () => { this.picking = null; this.onPick(false); this.refreshDrawButtons(); });
    }
    this.refreshDrawButtons();
  }

  /** Stop picking / drawing; `clear` also removes the drawn shape from the map. */
  stopDrawing(clear) {
    if (this.picking) { this.picking = null; this.onPick(false); }
    if (this.drawer) { if (this.drawer.active) this.drawer.cancel(); if (clear) this.drawer.clear(); }
  }

  /**
   * Write a drawn shape into the form in the wire's units: a point into `<target>.lat_deg` /
   * `.lon_deg` (degrees, 4 decimals); a circle into `<target>.center.*` and `<target>.radius_nm`
   * (NM, rounded up to 0.1); a polygon as the circle containing it (polygonCircle).
   */
  applyShape(target, shape) {
    const form = this.root.querySelector('.hl-form');
    if (!form) return;
    const set = (name, v) => {
      const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (!input) return;
      input.value = String(v);
      input.classList.remove('invalid');
      const err = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      if (err) err.textContent = '';
    };
    const point = (prefix, lat, lon) => { set(`${prefix}.lat_deg`, round(lat, 4)); set(`${prefix}.lon_deg`, round(lon, 4)); };
    if (shape.kind === 'point') {
      point(form.querySelector(`[name="${CSS.escape(target)}.lat_deg"]`) ? target : `${target}.center`, shape.lat, shape.lon);
      return;
    }
    const circle = shape.kind === 'circle' ? shape : polygonCircle(shape.vertices);
    point(`${target}.center`, circle.center.lat, circle.center.lon);
    set(`${target}.radius_nm`, round(circle.radiusNm, 1));
  }

  /** Mark the active draw button and show how to draw (kept across re-renders). */
  refreshDrawButtons() {
    const form = this.root.querySelector('.hl-form');
    if (!form) return;
    const p = this.picking;
    for (const b of form.querySelectorAll('.pick-btn')) {
      b.classList.toggle('active', Boolean(p) && b.dataset.target === p.target && b.dataset.mode === p.mode);
    }
    for (const h of form.querySelectorAll('.draw-hint')) {
      h.replaceChildren(...(p && h.dataset.target === p.target ? withKeys(t(DRAW_HINTS[p.mode])) : []));
    }
  }

  renderForm() {
    const templates = this.templates || [];
    if (!templates.length) return el('div', {class: 'unavailable hl-form'}, this.templatesError || t('No templates'));
    const names = templates.map((x) => x.name);
    const f = this.form;
    if (!f.template || !names.includes(f.template)) f.template = names[0];
    const tpl = templates[names.indexOf(f.template)];
    const fields = templateFields(tpl);
    const pre = f.prefill && f.prefill.template === f.template ? f.prefill : null;
    const select = el('select', {name: 'template', 'data-testid': 'hotline-template', onchange: (ev) => {
      const typed = this.captureForm();
      this.stopDrawing(true);
      f.template = ev.target.value;
      f.errors = {};
      this.root.querySelector('.hl-form').replaceWith(this.renderForm());
      if (typed) this.restoreForm({...typed, template: f.template});
    }}, ...templates.map((x) => el('option', {value: x.name, selected: x.name === f.template},
      hotlineLabel('templates', x.name) || x.name)));
    const prec = el('select', {name: 'precedence', 'data-testid': 'hotline-precedence'},
      ...PRECEDENCES.map((p) => el('option', {value: p, selected: p === (pre ? 'priority' : 'routine')}, hotlineLabel('values', p) || p)));
    const form = el('form', {class: 'hl-form', 'data-testid': 'hotline-form', novalidate: true,
      onsubmit: (ev) => { ev.preventDefault(); this.send(form, fields); }},
    el('label', {}, t('Template')), select,
    el('label', {}, t('Precedence')), prec);
    const reply = f.replyTo;
    if (reply) {
      form.append(el('label', {}, t('Reply in')), el('span', {class: 'small'}, reply.subject || String(reply.threadId).slice(0, 8),
        ' ', el('button', {type: 'button', onclick: () => { f.replyTo = null; this.render(); }}, t('new thread instead'))));
      form.append(el('input', {type: 'hidden', name: '__thread', value: reply.threadId}));
    }
    const wanted = reply ? reply.recipient : pre && pre.recipientName
      ? (this.recipients.find((r) => r.name === pre.recipientName) || {}).id : null;
    form.append(el('label', {}, t('To')), this.recipients.length
      ? el('select', {name: '__recipient', 'data-testid': 'hotline-recipient'},
        ...this.recipients.map((r) => el('option', {value: r.id, selected: wanted === r.id},
          r.state && r.state !== 'active' ? `${r.name} (${hotlineLabel('values', r.state) || r.state})` : r.name)))
      : el('input', {name: '__recipient', 'data-testid': 'hotline-recipient', required: true, placeholder: t('party name')}));
    if (!reply) {
      form.append(el('label', {}, t('Subject')), el('input', {name: '__subject', value: pre ? pre.subject : null,
        placeholder: t('new thread subject (optional)')}));
    }
    if (pre && pre.attachment) {
      form.append(el('label', {}, hotlineLabel('headers', 'attachment')),
        el('span', {class: 'small', 'data-testid': 'hotline-attachment'}, `${hotlineLabel('values', pre.attachment.kind)} ${pre.attachment.ref}`));
    }
    let lastTop = null;
    for (const field of fields) {
      if (field.top !== lastTop) {
        lastTop = field.top;
        const help = HELP[field.top] || (field.type === 'datetime' ? DATETIME_HELP : null);
        const hasPoint = fields.some((x) => x.top === field.top && x.name.endsWith('.lat_deg'));
        const isArea = hasPoint && fields.some((x) => x.name === `${field.top}.radius_nm`)
          && fields.some((x) => x.name === `${field.top}.center.lat_deg`);
        const head = el('div', {class: 'full hl-field-head'}, el('b', {}, hotlineLabel('fields', field.top) || field.top),
          help ? el('span', {class: 'muted small'}, ' ', ...withKeys(t(help))) : null);
        const drawButton = (target, mode, label, testid) => el('button', {type: 'button', class: 'small pick-btn',
          'data-testid': testid, 'data-target': target, 'data-mode': mode, onclick: () => {
            if (this.picking && this.picking.target === target && this.picking.mode === mode) this.stopDrawing(false);
            else this.startDrawing(target, mode);
            this.refreshDrawButtons();
          }}, label);
        if (hasPoint) {
          const latName = fields.find((x) => x.top === field.top && x.name.endsWith('.lat_deg')).name;
          const prefix = latName.slice(0, -'.lat_deg'.length);
          head.append(' ', drawButton(isArea ? field.top : prefix, 'point', `⌖ ${t('Pick on map')}`, `pick-${prefix}`));
          if (isArea) {
            head.append(' ', drawButton(field.top, 'circle', `◯ ${t('Draw circle')}`, `draw-circle-${field.top}`),
              ' ', drawButton(field.top, 'polygon', `⬠ ${t('Draw area')}`, `draw-polygon-${field.top}`));
          }
          head.append(el('span', {class: 'draw-hint small', 'data-target': isArea ? field.top : prefix,
            'data-testid': 'draw-hint', 'aria-live': 'polite'}));
        }
        form.append(head);
      }
      const value = pre && field.name in pre.values ? pre.values[field.name]
        : field.type === 'datetime' && field.required ? isoMinute(serverNow()) : field.default ?? null;
      const input = field.enum
        ? el('select', {name: field.name, 'data-field': field.name, id: `hl-${field.name}`, required: field.required},
          ...(field.required ? [] : [el('option', {value: ''}, t('(none)'))]),
          ...field.enum.map((v) => el('option', {value: v, selected: value === v}, hotlineLabel('values', v) || (v === 'ft_amsl' ? t('ft AMSL') : v === 'fl' ? t('flight level') : v))))
        : field.type === 'array' && field.items && field.items.enum
          ? el('select', {name: field.name, 'data-field': field.name, id: `hl-${field.name}`, 'data-multiple': '1'},
            ...field.items.enum.map((v) => el('option', {value: v}, hotlineLabel('values', v) || v)))
          : el('input', {name: field.name, 'data-field': field.name, id: `hl-${field.name}`, required: field.required,
            value: value === null ? null : String(value), inputmode: field.type === 'number' || field.type === 'integer' ? 'decimal' : null,
            placeholder: field.type === 'datetime' ? t('YYYY-MM-DDTHH:MMZ') : field.type === 'array' ? t('comma, separated') : ''});
      form.append(el('label', {for: `hl-${field.name}`, class: field.required ? 'required' : ''},
        `${fieldLabel(field)}${field.required ? ' *' : ''}`), input,
      el('span', {class: 'field-error error small full', 'data-error-for': field.name, 'data-testid': 'field-error'}));
    }
    form.append(el('label', {}, t('Free text')), el('textarea', {name: '__free_text', rows: 2, placeholder: t('optional, sent untranslated')}));
    form.append(el('div', {class: 'full'}, el('button', {type: 'submit', 'data-testid': 'hotline-send'}, t('Send')),
      el('span', {class: 'error small', 'data-testid': 'hotline-form-error'})));
    queueMicrotask(() => this.refreshDrawButtons());
    return form;
  }

  /** Show the server's problem details next to the fields they name; the rest at the bottom. */
  // (reasons are translated by reasonText; the field paths are the server's, e.g. fields.area.radius_nm)
  showErrors(form, err) {
    for (const node of form.querySelectorAll('[data-error-for]')) node.textContent = '';
    for (const node of form.querySelectorAll('.invalid')) node.classList.remove('invalid');
    const errors = (err.problem && Array.isArray(err.problem.errors)) ? err.problem.errors : [];
    const unplaced = [];
    for (const e of errors) {
      const path = String(e.field).replace(/^body\./, '').replace(/^fields\./, '');
      let node = form.querySelector(`[data-error-for="${CSS.escape(path)}"]`);
      // A whole structured value (e.g. "altitude"): its first part.
      if (!node) node = form.querySelector(`[data-error-for^="${CSS.escape(path)}."]`);
      if (node) {
        node.textContent = reasonText(e.reason);
        const input = form.querySelector(`[name="${CSS.escape(node.dataset.errorFor)}"]`);
        if (input) input.classList.add('invalid');
      } else {
        unplaced.push(`${e.field}: ${reasonText(e.reason)}`);
      }
    }
    const bottom = form.querySelector('[data-testid=hotline-form-error]');
    bottom.textContent = errors.length ? unplaced.join('; ') || t('Please correct the marked fields.') : err.message;
  }

  async send(form, fields) {
    const data = new FormData(form);
    const payload = {template: data.get('template'), precedence: data.get('precedence'), fields: {}};
    // A structured value (position, area, band) is sent only when one of its typed parts is filled:
    // a default left alone (e.g. the band's vertical reference) does not make an empty band.
    const filled = new Set(fields.filter((f) => f.part && !f.enum && String(data.get(f.name) ?? '').trim() !== '').map((f) => f.top));
    for (const f of fields) {
      if (f.part && !filled.has(f.top)) continue;
      const raw = String(data.get(f.name) ?? '').trim();
      const v = f.type === 'array' && form.querySelector(`[name="${CSS.escape(f.name)}"]`)?.dataset.multiple ? (raw ? [raw] : undefined) : coerce(f, raw);
      if (v !== undefined) setPath(payload.fields, f.name, v);
    }
    const free = String(data.get('__free_text') || '').trim();
    if (free) payload.free_text = free;
    if (data.get('__recipient')) payload.recipient = String(data.get('__recipient'));
    if (data.get('__subject')) payload.subject = String(data.get('__subject'));
    if (data.get('__thread')) payload.thread_id = String(data.get('__thread'));
    const pre = this.form && this.form.prefill;
    if (pre && pre.attachment && pre.template === payload.template) payload.attachment = pre.attachment;
    try {
      const sent = await this.api.post('/v1/hotline/messages', payload);
      this.status = {msgid: N_('sent %(time)s'), params: {time: hms(serverNow())}};
      this.form = null;
      this.upsertMessage(sent, payload.subject || null);
      this.render();
    } catch (err) {
      if (err instanceof ApiError) this.showErrors(form, err);
      else form.querySelector('[data-testid=hotline-form-error]').textContent = String(err);
    }
  }

  async ack(msg, answer = 'received') {
    try {
      await this.api.post(`/v1/hotline/messages/${encodeURIComponent(msg.id)}/ack`, {answer});
      this.status = {msgid: N_('acknowledged %(time)s'), params: {time: hms(serverNow())}};
      // The stream's `ack` event updates the message; mark it now for a responsive screen.
      if (!this.isAckedByMe(msg)) msg.acks = [...msg.acks, {party: this.me.party_name, answer, at: new Date(serverNow()).toISOString()}];
      this.render();
    } catch (err) {
      this.onError(`hotline ack: ${err.message}`);
      this.status = {msgid: N_('ack failed: %(reason)s'), params: {reason: err.message}};
      this.render();
    }
  }
}
