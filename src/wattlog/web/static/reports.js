// Reports: the monthly report (HTML, PDF) and the workbooks for a chosen month, one click each.
"use strict";
(function () {
  const W = window.wattlog;
  const month = document.getElementById("month"), list = document.getElementById("downloads");
  function link(href, text, cls) { return W.el("a", { href: href, class: cls || "", text: text }); }
  async function render() {
    const m = month.value; if (!m) return;
    const [y, mo] = m.split("-").map(Number);
    const next = mo === 12 ? (y + 1) + "-01" : y + "-" + String(mo + 1).padStart(2, "0");
    const s = "site=" + encodeURIComponent(W.site);
    const reps = await W.api("reports");
    const items = [
      W.el("li", {}, W.el("b", { text: "Monthly report " }), link("/api/v1/monthly?month=" + m + "&" + s, "HTML"), link("/api/v1/monthly?month=" + m + "&format=pdf&" + s, "PDF")),
      W.el("li", {}, W.el("b", { text: "Workbook, every report " }), link("/api/v1/workbook?report=all&from=" + m + "&to=" + next + "&" + s, "Excel")),
    ];
    for (const r of reps) {
      items.push(W.el("li", {}, W.el("b", { text: r.name + " " }), W.el("span", { class: "note", text: r.summary + " " }),
        link("/api/v1/workbook?report=" + r.name + "&from=" + m + "&to=" + next + "&" + s, "Excel"),
        link("/api/v1/reports/" + r.name + "?from=" + m + "&to=" + next + "&" + s, "JSON", "json")));
    }
    list.replaceChildren(...items);
  }
  month.addEventListener("change", render);
  W.ready.then(() => {
    const d = new Date();  // this month: the one a new site has data for
    month.value = W.localDate(d).slice(0, 7);
    render().catch((e) => W.fail(list, e));
  });
})();
