// wattlog dashboard: what every page shares — the site, fetching /api/v1, numbers and times in the
// site's time zone with thousands separators, and small DOM helpers. No framework, no build step.
"use strict";
const W = (window.wattlog = {});
W.site = document.body.dataset.site;
W.palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]; // Okabe-Ito

W.api = async function (path, params) {
  const q = new URLSearchParams(params || {});
  q.set("site", W.site);
  const r = await fetch("/api/v1/" + path + "?" + q.toString(), { credentials: "same-origin" });
  if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { const e = new Error(body.detail || r.statusText); e.status = r.status; throw e; }
  return body;
};

W.info = null;
W.ready = W.api("sites", {}).then((all) => { W.info = all.find((s) => s.name === W.site) || all[0]; return W.info; });

W.num = function (v, digits, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  const s = new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  return unit ? s + "\u202f" + unit : s;
};
W.money = function (text, currency) { // exact decimal strings from the API: only grouped, never re-rounded
  if (text === null || text === undefined) return "—";
  const neg = text.startsWith("-"), t = neg ? text.slice(1) : text;
  const [i, f] = t.split(".");
  const grouped = i.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (neg ? "−" : "") + (currency ? currency + " " : "") + grouped + (f !== undefined ? "." + f : "");
};
W.kwh = (v) => W.num(v, v === null || v === undefined || Math.abs(v) < 10 ? 2 : Math.abs(v) < 1000 ? 1 : 0);
W.hm = (iso) => iso ? new Intl.DateTimeFormat(undefined, { timeZone: W.tz(), hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date(iso)) : "—";
W.tz = () => (W.info && W.info.timezone) || undefined;
W.time = function (iso, withDate) {
  if (!iso) return "—";
  const o = { timeZone: W.tz(), hour: "2-digit", minute: "2-digit", second: withDate ? undefined : "2-digit", hour12: false };
  if (withDate) { o.day = "numeric"; o.month = "short"; }
  return new Intl.DateTimeFormat(undefined, o).format(new Date(iso));
};
W.day = (iso) => new Intl.DateTimeFormat(undefined, { timeZone: W.tz(), day: "numeric", month: "short", year: "numeric" }).format(new Date(iso));
W.localDate = function (d) { // YYYY-MM-DD of a Date in the site's time zone
  const p = new Intl.DateTimeFormat("en-CA", { timeZone: W.tz(), year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(d);
  const g = (t) => p.find((x) => x.type === t).value;
  return g("year") + "-" + g("month") + "-" + g("day");
};

W.el = function (tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};
W.fail = function (where, err) {
  where.replaceChildren(W.el("p", { class: "error", role: "alert", text: err.message || String(err) }));
};
W.table = function (columns, rows) {
  const t = W.el("table");
  t.append(W.el("thead", {}, W.el("tr", {}, ...columns.map((c) => W.el("th", { class: c.text ? "text" : "", text: c.label })))));
  const b = W.el("tbody");
  for (const r of rows) b.append(W.el("tr", {}, ...r.map((v, i) => W.el("td", { class: columns[i].text ? "text" : "" }, v))));
  t.append(b);
  return W.el("div", { class: "scroll" }, t);
};

// keep ?site= on every nav link; the picker switches site
for (const a of document.querySelectorAll("a[data-keep-site]")) {
  const u = new URL(a.href, location.href); u.searchParams.set("site", W.site); a.href = u.pathname + u.search;
}
const picker = document.getElementById("site-picker");
if (picker) picker.addEventListener("change", () => { const u = new URL(location.href); u.searchParams.set("site", picker.value); location.href = u.toString(); });
W.ready.then(() => {
  const clock = document.getElementById("clock");
  const tick = () => { clock.textContent = "Site time " + W.time(new Date().toISOString(), true) + " (" + W.tz() + ")"; };
  tick(); setInterval(tick, 15000);
}).catch(() => {});
