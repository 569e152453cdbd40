// Now: a tile per location, live from the server-sent event stream (reconnects by itself). A tile
// whose reading is older than the stale limit, or whose meter fails, shows that — never old values.
"use strict";
(function () {
  const W = window.wattlog;
  const tiles = document.getElementById("tiles"), totals = document.getElementById("totals"), conn = document.getElementById("conn");
  let last = null, costs = {}, es = null;

  function avg(v, keys) { const xs = keys.map((k) => v[k]).filter((x) => x !== undefined); return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null; }
  function status(m) { // re-judged every second in the browser too: a silent stream must not freeze "ok"
    if (m.status !== "ok" || !m.timestamp) return m.status;
    const age = (Date.now() - new Date(m.timestamp).getTime()) / 1000;
    return age > W.info.stale_s ? "stale" : "ok";
  }
  function words(m, st) {
    if (st === "ok") return null;
    if (st === "stale" && m.status === "ok") return "no reading for " + Math.round((Date.now() - new Date(m.timestamp).getTime()) / 1000) + " s";
    return (m.error || st) + (m.hint ? " — " + m.hint : "");
  }
  function render() {
    if (!last) return;
    let kw = 0, kwh = 0;
    const out = [];
    for (const m of last.meters) {
      const st = status(m), v = st === "ok" ? m.values : {};
      const p = v.total_real_power !== undefined ? v.total_real_power / 1000 : null;
      if (p !== null) kw += p;
      if (m.kwh_today !== null) kwh += m.kwh_today;
      const label = { ok: "OK", stale: "STALE", error: "ERROR", unknown: "NO DATA" }[st] || st.toUpperCase();
      const cost = costs[m.location];
      out.push(W.el("article", { class: "tile " + st, "data-meter": m.meter, "data-status": st },
        W.el("h3", {}, W.el("span", { text: m.location }), W.el("span", { class: "badge", text: label })),
        W.el("div", { class: "kw", "data-q": "kw" }, W.num(p, 2), W.el("small", { text: " kW" })),
        W.el("dl", {},
          W.el("dt", { text: "V" }), W.el("dt", { text: "A" }), W.el("dt", { text: "PF" }),
          W.el("dd", { "data-q": "v", text: W.num(avg(v, ["voltage_l1", "voltage_l2", "voltage_l3"]), 1) }),
          W.el("dd", { "data-q": "a", text: W.num(avg(v, ["current_l1", "current_l2", "current_l3"]), 1) }),
          W.el("dd", { "data-q": "pf", text: W.num(v.total_power_factor === undefined ? null : v.total_power_factor, 2) }),
          W.el("dt", { text: "Hz" }), W.el("dt", { text: "kWh today" }), W.el("dt", { text: "Cost today" }),
          W.el("dd", { "data-q": "hz", text: W.num(v.frequency === undefined ? null : v.frequency, 2) }),
          W.el("dd", { "data-q": "kwh", text: W.kwh(m.kwh_today) + (m.kwh_today_partial ? "*" : "") }),
          W.el("dd", { "data-q": "cost", text: cost ? W.money(cost) : "—" })),
        st === "ok" ? null : W.el("div", { class: "problem", role: "status", text: words(m, st) }),
        W.el("div", { class: "when", "data-q": "ts", "data-ts": m.timestamp || "", text: m.timestamp ? "read " + W.time(m.timestamp, true) : "never read" })));
    }
    tiles.replaceChildren(...out);
    const cur = W.info && W.info.currency;
    totals.replaceChildren(W.el("span", {}, "Site now ", W.el("b", { text: W.num(kw, 2) }), " kW"),
      W.el("span", {}, "Today ", W.el("b", { text: W.kwh(kwh) }), " kWh"),
      cur ? W.el("span", { class: "note", text: "cost: estimate with " + W.info.tariff + " (" + cur + ")" }) : null);
  }
  function connect() {
    es = new EventSource("/api/v1/stream?site=" + encodeURIComponent(W.site));
    es.addEventListener("latest", (e) => { last = JSON.parse(e.data); conn.textContent = "live"; conn.className = "conn live"; render(); });
    es.addEventListener("problem", (e) => { conn.textContent = JSON.parse(e.data).detail; conn.className = "conn down"; });
    es.onerror = () => {
      conn.textContent = "reconnecting…"; conn.className = "conn down";
      if (es.readyState === EventSource.CLOSED) { es.close(); setTimeout(connect, 3000); } // else the browser retries
    };
  }
  async function loadCosts() {
    if (!W.info.tariff) return;
    const today = W.localDate(new Date()), tomorrow = W.localDate(new Date(Date.now() + 86400000));
    try {
      const r = await W.api("reports/cost", { from: today, to: tomorrow });
      costs = Object.fromEntries(r.locations.map((l) => [l.location, l.total]));
      render();
    } catch (e) { costs = {}; }
  }
  W.ready.then((info) => {
    info.stale_s = Math.max(3 * info.poll_s, 30);
    W.api("latest").then((d) => { if (!last) { last = d; render(); } }).catch((e) => W.fail(tiles, e));
    connect();
    loadCosts(); setInterval(loadCosts, 60000);
    setInterval(render, 1000);
  });
})();
