// Normalise the broker's JSON into the shapes the screen draws. Tolerant of field-name variants so a
// server still being built does not break the page; every unit stays in the field name.

import {asList, num, pick, toMs} from './util.js';

/** One track state -> {id, callsign, lat, lon, alt_ft, gs_kt, track_deg, vs_fpm, party, handle}. */
export function normalizeTrack(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const s = raw.state && typeof raw.state === 'object' ? {...raw, ...raw.state} : raw;
  const lat = num(s, 'lat', 'lat_deg', 'latitude');
  const lon = num(s, 'lon', 'lon_deg', 'longitude');
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  let alt = num(s, 'alt_ft', 'altitude_ft', 'baro_alt_ft', 'geo_alt_ft');
  if (!Number.isFinite(alt)) {
    const fl = num(s, 'fl', 'flight_level');
    if (Number.isFinite(fl)) alt = fl * 100;
  }
  return {
    id: String(pick(s, 'id', 'track_id', 'aircraft_id', 'handle', 'ref') ?? `${lat},${lon}`),
    callsign: pick(s, 'callsign', 'call_sign', 'label') ?? null,
    lat, lon, alt_ft: alt,
    gs_kt: num(s, 'gs_kt', 'groundspeed_kt', 'speed_kt'),
    track_deg: num(s, 'track_deg', 'heading_deg', 'course_deg'),
    vs_fpm: num(s, 'vs_fpm', 'vertical_rate_fpm'),
    party: pick(s, 'party', 'party_id', 'owner') ?? null,
    handle: pick(s, 'handle') ?? null,
    timeMs: toMs(pick(s, 'time', 'timestamp', 't', 'at', 'updated_at')),
    stale: s.stale === true,
  };
}

/** /v1/picture -> {timeMs, own: [...], others: [...]} (others = disclosed other-party aircraft). */
export function normalizePicture(data, myParty) {
  const list = asList(data, 'own', 'tracks', 'aircraft', 'states');
  const own = [];
  const others = [];
  for (const raw of list) {
    const t = normalizeTrack(raw);
    if (!t) continue;
    if (t.party && myParty && !partyMatches(t.party, myParty)) others.push(t); else own.push(t);
  }
  // Other parties' aircraft disclosed by open alerts: named by alert-scoped handles only.
  for (const raw of asList(data && data.traffic, 'tracks')) {
    // Label: the party and the subject number ("RED·2"); the handle stays the id.
    const n = String(raw.handle ?? '').split('-').pop();
    const t = normalizeTrack({...raw, id: raw.handle, callsign: `${raw.party || 'OTHER'}·${n}`});
    if (t) others.push({...t, alertId: raw.alert_id ?? null});
  }
  for (const raw of asList(data && data.disclosed, 'tracks')) {
    const t = normalizeTrack(raw);
    if (t) others.push(t);
  }
  for (const raw of asList(data && data.others, 'tracks')) {
    const t = normalizeTrack(raw);
    if (t) others.push(t);
  }
  const timeMs = toMs(pick(data || {}, 'at', 'time', 'as_of', 'generated_at', 'now'));
  const alerts = data && Array.isArray(data.alerts) ? data.alerts : null;
  return {timeMs, own, others, alerts};
}

export function partyMatches(value, me) {
  if (value === undefined || value === null || !me) return false;
  const v = String(value);
  return v === String(me.party_id ?? '') || v === String(me.party_name ?? '') || v === String(me.party ?? '');
}

const SEVERITIES = ['warning', 'caution', 'advisory'];

/**
 * One alert -> {id, kind, severity, losMs, tCpaS, hmdNm, vmdFt, ackedByMe, ackedByOther, own, other,
 * ownRef, cpa, raw}. `losMs` is the absolute UTC time of predicted loss of separation, so the
 * countdown runs locally between updates.
 */
export function normalizeAlert(raw, me, fetchedMs, ownFind, trafficFind = null) {
  const metrics = raw.metrics || {};
  const sevRaw = String(pick(raw, 'severity', 'level', 'priority') || 'caution').toLowerCase();
  const severity = SEVERITIES.includes(sevRaw) ? sevRaw : sevRaw.startsWith('warn') ? 'warning' : 'caution';
  const base = toMs(pick(raw, 'last_seen_at', 'updated_at', 'as_of', 'at', 'raised_at'));
  let losMs = toMs(pick(raw, 'los_at', 'loss_at', 't_in_at', 'entry_at'));
  const tIn = num({...metrics, ...raw}, 't_in_s', 'time_to_los_s', 't_los_s', 'tlos_s');
  if (!Number.isFinite(losMs) && Number.isFinite(tIn)) losMs = (Number.isFinite(base) ? base : fetchedMs) + tIn * 1000;
  const tCpa = num({...raw, ...metrics}, 't_cpa_s', 'tcpa_s');
  const cpaMs = Number.isFinite(tCpa) ? (Number.isFinite(base) ? base : fetchedMs) + tCpa * 1000 : NaN;

  // Acknowledgements: {party: time}, a list, or flags.
  let ackedByMe = Boolean(pick(raw, 'acked_by_me', 'acknowledged_by_me'));
  let ackedByOther = Boolean(pick(raw, 'acked_by_other', 'acknowledged_by_other'));
  const acked = raw.acked ?? raw.acks ?? raw.acknowledged_by ?? raw.acknowledgements;
  if (acked && typeof acked === 'object') {
    const parties = Array.isArray(acked) ? acked.map((a) => (typeof a === 'object' ? pick(a, 'party', 'party_id') : a))
      : Object.keys(acked);
    for (const p of parties) {
      if (partyMatches(p, me) || p === 'me' || p === 'self' || p === 'own') ackedByMe = true; else ackedByOther = true;
    }
  } else if (acked === true || raw.acknowledged === true) {
    ackedByMe = true;
  }

  // Subjects: own aircraft (by ref) and the disclosed other aircraft (state given by the broker).
  let own = null;
  let other = null;
  let ownRef = null;
  let otherLabel = null;
  for (const subj of asList(raw.subjects)) {
    const state = subj.state || subj.track || (Number.isFinite(num(subj, 'lat')) ? subj : null);
    const mine = subj.own === true || subj.mine === true || partyMatches(subj.party, me);
    if (mine) {
      ownRef = pick(subj, 'ref', 'id', 'track_id', 'handle') ?? ownRef;
      const t = state ? normalizeTrack({id: ownRef, ...state}) : null;
      if (t && !own) own = t;
    } else {
      const t = state ? normalizeTrack({id: pick(subj, 'handle', 'ref', 'id'), ...state}) : null;
      if (t && !other) other = {...t, callsign: t.callsign || pick(subj, 'handle', 'label') || 'OTHER'};
      otherLabel = otherLabel || pick(subj, 'label', 'handle', 'role', 'party_name');
    }
  }
  // Broker view (live/picture.py alert_view): own = [{role, id|key|line_id}], others = [{role, party, handle}].
  let ownLine = null;
  let ownVolume = null;
  let otherParty = null;
  let otherRole = null;
  if (Array.isArray(raw.own)) {
    for (const x of raw.own) {
      if (x.role === 'aircraft' && !ownRef) ownRef = x.id;
      else if (x.role === 'line') ownLine = x.line_id;
      else if (x.role === 'volume') ownVolume = x.key;
    }
  }
  if (Array.isArray(raw.others)) {
    for (const o of raw.others) {
      otherParty = otherParty || o.party || null;
      otherRole = otherRole || o.role || null;
      if (o.role === 'aircraft' && trafficFind && !other) {
        const t = trafficFind(o.handle);
        if (t) other = t;
      }
    }
  }
  if (raw.acknowledged === true) ackedByMe = true;
  const ownState = !Array.isArray(raw.own) && (raw.own || raw.own_track || raw.ownship);
  if (ownState) {
    const t = normalizeTrack(ownState);
    if (t) { own = t; ownRef = ownRef || t.id; }
  }
  const otherState = !Array.isArray(raw.others) && (raw.other || raw.intruder || raw.disclosed || raw.other_track);
  if (otherState) {
    const t = normalizeTrack({id: `other:${raw.id}`, ...otherState});
    if (t) other = {...t, callsign: t.callsign || t.handle || 'OTHER'};
  }
  if (ownRef && ownFind) {
    const live = ownFind(String(ownRef));
    if (live) own = live;
  }
  const cpaRaw = raw.cpa || metrics.cpa;
  let cpa = null;
  if (cpaRaw && Number.isFinite(num(cpaRaw, 'lat'))) cpa = [num(cpaRaw, 'lat'), num(cpaRaw, 'lon')];
  else if (Number.isFinite(num(metrics, 'cpa_lat'))) cpa = [num(metrics, 'cpa_lat'), num(metrics, 'cpa_lon')];

  return {
    id: String(pick(raw, 'id', 'alert_id')),
    kind: String(pick(raw, 'kind', 'type') || 'conflict'),
    state: String(pick(raw, 'state', 'status') || 'open').toLowerCase(),
    severity, losMs, cpaMs,
    tCpaS: Number.isFinite(tCpa) ? tCpa : tIn,
    hmdNm: num({...metrics, ...raw}, 'hmd_nm', 'miss_nm', 'range_nm'),
    vmdFt: num({...metrics, ...raw}, 'vmd_ft', 'vertical_ft'),
    ackedByMe, ackedByOther,
    own, other, ownRef: ownRef === null ? null : String(ownRef), otherLabel, cpa,
    ownLine, ownVolume, otherParty, otherRole,
    title: pick(raw, 'title', 'summary', 'description') || null,
    raw,
  };
}

/** Notice -> {id, name, state, volumes, startMs, endMs}. */
export function normalizeNotice(raw) {
  const volumes = raw.volumes || (raw.volume ? [raw.volume] : []);
  let startMs = Infinity;
  let endMs = -Infinity;
  for (const v of volumes) {
    startMs = Math.min(startMs, toMs(v.start));
    endMs = Math.max(endMs, toMs(v.end));
  }
  return {
    id: String(pick(raw, 'id', 'notice_id') ?? ''),
    name: String(pick(raw, 'name', 'title', 'designator', 'callsign', 'id') ?? ''),
    state: String(pick(raw, 'state', 'status') || ''),
    priority: pick(raw, 'priority'),
    volumes, startMs, endMs, raw,
  };
}

/**
 * Conflicts -> {conflicting: Set(notice id), overlaps: [{geometry, alt_lower_ft, alt_upper_ft, start, end,
 * notice_id, notice_name, conflict_id}]}.
 */
export function normalizeConflicts(data, noticesById) {
  const conflicting = new Set();
  const overlaps = [];
  const items = asList(data, 'conflicts');
  for (const c of items) {
    const noticeIds = [pick(c, 'notice_id', 'own_notice_id', 'notice'), ...(asList(c.notice_ids))]
      .filter((x) => x !== undefined && x !== null).map(String);
    for (const id of noticeIds) conflicting.add(id);
    const list = c.overlaps || (c.overlap ? [c.overlap] : []) || [];
    for (const ov of list) {
      const nid = noticeIds[0];
      overlaps.push({...ov, notice_id: nid, conflict_id: pick(c, 'id', 'conflict_id'),
        notice_name: nid && noticesById.get(nid) ? noticesById.get(nid).name : null,
        counterpart: pick(c, 'counterpart', 'other_party'), kind: pick(c, 'kind') || 'volume',
        late: Boolean(c.late), status: pick(c, 'status', 'state')});
    }
  }
  return {conflicting, overlaps, items};
}
