// Live feed client, shared by the big screens (screen.js, leaderboard.js), the tablet and the staff-facing pages.
//
// The protocol is in live/protocol.py and docs/live.md: hello, then a snapshot or the missed events, then
// "synced", then live events; the client resumes from its last seq after a disconnect and pings every
// heartbeat_s. `Feed` keeps the snapshot and applies each event with the `apply` it is given (screen.js passes
// the venue/leaderboard projection; without one the state is only the last snapshot).
//
// `liveRefresh` is for pages that render from a JSON endpoint (staff monitoring, venue control): every feed
// message schedules one debounced re-read of the endpoint, so the page follows the feed within a fraction of a
// second while the endpoint stays the single source of what is shown. A slow poll covers what the feed does
// not carry (tablets going silent) and a socket that is down.

const I18N = window.PODIUM_I18N || {};
export const t = (s) => I18N[s] || s;
export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

/** An abort signal for a read that must not hang (and block the next one) forever; none on old browsers. */
export const timeoutSignal = (ms) => (typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(ms) : undefined);

// Closed with one of these, the link itself is wrong (not logged in, not allowed, no such venue): do not retry.
export const FATAL = new Set([4400, 4401, 4403, 4404]);

export class Feed {
  constructor(path, {onState, onStatus, apply} = {}) {
    this.path = path;
    this.onState = onState || (() => {});
    this.onStatus = onStatus || (() => {});
    this.apply = apply || (() => {});
    this.state = null;
    this.last = 0;
    this.offset = 0;          // server clock - local clock, ms
    this.bestRtt = Infinity;
    this.attempt = 0;
    this.connectedAt = 0;
    this.heartbeatMs = 20000;
    this.lastPing = 0;
    this.stopped = false;
    this.decoder = new TextDecoder();
    this.connect();
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${this.path}?since=${this.last}`;
  }

  connect() {
    const ws = this.ws = new WebSocket(this.url());
    ws.binaryType = "arraybuffer";
    ws.onopen = () => { this.connectedAt = Date.now(); };
    ws.onmessage = (ev) => this.receive(typeof ev.data === "string" ? ev.data : this.decoder.decode(ev.data));
    ws.onclose = (ev) => this.closed(ev);
  }

  send(obj) { if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(obj)); }

  ping() { this.lastPing = Date.now(); this.send({type: "ping", t: this.lastPing}); }

  receive(text) {
    const msg = JSON.parse(text);
    switch (msg.type) {
      case "hello":
        clearInterval(this.pinger);
        this.heartbeatMs = msg.heartbeat_s * 1000;
        // One ping per server interval: the server closes a client silent for three of them, and every ping costs
        // the server a pong (5,000 phones on a board at one every 10 s were 500 pongs a second).
        this.pinger = setInterval(() => this.ping(), Math.max(1000, this.heartbeatMs));
        for (let i = 0; i < 3; i++) setTimeout(() => this.ping(), i * 150);
        if (this.offset === 0) this.offset = msg.server_ms - Date.now();
        break;
      case "snapshot":
        this.state = msg.state;
        this.last = msg.seq;
        this.onState(this.state);
        break;
      case "event":
        if (msg.seq <= this.last || !this.state) break;
        if (msg.prev > this.last) { this.ws.close(); break; }  // a gap: reconnect, the server refills it
        this.apply(this.state, msg.data, msg.seq);
        this.last = msg.seq;
        this.onState(this.state, msg.data, msg.seq);
        break;
      case "synced":
        this.last = Math.max(this.last, msg.seq);
        this.attempt = 0;
        this.onStatus("live");
        if (this.state) this.onState(this.state);
        break;
      case "ping":
        // The server closes a client silent for three of its intervals. Our own pinger normally keeps it
        // alive, but a hidden tab's timers may be throttled to one a minute: then answer the server's ping
        // (message events are not throttled).
        if (Date.now() - this.lastPing > this.heartbeatMs * 0.75) this.ping();
        break;
      case "pong": {
        const now = Date.now(), rtt = now - msg.t;
        if (rtt <= this.bestRtt * 1.5 || rtt < 50) {
          this.bestRtt = Math.min(this.bestRtt, rtt);
          this.offset = msg.server_ms - (msg.t + now) / 2;
        }
        break;
      }
      default: break;
    }
  }

  closed(ev) {
    clearInterval(this.pinger);
    if (this.stopped) return;
    if (FATAL.has(ev.code)) { this.onStatus("refused", ev.reason || String(ev.code)); return; }
    this.onStatus("reconnecting");
    if (Date.now() - this.connectedAt > 30000) this.attempt = 0;
    const delay = Math.random() * Math.min(10000, 500 * 2 ** this.attempt++);
    setTimeout(() => this.connect(), delay);
  }

  serverNow() { return Date.now() + this.offset; }
}

// ------------------------------------------------------------------------------------------ feed-driven refresh
/**
 * Re-read a page's JSON whenever its feed reports something.
 *
 * `load()` fetches and renders; it rejects (or throws) when the read failed. Reads are coalesced: the first
 * feed message starts a `debounceMs` timer, messages until it fires are folded into the same read, at most one
 * read is in flight (a message arriving meanwhile schedules exactly one more), and `fallbackMs` polls regardless.
 * `applied(event, seq)` may return true for an event the page applied to its own state, or "seen" for one its
 * last read already reflected: such an event starts no read.
 * `onStatus({conn, detail, updatedAt, error})` is called whenever the connection state or a read's outcome
 * changes; `conn` is "connecting", "live", "reconnecting" or "refused".
 */
export function liveRefresh(path, load, {debounceMs = 250, fallbackMs = 30000, apply, onState, onStatus, applied} = {}) {
  const status = {conn: "connecting", detail: "", updatedAt: null, error: ""};
  const report = () => { if (onStatus) onStatus({...status}); };
  let timer = null, inflight = false, again = false;

  const run = async () => {
    timer = null;
    if (inflight) { again = true; return; }
    inflight = true;
    try {
      await load();
      status.updatedAt = new Date();
      status.error = "";
    } catch (err) {
      status.error = (err && err.message) || String(err);
    } finally {
      inflight = false;
    }
    report();
    if (again) { again = false; schedule(); }
  };
  const schedule = (delay = debounceMs) => { if (timer === null) timer = setTimeout(run, delay); };

  const feed = new Feed(path, {
    apply,
    onState: (state, event, seq) => {
      if (onState) onState(state, event);
      const done = event && applied ? applied(event, seq) : false;
      // Applied by the page itself: a read in flight may have been answered before the event's change
      // committed, so one more read follows it then. "seen": what the page shows already includes it.
      if (done) { if (inflight && done !== "seen") again = true; return; }
      schedule();
    },
    onStatus: (conn, detail) => { status.conn = conn; status.detail = detail || ""; report(); },
  });
  setInterval(() => schedule(0), fallbackMs);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") schedule(0); });
  schedule(0);
  return {feed, status, refresh: (delay = 0) => schedule(delay)};
}

/** The status line text: "Updated 10:42:07", or "Connection problem; retrying (…)" while the feed or a read
 * is failing (with the time of the last good read, if any). */
export function statusText({conn, detail, updatedAt, error}) {
  const updated = updatedAt ? `${t("Updated")} ${updatedAt.toLocaleTimeString(window.PODIUM_LOCALE === "en" ? "en-GB" : "zh-CN", { hour12: false })}` : "";
  const trouble = error || (conn === "reconnecting" || conn === "refused" ? detail || "" : null);
  if (trouble === null) return updated;
  const problem = `${t("Connection problem; retrying")}${trouble ? ` (${trouble})` : ""}`;
  return updated ? `${problem} · ${updated}` : problem;
}
