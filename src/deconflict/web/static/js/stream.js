// Live event stream (Server-Sent Events on /v1/stream). EventSource cannot send headers, so the key
// travels as ?access_token=; the browser resends Last-Event-ID on reconnect, so the broker replays
// what was missed. If the browser gives up (readyState CLOSED, e.g. after an HTTP error), we reopen
// with backoff and pass the last id explicitly.

// Event kinds the broker sends (deconflict/broker/events.py; `*Event` in /openapi.json). Each frame
// is `id: N`, `event: <kind>`, `data: <the kind's JSON payload>`; `revoked` ends the stream.
export const KINDS = ['alert', 'picture', 'conflict', 'message', 'channel', 'notice', 'key'];

export class LiveStream {
  constructor(key, {onEvent, onStatus, path = '/v1/stream'}) {
    this.key = key;
    this.path = path;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.lastId = null;
    this.everOpened = false;
    this.downSinceMs = Date.now();
    this.events = 0;
    this.backoffMs = 1000;
    this.open();
  }

  open() {
    const params = new URLSearchParams({access_token: this.key});
    if (this.lastId) params.set('last_event_id', this.lastId);
    const es = new EventSource(`${this.path}?${params}`);
    this.es = es;
    es.onopen = () => {
      this.everOpened = true;
      this.downSinceMs = null;
      this.backoffMs = 1000;
      this.onStatus();
    };
    es.onerror = () => {
      if (this.downSinceMs === null) this.downSinceMs = Date.now();
      this.onStatus();
      if (es.readyState === EventSource.CLOSED) {
        setTimeout(() => { if (this.es === es) this.open(); }, this.backoffMs);
        this.backoffMs = Math.min(15000, this.backoffMs * 2);
      }
    };
    const handle = (kind) => (ev) => {
      if (ev.lastEventId) this.lastId = ev.lastEventId;
      this.events += 1;
      this.onEvent(kind, JSON.parse(ev.data));
    };
    for (const kind of KINDS) es.addEventListener(kind, handle(kind));
    es.addEventListener('revoked', () => { es.close(); this.revoked = true; this.onStatus(); });
  }

  isOpen() {
    return this.es && this.es.readyState === EventSource.OPEN;
  }

  downForMs() {
    return this.downSinceMs === null ? 0 : Date.now() - this.downSinceMs;
  }
}
