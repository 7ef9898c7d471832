// Admin: channels (upstream providers) with test, enable/disable, edit and delete.

import { api, query } from "../api.js";
import { confirmDialog } from "../dialog.js";
import { h, mount } from "../dom.js";
import { dateTime, ms, usd } from "../format.js";
import { badge, busy, button, errorBox, loading, pageHead, pager, rowMessage, statusBadge, table } from "../ui.js";
import { channelDialog, TYPES } from "./channel_form.js";

const PAGE_SIZE = 20;

export async function render(root, ctx) {
  const per = ctx.status.quota_per_unit;
  const list = h("div", null, loading());
  const err = errorBox();
  const search = h("input", { type: "search", placeholder: "Search by name", "aria-label": "Search channels", id: "channel-search" });
  let page = 1;

  const load = async () => {
    err.clear();
    try {
      const data = await api("GET", `/channel${query({ p: page, page_size: PAGE_SIZE, keyword: search.value.trim() })}`);
      mount(list, table(columns, data.items, { empty: "No channels yet. Add one to start routing requests.", caption: "Channels" }),
        pager(data.page, data.page_size, data.total, (p) => { page = p; load(); }));
    } catch (e) {
      mount(list);
      err.show(e.message);
    }
  };

  const actions = (c) => {
    const msg = rowMessage();
    const sink = { show: msg.bad, clear: msg.clear };
    const test = button("Test", () => busy(test, sink, async () => {
      const r = await api("POST", `/channel/${c.id}/test`);
      await load();
      const row = list.querySelector(`[data-channel="${c.id}"]`);
      const out = row?.closest("td")?.querySelector(".row-msg");
      if (out) {
        out.className = `row-msg ${r.success ? "good" : "bad"}`;
        out.textContent = r.success ? `OK: ${r.model} answered in ${ms(r.latency_ms)}` : `Failed: ${r.message}`;
      }
    }), { class: "small", dataset: { channel: String(c.id) }, "aria-label": `Test ${c.name}` });
    const enabled = c.status === 1;
    const toggle = button(enabled ? "Disable" : "Enable", () => busy(toggle, sink, async () => {
      await api("PUT", `/channel/${c.id}`, { status: enabled ? 2 : 1 });
      await load();
    }), { class: "small" });
    const edit = button("Edit", () => channelDialog(c, load), { class: "small" });
    const del = button("Delete", () => confirmDialog("Delete channel", `Delete “${c.name}”? Requests will no longer be routed to it.`, "Delete", async () => {
      await api("DELETE", `/channel/${c.id}`);
      await load();
    }), { class: "small danger" });
    return [h("div", { class: "cell-actions" }, test, edit, toggle, del), msg.el];
  };

  const columns = [
    { label: "Name", render: (c) => [h("strong", null, c.name), h("div", { class: "muted small" }, `#${c.id} · ${c.group}`)] },
    { label: "Type", render: (c) => TYPES[c.type] || String(c.type) },
    { label: "Status", render: (c) => [statusBadge("channel", c.status), c.disabled_reason ? h("div", { class: "muted small", title: c.disabled_reason }, c.disabled_reason) : null] },
    { label: "Models", render: (c) => h("span", { class: "truncate", title: c.models.join(", ") }, c.models.join(", ") || "—") },
    { label: "Priority", num: true, render: (c) => String(c.priority) },
    { label: "Weight", num: true, render: (c) => String(c.weight) },
    { label: "Response", num: true, render: (c) => (c.test_at || c.response_time_ms ? ms(c.response_time_ms) : "—") },
    { label: "Used", num: true, render: (c) => usd(c.used_quota, per) },
    { label: "Tested", nowrap: true, render: (c) => dateTime(c.test_at) },
    { label: "Relay", render: (c) => badge(c.use_relay === null ? "default" : c.use_relay ? "yes" : "no") },
    { label: "Actions", render: actions },
  ];

  const create = button("New channel", () => channelDialog(null, load), { class: "primary", id: "new-channel" });
  search.addEventListener("input", () => { page = 1; clearTimeout(search.timer); search.timer = setTimeout(load, 250); });
  root.append(pageHead("Channels", create),
    h("p", { class: "muted" }, "Upstream providers. Requests go to enabled channels serving the model: highest priority first, weighted inside a priority."),
    h("div", { class: "row" }, h("div", { class: "field" }, search)), err.el, list);
  await load();
}
