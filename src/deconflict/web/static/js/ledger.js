// Ledger panel: the latest signed tree head (C2SP checkpoint as a signed note) and whether *this
// browser* verified it. Verification: parse the note, recompute the log key id with SHA-256
// (SHA-256(name || 0x0A || type || public key)[:4]), then verify the Ed25519 signature over the note
// text with WebCrypto. The log key is pinned on first use (localStorage): a changed key is shown as a
// failure, never silently accepted.

import {el, dhm} from './util.js';
import {t, N_} from './i18n.js';
import {failureText} from './api.js';

const PIN_STORAGE = 'deconflict.ledger.vkey';
const enc = new TextEncoder();

function b64decode(s) {
  const bin = atob(s.trim());
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Split a signed note into {body, signatures: [{name, keyId: Uint8Array, sig: Uint8Array}]}. */
export function parseNote(text) {
  const idx = text.lastIndexOf('\n\n');
  if (idx < 0) throw new Error('not a signed note (no blank line)');
  const body = text.slice(0, idx + 1);
  const signatures = [];
  for (const line of text.slice(idx + 2).split('\n')) {
    if (!line) continue;
    const m = line.match(/^\u2014 (\S+) (\S+)$/);
    if (!m) throw new Error(`malformed signature line: ${line.slice(0, 40)}`);
    const raw = b64decode(m[2]);
    signatures.push({name: m[1], keyId: raw.slice(0, 4), sig: raw.slice(4)});
  }
  return {body, signatures};
}

/** Parse a vkey "<name>+<key id hex>+base64(type || public key)". */
export function parseVkey(vkey) {
  // Split at the first two '+' only: the base64 key itself may contain '+'.
  const text = vkey.trim();
  const i = text.indexOf('+');
  const j = i < 0 ? -1 : text.indexOf('+', i + 1);
  if (i <= 0 || j < 0) throw new Error('malformed verifier key');
  const raw = b64decode(text.slice(j + 1));
  return {name: text.slice(0, i), keyIdHex: text.slice(i + 1, j), type: raw[0], publicKey: raw.slice(1)};
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** Key id per C2SP signed-note: SHA-256(name || "\n" || type || key)[:4]. */
export async function computeKeyId(name, type, publicKey) {
  const nameBytes = enc.encode(name);
  const buf = new Uint8Array(nameBytes.length + 2 + publicKey.length);
  buf.set(nameBytes, 0);
  buf[nameBytes.length] = 0x0a;
  buf[nameBytes.length + 1] = type;
  buf.set(publicKey, nameBytes.length + 2);
  return (await sha256(buf)).slice(0, 4);
}

/**
 * Verify a checkpoint note against a vkey. Returns {ok, method, detail}: method is
 * N_('WebCrypto Ed25519') when the signature itself was checked, 'SHA-256 key id only' when this
 * browser lacks Ed25519 (then ok reflects only the key-id recomputation).
 */
export async function verifyCheckpoint(noteText, vkey) {
  const {body, signatures} = parseNote(noteText);
  const key = parseVkey(vkey);
  const kid = await computeKeyId(key.name, key.type, key.publicKey);
  if (hex(kid) !== key.keyIdHex.toLowerCase()) return {ok: false, method: 'SHA-256', detail: N_('key id does not match key')};
  const sig = signatures.find((s) => s.name === key.name && hex(s.keyId) === hex(kid));
  if (!sig) return {ok: false, method: 'SHA-256', detail: N_('no signature by the log key')};
  let cryptoKey;
  try {
    cryptoKey = await crypto.subtle.importKey('raw', key.publicKey, {name: 'Ed25519'}, false, ['verify']);
  } catch {
    return {ok: true, method: N_('SHA-256 key id only (no Ed25519 in this browser)'), detail: N_('signature not checked'), body};
  }
  const ok = await crypto.subtle.verify({name: 'Ed25519'}, cryptoKey, sig.sig, enc.encode(body));
  return {ok, method: N_('WebCrypto Ed25519'), detail: ok ? N_('signature valid') : N_('SIGNATURE INVALID'), body};
}

const eqBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function nodeHash(left, right) {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/**
 * RFC 9162 section 2.1.4.2: does the tree (second, secondRoot) extend (first, firstRoot)?
 * Pure SHA-256 recomputation in the browser; hashes are Uint8Arrays.
 */
export async function verifyConsistency(first, second, proof, firstRoot, secondRoot) {
  if (first > second) return false;
  if (first === second) return proof.length === 0 && eqBytes(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0;
  let path = [...proof];
  if ((first & (first - 1)) === 0) path = [firstRoot, ...path];
  if (!path.length) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn & 1) { fn >>= 1; sn >>= 1; }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if ((fn & 1) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!(fn & 1)) while (!(fn & 1) && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && eqBytes(fr, firstRoot) && eqBytes(sr, secondRoot);
}

const SEEN_STORAGE = 'deconflict.ledger.seen';

export class LedgerPanel {
  constructor(root, {api}) {
    this.root = root;
    this.api = api;
    this.last = null;
  }

  /** Read the signed head (HeadPublic), verify it in this browser, then render. */
  async refresh() {
    let head;
    try {
      head = await this.api.get('/v1/ledger/head');
    } catch (err) {
      this.view = {error: failureText(err, t('Ledger'))};
      this.render();
      return;
    }
    const note = head.checkpoint;
    const vkey = head.log_key;
    let result;
    try {
      const pinned = localStorage.getItem(PIN_STORAGE);
      result = await verifyCheckpoint(note, vkey);
      if (pinned && pinned !== vkey) result = {...result, ok: false, detail: N_('LOG KEY CHANGED since first seen in this browser')};
      else if (!pinned && result.ok) localStorage.setItem(PIN_STORAGE, vkey);
    } catch (err) {
      result = {ok: false, method: 'parse', detail: err.message};
    }
    const size = head.size;
    const root = head.root;
    // Append-only check: the head this browser verified before must be a prefix of this one.
    let consistency = {text: '—'};
    let consistent = true;
    if (result.ok) {
      const seen = JSON.parse(localStorage.getItem(SEEN_STORAGE) || 'null');
      if (seen && seen.size <= size) {
        try {
          const res = await this.api.get(`/v1/ledger/consistency?first=${seen.size}&second=${size}`);
          consistent = await verifyConsistency(seen.size, size, res.proof.map(b64decode),
            b64decode(seen.root), b64decode(root));
          consistency = consistent ? {text: N_('✔ extends the head of size %(size)s seen before (SHA-256 proof recomputed)'), size: seen.size}
            : {text: N_('✘ NOT an extension of the head of size %(size)s seen before'), size: seen.size};
        } catch (err) {
          consistency = {raw: failureText(err, t('consistency proof'))};
        }
      } else if (seen && seen.size > size) {
        consistent = false;
        consistency = {text: N_('✘ log shrank: size %(size)s seen before'), size: seen.size};
      } else {
        consistency = {text: N_('first head seen by this browser')};
      }
      if (consistent) localStorage.setItem(SEEN_STORAGE, JSON.stringify({size, root}));
      else result = {...result, ok: false, detail: N_('LOG NOT APPEND-ONLY')};
    }
    let cosigs = null;
    try { cosigs = Math.max(0, parseNote(note).signatures.length - 1); } catch { cosigs = null; }
    this.last = {head, result};
    this.view = {head, result, consistency, consistent, cosigs};
    this.render();
  }

  /** Draw the last verification (again, e.g. after a language change). */
  render() {
    const v = this.view;
    if (!v) return;
    if (v.error) {
      this.root.replaceChildren(el('div', {class: 'unavailable', 'data-testid': 'ledger-unavailable'}, v.error));
      return;
    }
    const {head, result, consistency, consistent, cosigs} = v;
    const consistencyText = consistency.raw || t(consistency.text, {size: consistency.size});
    this.root.replaceChildren(
      el('dl', {class: 'kv'},
        el('dt', {}, t('origin')), el('dd', {translate: 'no'}, head.origin),
        el('dt', {}, t('tree size')), el('dd', {'data-testid': 'ledger-size'}, String(head.size)),
        el('dt', {}, t('root hash')), el('dd', {translate: 'no'}, head.root),
        el('dt', {}, t('signed')), el('dd', {}, dhm(head.timestamp_s * 1000)),
        el('dt', {}, t('cosignatures')), el('dd', {}, cosigs === null ? '—' : String(cosigs)),
        el('dt', {}, t('this browser')),
        el('dd', {class: result.ok ? 'verified' : 'not-verified', 'data-testid': 'ledger-verified',
          'data-ok': result.ok ? '1' : '0'},
        `${result.ok ? t('✔ verified') : t('✘ not verified')} — ${t(result.detail)}`),
        el('dt', {}, t('method')), el('dd', {'data-testid': 'ledger-method'}, t(result.method)),
        el('dt', {}, t('append-only')), el('dd', {'data-testid': 'ledger-consistency', class: consistent ? '' : 'not-verified'}, consistencyText),
        el('dt', {}, t('log key')), el('dd', {class: 'small', translate: 'no'}, head.log_key),
      ),
    );
  }
}
