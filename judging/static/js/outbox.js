// The tablet's outbox: sheets waiting for the server, kept in localStorage so they survive a reload, a closed
// tab or a flat battery. Each submission has a client id made once (128 random bits); resending it is safe
// because the server answers a replay with the original receipt. Works in insecure contexts (plain http on
// a venue LAN): no crypto.randomUUID, no service worker.

const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
const TIMER_MS = 15000;

/** 128 random bits from crypto.getRandomValues, as 32 hex digits (randomUUID is secure-context only). */
export function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function load(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback;
  }
}

export class Outbox {
  /**
   * @param {string} key localStorage key (one outbox per account)
   * @param {{url: string, onAck: Function, onChange: Function, onNetwork: Function, onRefuse: Function}} opts
   */
  constructor(key, opts) {
    this.key = key;
    this.url = opts.url;
    this.onAck = opts.onAck;
    this.onChange = opts.onChange;
    this.onNetwork = opts.onNetwork;
    this.onRefuse = opts.onRefuse;
    this.items = load(key, []);
    this.attempt = 0;
    this.timer = null;
    this.flushing = false;
    this.again = false;
    this.authLost = false;
    window.addEventListener("online", () => this.flushSoon(0));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.flushSoon(0);
    });
    // Storage written by another tab of the same account (one tablet, two tabs): re-read it.
    window.addEventListener("storage", (ev) => {
      if (ev.key === this.key) {
        this.items = load(this.key, []);
        this.onChange();
      }
    });
    setInterval(() => this.flushSoon(0), TIMER_MS);
  }

  save() {
    localStorage.setItem(this.key, JSON.stringify(this.items));
    this.onChange();
  }

  /** Items not yet acknowledged and not refused. */
  pending() {
    return this.items.filter((i) => i.status !== "error");
  }

  forKey(key) {
    return this.items.filter((i) => i.key === key);
  }

  /** Queue a submission. A correction made while an earlier one for the same sheet is still queued is chained:
   * its base version becomes the version the server gives the earlier one. */
  add(key, body) {
    const chained = this.items.some((i) => i.key === key && i.status !== "error");
    const item = { key, cid: body.client_submission_id, body, chained, status: "queued", queuedAt: Date.now() };
    this.items.push(item);
    this.save();
    this.flushSoon(0);
    return item;
  }

  remove(cid) {
    this.items = this.items.filter((i) => i.cid !== cid);
    this.save();
  }

  flushSoon(delay) {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delay);
  }

  backoff(retryAfterSeconds) {
    this.attempt += 1;
    // Full jitter: a whole venue's tablets reconnecting at once do not retry in lockstep.
    const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    let delay = Math.random() * cap;
    if (retryAfterSeconds) delay = Math.max(delay, retryAfterSeconds * 1000);
    this.flushSoon(delay);
  }

  async flush() {
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = true;
    try {
      this.items = load(this.key, this.items);
      const blocked = new Set();
      for (const item of [...this.items]) {
        if (item.status === "error") {
          blocked.add(item.key);
          continue;
        }
        if (blocked.has(item.key)) continue;
        blocked.add(item.key); // later items of the same sheet wait for this one
        const outcome = await this.send(item);
        if (outcome === "retry") return;
        if (outcome === "sent") blocked.delete(item.key);
      }
      this.attempt = 0;
    } finally {
      this.flushing = false;
      if (this.again) {
        this.again = false;
        this.flushSoon(0);
      }
    }
  }

  async send(item) {
    let res;
    try {
      res = await fetch(this.url, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": item.cid },
        body: JSON.stringify(item.body),
      });
    } catch {
      this.onNetwork(false);
      this.backoff();
      return "retry";
    }
    this.onNetwork(true);
    if (res.ok) {
      const receipt = await res.json();
      this.authLost = false;
      this.items = this.items.filter((i) => i.cid !== item.cid);
      for (const next of this.items) {
        if (next.key === item.key && next.chained && next.status !== "error") {
          next.body.base_version = receipt.version;
          next.chained = false;
          break;
        }
      }
      this.save();
      this.onAck(item, receipt);
      return "sent";
    }
    if (res.status === 401) {
      // The login ended (link revoked or replaced): keep the sheet queued until the judge logs in again.
      this.authLost = true;
      this.onChange();
      this.backoff(30);
      return "retry";
    }
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      this.backoff(Number(res.headers.get("Retry-After")) || 0);
      return "retry";
    }
    let error = { code: `http_${res.status}`, message: "" };
    try {
      error = (await res.json()).error || error;
    } catch {
      /* not JSON: keep the status code */
    }
    item.status = "error";
    item.error = error;
    item.httpStatus = res.status;
    this.save();
    this.onRefuse(item);
    return "refused";
  }
}
