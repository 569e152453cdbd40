// Demand and cost: this month's peak block and who made it, the running block against the target,
// the bill so far and at this pace, and the what-if tariff. Refreshed every 30 s.
"use strict";
(function () {
  const W = window.wattlog;
  const box = document.getElementById("demand"), whatif = document.getElementById("whatif");

  function card(title, big, ...rest) { return W.el("div", { class: "card" }, W.el("h2", { text: title }), W.el("div", { class: "big" }, big), ...rest); }
  async function load() {
    let d;
    try { d = await W.api("demand/now"); } catch (e) { W.fail(box, e); return; }
    const cards = [];
    const b = d.block, target = d.target_kw;
    const run = card("Running " + d.window_min + "-minute block", W.num(b.projected_kw, 1, "kW"),
      W.el("p", { text: W.hm(b.start) + "–" + W.hm(b.end) + " · " + W.num(b.kwh_so_far, 2, "kWh") + " so far · now " + W.num(b.kw_now, 1, "kW") }),
      W.el("p", { class: "note", text: "heading for (if the rest of the block runs at the kW now) · site = " + b.source }));
    if (target) {
      const pct = Math.min(100, (100 * (b.projected_kw || 0)) / target), bar = W.el("span"); bar.style.width = pct.toFixed(1) + "%";
      run.append(W.el("div", { class: "meterbar", role: "img", "aria-label": W.num(pct, 0) + " % of target" }, bar),
        W.el("p", { text: "target " + W.num(target, 1, "kW") + (b.projected_kw > target ? " — OVER TARGET" : "") }));
      if (b.projected_kw > target) run.classList.add("over");
    } else run.append(W.el("p", { class: "note", text: "No demand target set ([web] demand_target_kw)." }));
    cards.push(run);
    const pk = d.peak;
    cards.push(pk ? card("Peak this month (" + d.month + ")", W.num(pk.kw, 1, "kW"),
      W.el("p", { text: W.day(pk.start) + " " + W.hm(pk.start) + "–" + W.hm(pk.end) + (pk.complete ? "" : " (a gap in the block: may be higher)") }),
      W.table([{ label: "location", text: true }, { label: "kW" }, { label: "share" }],
        pk.coincident.map((s) => [s.location, W.num(s.kw, 1), s.share_pct === null ? "—" : W.num(s.share_pct, 1) + " %"])))
      : card("Peak this month (" + d.month + ")", "—", W.el("p", { class: "note", text: "No complete block yet." })));
    if (d.bill) cards.push(card("Bill so far (" + d.bill.tariff + ")", W.money(d.bill.so_far, d.bill.currency),
      W.el("p", { text: "at this pace: " + W.money(d.bill.at_pace, d.bill.currency) + " for the month" }),
      W.el("p", { class: "note", text: "estimate: this month's data so far, scaled by the days left" })));
    for (const n of d.notes) cards.push(W.el("p", { class: "note", text: n }));
    box.replaceChildren(...cards);
    if (d.what_if) {
      whatif.replaceChildren(W.el("p", { text: "With " + d.what_if.tariff + ": " + W.money(d.what_if.so_far, d.bill.currency) + " so far, " + W.money(d.what_if.at_pace, d.bill.currency) + " at this pace." }),
        W.table([{ label: "what", text: true }, { label: "current" }, { label: "what-if" }],
          d.what_if.rows.map((r) => [r.what, W.money(r.base), W.money(r.alternative)])));
    } else whatif.replaceChildren(W.el("p", { class: "note", text: "No what-if tariff configured ([tariff] what_if)." }));
    document.body.dataset.drawn = "1";
  }
  W.ready.then(() => { load(); setInterval(load, 30000); });
})();
