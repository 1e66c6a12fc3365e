// Monitoring page: every venue at once. The cards render from the JSON snapshot, re-read whenever the staff
// feed (/ws/staff/<contest>) reports a change (stage, timer, sheets, results, tablet presence including a tablet
// gone silent, help calls made and handled), plus a slow poll as a safety net and while the feed is down. Timers
// tick locally between reads. A help call's "Handled" button marks it handled for everyone.
import {esc, liveRefresh, statusText, t as T, timeoutSignal} from "./feed.js";

const root = document.getElementById("monitor");
const line = document.getElementById("mon-updated");

function mmss(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

let readAt = Date.now();  // local time of the last read: a running timer has advanced since

function elapsedOf(timer) {
  return timer.elapsed_ms + (timer.running ? Date.now() - readAt : 0);
}

function timerHTML(timer) {
  return `${mmss(elapsedOf(timer))} <small class="muted">/ ${mmss(timer.limit_ms)}${timer.running ? " ▶" : ""}</small>`;
}

function helpLine(h) {
  return `<p class="alert" data-help-call="${h.id}">🆘 ${esc(h.who)}: ${esc(h.message)} ` +
    `<button type="button" data-help-done="${h.id}">${esc(T("Handled"))}</button></p>`;
}

// Help calls of people on no panel (initial-review experts): only staff see them, here.
function othersCard(help) {
  return help.length ? `<article class="card venue help-others" data-help-others>` +
    `<h2>${esc(T("Help calls from people on no panel"))}</h2>${help.map(helpLine).join("")}</article>` : "";
}

function card(v) {
  const now = v.entry ? `<b>${esc(v.entry.code)}</b> ${esc(v.entry.title)} <span class="muted">${esc(v.entry.team)}</span>`
    : `<span class="muted">${esc(T("Nobody presenting"))}</span>`;
  const over = elapsedOf(v.timer) > v.timer.limit_ms ? " over" : "";
  const judges = v.panel.map((p) => `<li class="${p.submitted ? "done" : ""}${p.recused ? " recused" : ""}">${p.chief ? "★ " : ""}${esc(p.name)}</li>`).join("");
  const offline = v.tablets.filter((t) => !t.online);
  const tablets = offline.length ? `<p class="offline">${esc(T("Offline"))}: ${offline.map((t) => `${esc(t.account)} (${t.queued})`).join("、")}</p>` : "";
  const help = v.help.map(helpLine).join("");
  const alerts = v.alerts.map((a) => `<p class="alert">⚠ ${esc(a.name)} ${a.score} (${esc(T("panel median"))} ${a.median})</p>`).join("");
  return `<article class="card venue" data-venue="${esc(v.code)}"><h2>${esc(v.name)}</h2>
    <p class="now">${now}</p>
    <p class="timer${over}" data-timer="${v.id}">${timerHTML(v.timer)}</p>
    <p>${esc(T("Panel"))}: <b data-progress>${v.submitted}/${v.expected}</b> · ${esc(T("Tablets online"))}: ${v.online}/${v.tablets.length} · ${esc(T("Queued sheets"))}: ${v.queued}</p>
    <ul class="judges">${judges}</ul>${tablets}${help}${alerts}</article>`;
}

let venues = [];

async function load() {
  const res = await fetch(root.dataset.url, {headers: {Accept: "application/json"}, credentials: "same-origin",
                                             signal: timeoutSignal(15000)});
  if (!res.ok) throw new Error(String(res.status));
  const data = await res.json();
  readAt = Date.now();
  venues = data.venues;
  root.innerHTML = othersCard(data.help || []) + venues.map(card).join("");
}

function tick() {
  for (const v of venues) {
    if (!v.timer.running) continue;
    const el = root.querySelector(`[data-timer="${v.id}"]`);
    if (!el) continue;
    el.innerHTML = timerHTML(v.timer);
    el.classList.toggle("over", elapsedOf(v.timer) > v.timer.limit_ms);
  }
}

// "Handled" on a help call: the feed's help.resolved then reaches every monitor and the venue's consoles.
async function resolveHelp(btn) {
  btn.disabled = true;
  try {
    const res = await fetch(`/api/staff/contests/${root.dataset.contest}/help/${btn.dataset.helpDone}/resolve`, {
      method: "POST", headers: {Accept: "application/json"}, credentials: "same-origin", signal: timeoutSignal(15000)});
    if (!res.ok) throw new Error(String(res.status));
    const others = btn.closest("[data-help-others]");
    btn.closest("[data-help-call]").remove();
    if (others && !others.querySelector("[data-help-call]")) others.remove();
  } catch {
    btn.disabled = false;
  }
}

if (root) {
  // a safety net only: a tablet going silent (offline after 60 s) is announced on the feed too
  const live = liveRefresh(`/ws/staff/${root.dataset.contest}`, load, {
    fallbackMs: 60000,
    onStatus: (s) => { line.dataset.conn = s.conn; line.textContent = statusText(s); },
  });
  window.__podiumFeed = live.feed;
  root.addEventListener("click", (ev) => {
    const btn = ev.target.closest("[data-help-done]");
    if (btn) resolveHelp(btn);
  });
  setInterval(tick, 1000);
}
