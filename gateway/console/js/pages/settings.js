// Root: runtime settings (GET/PUT /api/option), ratios edited as tables.

import { api } from "../api.js";
import { h } from "../dom.js";
import { num } from "../format.js";
import { kvTable } from "../kvtable.js";
import { busy, button, checkbox, errorBox, field, loading, pageHead, table, toast } from "../ui.js";

function intInput(id, value, min, max) {
  return h("input", { id, type: "number", step: 1, min, max, value, inputmode: "numeric" });
}

export async function render(root, ctx) {
  const body = h("div", null, loading());
  root.append(pageHead("Settings"), body);
  let o, prices;
  try {
    [o, prices] = await Promise.all([api("GET", "/option"), api("GET", "/option/prices")]);
  } catch (e) {
    body.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
    return;
  }
  const systemName = h("input", { id: "opt-system-name", value: o.system_name, maxlength: 200 });
  const register = checkbox("Anyone may register an account", o.register_enabled, { id: "opt-register" });
  const newQuota = intInput("opt-new-user-quota", o.new_user_quota, 0);
  const perUnit = intInput("opt-quota-per-unit", o.quota_per_unit, 1);
  const retry = intInput("opt-retry-times", o.retry_times, 0, 10);
  const autoDisable = checkbox("Disable a channel when its upstream answers 401/403", o.auto_disable_channel, { id: "opt-auto-disable" });
  const defModel = h("input", { id: "opt-default-model-ratio", type: "number", min: 0, step: "any", value: o.default_model_ratio });
  const defCompletion = h("input", { id: "opt-default-completion-ratio", type: "number", min: 0, step: "any", value: o.default_completion_ratio });
  const keepalive = intInput("opt-keepalive", o.stream_keepalive_secs, 1, 600);
  const idle = intInput("opt-idle", o.stream_idle_timeout_secs, 5, 3600);
  const modelRatio = kvTable(o.model_ratio, { keyLabel: "Model", valueLabel: "Ratio", numeric: true, addLabel: "Add model", id: "opt-model-ratio" });
  const completionRatio = kvTable(o.completion_ratio, { keyLabel: "Model", valueLabel: "Ratio", numeric: true, addLabel: "Add model", id: "opt-completion-ratio" });
  const groupRatio = kvTable(o.group_ratio, { keyLabel: "Group", valueLabel: "Ratio", numeric: true, addLabel: "Add group", id: "opt-group-ratio" });
  const cacheRatio = (key, id) => kvTable(o[key], { keyLabel: "Model", valueLabel: "Ratio", numeric: true, addLabel: "Add model", id });
  const cacheRead = cacheRatio("cache_read_ratio", "opt-cache-read-ratio");
  const cacheWrite = cacheRatio("cache_write_ratio", "opt-cache-write-ratio");
  const cacheWrite1h = cacheRatio("cache_write_1h_ratio", "opt-cache-write-1h-ratio");
  const builtin = checkbox("Price models without ratios of their own from the built-in table", o.builtin_prices, { id: "opt-builtin-prices" });
  const maps = { model_ratio: modelRatio, completion_ratio: completionRatio, cache_read_ratio: cacheRead, cache_write_ratio: cacheWrite, cache_write_1h_ratio: cacheWrite1h };
  // Copies a table row's ratios into the editable maps above, where they then override it.
  const override = (row) => {
    for (const [k, t] of Object.entries(maps)) t.set(row.model, row.effective[k]);
    toast(`${row.model}: ratios copied into the tables above; edit them and save.`);
  };
  const err = errorBox();
  const save = h("button", { type: "submit", class: "primary", id: "settings-save" }, "Save settings");
  const perHint = h("span", null, `${num(o.quota_per_unit)} quota = $1`);

  const section = (title, ...children) => h("section", { class: "card section" }, h("h2", null, title), children);
  const form = h("form", { novalidate: true },
    section("General", h("div", { class: "form-grid" }, field("System name", systemName), field("New-user quota", newQuota, "Balance given at registration")),
      register.el),
    section("Routing", h("div", { class: "form-grid" }, field("Retry times", retry, "Other channels tried after a failure (0–10)"),
      field("Stream keep-alive (s)", keepalive), field("Stream idle timeout (s)", idle)), autoDisable.el),
    section("Billing",
      h("p", { class: "muted small" }, "quota = ⌈(input + cache read × cache read ratio + cache write × cache write ratio + 1-hour cache write × its ratio + completion × completion ratio) × model ratio × group ratio⌉"),
      h("div", { class: "form-grid" }, field("Quota per USD", perUnit, perHint), field("Default model ratio", defModel), field("Default completion ratio", defCompletion)),
      h("div", { class: "grid two" },
        h("div", null, h("h3", null, "Model ratios"), modelRatio.el),
        h("div", null, h("h3", null, "Completion ratios"), completionRatio.el)),
      h("div", { class: "section" }, h("h3", null, "Group ratios"), groupRatio.el),
      h("h3", null, "Prompt-cache ratios"),
      h("p", { class: "muted small" }, "Relative to the model's input price: a cache read, a 5-minute cache write, a 1-hour cache write. Unset: the built-in price, else 1."),
      h("div", { class: "grid two" },
        h("div", null, h("h4", null, "Cache read"), cacheRead.el),
        h("div", null, h("h4", null, "Cache write (5 min)"), cacheWrite.el),
        h("div", null, h("h4", null, "Cache write (1 h)"), cacheWrite1h.el)),
      h("div", { class: "section" }, h("h3", null, "Built-in prices"), builtin.el,
        h("p", { class: "muted small" }, "List prices in USD per million tokens; model ratio 1 = $2 per million input tokens. Ratios in force, after your own, are shown; a model's snapshots (name-20250929) share its price."),
        priceTable(prices, override))),
    h("div", { class: "section" }, err.el, h("div", { class: "actions" }, save)));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(save, err, async () => {
      const int = (el, label) => {
        const n = Number(el.value);
        if (el.value === "" || !Number.isInteger(n)) throw new Error(`${label} must be a whole number.`);
        return n;
      };
      const dec = (el, label) => {
        const n = Number(el.value);
        if (el.value === "" || !Number.isFinite(n) || n < 0) throw new Error(`${label} must be a number ≥ 0.`);
        return n;
      };
      const update = {
        system_name: systemName.value.trim(),
        register_enabled: register.input.checked,
        new_user_quota: int(newQuota, "New-user quota"),
        quota_per_unit: int(perUnit, "Quota per USD"),
        retry_times: int(retry, "Retry times"),
        auto_disable_channel: autoDisable.input.checked,
        default_model_ratio: dec(defModel, "Default model ratio"),
        default_completion_ratio: dec(defCompletion, "Default completion ratio"),
        stream_keepalive_secs: int(keepalive, "Keep-alive"),
        stream_idle_timeout_secs: int(idle, "Idle timeout"),
        model_ratio: modelRatio.read(),
        completion_ratio: completionRatio.read(),
        group_ratio: groupRatio.read(),
        cache_read_ratio: cacheRead.read(),
        cache_write_ratio: cacheWrite.read(),
        cache_write_1h_ratio: cacheWrite1h.read(),
        builtin_prices: builtin.input.checked,
      };
      const saved = await api("PUT", "/option", update);
      Object.assign(ctx.status, { system_name: saved.system_name, register_enabled: saved.register_enabled, quota_per_unit: saved.quota_per_unit });
      toast("Settings saved.");
    });
  });
  body.replaceChildren(form);
}

// The built-in table, read-only; "Override" copies a row into the editable maps.
function priceTable(rows, override) {
  const usd = (p) => `$${p.input} / $${p.output}`;
  return table([
    { label: "Model", render: (r) => h("span", { class: "break-any" }, r.model) },
    { label: "In / out per 1M", nowrap: true, render: (r) => usd(r.usd_per_million) },
    { label: "Model ratio", num: true, render: (r) => String(r.effective.model_ratio) },
    { label: "Completion", num: true, render: (r) => String(r.effective.completion_ratio) },
    { label: "Cache read", num: true, render: (r) => String(r.effective.cache_read_ratio) },
    { label: "Write 5m / 1h", num: true, render: (r) => `${r.effective.cache_write_ratio} / ${r.effective.cache_write_1h_ratio}` },
    { label: "Edit", render: (r) => button("Override", () => override(r), { class: "small", "aria-label": `Override ${r.model}` }) },
  ], rows, { caption: "Built-in prices", empty: "No built-in prices." });
}
