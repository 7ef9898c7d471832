// The create/edit form of an API key, and the one-time display of a new key.

import { api } from "../api.js";
import { formDialog, openDialog } from "../dialog.js";
import { h } from "../dom.js";
import { fromLocalInput, num, splitList, toLocalInput, usd } from "../format.js";
import { limitFields } from "../limits.js";
import { button, checkbox, field } from "../ui.js";

export const PLAYGROUND_KEY = "gw.playground.key";

/** Opens the key form; `token` is null to create. Calls `done(created?)` after saving. */
export function keyDialog(ctx, token, done) {
  const per = ctx.status.quota_per_unit;
  const name = h("input", { value: token?.name || "", maxlength: 64, required: true, id: "key-name" });
  const unlimited = checkbox("Unlimited quota", token ? token.unlimited_quota : true, { id: "key-unlimited" });
  const quota = h("input", { type: "number", min: 0, step: 1, value: token ? token.remain_quota : 0, inputmode: "numeric", id: "key-quota" });
  const quotaHint = h("span");
  const syncQuota = () => {
    quota.disabled = unlimited.input.checked;
    quotaHint.textContent = unlimited.input.checked ? "Not limited by the key (your balance still applies)." : `= ${usd(quota.value, per)} (${num(per)} quota = $1)`;
  };
  unlimited.input.addEventListener("change", syncQuota);
  quota.addEventListener("input", syncQuota);
  syncQuota();
  const expires = h("input", { type: "datetime-local", value: toLocalInput(token?.expired_at), id: "key-expires" });
  const models = h("input", { value: (token?.models || []).join(", "), placeholder: "all models", id: "key-models" });
  const ips = h("input", { value: (token?.allow_ips || []).join(", "), placeholder: "any address", id: "key-ips" });
  const limits = limitFields(token, per, "key", {
    usagePath: token ? `/token/${token.id}/usage` : null,
    note: "Never above your account's own limits (the lower one applies).",
  });
  const fields = [
    field("Name", name),
    unlimited.el,
    field("Quota for this key", quota, quotaHint),
    h("div", { class: "form-grid" },
      field("Expires", expires, "Empty = never"),
      field("Allowed models", models, "Comma-separated; empty = all"),
      field("Allowed IPs / CIDRs", ips, "Comma-separated; empty = any")),
    limits.el,
  ];
  return formDialog(token ? `Edit key “${token.name}”` : "New API key", fields, token ? "Save" : "Create key", async () => {
    if (!name.value.trim()) throw new Error("Give the key a name.");
    const body = {
      name: name.value.trim(),
      unlimited_quota: unlimited.input.checked,
      remain_quota: Number(quota.value || 0),
      expired_at: fromLocalInput(expires.value),
      models: splitList(models.value),
      allow_ips: splitList(ips.value),
      ...limits.read(),
    };
    if (!Number.isInteger(body.remain_quota) || body.remain_quota < 0) throw new Error("Quota must be a whole number ≥ 0.");
    const saved = token ? await api("PUT", `/token/${token.id}`, body) : await api("POST", "/token", body);
    done(saved);
  });
}

/** Shows a freshly created key once, with copy and "use in playground". */
export function showNewKey(ctx, created) {
  const input = h("input", { readonly: true, value: created.key, id: "new-key-value", "aria-label": "Your new API key" });
  const status = h("p", { class: "success", role: "status" });
  const copy = button("Copy", async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      status.textContent = "Copied to the clipboard.";
    } catch {
      input.select();
      status.textContent = "Press Ctrl+C (⌘C) to copy the selected key.";
    }
  }, { class: "primary", id: "copy-key" });
  const use = button("Use in playground", () => {
    sessionStorage.setItem(PLAYGROUND_KEY, created.key);
    d.close();
    ctx.go("playground");
  });
  const d = openDialog("Your new API key", [
    h("p", null, "Copy it now: this is the only time the full key is shown."),
    h("div", { class: "secret" }, input, copy),
    status,
    h("div", { class: "dialog-foot" }, use, button("Done", () => d.close(), { id: "key-done" })),
  ]);
  input.focus();
  input.select();
  return d;
}
