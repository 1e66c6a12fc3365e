// Monitoring page: fetch the JSON snapshot every few seconds and redraw the venue cards (no websocket needed).
const root = document.getElementById("monitor");
const T = (s) => (window.PODIUM_I18N && window.PODIUM_I18N[s]) || s;
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function mmss(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

function card(v) {
  const now = v.entry ? `<b>${esc(v.entry.code)}</b> ${esc(v.entry.title)} <span class="muted">${esc(v.entry.team)}</span>`
    : `<span class="muted">${esc(T("Nobody presenting"))}</span>`;
  const over = v.timer.elapsed_ms > v.timer.limit_ms ? " over" : "";
  const judges = v.panel.map((p) => `<li class="${p.submitted ? "done" : ""}${p.recused ? " recused" : ""}">${p.chief ? "★ " : ""}${esc(p.name)}</li>`).join("");
  const offline = v.tablets.filter((t) => !t.online);
  const tablets = offline.length ? `<p class="offline">${esc(T("Offline"))}: ${offline.map((t) => `${esc(t.account)} (${t.queued})`).join("、")}</p>` : "";
  const help = v.help.map((h) => `<p class="alert">🆘 ${esc(h.who)}: ${esc(h.message)}</p>`).join("");
  const alerts = v.alerts.map((a) => `<p class="alert">⚠ ${esc(a.name)} ${a.score} (${esc(T("panel median"))} ${a.median})</p>`).join("");
  return `<article class="card venue" data-venue="${esc(v.code)}"><h2>${esc(v.name)}</h2>
    <p class="now">${now}</p>
    <p class="timer${over}">${mmss(v.timer.elapsed_ms)} <small class="muted">/ ${mmss(v.timer.limit_ms)}${v.timer.running ? " ▶" : ""}</small></p>
    <p>${esc(T("Panel"))}: <b>${v.submitted}/${v.expected}</b> · ${esc(T("Tablets online"))}: ${v.online}/${v.tablets.length} · ${esc(T("Queued sheets"))}: ${v.queued}</p>
    <ul class="judges">${judges}</ul>${tablets}${help}${alerts}</article>`;
}

async function refresh() {
  try {
    const res = await fetch(root.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!res.ok) throw new Error(String(res.status));
    const data = await res.json();
    root.innerHTML = data.venues.map(card).join("");
    document.getElementById("mon-updated").textContent = `${T("Updated")} ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    document.getElementById("mon-updated").textContent = `${T("Connection problem; retrying")} (${err.message})`;
  }
}

if (root) {
  refresh();
  setInterval(refresh, 5000);
}
