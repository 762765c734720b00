// The broker's wire schemas (published in /openapi.json) turned into what the screen draws.
// One shape per entity, exactly as the server sends it: no field-name guessing. Units stay in the
// field names (ft, kt, deg, fpm, NM, s).

import {toMs} from './util.js';

const finite = (v) => (v === null || v === undefined ? NaN : Number(v));

/**
 * An own aircraft of the picture (`picture.own[]`: id, callsign, lat, lon, alt_ft, gs_kt, track_deg,
 * vs_fpm, time, stale) -> the track the aircraft layer draws.
 */
export function ownTrack(row) {
  return {
    id: String(row.id), callsign: row.callsign || null,
    lat: row.lat, lon: row.lon, alt_ft: finite(row.alt_ft), gs_kt: finite(row.gs_kt),
    track_deg: finite(row.track_deg), vs_fpm: finite(row.vs_fpm),
    timeMs: toMs(row.time), stale: row.stale === true, party: null, alertId: null,
  };
}

/**
 * Another party's aircraft disclosed by an open alert (`picture.traffic[]`: handle, alert_id, party,
 * lat, lon, alt_ft, gs_kt, track_deg, vs_fpm, t_in_s, hmd_nm, vmd_ft). Named by its alert-scoped
 * handle only, never a call sign; the label "<party>·<alert number>" is set by the caller.
 */
export function trafficTrack(row) {
  return {
    id: String(row.handle), callsign: null, handle: String(row.handle),
    lat: row.lat, lon: row.lon, alt_ft: finite(row.alt_ft), gs_kt: finite(row.gs_kt),
    track_deg: finite(row.track_deg), vs_fpm: finite(row.vs_fpm),
    timeMs: NaN, stale: false, party: row.party, alertId: String(row.alert_id),
  };
}

/**
 * A picture (`GET /v1/picture` or a `picture` event) -> {timeMs, own, others, alerts, alertIds}.
 * `alerts` (views) comes with GET; the event carries `alert_ids` (views travel as `alert` events).
 */
export function normalizePicture(data) {
  return {
    timeMs: toMs(data.at),
    own: (data.own || []).map(ownTrack),
    others: (data.traffic || []).map(trafficTrack),
    alerts: Array.isArray(data.alerts) ? data.alerts : null,
    alertIds: Array.isArray(data.alert_ids) ? data.alert_ids.map(String) : null,
  };
}

/**
 * One alert view (live/picture.py `alert_view`) -> what the alerts panel and the map draw.
 * `asOfMs` is the time `t_in_s` / `t_cpa_s` were computed at: the picture's `at` for views inside a
 * picture, else the view's `updated_at`. `losMs` is the absolute UTC time of predicted loss of
 * separation (or entry), so the countdown runs locally between updates.
 *
 * @param {object} view the alert view
 * @param {{asOfMs?: number, ownFind?: Function, trafficFind?: Function}} ctx
 */
export function normalizeAlert(view, {asOfMs = NaN, ownFind = null, trafficFind = null} = {}) {
  const base = Number.isFinite(asOfMs) ? asOfMs : toMs(view.updated_at);
  const tIn = finite(view.t_in_s);
  const tCpa = finite(view.t_cpa_s);
  let ownRef = null;
  let ownLine = null;
  let ownVolume = null;
  for (const x of view.own) {
    if (x.role === 'aircraft' && ownRef === null) ownRef = String(x.id);
    else if (x.role === 'line') ownLine = String(x.line_id);
    else if (x.role === 'volume') ownVolume = String(x.key);
  }
  let other = null;
  let otherParty = null;
  let otherRole = null;
  for (const o of view.others) {
    otherParty = otherParty || o.party;
    otherRole = otherRole || o.role;
    if (o.role === 'aircraft' && trafficFind && !other) other = trafficFind(String(o.handle));
  }
  return {
    id: String(view.id), kind: view.kind, state: view.state, severity: view.severity,
    parties: view.parties,
    losMs: Number.isFinite(tIn) ? base + tIn * 1000 : NaN,
    cpaMs: Number.isFinite(tCpa) ? base + tCpa * 1000 : NaN,
    tCpaS: Number.isFinite(tCpa) ? tCpa : tIn,
    tInS: tIn,
    hmdNm: finite(view.hmd_nm), vmdFt: finite(view.vmd_ft),
    rangeNm: finite(view.range_nm), verticalFt: finite(view.vertical_ft),
    ackedByMe: view.acknowledged === true,
    own: ownRef && ownFind ? ownFind(ownRef) : null,
    ownRef, ownLine, ownVolume, other, otherParty, otherRole,
    raisedMs: toMs(view.raised_at), updatedMs: toMs(view.updated_at),
    raw: view,
  };
}

/** A notice (NoticePublic) -> {id, name, state, volumes, startMs, endMs, raw}. */
export function normalizeNotice(raw) {
  let startMs = Infinity;
  let endMs = -Infinity;
  for (const v of raw.volumes) {
    startMs = Math.min(startMs, toMs(v.start));
    endMs = Math.max(endMs, toMs(v.end));
  }
  return {
    id: String(raw.id), name: raw.title, state: raw.state, priority: raw.priority,
    version: raw.version, volumes: raw.volumes, startMs, endMs, raw,
  };
}

/** Notice states that no longer occupy airspace (left off the map and the timeline). */
export const ENDED_NOTICE_STATES = new Set(['cancelled', 'withdrawn', 'expired', 'rejected']);

/**
 * Active conflicts (ConflictPublic: id, kind, own_notice_id, counterpart, agreement_id, policy,
 * outcome, late, overlap {geometry, alt_lower_ft, alt_upper_ft, start, end, ...}, status)
 * -> {conflicting: Set(notice id), overlaps: [...], items}.
 */
export function normalizeConflicts(list, noticesById) {
  const items = list.filter((c) => c.status !== 'resolved');
  const conflicting = new Set();
  const overlaps = [];
  for (const c of items) {
    const nid = c.own_notice_id === null || c.own_notice_id === undefined ? null : String(c.own_notice_id);
    if (nid) conflicting.add(nid);
    if (!c.overlap) continue;
    overlaps.push({...c.overlap, notice_id: nid, conflict_id: String(c.id),
      notice_name: nid && noticesById.get(nid) ? noticesById.get(nid).name : null,
      counterpart: c.counterpart, kind: c.kind, late: c.late === true, status: c.status});
  }
  return {conflicting, overlaps, items};
}

/** Replace or insert `item` (matched by `id`) in `list`; returns a new list. */
export function upsertById(list, item) {
  const id = String(item.id);
  const out = list.filter((x) => String(x.id) !== id);
  out.push(item);
  return out;
}

/** True when `value` (a party id or name) names the signed-in party `me` (/v1/me). */
export function partyMatches(value, me) {
  if (value === undefined || value === null || !me) return false;
  const v = String(value);
  return v === String(me.party_id) || v === String(me.party_name);
}
