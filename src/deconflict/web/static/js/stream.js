// Live event stream (Server-Sent Events on /v1/stream). EventSource cannot send headers, so the key
// travels as ?access_token=; the browser resends Last-Event-ID on reconnect, so the broker replays
// what was missed. If the browser gives up (readyState CLOSED, e.g. after an HTTP error), we reopen
// with backoff and pass the last id explicitly.

const KINDS = ['alert', 'picture', 'conflict', 'channel', 'ledger', 'notice', 'heartbeat', 'ping'];

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
      let data = null;
      try { data = ev.data ? JSON.parse(ev.data) : null; } catch { data = ev.data; }
      // Envelopes like {kind, payload} are unwrapped; the event name wins over the envelope's kind.
      const k = kind === 'message' && data && typeof data === 'object' && data.kind ? data.kind : kind;
      const payload = data && typeof data === 'object' && 'payload' in data ? data.payload : data;
      if (k !== 'heartbeat' && k !== 'ping') this.onEvent(k, payload);
    };
    for (const kind of KINDS) es.addEventListener(kind, handle(kind));
    // Unnamed events arrive as "message" (which is also a hotline kind): the envelope decides.
    es.onmessage = handle('message');
  }

  isOpen() {
    return this.es && this.es.readyState === EventSource.OPEN;
  }

  downForMs() {
    return this.downSinceMs === null ? 0 : Date.now() - this.downSinceMs;
  }
}
