// Meter: power, voltage, current, power factor and frequency of one meter over a chosen range, drawn
// with uPlot (drag to zoom). The API picks the resolution for the span; a null point is a gap.
"use strict";
(function () {
  const W = window.wattlog;
  const charts = document.getElementById("charts"), meterSel = document.getElementById("meter"), rangeSel = document.getElementById("range");
  const QUANTITIES = [["power", "Real power", 2], ["voltage", "Voltage", 1], ["current", "Current", 1], ["pf", "Power factor", 3], ["frequency", "Frequency", 2]];
  const SERIES = { avg: ["average", 0], min: ["lowest", 2], max: ["highest", 3], sum: ["energy", 0] };
  let plots = [];

  function draw(box, data, digits) {
    const xs = data.t.map((t) => new Date(t).getTime() / 1000);
    const keys = Object.keys(data.series).filter((k) => data.series[k].some((v) => v !== null));
    if (!xs.length || !keys.length) { box.append(W.el("p", { class: "empty", text: "No data in this range." })); return null; }
    const unit = data.unit ? " " + data.unit : "";
    const opts = {
      width: Math.max(Math.min(box.clientWidth, 1400), 240), height: 220, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), W.tz()),
      series: [{ label: "time" }].concat(keys.map((k) => ({
        label: SERIES[k][0], stroke: W.palette[SERIES[k][1]], width: k === "avg" || k === "sum" ? 2 : 1,
        dash: k === "min" || k === "max" ? [4, 3] : undefined, spanGaps: false,
        value: (u, v) => W.num(v, digits) + unit }))),
      axes: [{}, { size: 64 }],  // uPlot's own time ticks (in the site's zone via tzDate) and number format
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
    };
    return new uPlot(opts, [xs].concat(keys.map((k) => data.series[k])), box);
  }
  async function load() {
    for (const p of plots) p.destroy();
    plots = [];
    charts.replaceChildren();
    const hours = Number(rangeSel.value), end = new Date(), start = new Date(end.getTime() - hours * 3600000);
    const u = new URL(location.href); u.searchParams.set("meter", meterSel.value); u.searchParams.set("range", rangeSel.value); history.replaceState(null, "", u);
    for (const [q, title, digits] of QUANTITIES) {
      const box = W.el("section", { class: "chart", "data-quantity": q });
      charts.append(box);
      try {
        const data = await W.api("history", { meter: meterSel.value, quantity: q, start: start.toISOString(), end: end.toISOString() });
        box.append(W.el("h3", { text: title + (data.unit ? " (" + data.unit + ")" : "") + " · " + data.label + " · " + data.t.length.toLocaleString() + " points at " + data.resolution }));
        if (typeof uPlot === "undefined") { box.append(W.el("p", { class: "empty", text: data.t.length + " points (charts are off)" })); continue; }
        const p = draw(box, data, digits);
        if (p) plots.push(p);
      } catch (e) { W.fail(box, e); }
    }
  }
  document.getElementById("reset").addEventListener("click", () => {
    for (const p of plots) p.setScale("x", { min: p.data[0][0], max: p.data[0][p.data[0].length - 1] });
  });
  meterSel.addEventListener("change", load);
  rangeSel.addEventListener("change", load);
  window.addEventListener("resize", () => { for (const p of plots) p.setSize({ width: Math.max(Math.min(p.root.parentNode.clientWidth, 1400), 240), height: 220 }); });
  W.ready.then(async () => {
    const meters = await W.api("meters");
    const params = new URLSearchParams(location.search);
    meterSel.replaceChildren(...meters.map((m) => W.el("option", { value: m.name, text: m.location + (m.location !== m.name ? " (" + m.name + ")" : "") })));
    if (params.get("meter")) meterSel.value = params.get("meter");
    if (params.get("range")) rangeSel.value = params.get("range");
    await load();
    document.body.dataset.drawn = "1";
  }).catch((e) => W.fail(charts, e));
})();
