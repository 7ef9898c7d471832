// API keys: list, create (full key shown once), edit, enable/disable, delete.

import { api, query } from "../api.js";
import { confirmDialog } from "../dialog.js";
import { h, mount } from "../dom.js";
import { dateTime, plural, usd } from "../format.js";
import { limitSummary } from "../limits.js";
import { actionMenu } from "../menu.js";
import { button, errorBox, loading, longText, pageHead, pager, rowMessage, statusBadge, table } from "../ui.js";
import { keyDialog, showNewKey } from "./key_form.js";

const PAGE_SIZE = 20;

export async function render(root, ctx) {
  const per = ctx.status.quota_per_unit;
  const list = h("div", null, loading());
  const err = errorBox();
  let page = 1;
  const search = h("input", { type: "search", placeholder: "Search by name", "aria-label": "Search keys", id: "key-search" });

  const load = async () => {
    err.clear();
    try {
      const data = await api("GET", `/token${query({ p: page, page_size: PAGE_SIZE, keyword: search.value.trim() })}`);
      mount(list, table(columns(), data.items, { empty: "No API keys yet. Create one to call /v1.", caption: "API keys" }),
        pager(data.page, data.page_size, data.total, (p) => { page = p; load(); }));
    } catch (e) {
      mount(list);
      err.show(e.message);
    }
  };

  const rowActions = (t) => {
    const msg = rowMessage();
    const run = (fn) => async () => {
      msg.clear();
      try { await fn(); } catch (e) { msg.bad(e.message); }
    };
    const edit = button("Edit", () => keyDialog(ctx, t, load), { class: "small", "aria-label": `Edit ${t.name}` });
    const menu = actionMenu(`More actions for ${t.name}`, [
      { label: t.status === 2 ? "Enable" : "Disable", run: run(async () => {
        await api("PUT", `/token/${t.id}`, { status: t.status === 2 ? 1 : 2 });
        await load();
      }) },
      { label: "Delete", danger: true, run: () => confirmDialog("Delete key", `Delete “${t.name}”? Apps using it stop working at once.`, "Delete", async () => {
        await api("DELETE", `/token/${t.id}`);
        await load();
      }) },
    ]);
    return [h("div", { class: "cell-actions" }, edit, menu), msg.el];
  };

  const columns = () => [
    { label: "Name", render: (t) => [h("strong", null, t.name), h("div", null, h("code", null, t.key_prefix)), limitSummary(t, per)] },
    { label: "Status", render: (t) => statusBadge("token", t.status) },
    { label: "Remaining", num: true, render: (t) => (t.unlimited_quota ? "Unlimited" : usd(t.remain_quota, per)) },
    { label: "Used", num: true, render: (t) => [usd(t.used_quota, per), h("div", { class: "muted small" }, plural(t.request_count, "request"))] },
    { label: "Models", render: (t) => (t.models.length ? longText(t.models.join(", ")) : "all") },
    { label: "Expires", render: (t) => (t.expired_at ? dateTime(t.expired_at) : "never") },
    { label: "Last used", render: (t) => (t.last_used_at ? dateTime(t.last_used_at) : "never") },
    { label: "Actions", render: rowActions },
  ];

  const create = button("New API key", () => keyDialog(ctx, null, (created) => { showNewKey(ctx, created); load(); }), { class: "primary", id: "new-key" });
  search.addEventListener("input", () => { page = 1; clearTimeout(search.timer); search.timer = setTimeout(load, 250); });
  root.append(pageHead("API keys", create),
    h("p", { class: "muted" }, "Keys authenticate calls to ", h("code", null, "/v1"), " (OpenAI-compatible). Only a short prefix is kept visible; the full key is shown once, when created."),
    h("div", { class: "row" }, h("div", { class: "field" }, search)), err.el, list);
  await load();
}
