// Feed projection (shared by the venue screen, the leaderboard, the tablet and the control page) and the venue
// screen. The feed client itself is in feed.js.
//
// The protocol is in live/protocol.py and docs/live.md. The screen keeps a model (the snapshot, then every event
// applied to it, exactly as live/projection.py does) and renders the model — never a delta alone. While the
// connection is down it keeps showing the last good state with a small "reconnecting" mark, then resumes from
// its last seq (the server replays what was missed, or sends a fresh snapshot).

import {Feed as BaseFeed, esc, t} from "./feed.js";

export {esc, t};

const RELEASED = new Set(["released", "official"]);

// ------------------------------------------------------------------------------------------ projection
export function ranksOf(results, among) {
  const ids = (among || Object.keys(results)).map(String).filter((i) => results[i]);
  ids.sort((a, b) => Number(results[b].display) - Number(results[a].display) || Number(a) - Number(b));
  const ranks = {};
  ids.forEach((id, pos) => {
    const prev = ids[pos - 1];
    ranks[id] = prev !== undefined && results[prev].display === results[id].display ? ranks[prev] : pos + 1;
  });
  return ranks;
}

function resultOf(d, seq) {
  return {entry_id: d.entry_id, score: d.score, display: d.display, judges: d.judges, n_valid: d.n_valid,
          trimmed: d.trimmed, version: d.version, corrected: d.kind === "result.corrected", reason: d.reason, seq};
}

function applyEntries(state, d, seq) {
  const entries = state.entries, results = state.results;
  if (d.kind === "entry.status") {
    const e = entries[d.entry_id];
    if (!e) return false;
    e.status = d.status;
    if (!RELEASED.has(d.status) && results[d.entry_id]) { delete results[d.entry_id]; return true; }
    return false;
  }
  if (d.kind === "result.released" || d.kind === "result.corrected") {
    const e = entries[d.entry_id];
    if (!e) return false;
    // A correction after approval is no longer the approved result: released again until a new list is approved.
    if (e.status !== "official" || d.kind === "result.corrected") e.status = "released";
    results[d.entry_id] = resultOf(d, seq);
    return true;
  }
  if (d.kind === "grades.finalized") {
    const targets = d.entry_ids && d.entry_ids.length ? d.entry_ids : Object.keys(entries);
    for (const id of targets) { const e = entries[id]; if (e && e.status === "released") e.status = "official"; }
  }
  return false;
}

export function boardRanks(board) {
  const ranks = {};
  for (const tt of board.topic_types) {
    Object.assign(ranks, ranksOf(board.results, Object.values(board.entries).filter((e) => e.topic_type === tt.key).map((e) => e.id)));
  }
  return ranks;
}

export function apply(state, d, seq) {
  if (state.type === "venue") {
    if (d.kind === "venue.current") {
      if (d.venue_id === state.venue_id) { state.current_entry_id = d.entry_id; state.current_seq = seq; }
    } else if (d.kind === "timer") {
      if (d.venue_id === state.venue_id) state.timer = {...d};
    } else if (d.kind === "sheet.submitted") {
      if (state.entries[d.entry_id] && state.panel.some((j) => j.person_id === d.person_id)) {
        const done = new Set(state.progress[d.entry_id] || []);
        done.add(d.person_id);
        state.progress[d.entry_id] = [...done].sort((a, b) => a - b);
      }
    } else if (applyEntries(state, d, seq)) {
      state.ranks = ranksOf(state.results);
    }
  } else if (state.type === "leaderboard") {
    // The public feed carries results and the approved grade list only (live.protocol.PUBLIC_KINDS).
    if (applyEntries(state, d, seq)) state.ranks = boardRanks(state);
  }
}

// ------------------------------------------------------------------------------------------ feed client
/** The feed client (feed.js) with this module's projection: `state` follows every event. */
export class Feed extends BaseFeed {
  constructor(path, options = {}) { super(path, {apply, ...options}); }
}

// ------------------------------------------------------------------------------------------ timer
export function remainingMs(timer, serverNow) {
  if (!timer) return 0;
  const elapsed = timer.elapsed_ms + (timer.running && timer.started_at_ms ? serverNow - timer.started_at_ms : 0);
  return timer.duration_ms - elapsed;
}

export function clock(ms) {
  const neg = ms < 0, s = Math.floor(Math.abs(ms) / 1000) + (neg ? 0 : (Math.abs(ms) % 1000 ? 1 : 0));
  const text = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  return neg ? `+${text}` : text;
}

// ------------------------------------------------------------------------------------------ venue screen
function statusMark(root, status, detail) {
  const mark = root.querySelector("[data-conn]");
  mark.dataset.conn = status;
  mark.textContent = status === "live" ? "" : status === "refused" ? `${t("This screen link is not valid")} (${detail})` : t("Reconnecting…");
}

function setHTML(el, html) { if (el.__html !== html) { el.innerHTML = html; el.__html = html; } }

function featured(state) {
  let best = null;
  for (const r of Object.values(state.results)) if (!best || r.seq > best.seq) best = r;
  if (!best) return null;
  if (best.seq > state.current_seq || String(best.entry_id) === String(state.current_entry_id)) return best;
  return null;
}

function resultHTML(state, r) {
  const e = state.entries[r.entry_id];
  const rank = state.ranks[r.entry_id];
  const judges = r.judges.map((j) => {
    const cls = j.recused ? "recused" : j.dropped ? `dropped ${j.dropped}` : "";
    const tag = j.recused ? t("Recused") : j.dropped === "high" ? t("Highest, dropped") : j.dropped === "low" ? t("Lowest, dropped") : "";
    return `<div class="judge ${cls}" data-testid="judge-mark"><div class="jname">${esc(j.name)}</div>` +
      `<div class="jscore">${esc(Number(j.total).toFixed(2))}</div><div class="jtag">${esc(tag)}</div></div>`;
  }).join("");
  return `<div class="label result-label">${esc(r.corrected ? t("Corrected result") : t("Result"))}</div>` +
    `<div class="title small">${esc(e ? e.title : "")}</div>` +
    `<div class="team">${esc(e ? `${e.team} · ${e.organization}` : "")}</div>` +
    `<div class="score-row"><div class="panel-score"><span class="caption">${esc(t("Panel score"))}</span>` +
    `<span class="value" data-testid="panel-score">${esc(r.display)}</span></div>` +
    `<div class="rank"><span class="caption">${esc(t("Rank in this venue"))}</span><span class="value" data-testid="venue-rank">${rank ?? "—"}</span></div></div>` +
    `<div class="judges">${judges}</div>` +
    (r.corrected && r.reason ? `<div class="reason">${esc(t("Correction"))}: ${esc(r.reason)}</div>` : "");
}

function presentingHTML(state, e, compact) {
  const total = Object.keys(state.entries).length;
  const topics = window.PODIUM_TOPICS || {};
  const done = (state.progress[e.id] || []).length;
  const panel = state.panel.length;
  const scoring = ["scoring", "unofficial"].includes(e.status);
  const dots = state.panel.map((j) => `<span class="dot ${(state.progress[e.id] || []).includes(j.person_id) ? "done" : ""}"></span>`).join("");
  if (compact) {
    return `<span class="strip-label">${esc(t("Now presenting"))}</span><span class="strip-title">${esc(e.title)}</span>` +
      `<span class="strip-team">${esc(e.team)}</span>`;
  }
  return `<div class="label">${esc(e.status === "presenting" ? t("Now presenting") : scoring ? t("Judges are scoring") : t("On stage"))}` +
    ` <span class="order">${esc(t("No. {n} of {total}").replace("{n}", e.running_order ?? "").replace("{total}", total))}</span></div>` +
    `<div class="title" data-testid="now-title">${esc(e.title)}</div>` +
    `<div class="team">${esc(e.team)}</div><div class="org">${esc(e.organization)}</div>` +
    `<div class="badges"><span class="topic">${esc(topics[e.topic_type] || e.topic_type)}</span></div>` +
    (scoring ? `<div class="progress"><span class="caption">${esc(t("Sheets received"))} ${done}/${panel}</span>${dots}</div>` : "");
}

function nextUp(state) {
  return Object.values(state.entries).filter((e) => e.status === "scheduled").sort((a, b) => (a.running_order ?? 0) - (b.running_order ?? 0))[0];
}

export function startVenueScreen(root) {
  const venueId = Number(root.dataset.venue);
  const params = new URLSearchParams(location.search);
  const marks = (params.get("marks") || root.dataset.marks || "180,60").split(",").map((x) => Number(x) * 1000);
  const main = root.querySelector("[data-main]");
  const strip = root.querySelector("[data-strip]");
  const countdown = root.querySelector("[data-countdown]");
  let feed;

  const render = (state) => {
    window.__podium = {state, last: feed.last, offset: feed.offset};
    const current = state.current_entry_id != null ? state.entries[state.current_entry_id] : null;
    const result = featured(state);
    root.dataset.mode = result ? "result" : current ? "presenting" : "idle";
    if (result) {
      setHTML(main, resultHTML(state, result));
      setHTML(strip, current && String(current.id) !== String(result.entry_id) ? presentingHTML(state, current, true) : "");
    } else if (current) {
      setHTML(main, presentingHTML(state, current, false));
      setHTML(strip, "");
    } else {
      const next = nextUp(state);
      setHTML(main, `<div class="label">${esc(t("Waiting for the next presentation"))}</div>` +
        (next ? `<div class="title small">${esc(next.title)}</div><div class="team">${esc(next.team)}</div>` : ""));
      setHTML(strip, "");
    }
    tick();
  };

  const tick = () => {
    if (!feed || !feed.state) return;
    const state = feed.state;
    const timer = state.timer;
    const show = state.current_entry_id != null && (timer.running || timer.elapsed_ms > 0 || state.entries[state.current_entry_id]?.status === "presenting");
    countdown.hidden = !show;
    if (!show) return;
    const ms = remainingMs(timer, feed.serverNow());
    countdown.dataset.remainingMs = String(Math.round(ms));
    countdown.dataset.running = String(timer.running);
    const level = ms < 0 ? "over" : ms <= marks[1] ? "danger" : ms <= marks[0] ? "warn" : "ok";
    countdown.className = `countdown ${level}${timer.running ? "" : " paused"}`;
    countdown.querySelector(".digits").textContent = clock(ms);
    countdown.querySelector(".hint").textContent = ms < 0 ? t("Over time") : timer.running ? t("Remaining") : t("Timer paused");
  };

  feed = new Feed(`/ws/venue/${venueId}`, {onState: render, onStatus: (s, d) => statusMark(root, s, d)});
  window.__podiumFeed = feed;
  setInterval(tick, 100);
}

const root = document.querySelector("[data-venue-screen]");
if (root) startVenueScreen(root);
