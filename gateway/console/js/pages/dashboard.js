// Dashboard: balance, usage charts from /api/log/self/stat, recent requests.

import { api, query } from "../api.js";
import { dailySeries, hBars, short, stackedBars } from "../chart.js";
import { h, mount } from "../dom.js";
import { gettingStarted } from "../checklist.js";
import { dateTime, ms, num, plural, usd } from "../format.js";
import { badge, errorBox, field, loading, pageHead, stat, table } from "../ui.js";

const DAY = 86400;
const METRICS = {
  quota: "Cost",
  requests: "Requests",
  tokens: "Tokens",
};

function metricValue(metric) {
  return metric === "tokens" ? (r) => (r.prompt_tokens || 0) + (r.completion_tokens || 0) : (r) => r[metric] || 0;
}

export async function render(root, ctx) {
  const per = ctx.status.quota_per_unit;
  const cards = h("div", { class: "grid cards" }, loading());
  const range = h("select", { id: "dash-range" },
    [7, 14, 30, 90].map((d) => h("option", { value: d, selected: d === 14 }, `Last ${d} days`)));
  const metric = h("select", { id: "dash-metric" },
    Object.entries(METRICS).map(([k, v]) => h("option", { value: k }, v)));
  const err = errorBox();
  const overTime = h("div", null, loading());
  const byModel = h("div", null, loading());
  const recent = h("div", null, loading());
  const checklist = h("div");
  root.append(pageHead("Dashboard"), cards, err.el, checklist,
    h("div", { class: "row section" }, field("Period", range), field("Show", metric)),
    h("div", { class: "grid two" },
      h("section", { class: "card", "aria-labelledby": "ot-h" }, h("h2", { id: "ot-h" }, "Usage over time"), overTime),
      h("section", { class: "card", "aria-labelledby": "bm-h" }, h("h2", { id: "bm-h" }, "Usage by model"), byModel)),
    h("section", { class: "section", "aria-labelledby": "rr-h" },
      h("div", { class: "page-head" }, h("h2", { id: "rr-h" }, "Recent requests"), h("a", { href: "#/logs" }, "All logs →")), recent));

  let stats = null;
  const fmt = () => (metric.value === "quota" ? (v) => usd(v, per) : num);
  // With requests in the period but nothing of the chosen metric (failed requests, free
  // models), the charts say so in the cards' own terms instead of "no usage".
  const emptyText = () => {
    const n = stats.total.requests;
    if (!n) return "No requests in this period yet.";
    const none = { quota: `costing ${usd(0, per)}`, tokens: "with no tokens counted", requests: "" }[metric.value];
    return `${plural(n, "request")} in this period, ${none}.`;
  };
  const draw = () => {
    if (!stats) return;
    const days = Number(range.value);
    const fromDay = Math.floor(Date.now() / 1000 / DAY) * DAY - (days - 1) * DAY;
    const value = metricValue(metric.value);
    const rows = stats.by_model_day.map((r) => ({ ...r, value: value(r) }));
    const axis = metric.value === "quota" ? (v) => `$${short(v / per)}` : short;
    mount(overTime, stackedBars(dailySeries(rows, "value", fromDay, days), { label: `${METRICS[metric.value]} per day`, format: fmt(), axis, width: overTime.clientWidth, empty: emptyText() }));
    const perModel = new Map();
    for (const r of rows) perModel.set(r.model_name, (perModel.get(r.model_name) || 0) + r.value);
    mount(byModel, hBars([...perModel].map(([label, v]) => ({ label, value: v })), { label: `${METRICS[metric.value]} by model`, format: fmt(), width: byModel.clientWidth, empty: emptyText() }));
  };
  const loadStats = async () => {
    err.clear();
    const days = Number(range.value);
    const start = Math.floor(Date.now() / 1000 / DAY) * DAY - (days - 1) * DAY;
    try {
      stats = await api("GET", `/log/self/stat${query({ start_timestamp: start })}`);
      draw();
      paintPeriod();
      return stats;
    } catch (e) {
      err.show(`Could not load usage: ${e.message}`);
      mount(overTime); mount(byModel);
      return null;
    }
  };
  // The period card follows the period picker, like the charts.
  const period = h("div", { class: "card stat", id: "period-card" });
  const paintPeriod = () => {
    if (!stats) return;
    const t = stats.total;
    mount(period, h("p", { class: "label" }, `Last ${range.value} days`),
      h("div", { class: "value" }, usd(t.quota, per)),
      h("div", { class: "sub", id: "period-sub" }, `${plural(t.requests, "request")} · ${plural(t.prompt_tokens + t.completion_tokens, "token")}`));
  };
  range.addEventListener("change", loadStats);
  // Charts are drawn at their real width; redraw when it changes (rotation, resize).
  let lastWidth = 0;
  const resize = new ResizeObserver(() => {
    if (Math.abs(overTime.clientWidth - lastWidth) < 8) return;
    lastWidth = overTime.clientWidth;
    draw();
  });
  resize.observe(overTime);
  ctx.onLeave(() => resize.disconnect());
  metric.addEventListener("change", draw);

  const [user, guide] = await Promise.all([
    ctx.refreshUser().catch((e) => { err.show(e.message); return ctx.user; }),
    gettingStarted(ctx).catch(() => null),
    loadStats(),
  ]);
  if (guide) mount(checklist, guide);
  mount(cards,
    stat("Balance", usd(user.quota, per), `${num(user.quota)} quota`, "balance-usd"),
    stat("Used", usd(user.used_quota, per), `${num(user.used_quota)} quota`, "used-usd"),
    stat("Requests", num(user.request_count), "all time", "request-count"),
    period);
  paintPeriod();
  cards.querySelector("#balance-usd").dataset.quota = String(user.quota);

  try {
    const logs = await api("GET", "/log/self?p=1&page_size=8");
    mount(recent, table([
      { label: "Time", nowrap: true, render: (r) => dateTime(r.created_at) },
      { label: "Model", render: (r) => r.model_name },
      { label: "Key", render: (r) => r.token_name || "—" },
      { label: "Tokens", num: true, render: (r) => `${num(r.prompt_tokens)} / ${num(r.completion_tokens)}` },
      { label: "Cost", num: true, render: (r) => usd(r.quota, per) },
      { label: "Latency", num: true, render: (r) => ms(r.latency_ms) },
      { label: "Status", render: (r) => badge(String(r.status_code), r.status_code < 400 ? "ok" : "bad") },
    ], logs.items, { empty: guide ? "No requests yet: the steps above lead to the first one." : "No requests yet.", caption: "Recent requests" }));
  } catch (e) {
    mount(recent, h("p", { class: "error", role: "alert" }, e.message));
  }
}
