// Where and when: the ranking of locations by kWh and the hour × day heatmap per location.
"use strict";
(function () {
  const W = window.wattlog;
  const form = document.getElementById("period"), from = document.getElementById("from"), to = document.getElementById("to"), by = document.getElementById("by");
  const rankBox = document.getElementById("ranking"), heatBox = document.getElementById("heatmaps");
  const RAMP = [[253, 231, 37], [94, 201, 98], [33, 145, 140], [59, 82, 139], [68, 1, 84]]; // viridis: light = low

  function colour(x) { // 0..1 -> viridis, readable in sunlight and for colour-blind eyes
    const p = Math.min(Math.max(x, 0), 1) * (RAMP.length - 1), i = Math.min(Math.floor(p), RAMP.length - 2), f = p - i;
    const c = RAMP[i].map((a, k) => Math.round(a + (RAMP[i + 1][k] - a) * f));
    return "rgb(" + c.join(",") + ")";
  }
  function ranking(r) {
    const top = Math.max(...r.rows.filter((x) => x.kind === "location").map((x) => x.kwh), 1e-9);
    rankBox.replaceChildren(W.table([{ label: "location", text: true }, { label: "kWh" }, { label: "share" }, { label: "", text: true }],
      r.rows.map((x) => {
        const bar = W.el("div", { class: "bar" }); bar.style.width = Math.max(0, (100 * x.kwh) / top).toFixed(1) + "%";
        return [x.location + (x.flag ? " (" + x.flag + ")" : ""), W.kwh(x.kwh), x.share_pct === null ? "—" : W.num(x.share_pct, 1) + " %", x.kind === "location" ? bar : ""];
      })));
    if (r.header.notes.length) rankBox.append(...r.header.notes.map((n) => W.el("p", { class: "note", text: n })));
  }
  function heatmaps(h) {
    heatBox.replaceChildren();
    for (const m of h.maps) {
      const vals = m.kwh.flat().filter((v) => v !== null), max = Math.max(...vals, 1e-9);
      const t = W.el("table", { class: "heat", "data-location": m.location });
      const head = W.el("tr", {}, W.el("th", { text: "" }));
      for (let hr = 0; hr < 24; hr++) head.append(W.el("th", { text: hr % 3 === 0 ? String(hr) : "" }));
      t.append(W.el("thead", {}, head));
      const body = W.el("tbody");
      m.rows.forEach((label, i) => {
        const tr = W.el("tr", {}, W.el("th", { text: h.by === "date" ? label.slice(5) : label }));
        m.kwh[i].forEach((v, hr) => {
          const td = W.el("td", { title: label + " " + String(hr).padStart(2, "0") + ":00 — " + (v === null ? "no data" : W.num(v, 2) + " kWh") });
          if (v === null) td.className = "none"; else { td.style.backgroundColor = colour(v / max); if (!m.complete[i][hr]) td.className = "part"; }
          tr.append(td);
        });
        body.append(tr);
      });
      t.append(body);
      heatBox.append(W.el("h3", { text: m.location }), W.el("div", { class: "scroll" }, t),
        W.el("div", { class: "legend" }, W.el("span", { text: "0" }), W.el("span", { class: "ramp" }), W.el("span", { text: W.kwh(max) + " kWh per hour" }),
          W.el("span", { text: "· striped: no data · dashed: a gap in that hour" })));
    }
    if (!h.maps.length) heatBox.append(W.el("p", { class: "note", text: "No data in this period." }));
  }
  async function load(ev) {
    if (ev) ev.preventDefault();
    const q = { from: from.value, to: to.value };
    try { ranking(await W.api("reports/ranking", q)); } catch (e) { W.fail(rankBox, e); }
    try { heatmaps(await W.api("reports/heatmap", { ...q, by: by.value })); } catch (e) { W.fail(heatBox, e); }
    document.body.dataset.drawn = "1";
  }
  form.addEventListener("submit", load);
  W.ready.then(() => {
    const p = new URLSearchParams(location.search);
    const today = new Date();
    to.value = p.get("to") || W.localDate(new Date(today.getTime() + 86400000));
    from.value = p.get("from") || W.localDate(new Date(today.getTime() - 6 * 86400000));
    if (p.get("by")) by.value = p.get("by");
    load();
  });
})();
