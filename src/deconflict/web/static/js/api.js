// HTTP client for the broker API: bearer-key auth, RFC 9457 problem details, "unavailable" detection.

import {noteServerDate} from './util.js';
import {t} from './i18n.js';

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 = network failure)
   * @param {string} message human text (problem `detail` or `title`)
   * @param {object|null} problem the problem+json body, if any
   */
  constructor(status, message, problem = null) {
    super(message);
    this.status = status;
    this.problem = problem;
  }

  /** True when the endpoint does not exist on this server (not built / not registered). */
  get unavailable() {
    return this.status === 404 || this.status === 405 || this.status === 501;
  }

  /** True when the server could not be reached at all. */
  get network() {
    return this.status === 0;
  }
}

export class Api {
  /** @param {string} key the party's API key */
  constructor(key, base = '') {
    this.key = key;
    this.base = base;
    this.lastOkMs = NaN;
  }

  async request(method, path, body = undefined, {timeoutMs = 8000} = {}) {
    const headers = {Accept: 'application/json', Authorization: `Bearer ${this.key}`};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    let res;
    try {
      res = await fetch(this.base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctrl.signal, cache: 'no-store',
      });
    } catch (err) {
      throw new ApiError(0, `server unreachable (${err.name === 'AbortError' ? 'timeout' : err.message})`);
    } finally {
      clearTimeout(timer);
    }
    noteServerDate(res.headers.get('Date'));
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = text; }
    }
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      if (data && typeof data === 'object') {
        const fields = Array.isArray(data.errors)
          ? data.errors.map((e) => `${e.field}: ${e.reason}`).join('; ') : '';
        message = data.detail || data.title || message;
        if (typeof message !== 'string') message = JSON.stringify(message);
        if (fields) message += ` (${fields})`;
      }
      throw new ApiError(res.status, message, typeof data === 'object' ? data : null);
    }
    this.lastOkMs = Date.now();
    return data;
  }

  get(path, opts) { return this.request('GET', path, undefined, opts); }
  post(path, body = {}, opts) { return this.request('POST', path, body, opts); }
}

/** Text for a panel when a call failed (in the current language; the server's detail as sent). */
export function failureText(err, what) {
  if (err instanceof ApiError) {
    if (err.unavailable) return t('%(what)s: unavailable on this server', {what});
    if (err.network) return t('%(what)s: server unreachable', {what});
    if (err.status === 401 || err.status === 403) return t('%(what)s: not permitted for this key', {what});
    return `${what}: ${err.message}`;
  }
  return `${what}: ${err && err.message ? err.message : err}`;
}
