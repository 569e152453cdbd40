// Events: meter errors, recoveries and bus faults seen while the service runs; gaps in the stored data.
"use strict";
(function () {
  const W = window.wattlog;
  const ev = document.getElementById("events"), gaps = document.getElementById("gaps");
  const alarms = document.getElementById("alarms");
  async function load() {
    let d;
    try { d = await W.api("events", { days: 7 }); } catch (e) { W.fail(ev, e); return; }
    alarms.replaceChildren(d.alarms.length
      ? W.table([{ label: "from", text: true }, { label: "to", text: true }, { label: "alarm", text: true }, { label: "where", text: true }, { label: "message", text: true }],
        d.alarms.map((a) => [W.day(a.start) + " " + W.time(a.start), a.end ? W.time(a.end) : "active", a.kind, a.subject, a.message]))
      : W.el("p", { class: "note", text: "No alarms in the last 7 days." }));
    ev.replaceChildren(d.events.length
      ? W.table([{ label: "time", text: true }, { label: "what", text: true }, { label: "where", text: true }, { label: "detail", text: true }],
        d.events.map((e) => [W.day(e.time) + " " + W.time(e.time), e.kind, e.subject, e.text + (e.hint ? " — " + e.hint : "")]))
      : W.el("p", { class: "note", text: d.live ? "No meter errors or bus faults since the service started." : "Serving read-only: errors are seen only by the running service." }));
    gaps.replaceChildren(d.gaps.length
      ? W.table([{ label: "meter", text: true }, { label: "from", text: true }, { label: "to", text: true }, { label: "without data" }],
        d.gaps.map((g) => [g.meter, W.day(g.start) + " " + W.time(g.start), W.time(g.end), W.num(g.seconds / 60, 0, "min")]))
      : W.el("p", { class: "note", text: "No gaps." }));
  }
  W.ready.then(() => { load(); setInterval(load, 5000); });
})();
