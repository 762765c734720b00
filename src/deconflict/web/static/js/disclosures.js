// Disclosures tab (issue 11): what every counterpart has learned of this party's plans
// (`GET /v1/disclosures`, web/routes/security.py `DisclosureList`: at, counterpart, own_notice_id,
// kind, exact, area_km2, start, end, coarse_area {h3_cells, h3_resolution}) and who issued the
// party's API keys (`GET /v1/key-events`, `KeyEventList`: at, key_id, role, issued_by,
// issuer_key_id), an operator-issued key flagged. Read at load and when its tab opens; while it
// is open a `conflict` event re-reads it; a `key` event is applied as it comes.

import {el, dhm, toMs} from './util.js';
import {t, N_, num} from './i18n.js';
import {failureText} from './api.js';

/** Labels the server gives a counterpart it does not name (broker/disclosure.py): translated. */
export const SERVER_LABELS = [N_('an unaffiliated party'), N_('another party')];
/** Disclosure kinds (broker/disclosure.py `Shown.kind`) and key issuers, shown translated. */
export const KINDS = [N_('exact'), N_('coarse'), N_('unaffiliated'), N_('party_admin')];

/** A counterpart label as shown: the server's generic labels translated, names as written. */
export function counterpartLabel(label) {
  return SERVER_LABELS.includes(label) ? {text: t(label), data: false} : {text: String(label), data: true};
}

/** Sort newest first (by `at`, then id) without changing the input. */
export function newestFirst(rows) {
  return [...rows].sort((a, b) => (toMs(b.at) - toMs(a.at)) || (Number(b.id) - Number(a.id)));
}

export class DisclosuresPanel {
  /**
   * @param {HTMLElement} root the tab's container
   * @param {HTMLElement} badge the tab's count badge
   * @param {{api: object, noticeName: Function}} opts noticeName(id) -> own notice title or null
   */
  constructor(root, badge, opts) {
    this.root = root;
    this.badge = badge;
    this.opts = opts;
    this.disclosures = [];
    this.keys = [];
    this.error = null;
    this.keysError = null;
    this.loaded = false;
    this.timer = null;
    this.refreshes = 0;
  }

  async refresh() {
    const [d, k] = await Promise.allSettled([
      this.opts.api.get('/v1/disclosures'), this.opts.api.get('/v1/key-events'),
    ]);
    if (d.status === 'fulfilled') { this.disclosures = newestFirst(d.value.disclosures || []); this.error = null; }
    else this.error = failureText(d.reason, t('Disclosures'));
    if (k.status === 'fulfilled') { this.keys = newestFirst(k.value.events || []); this.keysError = null; }
    else this.keysError = failureText(k.reason, t('Key issuances'));
    this.loaded = true;
    this.refreshes += 1;
    this.render();
  }

  /**
   * A `key` event (broker/events.py `KeyIssued`: key_id, role, issued_by, issuer_key_id, at,
   * ledger_index): the issuance is listed at once (an operator-issued key flagged).
   */
  applyKeyEvent(data) {
    if (!this.keys.some((e) => e.key_id === data.key_id)) {
      this.keys = newestFirst([...this.keys, {id: null, at: data.at, key_id: data.key_id, role: data.role,
        issued_by: data.issued_by, issuer_key_id: data.issuer_key_id}]);
    }
    this.render();
  }

  /**
   * A conflict may have disclosed something: re-read soon while the tab is open (events come in
   * bursts: one read for a burst); a hidden tab is re-read when it opens (no request meanwhile).
   */
  refreshSoon(delayMs = 800) {
    if (this.root.hidden || this.timer) return;
    this.timer = setTimeout(() => { this.timer = null; this.refresh(); }, delayMs);
  }

  render() {
    const root = this.root;
    root.replaceChildren();
    const n = this.disclosures.length;
    this.badge.hidden = !n;
    this.badge.textContent = String(n);
    const operatorKeys = this.keys.filter((e) => e.issued_by === 'operator').length;
    root.append(el('p', {class: 'muted small'}, t('What each counterpart has learned of our plans (exact geometry, or only a coarse area), newest first. Every disclosure is also a ledger entry.')));
    if (!this.loaded) { root.append(el('div', {class: 'muted small'}, t('Loading…'))); return; }
    if (this.error) root.append(el('div', {class: 'unavailable'}, this.error));
    else if (!n) root.append(el('div', {class: 'empty', 'data-testid': 'no-disclosures'}, t('Nothing of our plans has been disclosed.')));
    for (const d of this.disclosures) {
      const who = counterpartLabel(d.counterpart);
      const name = this.opts.noticeName(String(d.own_notice_id));
      const coarse = d.coarse_area;
      const how = d.exact ? t('exact') : t('coarse');
      root.append(el('div', {class: `disc-item ${d.exact ? 'exact' : 'coarse'}`, 'data-testid': 'disclosure-row',
        'data-exact': d.exact ? '1' : '0', 'data-kind': d.kind, tabindex: 0},
      el('div', {},
        el('span', {class: 'mono'}, dhm(toMs(d.at))), ' ',
        el('b', who.data ? {translate: 'no'} : {}, who.text), ' ',
        el('span', {class: `disc-kind ${d.exact ? 'exact' : 'coarse'}`, 'data-testid': 'disclosure-kind'},
          d.exact ? `● ${how}` : `○ ${how}`)),
      el('div', {}, `${t('Own notice')}: `, el('span', {translate: 'no'}, name || String(d.own_notice_id))),
      el('div', {class: 'muted mono'},
        `${t('%(value)s km²', {value: num(d.area_km2, 1)})} · ${dhm(toMs(d.start))} → ${dhm(toMs(d.end))}`,
        coarse && Array.isArray(coarse.h3_cells)
          ? ` · ${t('%(n)s H3 cells (resolution %(res)s)', {n: num(coarse.h3_cells.length), res: num(coarse.h3_resolution)})}` : '')));
    }
    root.append(el('h3', {class: 'disc-sub'}, t('API keys issued for our party'),
      operatorKeys ? el('span', {class: 'escalated', style: 'margin-left:6px', 'data-testid': 'operator-keys'},
        t('%(n)s by the broker operator', {n: num(operatorKeys)})) : null));
    if (this.keysError) { root.append(el('div', {class: 'unavailable'}, this.keysError)); return; }
    if (!this.keys.length) { root.append(el('div', {class: 'empty'}, t('No key issuances recorded.'))); return; }
    for (const e of this.keys) {
      const byOperator = e.issued_by === 'operator';
      root.append(el('div', {class: `key-item ${byOperator ? 'operator' : ''}`, 'data-testid': 'key-event-row',
        'data-issued-by': e.issued_by},
      el('span', {class: 'mono'}, dhm(toMs(e.at))), ' ',
      el('span', {class: 'mono', translate: 'no'}, e.key_id), ' ',
      t(e.role), ' · ',
      byOperator ? el('b', {class: 'g-warn'}, t('issued by the broker operator')) : t('issued by a party admin')));
    }
  }
}
