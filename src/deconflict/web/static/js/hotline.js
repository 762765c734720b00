// Hotline panel: threads with their messages (rendered by the server in the chosen language),
// precedence, acknowledgement countdowns and escalation; a form per template built from
// GET /v1/hotline/templates; one-click acknowledgement of incoming messages.

import {el, asList, pick, toMs, hms, countdown, serverNow} from './util.js';
import {failureText, ApiError} from './api.js';
import {partyMatches} from './model.js';

const PRECEDENCES = ['routine', 'priority', 'immediate', 'flash'];

/** Flatten a template description into [{name, label, type, required, enum, help}] (dotted names). */
export function templateFields(tpl) {
  const out = [];
  const list = tpl.fields;
  if (Array.isArray(list)) {
    for (const f of list) {
      if (typeof f === 'string') { out.push({name: f, label: f, type: 'string'}); continue; }
      out.push({
        name: f.name || f.field || f.key, label: f.label || f.title || f.name, type: f.type || 'string',
        required: Boolean(f.required), enum: f.enum || f.choices || f.options || null, help: f.help || f.description || '',
        example: f.example,
      });
    }
    return out;
  }
  const schema = tpl.schema || tpl.json_schema || (list && typeof list === 'object' ? list : null);
  if (!schema) return out;
  const defs = schema.$defs || schema.definitions || {};
  const resolve = (s) => {
    if (s && s.$ref) return resolve(defs[s.$ref.split('/').pop()] || {});
    if (s && s.allOf && s.allOf.length === 1) return resolve({...s, ...s.allOf[0], allOf: undefined});
    if (s && s.anyOf) {
      const nonNull = s.anyOf.filter((x) => x.type !== 'null');
      if (nonNull.length === 1) return {...resolve(nonNull[0]), title: s.title, description: s.description, default: s.default};
    }
    return s || {};
  };
  const walk = (s, prefix, requiredSet, depth) => {
    const props = s.properties || {};
    for (const [key, raw] of Object.entries(props)) {
      const sub = resolve(raw);
      const name = prefix ? `${prefix}.${key}` : key;
      if (sub.type === 'object' && sub.properties && depth < 2) {
        walk(sub, name, new Set(sub.required || []), depth + 1);
        continue;
      }
      out.push({
        name, label: raw.title || sub.title || name, type: sub.format === 'date-time' ? 'datetime' : sub.type || 'string',
        required: requiredSet.has(key), enum: sub.enum || null, help: raw.description || sub.description || '',
        items: sub.items ? resolve(sub.items) : null, example: sub.examples ? sub.examples[0] : undefined,
      });
    }
  };
  walk(resolve(schema), '', new Set(resolve(schema).required || []), 0);
  return out;
}

function setPath(obj, dotted, value) {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) cur = cur[k] = cur[k] || {};
  cur[keys[keys.length - 1]] = value;
}

function coerce(field, text) {
  if (text === '') return undefined;
  if (field.type === 'integer') return parseInt(text, 10);
  if (field.type === 'number') return Number(text);
  if (field.type === 'boolean') return text === 'true';
  if (field.type === 'array') {
    const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
    if (field.items && (field.items.type === 'number' || field.items.type === 'integer')) return parts.map(Number);
    if (field.items && field.items.type === 'array') {
      try { return JSON.parse(text); } catch { return parts; }
    }
    return parts;
  }
  if (field.type === 'datetime') {
    const ms = Date.parse(text.endsWith('Z') || text.includes('+') ? text : `${text}Z`);
    return Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : text;
  }
  if (field.type === 'object') {
    try { return JSON.parse(text); } catch { return text; }
  }
  return text;
}

export class HotlinePanel {
  constructor(root, badge, {api, me, lang, onError}) {
    this.root = root;
    this.badge = badge;
    this.api = api;
    this.me = me;
    this.lang = lang;
    this.onError = onError;
    this.templates = null;
    this.templatesLang = null;
    this.threads = [];
    this.formTemplate = null;
    this.formOpen = false;
    this.status = '';
    this.busy = false;
    this.countdowns = [];
    setInterval(() => this.tick(), 500);
  }

  async refresh() {
    if (this.busy) return;
    this.busy = true;
    try {
      const lang = this.lang();
      if (!this.templates || this.templatesLang !== lang) {
        try {
          this.templates = asList(await this.api.get(`/v1/hotline/templates?lang=${lang}`), 'templates');
          this.templatesLang = lang;
        } catch (err) {
          this.templates = [];
          this.templatesError = failureText(err, 'Templates');
        }
      }
      let threads;
      try {
        threads = asList(await this.api.get(`/v1/hotline/threads?lang=${lang}`), 'threads');
      } catch (err) {
        this.renderError(failureText(err, 'Hotline'));
        return;
      }
      const recipients = new Map();
      try {
        for (const c of asList(await this.api.get('/v1/hotline/channels'), 'channels')) {
          const o = c.other_party || {};
          if (o.id) recipients.set(String(o.id), {id: String(o.id), name: o.name || o.id, state: c.state});
        }
      } catch { /* channels are optional: recipients also come from threads */ }
      // Messages of the most recent threads (the list is "latest first").
      for (const t of threads.slice(0, 12)) {
        const o = t.other_party || {};
        if (o.id && !recipients.has(String(o.id))) recipients.set(String(o.id), {id: String(o.id), name: o.name || o.id});
        if (Array.isArray(t.messages)) continue;
        try {
          t.messages = asList(await this.api.get(
            `/v1/hotline/messages?thread=${encodeURIComponent(t.id)}&lang=${lang}`), 'messages');
        } catch (err) {
          t.messages = [];
          t.error = failureText(err, 'Messages');
        }
      }
      this.recipients = [...recipients.values()];
      this.threads = threads;
      this.render();
    } finally {
      this.busy = false;
    }
  }

  renderError(text) {
    this.root.replaceChildren(el('div', {class: 'unavailable', 'data-testid': 'hotline-unavailable'}, text));
    this.badge.hidden = true;
  }

  isIncoming(msg) {
    const to = msg.recipient && typeof msg.recipient === 'object' ? msg.recipient.id : msg.recipient;
    if (to !== undefined && to !== null) return partyMatches(to, this.me);
    const from = msg.sender && typeof msg.sender === 'object' ? msg.sender.id : msg.sender;
    return from !== undefined && !partyMatches(from, this.me);
  }

  isAckedByMe(msg) {
    const acks = msg.acks || [];
    return acks.some((a) => partyMatches(pick(a, 'party', 'party_id'), this.me));
  }

  isAcked(msg) {
    return (msg.acks || []).length > 0;
  }

  render() {
    const frag = [];
    this.countdowns = [];
    let pending = 0;
    const toolbar = el('div', {class: 'hl-toolbar'},
      el('button', {type: 'button', 'data-testid': 'hotline-new', onclick: () => { this.formOpen = !this.formOpen; this.replyTo = null; this.render(); }},
        this.formOpen ? 'Close form' : '✉ New message'),
      el('span', {class: 'muted small', 'data-testid': 'hotline-status'}, this.status));
    frag.push(toolbar);
    if (this.formOpen) frag.push(this.renderForm());
    if (!this.threads.length) frag.push(el('div', {class: 'empty'}, 'No hotline threads'));
    const sortedThreads = [...this.threads].sort((a, b) => latest(b) - latest(a));
    for (const t of sortedThreads) {
      const msgs = [...(t.messages || [])].sort((a, b) => toMs(pick(a, 'created_at', 'sent_at')) - toMs(pick(b, 'created_at', 'sent_at')));
      const box = el('div', {class: 'hl-thread', 'data-testid': 'hotline-thread', 'data-thread-id': t.id},
        el('div', {class: 'hl-thread-head'},
          el('span', {}, pick(t, 'subject', 'title') || `Thread ${String(t.id).slice(0, 8)}`),
          el('span', {class: 'muted small'}, `with ${(t.other_party && (t.other_party.name || t.other_party.id)) || '?'} `,
            el('button', {type: 'button', class: 'small', 'data-testid': 'hotline-reply', onclick: () => {
              this.replyTo = {threadId: t.id, recipient: t.other_party && t.other_party.id, subject: t.subject};
              this.formOpen = true;
              this.root.querySelector('.hl-form')?.remove();
              this.render();
            }}, 'Reply'))));
      if (t.error) box.append(el('div', {class: 'unavailable'}, t.error));
      for (const m of msgs) {
        const incoming = this.isIncoming(m);
        const ackedByMe = this.isAckedByMe(m);
        const needsMyAck = incoming && !ackedByMe && m.state !== 'queued';
        if (needsMyAck) pending++;
        const prec = String(pick(m, 'precedence') || 'routine').toLowerCase();
        const deadline = toMs(pick(m, 'ack_deadline', 'ack_due_at', 'deadline'));
        const cd = el('span', {class: 'ack-countdown', 'data-testid': 'ack-countdown'});
        if (Number.isFinite(deadline) && !this.isAcked(m)) this.countdowns.push({node: cd, deadline});
        const r = m.rendered || {};
        const lines = [...(r.header || []), ...(r.lines || [])].map((x) => `${x.label}: ${x.value}`);
        const body = lines.length ? lines.join('\n') : JSON.stringify(m.fields || {});
        const escal = (m.escalations || []).length ? m.escalations[m.escalations.length - 1] : null;
        const lastAck = (m.acks || []).length ? m.acks[m.acks.length - 1] : null;
        const senderName = m.sender && typeof m.sender === 'object' ? (m.sender.name || m.sender.id) : m.sender;
        const recipientName = m.recipient && typeof m.recipient === 'object' ? (m.recipient.name || m.recipient.id) : m.recipient;
        box.append(el('div', {class: `hl-msg ${incoming ? 'incoming' : 'outgoing'} ${needsMyAck ? 'pending' : ''}`,
          'data-testid': 'hotline-message', 'data-message-id': m.id, 'data-state': m.state || ''},
        el('div', {class: 'hdr'},
          el('span', {class: `prec ${prec}`}, (r.precedence || prec).toUpperCase()),
          el('b', {}, r.title || m.template || ''),
          el('span', {}, incoming ? `${senderName} →` : `→ ${recipientName}`),
          el('span', {}, hms(toMs(pick(m, 'delivered_at', 'created_at')))),
          m.state === 'queued' ? el('span', {class: 'escalated'}, 'QUEUED') : null,
          escal ? el('span', {class: 'escalated', 'data-testid': 'escalated', title: `due ${hms(toMs(escal.due_at))}`},
            `ESCALATED L${escal.level ?? ''} → ${escal.target || ''}`) : null,
          cd),
        el('span', {class: 'body', 'data-testid': 'hotline-body'}, body),
        m.free_text ? el('span', {class: 'body muted'}, `${r.free_text_label || 'Free text'} (untranslated): “${m.free_text}”`) : null,
        el('div', {class: 'hdr'},
          lastAck ? el('span', {class: 'verified', 'data-testid': 'hotline-acked'},
            `✔ ${String(lastAck.answer).replace('_', ' ').toUpperCase()} ${hms(toMs(lastAck.at))}`) : null,
          needsMyAck ? el('button', {type: 'button', class: 'ack', 'data-testid': 'hotline-ack',
            title: 'Acknowledge receipt', onclick: () => this.ack(m, 'received')}, 'ACK') : null,
          needsMyAck ? el('button', {type: 'button', 'data-testid': 'hotline-wilco',
            title: 'Will comply', onclick: () => this.ack(m, 'will_comply')}, 'WILCO') : null)));
      }
      frag.push(box);
    }
    this.badge.hidden = pending === 0;
    this.badge.textContent = String(pending);
    this.badge.classList.toggle('hot', pending > 0);
    const keepForm = this.root.querySelector('.hl-form');
    this.root.replaceChildren(...frag);
    if (keepForm && this.formOpen) this.root.querySelector('.hl-form').replaceWith(keepForm);
    this.tick();
  }

  tick() {
    const now = serverNow();
    for (const {node, deadline} of this.countdowns) {
      const s = (deadline - now) / 1000;
      node.textContent = s >= 0 ? `ack due ${countdown(s)}` : `ACK OVERDUE ${countdown(-s)}`;
      node.classList.toggle('overdue', s < 0);
    }
  }

  renderForm() {
    const templates = this.templates || [];
    if (!templates.length) return el('div', {class: 'unavailable'}, this.templatesError || 'No templates');
    const names = templates.map((t) => String(pick(t, 'name', 'id', 'template')));
    if (!this.formTemplate || !names.includes(this.formTemplate)) this.formTemplate = names[0];
    const tpl = templates[names.indexOf(this.formTemplate)];
    const fields = templateFields(tpl);
    const select = el('select', {name: 'template', 'data-testid': 'hotline-template', onchange: (ev) => {
      this.formTemplate = ev.target.value; this.formOpen = true; this.root.querySelector('.hl-form').replaceWith(this.renderForm());
    }}, ...templates.map((t, i) => el('option', {value: names[i], selected: names[i] === this.formTemplate},
      pick(t, 'title', 'label', 'display_name') || names[i])));
    const defPrec = String(pick(tpl, 'default_precedence', 'precedence') || 'routine');
    const prec = el('select', {name: 'precedence', 'data-testid': 'hotline-precedence'},
      ...PRECEDENCES.map((p) => el('option', {value: p, selected: p === defPrec}, p.toUpperCase())));
    const recipients = this.recipients || [];
    const reply = this.replyTo || null;
    const form = el('form', {class: 'hl-form', 'data-testid': 'hotline-form', onsubmit: (ev) => { ev.preventDefault(); this.send(form, fields); }},
      el('label', {}, 'Template'), select,
      el('label', {}, 'Precedence'), prec);
    if (reply) {
      form.append(el('label', {}, 'Reply in'), el('span', {class: 'small'}, reply.subject || String(reply.threadId).slice(0, 8),
        ' ', el('button', {type: 'button', onclick: () => { this.replyTo = null; this.root.querySelector('.hl-form')?.remove(); this.render(); }}, 'new thread instead')));
      form.append(el('input', {type: 'hidden', name: '__thread', value: reply.threadId}));
    }
    form.append(el('label', {}, 'To'), recipients.length
      ? el('select', {name: '__recipient', 'data-testid': 'hotline-recipient'},
        ...recipients.map((r) => el('option', {value: r.id, selected: reply && reply.recipient === r.id},
          `${r.name || r.id}${r.state && r.state !== 'active' ? ` (${r.state})` : ''}`)))
      : el('input', {name: '__recipient', 'data-testid': 'hotline-recipient', required: true, placeholder: 'party name'}));
    if (!reply) form.append(el('label', {}, 'Subject'), el('input', {name: '__subject', placeholder: 'new thread subject (optional)'}));
    for (const f of fields) {
      const input = f.enum
        ? el('select', {name: f.name, 'data-field': f.name, required: f.required},
          ...(f.required ? [] : [el('option', {value: ''}, '—')]), ...f.enum.map((v) => el('option', {value: v}, String(v))))
        : el('input', {name: f.name, 'data-field': f.name, required: f.required,
          value: f.type === 'datetime' ? new Date(serverNow()).toISOString().slice(0, 16) + 'Z' : null,
          type: f.type === 'integer' || f.type === 'number' ? 'number' : 'text', step: f.type === 'number' ? 'any' : null,
          placeholder: f.type === 'datetime' ? 'YYYY-MM-DDTHH:MMZ' : f.type === 'array' ? 'comma,separated' : (f.example ?? ''),
          title: f.help || ''});
      form.append(el('label', {for: f.name, title: f.help || ''}, `${f.label}${f.required ? ' *' : ''}`), input);
    }
    form.append(el('label', {}, 'Free text'), el('textarea', {name: '__free_text', rows: 2, placeholder: 'optional, sent untranslated'}));
    form.append(el('div', {class: 'full'}, el('button', {type: 'submit', 'data-testid': 'hotline-send'}, 'Send'),
      el('span', {class: 'error small', 'data-testid': 'hotline-form-error'})));
    return form;
  }

  async send(form, fields) {
    const data = new FormData(form);
    const payload = {template: data.get('template'), precedence: data.get('precedence'), fields: {}};
    for (const f of fields) {
      const v = coerce(f, String(data.get(f.name) ?? '').trim());
      if (v !== undefined) setPath(payload.fields, f.name, v);
    }
    const free = String(data.get('__free_text') || '').trim();
    if (free) payload.free_text = free;
    if (data.get('__recipient')) payload.recipient = String(data.get('__recipient'));
    if (data.get('__subject')) payload.subject = String(data.get('__subject'));
    if (data.get('__thread')) payload.thread_id = String(data.get('__thread'));
    const errNode = form.querySelector('[data-testid=hotline-form-error]');
    errNode.textContent = '';
    try {
      await this.api.post('/v1/hotline/messages', payload);
      this.status = `sent ${hms(serverNow())}`;
      this.formOpen = false;
      this.replyTo = null;
      await this.refresh();
    } catch (err) {
      errNode.textContent = err instanceof ApiError ? err.message : String(err);
    }
  }

  async ack(msg, answer = 'received') {
    try {
      await this.api.post(`/v1/hotline/messages/${encodeURIComponent(msg.id)}/ack`, {answer});
      this.status = `acknowledged ${hms(serverNow())}`;
      await this.refresh();
    } catch (err) {
      this.onError(`hotline ack: ${err.message}`);
      this.status = `ack failed: ${err.message}`;
      this.render();
    }
  }
}

function latest(thread) {
  const ms = (thread.messages || []).map((m) => toMs(pick(m, 'created_at', 'sent_at')));
  return ms.length ? Math.max(...ms.filter(Number.isFinite), 0) : toMs(pick(thread, 'updated_at', 'created_at')) || 0;
}
