// The public leaderboard screen: released entries ranked per topic type, updated in place without flicker.
// Rows are keyed by entry id and moved with a FLIP animation; only changed text is touched.
import {Feed, esc, t} from "./screen.js";

const BADGES = {released: "Released", official: "Official"};

function rowHTML(e, r, rank, venue) {
  return `<span class="b-rank">${rank}</span>` +
    `<span class="b-main"><span class="b-team">${esc(e.team)}</span><span class="b-title">${esc(e.title)}</span></span>` +
    `<span class="b-venue">${esc(venue ? venue.name : "")}</span>` +
    `<span class="b-badge ${e.status}${r.corrected ? " corrected" : ""}">${esc(t(r.corrected ? "Corrected" : BADGES[e.status] || e.status))}</span>` +
    `<span class="b-score" data-testid="board-score">${esc(r.display)}</span>`;
}

function render(root, state) {
  window.__podium = {state};
  const columns = root.querySelector("[data-columns]");
  const english = window.PODIUM_LOCALE === "en";
  // FLIP: remember where every row was.
  const before = new Map();
  columns.querySelectorAll("[data-entry]").forEach((el) => before.set(el.dataset.entry, el.getBoundingClientRect().top));
  for (const tt of state.topic_types) {
    let col = columns.querySelector(`[data-topic="${tt.key}"]`);
    if (!col) {
      col = document.createElement("div");
      col.className = "board-col";
      col.dataset.topic = tt.key;
      col.innerHTML = `<h2>${esc(english ? tt.name_en : tt.name_zh)}</h2><ol class="board-list"></ol><p class="b-empty"></p>`;
      columns.appendChild(col);
    }
    const list = col.querySelector("ol");
    const ids = Object.values(state.entries).filter((e) => e.topic_type === tt.key && state.results[e.id])
      .map((e) => String(e.id)).sort((a, b) => (state.ranks[a] - state.ranks[b]) || (Number(a) - Number(b)));
    const keep = new Set(ids);
    list.querySelectorAll("[data-entry]").forEach((el) => { if (!keep.has(el.dataset.entry)) el.remove(); });
    ids.forEach((id, pos) => {
      let li = list.querySelector(`[data-entry="${id}"]`);
      if (!li) { li = document.createElement("li"); li.dataset.entry = id; li.className = "fresh"; }
      const e = state.entries[id];
      const html = rowHTML(e, state.results[id], state.ranks[id], state.venues[e.venue_id]);
      if (li.__html !== html) { li.innerHTML = html; li.__html = html; }
      if (list.children[pos] !== li) list.insertBefore(li, list.children[pos] || null);
    });
    col.querySelector(".b-empty").textContent = ids.length ? "" : t("No released results yet");
  }
  columns.querySelectorAll("[data-entry]").forEach((el) => {
    const old = before.get(el.dataset.entry);
    if (old === undefined) return;
    const dy = old - el.getBoundingClientRect().top;
    if (dy) {
      el.animate([{transform: `translateY(${dy}px)`}, {transform: "translateY(0)"}], {duration: 450, easing: "ease-out"});
    }
  });
}

function status(root, s, detail) {
  const mark = root.querySelector("[data-conn]");
  mark.dataset.conn = s;
  mark.textContent = s === "live" ? "" : s === "refused" ? `${t("This screen link is not valid")} (${detail})` : t("Reconnecting…");
}

const root = document.querySelector("[data-board-screen]");
if (root) {
  window.__podiumFeed = new Feed(`/ws/board/${root.dataset.contest}`, {
    onState: (state) => render(root, state), onStatus: (s, d) => status(root, s, d),
  });
}
