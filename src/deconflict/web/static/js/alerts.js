// Alerts panel: open alerts sorted by time to loss of separation, coloured by severity, with live
// countdowns (ticked locally every 250 ms from absolute times), one click to select (the map centres
// on the conflict geometry), one click to acknowledge. A Web Audio tone sounds for a new warning.

import {el, countdown, hms, flightLevel, serverNow} from './util.js';
import {t, ft, nm, num} from './i18n.js';

/** Severity is never colour alone: a shape and a word go with it (colour-blind safe). */
export const SEVERITY_SHAPE = {warning: '▲', caution: '◆', advisory: '●'};

const SEV_RANK = {warning: 0, caution: 1, advisory: 2};

/** The graded alert level of an alert view (`AlertView.level`: 1 preventive, 2 corrective,
 * 3 warning), NaN when the alert has none. Severity follows it on the server (live/alerts.py). */
export function levelOf(a) {
  const v = a && a.raw ? a.raw.level : null;
  return v === null || v === undefined ? NaN : Number(v);
}

export class AlertsPanel {
  /**
   * @param {HTMLElement} root container
   * @param {{onSelect: Function, onAck: Function, onNewWarning: Function}} handlers
   */
  constructor(root, countBadge, handlers) {
    this.root = root;
    this.countBadge = countBadge;
    this.handlers = handlers;
    this.alerts = [];
    this.selectedId = null;
    this.known = new Set();
    this.primed = false;
    this.pendingAcks = new Set();
    this.rows = new Map();
    this.message = null;
    setInterval(() => this.tick(), 250);
  }

  /** Replace the list; warns (sound) for ids never seen before whose severity is warning. */
  setAlerts(alerts) {
    const open = alerts.filter((a) => a.state === 'open');
    const fresh = open.filter((a) => !this.known.has(`${a.id}:${a.severity}`));
    for (const a of open) this.known.add(`${a.id}:${a.severity}`);
    if (this.primed && fresh.some((a) => a.severity === 'warning' && !a.ackedByMe)) this.handlers.onNewWarning();
    this.primed = true;
    this.alerts = open;
    // Re-render only when something visible changed (countdowns tick on their own), so a row
    // under the duty officer's pointer is not replaced every second.
    const sig = JSON.stringify(open.map((a) => [a.id, a.severity, a.ackedByMe,
      Math.round(a.losMs / 5000), a.own && a.own.callsign, a.other && a.other.alt_ft, a.hmdNm, a.vmdFt, levelOf(a),
      a.raw && a.raw.guidance ? a.raw.guidance.length : 0]));
    if (sig === this.sig && this.message === null) {
      for (const a of open) { const r = this.rows.get(a.id); if (r) r.alert = a; }
      return;
    }
    this.sig = sig;
    this.message = null;
    this.render();
  }

  setUnavailable(text) {
    this.sig = null;
    this.message = text;
    this.alerts = [];
    this.render();
  }

  sorted() {
    return [...this.alerts].sort((a, b) => {
      // Unacknowledged first, then soonest loss of separation, then severity.
      if (a.ackedByMe !== b.ackedByMe) return a.ackedByMe ? 1 : -1;
      const ta = Number.isFinite(a.losMs) ? a.losMs : Infinity;
      const tb = Number.isFinite(b.losMs) ? b.losMs : Infinity;
      if (ta !== tb) return ta - tb;
      return (SEV_RANK[a.severity] ?? 3) - (SEV_RANK[b.severity] ?? 3);
    });
  }

  /** The alert at the top of the list (the one key A acknowledges), or null. */
  top() {
    return this.sorted()[0] || null;
  }

  describe(a) {
    const own = a.own;
    const lineName = (id) => (this.handlers.lineName && this.handlers.lineName(id)) || t('agreed line');
    const ownText = own ? `${own.callsign || own.id} ${flightLevel(own.alt_ft)}`
      : a.ownRef ? a.ownRef : a.ownLine ? t('line %(name)s', {name: lineName(a.ownLine)}) : a.ownVolume ? t('own volume') : t('own');
    let otherText;
    if (a.other) otherText = `${a.other.callsign} ${flightLevel(a.other.alt_ft)}`;
    else if (a.otherRole === 'volume') otherText = t('%(party)s volume', {party: a.otherParty});
    else if (a.otherRole === 'aircraft') otherText = t('%(party)s aircraft', {party: a.otherParty});
    else if (a.kind === 'incursion' && a.ownLine && own) otherText = t('line %(name)s', {name: lineName(a.ownLine)});
    else if (a.kind === 'nonconforming') otherText = t('outside own volumes');
    else otherText = t(a.kind);
    const verb = a.kind === 'incursion' ? (own ? ' → ' : ' ← ') : ' × ';
    // Incursion into our side/volume by another party's aircraft: show the intruder first.
    return !own && a.other ? `${otherText}${verb}${ownText}` : `${ownText}${verb}${otherText}`;
  }

  render() {
    this.root.replaceChildren();
    this.rows.clear();
    const unacked = this.alerts.filter((a) => !a.ackedByMe).length;
    this.countBadge.textContent = String(this.alerts.length);
    this.countBadge.classList.toggle('hot', unacked > 0);
    if (this.message) {
      this.root.append(el('div', {class: 'unavailable'}, this.message));
      return;
    }
    if (!this.alerts.length) {
      this.root.append(el('div', {class: 'empty', 'data-testid': 'no-alerts'}, t('No open alerts')));
      return;
    }
    for (const a of this.sorted()) {
      const cd = el('div', {class: 'countdown', 'data-testid': 'alert-countdown'}, '--:--');
      const ackBtn = a.ackedByMe
        ? el('span', {class: 'acked-label', 'data-testid': 'alert-acked'}, t('ACKED'))
        : el('button', {
          type: 'button', class: 'ack', 'data-testid': 'alert-ack', title: t('Acknowledge (one click, or key A)'),
          disabled: this.pendingAcks.has(a.id),
          onclick: (ev) => { ev.stopPropagation(); this.ack(a); },
        }, this.pendingAcks.has(a.id) ? '…' : t('ACK'));
      const msgBtn = this.handlers.onMessage ? el('button', {type: 'button', class: 'small', 'data-testid': 'alert-message',
        title: t('Message about this'), onclick: (ev) => { ev.stopPropagation(); this.handlers.onMessage(a); }}, '✉') : null;
      const los = el('span', {'data-testid': 'alert-los'}, hms(a.losMs));
      const miss = [
        Number.isFinite(a.hmdNm) ? nm(a.hmdNm, 1) : null,
        Number.isFinite(a.vmdFt) ? ft(a.vmdFt) : null,
      ].filter(Boolean).join(' / ');
      const row = el('div', {
        class: `alert ${a.severity} ${a.ackedByMe ? 'acked' : 'unacked'} ${a.id === this.selectedId ? 'selected' : ''}`,
        'data-testid': 'alert', 'data-alert-id': a.id, 'data-severity': a.severity, 'data-kind': a.kind,
        role: 'button', tabindex: 0,
        onclick: () => this.select(a.id),
        onkeydown: (ev) => { if (ev.key === 'Enter') this.select(a.id); },
      },
      el('div', {class: 'sev', 'aria-hidden': 'true'}, SEVERITY_SHAPE[a.severity] || '●'),
      el('div', {class: 'head'},
        el('div', {class: 'title'}, el('span', {class: 'sevname', 'data-testid': 'alert-severity'},
          `#${a.no ?? ''} ${t(a.severity.toUpperCase())}`), ' ', this.describe(a))),
      cd,
      el('div', {class: 'meta', 'data-testid': 'alert-meta'},
        `${t(a.kind.toUpperCase())}`,
        Number.isFinite(levelOf(a)) ? el('span', {'data-testid': 'alert-level'}, ` · ${t('level %(n)s', {n: num(levelOf(a))})}`) : null,
        a.raw && Array.isArray(a.raw.guidance) && a.raw.guidance.length
          ? el('span', {class: 'guided', 'data-testid': 'alert-guided', title: t('A manoeuvre is proposed: select the alert to see it')}, ' ⇄') : null,
        ` · ${t('LoS')} `, los,
        miss ? ` · ${t('miss')} ` : '', miss ? el('span', {'data-testid': 'alert-miss'}, miss) : null),
      el('div', {class: 'actions'}, msgBtn, ackBtn),
      );
      this.rows.set(a.id, {row, cd, los, alert: a});
      this.root.append(row);
    }
    this.tick();
  }

  tick() {
    const now = serverNow();
    for (const {cd, los, alert} of this.rows.values()) {
      // The predicted time follows the latest update even when the row is not redrawn.
      los.textContent = hms(alert.losMs);
      const s = (alert.losMs - now) / 1000;
      const now0 = alert.kind === 'conflict' ? t('LoS') : alert.kind === 'incursion' ? t('IN') : t('NOW');
      cd.textContent = Number.isFinite(s) ? (s <= 0 ? now0 : countdown(s)) : '--:--';
    }
  }

  select(id) {
    this.selectedId = this.selectedId === id ? null : id;
    for (const [rid, {row}] of this.rows) row.classList.toggle('selected', rid === this.selectedId);
    this.handlers.onSelect(this.alerts.find((a) => a.id === this.selectedId) || null);
  }

  async ack(alert) {
    this.pendingAcks.add(alert.id);
    this.render();
    try {
      await this.handlers.onAck(alert);
      alert.ackedByMe = true;
    } catch (err) {
      this.handlers.onError(`Acknowledge ${alert.id} failed: ${err.message}`);
    } finally {
      this.pendingAcks.delete(alert.id);
      this.render();
    }
  }
}

/** Two-tone alert chime through Web Audio (no audio files); respects mute. */
export class AlertTone {
  constructor() {
    this.ctx = null;
    this.muted = sessionStorage.getItem('deconflict.muted') === '1';
    this.played = 0;
  }

  /** Create/resume the audio context; call from a user gesture (sign-in, unmute). */
  unlock() {
    try {
      if (!this.ctx) this.ctx = new (window.AudioContext || window.webkitAudioContext)();
      if (this.ctx.state === 'suspended') this.ctx.resume();
    } catch { this.ctx = null; }
  }

  setMuted(muted) {
    this.muted = muted;
    sessionStorage.setItem('deconflict.muted', muted ? '1' : '0');
  }

  play() {
    if (this.muted) return;
    this.unlock();
    if (!this.ctx) return;
    this.played += 1;
    const t0 = this.ctx.currentTime;
    for (const [i, f] of [[0, 880], [1, 660], [2, 880]]) {
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.type = 'square';
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, t0 + i * 0.22);
      gain.gain.exponentialRampToValueAtTime(0.15, t0 + i * 0.22 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.22 + 0.2);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(t0 + i * 0.22);
      osc.stop(t0 + i * 0.22 + 0.21);
    }
  }
}
