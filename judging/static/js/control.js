// Host and chief-judge control: put entries on stage, attendance, the server-authoritative timer, panel
// progress (who submitted, tablets), outlier warnings and release. State comes from /api/venue/<id>/control,
// re-read (debounced, one read at a time: feed.js liveRefresh) whenever the console feed (/ws/venue/<id>/console:
// the venue feed plus the panel's tablets coming and going) reports an event the page has not seen and cannot
// apply itself, and every 60 s as a safety net or while the feed is down. The state carries the event log's head
// it reflects (seq): the events of the host's own action, answered with the new state, start no read; sheets,
// status changes after the stage, released results and tablets' presence (the server announces a tablet that
// went silent) are applied here (applyLocally). The countdown ticks locally from the feed's timer and the server's
// clock.
import {liveRefresh, statusText, timeoutSignal} from "./feed.js";
import {apply, clock, esc, remainingMs, t} from "./screen.js";

const root = document.querySelector("[data-control]");
const venueId = root.dataset.venue;
const canRelease = root.dataset.canRelease === "true";
let focus = null;
let control = null;
let controlSeq = 0;  // the event log's head when the shown state was read (ControlState.seq)
let controlOffset = 0;  // server clock - local clock, from the last read (the countdown while the feed is down)
const STATUS = {scheduled: "Scheduled", presenting: "Presenting", scoring: "Scoring", unofficial: "All sheets in",
  released: "Released", official: "Official", absent: "Absent", withdrawn: "Withdrawn"};

function showError(message) {
  const el = root.querySelector("[data-error]");
  el.hidden = !message;
  el.textContent = message || "";
  if (message) showNotice("");
}

function showNotice(message) {
  const el = root.querySelector("[data-notice]");
  el.hidden = !message;
  el.textContent = message || "";
}

// The server's error codes in the page's language (its messages are English, for the API and the logs). A code
// not listed here shows the server's message after a translated lead.
const ERRORS = {
  no_next_entry: "Every entry of this venue has presented (or is absent or withdrawn).",
  bad_status: "This entry's status ({status}) does not allow this. The page shows the current state.",
  reason_required: "Give a reason: it is kept in the audit log.",
  forbidden: "This login may not do this. Scan your own QR code again, or ask the staff.",
  not_chief: "Only the chief judge of this venue (or staff) may do this.",
  not_authenticated: "Your login has ended: scan your QR code again.",
  not_found: "Not found: it was removed or belongs to another venue. The page shows the current state.",
  sheet_not_found: "Not found: it was removed or belongs to another venue. The page shows the current state.",
  no_scores: "There is no valid score for this entry yet.",
  sheets_missing: "Not every judge has submitted: {names}. Wait, or release anyway with a reason.",
  sheet_not_locked: "This sheet is not locked: the judge can already correct it on the tablet.",
  busy: "The server is busy and changed nothing. Try again in a moment.",
  rate_limited: "Too many requests: wait a moment and try again.",
  internal_error: "Something went wrong on the server (it has been logged) and nothing was changed. Try again.",
};

function errorText(status, error) {
  const err = error || {};
  const detail = err.detail || {};
  const msg = ERRORS[err.code];
  if (!msg) return `${t("The action was not completed:")} ${err.message || `HTTP ${status}`}`;
  const names = (detail.missing || []).map((id) => {
    const judge = control && control.panel.find((j) => j.person_id === id);
    return judge ? judge.name : String(id);
  });
  return t(msg).replace("{status}", t(STATUS[detail.status] || detail.status || "")).replace("{names}", names.join("、"));
}

async function request(method, path, body, signal) {
  const r = await fetch(path, {method, headers: {"Content-Type": "application/json", Accept: "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin", signal});
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(errorText(r.status, data.error));
  return data;
}

// An action: its error stays on the page until the next action (background reads report in the status line).
async function call(method, path, body) {
  try {
    const data = await request(method, path, body);
    showError("");
    return data;
  } catch (err) {
    showError(err.message);
    return null;
  }
}

function show(data) {
  if (control && data.seq < controlSeq) return;  // an answer older than what is shown (two reads crossed)
  control = data;
  controlSeq = data.seq;
  controlOffset = data.server_ms - Date.now();
  render();
}

async function load() {
  show(await request("GET", `/api/venue/${venueId}/control${focus ? `?entry_id=${focus}` : ""}`, undefined,
                     timeoutSignal(15000)));
}

// Events that change only what the page can work out itself are applied here instead of re-reading the whole
// console (with a panel of nine, each console re-read after every sheet):
// - a judge's first on-site sheet for an entry (version 1) adds a submitter: count it and tick the judge;
// - a corrected sheet (version > 1) changes no count;
// - the end of a presentation (presenting -> scoring) and "all sheets in" (scoring -> unofficial) change the
//   entry's status only: the focus (the first entry scoring or unofficial, else the one on stage) stays;
// - a released (or corrected) result sets the entry's score and status, and the ranks are worked out again;
// - a tablet's presence (online, offline or gone silent, its queued sheets) changes its judge's line;
// - an entry put on stage (presenting, then venue.current) moves the focus to it when nothing is being scored: its
//   panel is the venue's panel with that entry's recusals (from the state) and no sheet yet.
// - a judge's help call (help.called) adds a line to "Judges asking for help"; once handled here or elsewhere
//   (help.resolved) the line goes.
// The chief judge's outlier warnings may thus be a few sheets old: they are re-read before a release is
// confirmed, and every 60 s.
function applyLocally(ev) {
  if (!control) return false;
  if (ev.kind === "presence") return presence(ev);
  if (ev.kind === "venue.current") return staged(ev.entry_id);
  if (ev.kind === "help.called") return helpCalled(ev);
  if (ev.kind === "help.resolved") return helpResolved(ev.help_call_id);
  if (ev.kind === "sheet.reopened" || ev.kind === "sheets.locked") return true;  // locks are not on this page
  const entry = control.entries.find((e) => e.id === ev.entry_id);
  if (!entry) return false;
  if (ev.kind === "entry.status" && ev.status === "presenting" && ["scheduled", "absent"].includes(entry.status)) {
    entry.status = "presenting";  // venue.current follows in the same transaction and moves the focus
  } else if (ev.kind === "sheet.submitted" && ev.stage === "onsite") {
    if (ev.version === 1) {
      entry.submitted += 1;
      if (entry.id === control.focus_entry_id) {
        const judge = control.panel.find((j) => j.person_id === ev.person_id);
        if (judge) judge.submitted = true;
        if (control.preview) control.preview.missing = control.preview.missing.filter((id) => id !== ev.person_id);
      }
    }
  } else if (ev.kind === "entry.status" && ev.status === "scoring" && entry.status === "presenting") {
    entry.status = "scoring";  // the focus stays: this entry, or an earlier one still scoring
  } else if (ev.kind === "entry.status" && ev.status === "unofficial" && entry.status === "scoring") {
    entry.status = "unofficial";
  } else if (ev.kind === "entry.status" && ev.status === "released"
             && ["presenting", "scoring", "unofficial"].includes(entry.status)) {
    entry.status = "released";
  } else if (ev.kind === "result.released" || ev.kind === "result.corrected") {
    entry.display = ev.display;
    if (!["released", "official"].includes(entry.status) || ev.kind === "result.corrected") entry.status = "released";
    rerank();
  } else {
    return false;
  }
  render();
  return true;
}

// A tablet's presence: its judge's devices, "online" if any is (as the server's PanelStatus). A judge not on the
// panel shown changes nothing here (a read on a change of focus brings the panel's tablets).
function presence(ev) {
  const judge = control.panel.find((j) => j.person_id === ev.person_id);
  if (!judge) return "seen";
  const devices = (judge.devices || []).filter((d) => d.device_id !== ev.device_id);
  devices.push({device_id: ev.device_id, online: ev.online, queued: ev.queued, seconds_since_seen: 0,
                app_version: ev.app_version});
  judge.devices = devices;
  judge.online = devices.some((d) => d.online);
  judge.queued = devices.reduce((n, d) => n + d.queued, 0);
  render();
  return true;
}

// A judge's help call: shown until someone marks it handled (the feed sends it to this venue's console only).
function helpCalled(ev) {
  if (!control.help.some((h) => h.id === ev.help_call_id)) {
    control.help.push({id: ev.help_call_id, account_id: ev.account_id, name: ev.name, message: ev.message,
                       created_at: new Date().toISOString()});
  }
  render();
  return true;
}

function helpResolved(id) {
  control.help = control.help.filter((h) => h.id !== id);
  render();
  return true;
}

// The focus as the server picks it (venue.py control_state): the entry chosen with "Progress", else the first
// entry scoring or unofficial, else the one on stage.
function focusOf() {
  if (focus) return focus;
  const pending = control.entries.find((e) => ["scoring", "unofficial"].includes(e.status));
  return pending ? pending.id : control.current_entry_id;
}

// venue.current: the stage changed. If the focus moves, the new one's panel is built here from the panel shown
// when the entry has no sheet yet (put on stage for the first time); otherwise (no entry, one with sheets, or no
// panel shown yet: the venue's first entry) the state is re-read.
function staged(entryId) {
  control.current_entry_id = entryId;
  const next = focusOf();
  if (next !== control.focus_entry_id) {
    const entry = control.entries.find((e) => e.id === next);
    // no panel shown yet (nothing had the focus: its members are not in the state), or sheets to show: read
    if (!entry || entry.submitted || entry.status !== "presenting" || !control.panel.length) return false;
    const recused = entry.recused || [];
    control.focus_entry_id = entry.id;
    control.panel = control.panel.map((j) => ({...j, recused: recused.includes(j.person_id), submitted: false}));
    const seated = control.panel.filter((j) => !j.recused).map((j) => j.person_id);
    for (const e of control.entries) e.expected = e === entry ? seated.length : 0;
    control.preview = control.can_release
      ? {entry_id: entry.id, missing: seated, recused: recused.slice(), outliers: []} : null;
  }
  render();
  return true;
}

// The venue's ranks as the server computes them (live/projection.py competition_ranks): released and official
// entries by displayed score, highest first; equal displayed scores share a rank (1, 2, 2, 4).
function rerank() {
  const shown = control.entries.filter((e) => e.display != null && ["released", "official"].includes(e.status))
    .sort((a, b) => parseFloat(b.display) - parseFloat(a.display) || a.id - b.id);
  for (const e of control.entries) e.rank = null;
  shown.forEach((e, i) => { e.rank = i && shown[i - 1].display === e.display ? shown[i - 1].rank : i + 1; });
}

// No re-read for an event the shown state already reflects (the action's own answer, or a read that came
// back after the event committed), for the timer (the feed's state has it), nor for one applied here.
function applied(ev, seq) {
  if (control && seq <= controlSeq) return "seen";
  if (ev.kind === "timer") return "seen";  // the countdown runs from the feed's own state (screen.js apply)
  return applyLocally(ev);
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
  // A released result locked its sheets: the chief judge reopens one so the judge can correct it on the tablet.
  const reopenable = canRelease && fe && ["released", "official"].includes(fe.status);
  root.querySelector("[data-panel]").innerHTML = c.panel.map((j) => {
    const tablet = j.online === null ? t("no tablet yet") : j.online ? t("tablet online") : t("tablet OFFLINE");
    return `<li class="${j.submitted ? "done" : ""} ${j.online === false ? "offline" : ""}">` +
      `<span class="mark">${j.recused ? "—" : j.submitted ? "✓" : "…"}</span> ${esc(j.name)}` +
      `${j.is_chief ? ` <span class="badge chief">${esc(t("Chief judge"))}</span>` : ""}` +
      `${j.recused ? ` <span class="badge">${esc(t("Recused"))}</span>` : ""}` +
      ` <span class="muted">${esc(tablet)}${j.queued ? ` · ${esc(t("{n} queued").replace("{n}", j.queued))}` : ""}</span>` +
      (reopenable && j.submitted && !j.recused
        ? ` <button type="button" data-act="reopen" data-id="${j.person_id}">${esc(t("Reopen sheet"))}</button>` : "") +
      `</li>`;
  }).join("");
  const help = c.help || [];
  root.querySelector("[data-help-card]").hidden = !help.length;
  root.querySelector("[data-help]").innerHTML = help.map((h) =>
    `<li data-help-call="${h.id}"><b>${esc(h.name)}</b> <span class="muted">${esc(h.message)}` +
    ` · ${esc(new Date(h.created_at).toLocaleTimeString(window.PODIUM_LOCALE === "en" ? "en-GB" : "zh-CN", {hour: "2-digit", minute: "2-digit", hour12: false}))}</span>` +
    `<button type="button" data-act="help-done" data-id="${h.id}">${esc(t("Handled"))}</button></li>`).join("");
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
    // the timer's event on the feed updates the countdown (feed state): nothing to re-read
    if (await call("POST", `/api/venue/${venueId}/timer`, {action: btn.dataset.timer})) return;
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
  } else if (btn.dataset.act === "help-done") {
    // the help.resolved event on the feed removes the line on every console and staff monitor; this one at once
    if (await call("POST", `/api/venue/${venueId}/help/${id}/resolve`)) { helpResolved(Number(id)); return; }
  } else if (btn.dataset.act === "reopen") {
    await reopen(Number(id));
    return;
  } else if (btn.dataset.act === "focus") {
    focus = Number(id);
  } else if (btn.dataset.act === "release" || btn.dataset.act === "correct") {
    const correcting = btn.dataset.act === "correct";
    // Decide on this entry's panel as it is now: the count and the warnings on the page may be a few sheets old.
    const fresh = await call("GET", `/api/venue/${venueId}/control?entry_id=${id}`);
    if (!fresh) return;
    show(fresh);
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));  // painted before the dialog
    const entry = control.entries.find((e) => String(e.id) === id);
    const incomplete = entry && entry.status !== "unofficial" && !correcting;
    let reason = "";
    if (correcting || incomplete) {
      reason = prompt(t(correcting ? "Reason for the correction" : "Not every sheet is in. Reason for releasing anyway"));
      if (!reason) return;
    } else if (!confirm(t("Release this result to the screens?"))) {
      return;
    }
    // the release's events on the feed update the page
    if (await call("POST", `/api/venue/${venueId}/entries/${id}/release`, {reason, force: Boolean(incomplete)})) return;
  }
  if (data) show(data);
  else live.refresh();
});

// Reopen one judge's locked sheet of the entry in focus (the chief judge's progress gives its id and lock). The
// judge then corrects it on the tablet, and "Correct result" releases the corrected result.
async function reopen(personId) {
  const entryId = control.focus_entry_id;
  const judge = control.panel.find((j) => j.person_id === personId);
  const reason = prompt(t("Reason for reopening {name}'s sheet (kept in the audit log)").replace("{name}", judge ? judge.name : ""));
  if (reason === null) return;
  if (reason.trim().length < 2) {
    showError(t("Give a reason of at least two characters: it is kept in the audit log."));
    return;
  }
  const progress = await call("GET", `/api/chief/venues/${venueId}/progress`);
  if (!progress) return;
  const entry = progress.entries.find((e) => e.entry_id === entryId);
  const sheet = entry && entry.sheets.find((s) => s.person_id === personId);
  if (!sheet || !sheet.sheet_id) {
    showError(t("This judge has no sheet for this entry."));
    return;
  }
  if (!sheet.locked) {
    showNotice(t(ERRORS.sheet_not_locked));
    return;
  }
  if (await call("POST", `/api/chief/sheets/${sheet.sheet_id}/reopen`, {reason: reason.trim()})) {
    showNotice(t("Reopened: {name} can correct the sheet on the tablet. Then use “Correct result” to release the corrected result.")
      .replace("{name}", judge ? judge.name : ""));
  }
}

// Every change arrives on the console feed, a tablet going silent included (the server announces it within 5 s of
// the 60 s threshold): the 60 s read is only a safety net.
const live = liveRefresh(`/ws/venue/${venueId}/console`, load, {
  fallbackMs: 60000,
  apply,
  applied,
  onStatus: (s) => {
    const mark = root.querySelector("[data-conn]");
    mark.dataset.conn = s.conn;
    mark.textContent = statusText(s);
  },
});
const feed = live.feed;
window.__podiumFeed = feed;

setInterval(() => {
  const el = root.querySelector("[data-countdown]");
  const timer = feed.state ? feed.state.timer : control && control.timer;
  if (!timer) return;
  const ms = remainingMs(timer, feed.state ? feed.serverNow() : Date.now() + controlOffset);
  el.querySelector(".digits").textContent = clock(ms);
  el.querySelector(".hint").textContent = timer.running ? t("Remaining") : t("Timer paused");
  el.className = `ctl-countdown ${ms < 0 ? "over" : ms <= 60000 ? "danger" : ms <= 180000 ? "warn" : ""}`;
}, 200);
