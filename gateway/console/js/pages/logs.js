// Usage logs: filters, totals from the stat endpoint, paged table. Admins see every
// user's rows and can filter by user and channel.

import { api, query } from "../api.js";
import { h, mount } from "../dom.js";
import { dateTime, fromLocalInput, ms, num, usd } from "../format.js";
import { badge, busy, button, errorBox, field, loading, longText, pageHead, pager, table } from "../ui.js";

const OUTCOMES = [
  ["", "Any"],
  ["success", "Success"],
  ["error", "Upstream error"],
  ["refused", "Refused by the gateway"],
];

const PAGE_SIZE = 25;

export async function render(root, ctx) {
  const per = ctx.status.quota_per_unit;
  const admin = ctx.isAdmin;
  const inputs = {
    start: h("input", { type: "datetime-local", id: "log-start" }),
    end: h("input", { type: "datetime-local", id: "log-end" }),
    model: h("input", { id: "log-model", placeholder: "any" }),
    key: h("input", { id: "log-key", placeholder: "any" }),
    user: h("input", { id: "log-user", placeholder: "any" }),
    channel: h("input", { id: "log-channel", type: "number", min: 1, placeholder: "any", inputmode: "numeric" }),
    type: h("select", { id: "log-type" }, OUTCOMES.map(([v, l]) => h("option", { value: v }, l))),
    status: h("input", { id: "log-status", type: "number", min: 100, max: 599, placeholder: "any", inputmode: "numeric" }),
  };
  const apply = h("button", { type: "submit", class: "primary", id: "log-apply" }, "Apply");
  const reset = button("Reset", () => { for (const i of Object.values(inputs)) i.value = ""; page = 1; run(); });
  const err = errorBox();
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter logs" },
    h("div", { class: "form-grid" },
      field("From", inputs.start), field("To", inputs.end),
      field("Model", inputs.model), field("Key name", inputs.key),
      field("Outcome", inputs.type, "Refused: turned away before any provider was called (quota, rate limit, model)"),
      field("Status code", inputs.status),
      admin ? field("Username", inputs.user) : null,
      admin ? field("Channel id", inputs.channel) : null),
    h("div", { class: "actions field" }, apply, reset), err.el);
  const totals = h("div", { class: "totals", "aria-live": "polite" });
  const list = h("div", null, loading());
  let page = 1;

  const params = () => ({
    start_timestamp: fromLocalInput(inputs.start.value),
    end_timestamp: fromLocalInput(inputs.end.value),
    model_name: inputs.model.value.trim(),
    token_name: inputs.key.value.trim(),
    type: inputs.type.value,
    status_code: inputs.status.value.trim(),
    ...(admin ? { username: inputs.user.value.trim(), channel: inputs.channel.value } : {}),
  });
  const base = admin ? "/log" : "/log/self";

  const load = async () => {
    const f = params();
    const [data, stat] = await Promise.all([
      api("GET", `${base}${query({ ...f, p: page, page_size: PAGE_SIZE })}`),
      api("GET", `${base}/stat${query(f)}`),
    ]);
    const t = stat.total;
    mount(totals,
      h("span", null, "Requests ", h("b", { id: "total-requests" }, num(t.requests))),
      h("span", null, "Prompt tokens ", h("b", null, num(t.prompt_tokens))),
      h("span", null, "Completion tokens ", h("b", null, num(t.completion_tokens))),
      h("span", null, "Cost ", h("b", null, usd(t.quota, per)), h("span", { class: "muted" }, ` (${num(t.quota)} quota)`)));
    mount(list, table(columns(), data.items, { empty: "No requests match these filters.", caption: "Usage logs" }),
      pager(data.page, data.page_size, data.total, (p) => { page = p; run(); }));
  };
  const run = () => busy(apply, err, load);

  const columns = () => [
    { label: "Time", nowrap: true, render: (r) => [dateTime(r.created_at), admin && r.ip ? h("div", { class: "muted small" }, r.ip) : null] },
    { label: admin ? "User · key" : "Key", render: (r) => h("div", { class: "break-any min-6" }, admin ? [r.username, h("div", { class: "muted small" }, r.token_name || "—")] : r.token_name || "—") },
    { label: "Model", render: (r) => h("div", { class: "break-any" }, r.model_name || "—",
      admin && r.upstream_model && r.upstream_model !== r.model_name ? h("div", { class: "muted small" }, `→ ${r.upstream_model}`) : null,
      admin && r.channel_id ? h("div", { class: "muted small" }, `#${r.channel_id} ${r.channel_name || ""}`) : null) },
    { label: "Tokens", num: true, render: (r) => [num(r.prompt_tokens + r.completion_tokens),
      h("div", { class: "muted small", title: "prompt / completion" }, `${num(r.prompt_tokens)} / ${num(r.completion_tokens)}`),
      tokenParts(r)] },
    { label: "Cost", num: true, render: (r) => [usd(r.quota, per), priceLine(r.price)] },
    { label: "Latency", num: true, render: (r) => [ms(r.latency_ms), r.is_stream ? h("div", { class: "muted small" }, `stream, first byte ${ms(r.first_byte_ms)}`) : null] },
    { label: "Status", render: (r) => [badge(String(r.status_code), r.status_code < 400 ? "ok" : "bad"), r.error ? longText(r.error, { kind: "bad", lines: 2 }) : null] },
  ].filter(Boolean);

  form.addEventListener("submit", (e) => { e.preventDefault(); page = 1; run(); });
  root.append(pageHead("Usage logs"), form, totals, list);
  await run();
}

// Cache and reasoning parts of the token counts, only when there are any:
// "cache 900 read · 40 written (20 1h) · 25 reasoning".
function tokenParts(r) {
  const parts = [];
  if (r.cache_read_tokens) parts.push(`${num(r.cache_read_tokens)} read`);
  if (r.cache_write_tokens) parts.push(`${num(r.cache_write_tokens)} written${r.cache_write_1h_tokens ? ` (${num(r.cache_write_1h_tokens)} 1h)` : ""}`);
  const cache = parts.length ? [`cache ${parts.join(" · ")}`] : [];
  if (r.reasoning_tokens) cache.push(`${num(r.reasoning_tokens)} reasoning`);
  if (!cache.length) return null;
  return h("div", { class: "muted small log-token-parts", title: "part of the prompt / completion tokens above" }, cache.join(" · "));
}

// The ratios the cost was computed with, short, with all of them in the tooltip.
function priceLine(price) {
  if (!price) return null;
  let p;
  try { p = JSON.parse(price); } catch { return null; }
  const full = `model ${p.model_ratio} × group ${p.group_ratio}; completion ${p.completion_ratio}, cache read ${p.cache_read_ratio}, cache write ${p.cache_write_ratio} (1h ${p.cache_write_1h_ratio})${p.builtin ? `; built-in price of ${p.builtin}` : ""}`;
  return h("div", { class: "muted small log-price", title: full }, `×${p.model_ratio}${p.builtin ? " (built-in)" : ""}`);
}
