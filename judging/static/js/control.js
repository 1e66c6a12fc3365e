// Host and chief-judge control: put entries on stage, attendance, the server-authoritative timer, panel
// progress (who submitted, tablets), outlier warnings and release. State comes from /api/venue/<id>/control,
// refreshed whenever the venue feed reports an event (and every few seconds for tablet presence).
import {Feed, clock, esc, remainingMs, t} from "./screen.js";

const root = document.querySelector("[data-control]");
const venueId = root.dataset.venue;
const canRelease = root.dataset.canRelease === "true";
let focus = null;
let control = null;
const STATUS = {scheduled: "Scheduled", presenting: "Presenting", scoring: "Scoring", unofficial: "All sheets in",
  released: "Released", official: "Official", absent: "Absent", withdrawn: "Withdrawn"};

function showError(message) {
  const el = root.querySelector("[data-error]");
  el.hidden = !message;
  el.textContent = message || "";
}

async function call(method, path, body) {
  const r = await fetch(path, {method, headers: {"Content-Type": "application/json", Accept: "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin"});
  const data = await r.json().catch(() => ({}));
  if (!r.ok) { showError((data.error && data.error.message) || `HTTP ${r.status}`); return null; }
  showError("");
  return data;
}

async function refresh() {
  const data = await call("GET", `/api/venue/${venueId}/control${focus ? `?entry_id=${focus}` : ""}`);
  if (data) { control = data; render(); }
}

function actions(e) {
  const b = (act, label, cls = "") => `<button type="button" class="${cls}" data-act="${act}" data-id="${e.id}">${esc(t(label))}</button>`;
  const out = [];
  if (["scheduled", "absent"].includes(e.status)) out.push(b("stage", "On stage", "primary"));
  if (e.status === "presenting") out.push(b("end", "End presentation"));
  if (["scheduled", "presenting"].includes(e.status)) out.push(b("absent", "Absent"));
  if (["scheduled", "presenting", "absent"].includes(e.status)) out.push(b("withdrawn", "Withdraw", "danger"));
  if (["absent", "withdrawn"].includes(e.status)) out.push(b("undo", "Undo"));
  out.push(b("focus", "Progress"));
  if (canRelease && ["presenting", "scoring", "unofficial"].includes(e.status)) out.push(b("release", "Release result", "primary"));
  if (canRelease && ["released", "official"].includes(e.status)) out.push(b("correct", "Correct result"));
  return out.join(" ");
}

function render() {
  const c = control;
  root.querySelector("[data-entries]").innerHTML = c.entries.map((e) =>
    `<tr class="${e.id === c.current_entry_id ? "current" : ""} ${e.id === c.focus_entry_id ? "focus" : ""}" data-entry="${e.id}">` +
    `<td>${e.running_order ?? ""}</td><td><b>${esc(e.title)}</b><br><span class="muted">${esc(e.code)} · ${esc(e.team)}</span></td>` +
    `<td><span class="badge st-${e.status}" data-status>${esc(t(STATUS[e.status] || e.status))}</span></td>` +
    `<td>${e.id === c.focus_entry_id && e.expected ? `${e.submitted}/${e.expected}` : e.submitted || ""}</td>` +
    `<td>${e.display ? `${esc(e.display)} <span class="muted">(${e.rank ?? ""})</span>` : ""}</td><td class="acts">${actions(e)}</td></tr>`).join("");
  const fe = c.entries.find((e) => e.id === c.focus_entry_id);
  root.querySelector("[data-focus-title]").textContent = fe ? `${fe.code} ${fe.title}` : "";
  root.querySelector("[data-panel]").innerHTML = c.panel.map((j) => {
    const tablet = j.online === null ? t("no tablet yet") : j.online ? t("tablet online") : t("tablet OFFLINE");
    return `<li class="${j.submitted ? "done" : ""} ${j.online === false ? "offline" : ""}">` +
      `<span class="mark">${j.recused ? "—" : j.submitted ? "✓" : "…"}</span> ${esc(j.name)}` +
      `${j.is_chief ? ` <span class="badge chief">${esc(t("Chief judge"))}</span>` : ""}` +
      `${j.recused ? ` <span class="badge">${esc(t("Recused"))}</span>` : ""}` +
      ` <span class="muted">${esc(tablet)}${j.queued ? ` · ${esc(t("{n} queued").replace("{n}", j.queued))}` : ""}</span></li>`;
  }).join("");
  const pv = c.preview;
  root.querySelector("[data-preview]").innerHTML = !pv ? "" : pv.outliers.length
    ? `<div class="warnings"><b>${esc(t("Check before releasing"))}</b><ul>${pv.outliers.map((o) =>
        `<li>${esc(o.name)}: ${esc(t(o.deviation > 0 ? "{n} points above the rest of the panel" : "{n} points below the rest of the panel").replace("{n}", Math.abs(o.deviation).toFixed(1)))}</li>`).join("")}</ul></div>`
    : `<p class="muted">${esc(t("No judge is far from the rest of the panel."))}</p>`;
}

root.addEventListener("click", async (ev) => {
  const btn = ev.target.closest("button");
  if (!btn) return;
  const id = btn.dataset.id;
  let data = null;
  if (btn.dataset.timer) {
    await call("POST", `/api/venue/${venueId}/timer`, {action: btn.dataset.timer});
  } else if (btn.hasAttribute("data-next")) {
    data = await call("POST", `/api/venue/${venueId}/stage`, {entry_id: null});
  } else if (btn.dataset.act === "stage") {
    data = await call("POST", `/api/venue/${venueId}/stage`, {entry_id: Number(id)});
  } else if (btn.dataset.act === "end") {
    data = await call("POST", `/api/venue/${venueId}/entries/${id}/end`);
  } else if (["absent", "withdrawn", "undo"].includes(btn.dataset.act)) {
    const status = btn.dataset.act === "undo" ? "scheduled" : btn.dataset.act;
    const reason = status === "withdrawn" ? prompt(t("Reason for the withdrawal")) : "";
    if (reason === null) return;
    data = await call("POST", `/api/venue/${venueId}/entries/${id}/attendance`, {status, reason});
  } else if (btn.dataset.act === "focus") {
    focus = Number(id);
  } else if (btn.dataset.act === "release" || btn.dataset.act === "correct") {
    const correcting = btn.dataset.act === "correct";
    const entry = control.entries.find((e) => String(e.id) === id);
    const incomplete = entry && entry.status !== "unofficial" && !correcting;
    let reason = "";
    if (correcting || incomplete) {
      reason = prompt(t(correcting ? "Reason for the correction" : "Not every sheet is in. Reason for releasing anyway"));
      if (!reason) return;
    } else if (!confirm(t("Release this result to the screens?"))) {
      return;
    }
    await call("POST", `/api/venue/${venueId}/entries/${id}/release`, {reason, force: Boolean(incomplete)});
  }
  if (data) { control = data; render(); } else { await refresh(); }
});

const feed = new Feed(`/ws/venue/${venueId}`, {
  onState: () => { clearTimeout(root.__t); root.__t = setTimeout(refresh, 150); },
  onStatus: (s) => {
    const mark = root.querySelector("[data-conn]");
    mark.dataset.conn = s;
    mark.textContent = s === "live" ? "" : t("Reconnecting…");
  },
});
setInterval(refresh, 5000);
setInterval(() => {
  const el = root.querySelector("[data-countdown]");
  if (!feed.state) return;
  const ms = remainingMs(feed.state.timer, feed.serverNow());
  el.querySelector(".digits").textContent = clock(ms);
  el.querySelector(".hint").textContent = feed.state.timer.running ? t("Remaining") : t("Timer paused");
  el.className = `ctl-countdown ${ms < 0 ? "over" : ms <= 60000 ? "danger" : ms <= 180000 ? "warn" : ""}`;
}, 200);
refresh();
