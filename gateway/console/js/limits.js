// Limits and budgets on keys and users (form fields, spend against budgets) and channel
// health (cool-downs, per-key state). 0 or empty means "no limit".

import { api } from "./api.js";
import { h } from "./dom.js";
import { num, usd } from "./format.js";
import { badge, field } from "./ui.js";

const RATE_FIELDS = [
  ["rate_limit_per_minute", "Requests / minute"],
  ["tokens_per_minute", "Tokens / minute"],
  ["max_concurrency", "Concurrent requests"],
];
const BUDGET_FIELDS = [
  ["daily_budget", "Daily budget"],
  ["weekly_budget", "Weekly budget"],
  ["monthly_budget", "Monthly budget"],
];
const PERIOD_LABEL = { daily: "Today", weekly: "This week", monthly: "This month" };

/**
 * The limit fields of a key or user form. `prefix` names the inputs (`key`, `user`);
 * `usagePath` (edit only) loads spend against the budgets. `read()` returns the body part
 * or throws a message for the form.
 */
export function limitFields(entity, per, prefix, { usagePath, note } = {}) {
  const inputs = {};
  const make = ([name, label], money) => {
    const v = entity ? entity[name] || "" : "";
    const input = h("input", { type: "number", min: 0, step: 1, value: v, placeholder: "none", inputmode: "numeric", id: `${prefix}-${name.replace(/_/g, "-")}` });
    inputs[name] = input;
    if (!money) return field(label, input);
    const hint = h("span");
    const sync = () => { hint.textContent = Number(input.value) > 0 ? `= ${usd(input.value, per)}` : "quota units"; };
    input.addEventListener("input", sync);
    sync();
    return field(label, input, hint);
  };
  const usage = h("div", { class: "budget-usage muted small", id: `${prefix}-budget-usage`, role: "status" });
  if (usagePath) {
    api("GET", usagePath).then((r) => usage.replaceChildren(...budgetLine(r, per))).catch(() => {});
  }
  const el = h("fieldset", { class: "limits", id: `${prefix}-limits` },
    h("legend", null, "Limits"),
    note ? h("p", { class: "muted small" }, note) : null,
    h("div", { class: "form-grid limits-grid" }, RATE_FIELDS.map((f) => make(f, false))),
    h("div", { class: "form-grid limits-grid" }, BUDGET_FIELDS.map((f) => make(f, true))),
    usage);
  const read = () => {
    const body = {};
    for (const [name, input] of Object.entries(inputs)) {
      const n = input.value === "" ? 0 : Number(input.value);
      if (!Number.isInteger(n) || n < 0) throw new Error("Limits must be whole numbers ≥ 0 (empty or 0 = none).");
      body[name] = n;
    }
    return body;
  };
  return { el, read };
}

/** "Today $0.12 of $1.00 (12%) · This month …" for the periods with a budget. */
export function budgetLine(report, per) {
  const parts = report.budgets.filter((b) => b.budget > 0).map((b) => {
    const pct = Math.min(100, Math.round((100 * b.spent) / b.budget));
    return h("span", { class: "budget", dataset: { period: b.period } },
      `${PERIOD_LABEL[b.period] || b.period}: ${usd(b.spent, per)} of ${usd(b.budget, per)} (${pct}%)`,
      h("meter", { min: 0, max: b.budget, value: Math.min(b.spent, b.budget), "aria-hidden": "true" }));
  });
  if (!parts.length) return [h("span", null, "No budgets set.")];
  if (!report.shared) parts.push(h("span", null, "(counted by this replica)"));
  return parts;
}

/** A compact summary of the limits set on a key or user, for list rows. */
export function limitSummary(e, per) {
  const parts = [];
  if (e.rate_limit_per_minute) parts.push(`${num(e.rate_limit_per_minute)} RPM`);
  if (e.tokens_per_minute) parts.push(`${num(e.tokens_per_minute)} TPM`);
  if (e.max_concurrency) parts.push(`${num(e.max_concurrency)} at once`);
  if (e.daily_budget) parts.push(`${usd(e.daily_budget, per)}/day`);
  if (e.weekly_budget) parts.push(`${usd(e.weekly_budget, per)}/week`);
  if (e.monthly_budget) parts.push(`${usd(e.monthly_budget, per)}/month`);
  return parts.length ? h("div", { class: "muted small limit-summary" }, parts.join(" · ")) : null;
}

function clock(msUnix) {
  return new Date(msUnix).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** The channel's health: cooling down until …, and each key's state when it has several. */
export function healthCell(row) {
  if (!row) return h("span", { class: "muted" }, "—");
  const out = [];
  if (row.cooling_until) out.push(badge("Cooling down", "warn"), h("div", { class: "muted small cooling-until" }, `until ${clock(row.cooling_until)}`));
  else out.push(badge("Ready", "ok"));
  const disabled = row.keys.filter((k) => k.state === "disabled").length;
  if (row.keys.length > 1) {
    const lines = row.keys.map((k) => {
      const what = k.state === "cooling" ? `cooling until ${clock(k.cooling_until)}` : k.state === "disabled" ? "disabled (401/403)" : "ok";
      return h("li", { class: `key-${k.state}` }, `key ${k.index} …${k.preview}: ${what}`);
    });
    const ready = row.keys.length - disabled - row.keys.filter((k) => k.state === "cooling").length;
    out.push(h("details", { class: "key-health" },
      h("summary", { class: "small" }, `${ready} of ${row.keys.length} keys ready`),
      h("ul", { class: "small" }, lines)));
  }
  return out;
}
