// The judge's tablet page: entries and their states, one sheet at a time, confirm, outbox, heartbeat, help.
// Renders from one state object (the server's judge state + the local outbox + local drafts); never patches
// the page from partial messages.
import { Outbox, newClientId } from "./outbox.js";
import { Feed } from "./screen.js";

const APP_VERSION = "tablet-1";
const POLL_MS = 5000;
// With the venue feed live a slow safety poll is enough: everything the tablet shows changes through an event on
// that feed (seq-numbered; a gap makes the server refill it), and a (re)connect re-reads the state anyway.
const POLL_WHILE_LIVE_MS = 120000;
const HEARTBEAT_MS = 20000;
const LOCALE = window.PODIUM_LOCALE || "zh_Hans";
const CATALOG = window.PODIUM_I18N || {};

function t(msg, params = {}) {
  let text = CATALOG[msg] || msg;
  for (const [k, v] of Object.entries(params)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

const $ = (sel, root = document) => root.querySelector(sel);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ------------------------------------------------------------------ exact points (hundredths, no floats)
function toCents(text) {
  const s = String(text ?? "").trim();
  if (!/^\d+(\.\d{0,2})?$/.test(s)) return null;
  const [whole, frac = ""] = s.split(".");
  return Number(whole) * 100 + Number((frac + "00").slice(0, 2));
}

function fromCents(c) {
  const whole = Math.floor(c / 100);
  const frac = c % 100;
  if (!frac) return String(whole);
  return `${whole}.${String(frac).padStart(2, "0").replace(/0$/, "")}`;
}

function checkItem(item, text) {
  if (text === "" || text === undefined || text === null) return { state: "empty" };
  const c = toCents(text);
  const max = toCents(item.max);
  const step = toCents(item.step);
  if (c === null) return { state: "bad", msg: t("Not a number") };
  if (c > max) return { state: "bad", msg: t("At most {max}", { max: item.max }) };
  if (c % step !== 0) return { state: "bad", msg: t("Use steps of {step}", { step: item.step }) };
  return { state: "ok", cents: c };
}

// ------------------------------------------------------------------ state
let state = JSON.parse($("#boot").textContent);
const ACCOUNT = state.account_id;
const KEY = (stage, entryId) => `${stage}:${entryId}`;
const DRAFT_PREFIX = `podium:draft:${ACCOUNT}:`;
const deviceId = (() => {
  let id = localStorage.getItem("podium:device");
  if (!id) {
    id = newClientId().slice(0, 16);
    localStorage.setItem("podium:device", id);
  }
  return id;
})();

let online = navigator.onLine;
let authLost = false;
let openKey = null; // the sheet on screen
const recentAcks = {}; // key -> receipt, until the next state poll includes it

const outbox = new Outbox(`podium:outbox:${ACCOUNT}`, {
  url: "/api/judge/sheets",
  onAck: (item, receipt) => {
    recentAcks[item.key] = { receipt, values: item.body.values, comment: item.body.comment };
    applyReceipt(item.key, receipt, item.body);
    const entry = entryByKey(item.key);
    toast(`${entry ? entry.code : ""} ${t("Submitted")} ${clock(receipt.server_time)}`, "ok");
    render();
  },
  onChange: () => render(),
  onNetwork: (ok) => setOnline(ok),
  onRefuse: (item) => {
    const entry = entryByKey(item.key);
    toast(`${entry ? entry.code : ""} ${refusalText(item)}`, "warn", 9000);
  },
});

function entryByKey(key) {
  return state.entries.find((e) => KEY(e.stage, e.id) === key);
}

function rubricOf(entry) {
  return state.rubrics.find((r) => r.id === entry.rubric_id);
}

function applyReceipt(key, receipt, body) {
  const entry = entryByKey(key);
  if (!entry) return;
  const prev = entry.sheet || { locked: false };
  entry.sheet = {
    ...prev,
    sheet_id: receipt.sheet_id,
    version: Math.max(receipt.version, prev.version || 0),
    values: receipt.version >= (prev.version || 0) ? { ...body.values } : prev.values,
    total: receipt.version >= (prev.version || 0) ? receipt.total : prev.total,
    comment: receipt.version >= (prev.version || 0) ? body.comment : prev.comment,
    submitted_at: receipt.version >= (prev.version || 0) ? receipt.server_time : prev.submitted_at,
    client_submission_id: receipt.client_submission_id,
  };
}

function draftOf(key) {
  try {
    return JSON.parse(localStorage.getItem(DRAFT_PREFIX + key) || "null");
  } catch {
    return null;
  }
}

function saveDraft(key, draft) {
  localStorage.setItem(DRAFT_PREFIX + key, JSON.stringify({ ...draft, savedAt: Date.now() }));
}

function dropDraft(key) {
  localStorage.removeItem(DRAFT_PREFIX + key);
}

/** The state a judge sees for one entry, most important first. */
function statusOf(entry) {
  const key = KEY(entry.stage, entry.id);
  if (entry.conflicted) return { code: "recused", label: t("Recused (回避)") };
  const items = outbox.forKey(key);
  const refused = items.find((i) => i.status === "error");
  if (refused) {
    const stale = refused.error && refused.error.code === "stale_version";
    return { code: "refused", label: stale ? t("Changed elsewhere") : t("Not accepted") };
  }
  if (items.length) return { code: "queued", label: t("Queued") };
  const sheet = entry.sheet;
  if (sheet && sheet.locked) return { code: "locked", label: t("Locked"), time: sheet.submitted_at };
  if (sheet && sheet.version > 0) return { code: "submitted", label: t("Submitted"), time: sheet.submitted_at };
  if (draftOf(key)) return { code: "draft", label: t("Draft") };
  if (entry.status === "absent" || entry.status === "withdrawn") return { code: "absent", label: t("Not presenting") };
  return { code: "todo", label: t("Not scored") };
}

function clock(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString(LOCALE === "en" ? "en-GB" : "zh-CN", { hour12: false });
}

// ------------------------------------------------------------------ rendering: header and list
function setOnline(ok) {
  online = ok && navigator.onLine;
  renderHeader();
}

function renderHeader() {
  const net = $("#net");
  net.dataset.online = online ? "1" : "0";
  $("span", net).textContent = online ? t("Online") : t("Offline");
  const q = outbox.pending().length;
  const qEl = $("#queued");
  qEl.hidden = q === 0;
  $("b", qEl).textContent = String(q);
  $("#auth-lost").hidden = !(authLost || outbox.authLost);
}

function titleOf(entry) {
  return LOCALE === "en" ? entry.topic_type_en : entry.topic_type_zh;
}

function chip(status) {
  return h("span", { class: `tb-chip s-${status.code}` }, status.label,
    status.time ? h("time", { datetime: status.time }, ` ${clock(status.time)}`) : null);
}

function entryRow(entry, nowIds) {
  const key = KEY(entry.stage, entry.id);
  const status = statusOf(entry);
  // On stage and not released yet: after the release the entry stays the venue's current one until the host
  // moves on, but it is no longer being presented.
  const presenting = nowIds.has(entry.id) && entry.stage === "onsite" && !["released", "official"].includes(entry.status);
  const li = h("li", {
    class: ["tb-entry", `s-${status.code}`, presenting ? "presenting" : "", openKey === key ? "open" : ""].join(" "),
    dataset: { entry: entry.id, stage: entry.stage, status: status.code },
    "aria-disabled": entry.conflicted ? "true" : null,
  },
  h("button", { type: "button", class: "tb-entry-btn", disabled: entry.conflicted, onclick: () => openSheet(key) },
    h("span", { class: "tb-order" }, entry.stage === "onsite" ? entry.running_order ?? "" : "·"),
    h("span", { class: "tb-entry-main" },
      h("span", { class: "tb-entry-title" }, entry.title),
      h("span", { class: "tb-entry-sub" }, `${entry.code} · ${entry.team}`)),
    presenting ? h("span", { class: "tb-live" }, t("Presenting")) : null,
    chip(status)));
  return li;
}

function renderList() {
  const nowIds = new Set(state.venues.map((v) => v.current_entry_id).filter(Boolean));
  const onsite = state.entries.filter((e) => e.stage === "onsite");
  const review = state.entries.filter((e) => e.stage === "initial");
  // A judge on two panels (a rotation between venues): each venue's entries under its name.
  const several = state.venues.length > 1;
  const rows = [];
  for (const v of state.venues) {
    const mine = onsite.filter((e) => e.venue_id === v.id);
    if (several && mine.length) rows.push(h("li", { class: "tb-venue-head", dataset: { venue: v.id } }, v.name));
    rows.push(...mine.map((e) => entryRow(e, nowIds)));
  }
  rows.push(...onsite.filter((e) => !state.venues.some((v) => v.id === e.venue_id)).map((e) => entryRow(e, nowIds)));
  $("#onsite-list").replaceChildren(...rows);
  $("#review-list").replaceChildren(...review.map((e) => entryRow(e, nowIds)));
  $("#review-block").hidden = review.length === 0;

  const now = $("#now");
  const cards = [];
  for (const v of state.venues) {
    const current = onsite.find((e) => e.id === v.current_entry_id);
    if (!current) continue;
    const status = statusOf(current);
    cards.push(h("div", { class: "tb-now-card", dataset: { venue: v.id } },
      h("div", { class: "tb-now-label" }, several ? `${v.name} · ${t("Now presenting")}` : t("Now presenting")),
      h("div", { class: "tb-now-title" }, `${current.running_order ?? ""}. ${current.title}`),
      h("div", { class: "tb-now-sub" }, `${current.team} · ${current.organization}`),
      h("div", { class: "tb-now-actions" }, chip(status),
        current.conflicted ? null
          : h("button", { type: "button", class: "primary", onclick: () => openSheet(KEY("onsite", current.id)) },
            status.code === "todo" || status.code === "draft" ? t("Score now") : t("Open sheet")))));
  }
  now.hidden = cards.length === 0;
  now.replaceChildren(...cards);
}

function render() {
  renderHeader();
  renderList();
  if (openKey) renderSheetStatus();
}

// ------------------------------------------------------------------ the sheet
let sheet = null; // {key, entry, rubric, values, comment, base, readOnly}

function toast(text, kind = "", ms = 4000) {
  const el = $("#toast");
  el.textContent = text;
  el.className = `tb-toast ${kind}`;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, ms);
}

function openSheet(key) {
  const entry = entryByKey(key);
  if (!entry) return;
  if (entry.conflicted) {
    toast(t("You are recused (回避) from this entry and cannot score it."), "warn");
    return;
  }
  const rubric = rubricOf(entry);
  if (!rubric) {
    toast(t("No score sheet is set up for this entry; tell the staff."), "warn");
    return;
  }
  const server = entry.sheet;
  const queued = outbox.forKey(key).at(-1);
  const draft = draftOf(key);
  // The version this edit starts from: what the judge saw, not whatever the server has by the time they submit.
  const base = draft && draft.base !== undefined && draft.base !== null ? draft.base : server ? server.version : 0;
  let values = {};
  let comment = "";
  if (draft) {
    ({ values, comment } = draft);
  } else if (queued) {
    values = { ...queued.body.values };
    comment = queued.body.comment;
  } else if (server && server.version > 0) {
    values = { ...server.values };
    comment = server.comment;
  }
  sheet = { key, entry, rubric, values, comment, base, readOnly: Boolean(server && server.locked) };
  openKey = key;
  document.body.classList.add("view-sheet");
  if (location.hash !== `#${key}`) history.replaceState(null, "", `#${key}`);
  renderSheet();
  renderList();
  window.scrollTo({ top: 0 });
}

function closeSheet() {
  sheet = null;
  openKey = null;
  document.body.classList.remove("view-sheet");
  history.replaceState(null, "", location.pathname);
  $("#sheet-pane").hidden = true;
  $("#sheet-empty").hidden = false;
  renderList();
}

function label(item) {
  return LOCALE === "en" ? item.label_en : item.label_zh;
}

function quickPicks(item) {
  const max = toCents(item.max);
  const step = toCents(item.step);
  const out = [];
  for (const share of [100, 90, 80, 70, 60]) {
    const c = Math.round((max * share) / 100 / step) * step;
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

function renderSheet() {
  const { entry, rubric, readOnly } = sheet;
  const pane = $("#sheet-pane");
  const items = rubric.items.map((item) => {
    const input = h("input", {
      type: "text", inputmode: "decimal", autocomplete: "off", class: "tb-value", value: sheet.values[item.key] ?? "",
      "aria-label": label(item), disabled: readOnly, dataset: { key: item.key },
      oninput: (ev) => setValue(item, ev.target.value.trim(), false),
    });
    const step = (dir) => {
      const cur = checkItem(item, sheet.values[item.key]);
      const max = toCents(item.max);
      const st = toCents(item.step);
      let c;
      if (cur.state !== "ok") c = dir > 0 ? max : max - st;
      else c = cur.cents + dir * st;
      c = Math.min(max, Math.max(0, Math.round(c / st) * st));
      setValue(item, fromCents(c), true);
    };
    return h("li", { class: "tb-item", dataset: { key: item.key } },
      h("div", { class: "tb-item-head" },
        h("span", { class: "tb-item-label" }, label(item)),
        h("span", { class: "tb-item-max" }, t("max {max}", { max: item.max }), " · ", t("step {step}", { step: item.step }))),
      h("div", { class: "tb-item-ctl" },
        h("button", { type: "button", class: "tb-step", "aria-label": t("Less"), disabled: readOnly, onclick: () => step(-1) }, "−"),
        input,
        h("button", { type: "button", class: "tb-step", "aria-label": t("More"), disabled: readOnly, onclick: () => step(1) }, "+"),
        h("span", { class: "tb-picks" }, readOnly ? null : quickPicks(item).map((c) => h("button", {
          type: "button", class: "tb-pick", onclick: () => setValue(item, fromCents(c), true),
        }, fromCents(c))))),
      h("div", { class: "tb-item-msg", "aria-live": "polite" }));
  });
  const report = entry.stage === "initial" && entry.report_url
    ? h("a", { class: "tb-report", href: entry.report_url, target: "_blank", rel: "noopener" }, t("Open the results report"))
    : null;
  pane.replaceChildren(
    h("div", { class: "tb-sheet-head" },
      h("button", { type: "button", class: "tb-back", onclick: closeSheet }, `← ${t("All entries")}`),
      h("div", { class: "tb-sheet-meta" }, `${entry.code} · ${titleOf(entry)} · `,
        entry.stage === "onsite" ? t("On-site presentation") : t("Initial review")),
      h("h2", { class: "tb-sheet-title" }, entry.title),
      h("div", { class: "tb-sheet-sub" }, `${entry.team} · ${entry.organization}`),
      h("div", { id: "sheet-status", class: "tb-sheet-status" }),
      // Not on stage yet (the host has not put it on): most likely the wrong row. Scoring stays possible (a host
      // may have forgotten to advance), but the judge is told.
      entry.stage === "onsite" && entry.status === "scheduled"
        ? h("div", { class: "tb-banner warn tb-not-yet" }, t("This entry has not presented yet. Check that it is the one on stage before you score it."))
        : null,
      report),
    h("ol", { class: "tb-items" }, items),
    h("label", { class: "tb-comment" }, t("Comment (optional)"),
      h("textarea", { rows: 3, maxlength: 2000, disabled: readOnly, oninput: (ev) => {
        sheet.comment = ev.target.value;
        autosave();
      } }, sheet.comment || "")),
    h("div", { class: "tb-sheet-foot" },
      h("div", { class: "tb-total" },
        h("span", {}, t("Total")), h("b", { id: "total" }, "0"), h("span", { class: "muted" }, ` / ${rubric.max_total}`),
        h("span", { id: "left", class: "tb-left" })),
      readOnly ? h("span", { class: "tb-locked-note" }, t("Locked by the chief judge"))
        : h("button", { type: "button", id: "review-btn", class: "primary", onclick: review }, t("Check and submit"))),
  );
  pane.hidden = false;
  $("#sheet-empty").hidden = true;
  refreshItems();
  renderSheetStatus();
}

function setValue(item, text, updateInput) {
  if (text === "") delete sheet.values[item.key];
  else sheet.values[item.key] = text;
  if (updateInput) $(`input[data-key="${item.key}"]`).value = text;
  autosave();
  refreshItems();
}

function autosave() {
  saveDraft(sheet.key, { values: sheet.values, comment: sheet.comment, base: sheet.base });
  renderList();
  renderSheetStatus();
}

function refreshItems() {
  let total = 0;
  let left = 0;
  let bad = 0;
  for (const item of sheet.rubric.items) {
    const li = $(`li.tb-item[data-key="${item.key}"]`);
    const r = checkItem(item, sheet.values[item.key]);
    li.classList.toggle("unscored", r.state === "empty");
    li.classList.toggle("invalid", r.state === "bad");
    $(".tb-item-msg", li).textContent = r.state === "bad" ? r.msg : r.state === "empty" ? t("Not scored yet") : "";
    for (const b of li.querySelectorAll(".tb-pick")) b.classList.toggle("on", b.textContent === sheet.values[item.key]);
    if (r.state === "ok") total += r.cents;
    else if (r.state === "empty") left += 1;
    else bad += 1;
  }
  $("#total").textContent = fromCents(total);
  const leftEl = $("#left");
  leftEl.textContent = left ? t("{n} items not scored", { n: left }) : bad ? t("{n} items need a fix", { n: bad }) : "";
  const btn = $("#review-btn");
  if (btn) btn.disabled = Boolean(left || bad);
}

function renderSheetStatus() {
  if (!sheet) return;
  const entry = entryByKey(sheet.key);
  const el = $("#sheet-status");
  if (!entry || !el) return;
  const status = statusOf(entry);
  const parts = [chip(status)];
  const refused = outbox.forKey(sheet.key).find((i) => i.status === "error");
  if (refused) {
    parts.push(h("div", { class: "tb-refusal" }, refusalText(refused),
      h("button", { type: "button", onclick: () => resolveRefusal(refused) },
        refused.error.code === "stale_version" ? t("Load the current version") : t("Dismiss"))));
  } else if (entry.sheet && entry.sheet.version > 0 && !entry.sheet.locked) {
    parts.push(h("span", { class: "muted" }, ` ${t("Version {v}. You can correct it until the chief judge locks it.", { v: entry.sheet.version })}`));
  }
  el.replaceChildren(...parts);
  if (entry.sheet && entry.sheet.locked && !sheet.readOnly) {
    sheet.readOnly = true;
    renderSheet();
  }
}

const REFUSALS = {
  stale_version: "This sheet was changed on another device or by an earlier submission (now version {current_version}). Your scores are kept: load the current version, check and submit again.",
  sheet_locked: "The chief judge has locked this sheet. Ask the chief judge to reopen it if it needs a correction.",
  conflicted: "You are recused (回避) from this entry; your score is not accepted.",
  not_your_venue: "This entry is not presented in your venue.",
  not_assigned: "This entry is not assigned to you.",
  entry_not_scorable: "This entry is not being scored (absent or withdrawn).",
  items_missing: "Some items are not scored: open the sheet, score every item and submit again.",
  item_unknown: "The score sheet has changed since this page was loaded: reload the page, check and submit again.",
  item_not_number: "{item}: not a number. Correct it and submit again.",
  item_out_of_range: "{item}: {value} is outside 0 to {max}. Correct it and submit again.",
  item_off_step: "{item}: {value} is not a multiple of {step}. Correct it and submit again.",
  invalid_scores: "The scores do not fit the score sheet: reload the page and check them.",
  no_rubric: "No score sheet is set up for this entry; tell the staff.",
  no_stage: "This scoring stage is not set up for the contest; tell the staff.",
  not_a_judge: "This login is not a judge's: scan your own QR code again.",
  entry_not_found: "This entry no longer exists; tell the staff.",
  client_id_reused: "The tablet sent this sheet with a used submission id: submit it again.",
};

// The server's refusal in the page's language: its code picks the message, its detail fills it in (an item's key
// becomes the item's label on this sheet). A code not listed shows the server's (English) text after a lead.
function refusalText(item) {
  const err = item.error || {};
  const msg = REFUSALS[err.code];
  if (!msg) return `${t("The server did not accept this sheet:")} ${err.message || err.code}`;
  const detail = { ...(err.detail || {}) };
  const entry = entryByKey(item.key);
  const rubric = entry && rubricOf(entry);
  const scored = rubric && rubric.items.find((i) => i.key === detail.item);
  if (scored) detail.item = label(scored);
  return t(msg, detail);
}

function resolveRefusal(item) {
  if (item.error && item.error.code === "stale_version") {
    // Keep the judge's values as a draft on top of the current version; they check and submit again.
    const current = item.error.detail ? item.error.detail.current_version : null;
    saveDraft(item.key, { values: item.body.values, comment: item.body.comment, base: current });
    outbox.remove(item.cid);
    poll().then(() => { if (openKey === item.key) openSheet(item.key); });
    return;
  }
  outbox.remove(item.cid);
  if (openKey === item.key) openSheet(item.key);
}

// ------------------------------------------------------------------ confirm and submit
function review() {
  const { entry, rubric } = sheet;
  const rows = rubric.items.map((item) => h("tr", {},
    h("th", {}, label(item)), h("td", {}, sheet.values[item.key], h("span", { class: "muted" }, ` / ${item.max}`))));
  $("#confirm-rows").replaceChildren(...rows);
  $("#confirm-total").textContent = `${$("#total").textContent} / ${rubric.max_total}`;
  $("#confirm-entry").textContent = `${entry.code} · ${entry.title}`;
  $("#confirm-comment").textContent = sheet.comment ? `${t("Comment")}: ${sheet.comment}` : "";
  $("#confirm").hidden = false;
  $("#confirm-send").focus();
}

function send() {
  $("#confirm").hidden = true;
  const { key, entry, base } = sheet;
  const body = {
    client_submission_id: newClientId(),
    entry_id: entry.id,
    stage: entry.stage,
    values: { ...sheet.values },
    comment: (sheet.comment || "").trim(),
    base_version: base || null,
    device_id: deviceId,
  };
  outbox.add(key, body);
  dropDraft(key);
  toast(online ? t("Sending…") : t("Offline: the sheet is queued and will be sent when the network returns."),
    online ? "" : "warn", online ? 4000 : 8000);
  closeSheet();
}

$("#confirm-back").addEventListener("click", () => { $("#confirm").hidden = true; });
$("#confirm-send").addEventListener("click", send);

// ------------------------------------------------------------------ polling, heartbeat, help
async function poll() {
  try {
    const res = await fetch("/api/judge/state", { credentials: "same-origin", cache: "no-store",
      headers: { Accept: "application/json" } });
    if (res.status === 401 || res.status === 403) {
      authLost = true;
      renderHeader();
      return;
    }
    if (!res.ok) return;
    const next = await res.json();
    authLost = false;
    setOnline(true);
    state = next;
    // A receipt the poll does not reflect yet (the poll raced the submission) stays applied until it does.
    for (const [key, ack] of Object.entries(recentAcks)) {
      const e = entryByKey(key);
      if (e && e.sheet && e.sheet.version >= ack.receipt.version) delete recentAcks[key];
      else applyReceipt(key, ack.receipt, ack);
    }
    if (sheet) sheet.entry = entryByKey(sheet.key) || sheet.entry;
    render();
  } catch {
    setOnline(false);
  }
}

async function heartbeat() {
  const beat = { device_id: deviceId, app_version: APP_VERSION, queued: outbox.pending().length,
    online: navigator.onLine };
  // While the venue feed is live the beat rides on its socket (no request; the server records it the same way);
  // otherwise, and for reviewers without a venue, it is a request.
  if (feedLive && feed) { feed.send({ type: "beat", ...beat }); return; }
  try {
    await fetch("/api/judge/heartbeat", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(beat),
    });
  } catch {
    /* offline: the next beat reports it */
  }
}

async function callHelp() {
  const btn = $("#help-btn");
  btn.disabled = true;
  try {
    const res = await fetch("/api/judge/help", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ message: openKey ? (entryByKey(openKey) || {}).code || "" : "", device_id: deviceId }),
    });
    if (!res.ok) throw new Error(String(res.status));
    const call = await res.json();
    // on no panel (an initial-review expert): only the staff see the call
    toast(t(call.venue_id == null ? "The staff have been called. Someone will contact you."
      : "The chief judge and staff have been called. Someone is coming."), "ok");
    localStorage.setItem(HELP_KEY, String(call.help_call_id));
    watchHelp();
  } catch {
    toast(t("Could not reach the server: please raise your hand to call the staff."), "warn");
  } finally {
    setTimeout(() => { btn.disabled = false; }, 3000);
  }
}

// While a call is open the button says so, and the tablet asks every few seconds whether it was handled (only a
// tablet with an open call asks; the venue feed is public and does not carry anyone's calls). A reload keeps it.
const HELP_KEY = `podium:help:${ACCOUNT}`;
const HELP_POLL_MS = 5000;

function renderHelp() {
  const btn = $("#help-btn");
  const open = localStorage.getItem(HELP_KEY) !== null;
  btn.textContent = open ? t("Help called: waiting…") : t("Need help");
  btn.classList.toggle("pending", open);
}

async function checkHelp() {
  checkHelp.timer = null;
  const id = localStorage.getItem(HELP_KEY);
  if (id === null) return;
  try {
    const res = await fetch(`/api/judge/help/${encodeURIComponent(id)}`, {
      credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
    if (res.status === 404) localStorage.removeItem(HELP_KEY); // not this login's call (another judge's tablet)
    else if (res.status === 401 || res.status === 403) { renderHelp(); return; } // logged out: ask again after login
    else if (res.ok && (await res.json()).resolved_at) {
      localStorage.removeItem(HELP_KEY);
      toast(t("Your call for help has been handled."), "ok", 8000);
    }
  } catch {
    /* offline: ask again later */
  }
  watchHelp();
}

function watchHelp() {
  renderHelp();
  if (localStorage.getItem(HELP_KEY) !== null && !checkHelp.timer) {
    checkHelp.timer = setTimeout(checkHelp, HELP_POLL_MS);
  }
}

$("#help-btn").addEventListener("click", callHelp);
watchHelp();
window.addEventListener("online", () => { setOnline(true); poll(); });
window.addEventListener("offline", () => setOnline(false));
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") poll(); });
window.addEventListener("hashchange", () => {
  if (location.hash.length > 1) openSheet(location.hash.slice(1));
  else if (openKey) closeSheet();
});
window.addEventListener("keydown", (ev) => { if (ev.key === "Escape") $("#confirm").hidden = true; });
// Follow the venue live: the venue feed (released values only) says when the stage or an entry's status changed;
// the tablet applies those events to its own state (no request per event: 7 tablets x every stage change would be
// most of a contest day's traffic). It re-reads its state only when the feed tells it something it cannot apply:
// one of its own sheets changed elsewhere (a newer version than it knows), a result was corrected, grades were
// finalized, or the feed (re)connected. Polling stays as the slow safety net.
let feed = null;
let feedLive = false;
let lastPoll = 0;
let pollSoon = null;
let pollNeeds = [];
/** Re-read the state shortly (coalescing bursts); ``need`` is asked again then (a receipt may have caught up). */
function schedulePoll(need = () => true) {
  pollNeeds.push(need);
  clearTimeout(pollSoon);
  pollSoon = setTimeout(() => {
    const needed = pollNeeds.some((f) => f());
    pollNeeds = [];
    if (needed) { lastPoll = Date.now(); poll(); }
  }, 150 + Math.random() * 250);
}
const LOCKING = new Set(["released", "official"]);  // a release locks every sheet of the entry (server side too)
const [NOTHING, RENDER, REREAD] = [0, 1, 2];
/** Apply one feed event to the local state: NOTHING to do, RENDER the change, or REREAD the state. */
function applyEvent(d) {
  if (!d) return NOTHING;
  if (d.kind === "venue.current") {
    for (const v of state.venues) if (v.id === d.venue_id) v.current_entry_id = d.entry_id;
    return RENDER;
  }
  // A release locks every panel sheet, an empty one for a judge who has not submitted (a forced release): such a
  // judge re-reads the state to learn the lock instead of queueing a sheet the server will refuse.
  if (d.kind === "result.released"
      && state.entries.some((e) => e.id === d.entry_id && e.stage === "onsite" && !(e.sheet && e.sheet.version))) {
    return REREAD;
  }
  if (d.kind === "entry.status" || d.kind === "result.released") {
    for (const e of state.entries) {
      if (e.id !== d.entry_id || e.stage !== "onsite") continue;
      if (d.status) e.status = d.status;
      else if (d.kind === "result.released" && !LOCKING.has(e.status)) e.status = "released";
      if (LOCKING.has(e.status) && e.sheet) e.sheet.locked = true;
    }
    return RENDER;
  }
  if (d.kind === "result.corrected" || d.kind === "grades.finalized") return REREAD;
  // The chief judge reopened one of this judge's sheets, or locked an entry's sheets: the lock is the server's.
  if (d.kind === "sheet.reopened") return d.person_id === state.person_id ? REREAD : NOTHING;
  if (d.kind === "sheets.locked") return state.entries.some((e) => e.id === d.entry_id) ? REREAD : NOTHING;
  if (d.kind === "sheet.submitted" && d.person_id === state.person_id) return ownSheetBehind(d) ? REREAD : NOTHING;
  return NOTHING;
}
/** An event about one of this judge's sheets that the local state (its own receipts included) does not reflect. */
function ownSheetBehind(d) {
  const e = state.entries.find((x) => x.id === d.entry_id && x.stage === (d.stage || "onsite"));
  return !(e && e.sheet && d.version && e.sheet.version >= d.version);
}
// One feed per venue the judge sits in (a judge on two panels follows both stages); reviewers (初审) have no venue:
// they keep polling. The slow poll applies only while every feed is live; the beats ride on the first one.
const feedStatus = new Map();
const followed = (state.venues || []).filter((v) => v.id);
const feeds = followed.map((v) => new Feed(`/ws/venue/${v.id}`, {
  onState: (_s, d) => {
    const todo = applyEvent(d);
    if (todo === REREAD) schedulePoll(d.kind === "sheet.submitted" ? () => ownSheetBehind(d) : undefined);
    else if (todo === RENDER) render();
  },
  onStatus: (status) => {
    feedStatus.set(v.id, status);
    const was = feedLive;
    feedLive = feedStatus.size === followed.length && [...feedStatus.values()].every((x) => x === "live");
    if (feedLive && !was) schedulePoll();
  },
}));
feed = feeds[0] || null;
setInterval(() => {
  if (document.visibilityState !== "visible") return;
  if (feedLive && Date.now() - lastPoll < POLL_WHILE_LIVE_MS) return;
  lastPoll = Date.now();
  poll();
}, POLL_MS);
setInterval(heartbeat, HEARTBEAT_MS);

render();
if (location.hash.length > 1) openSheet(location.hash.slice(1));
heartbeat();
outbox.flushSoon(0);
