// Admin: channels (upstream providers): test one or all, enable/disable, edit, delete.
// The last test's outcome is stored on the channel, so a failure stays visible.

import { api, query } from "../api.js";
import { confirmDialog } from "../dialog.js";
import { h, mount } from "../dom.js";
import { dateTime, ms, plural, usd } from "../format.js";
import { healthCell } from "../limits.js";
import { actionMenu } from "../menu.js";
import { badge, busy, button, errorBox, loading, longText, pageHead, pager, rowMessage, statusBadge, table, toast } from "../ui.js";
import { channelDialog, TYPES } from "./channel_form.js";

const PAGE_SIZE = 20;

function lastTest(c) {
  if (c.test_success === null || c.test_success === undefined) return h("span", { class: "muted" }, "never tested");
  return [
    h("div", { class: "test-line" }, c.test_success ? badge("OK", "ok") : badge("Failed", "bad"),
      c.test_success ? h("span", null, ms(c.response_time_ms)) : null),
    h("div", { class: "muted small" }, dateTime(c.test_at)),
    !c.test_success && c.test_error ? longText(c.test_error, { kind: "bad" }) : null,
  ];
}

function relayText(v) {
  return v === null || v === undefined ? null : v ? "via relay" : "direct";
}

/** "Tested 3 channels: 2 passed, 1 failed · 1 disabled channel skipped." */
function summary(r) {
  const parts = [`Tested ${plural(r.tested, "channel")}: ${r.passed} passed, ${r.failed} failed`];
  if (r.skipped) parts.push(`${plural(r.skipped, "disabled channel")} skipped`);
  return `${parts.join(" · ")}.`;
}

export async function render(root, ctx) {
  const per = ctx.status.quota_per_unit;
  const list = h("div", null, loading());
  const err = errorBox();
  const report = h("p", { class: "summary", role: "status", id: "test-all-summary" });
  const search = h("input", { type: "search", placeholder: "Search by name", "aria-label": "Search channels", id: "channel-search" });
  let page = 1;
  let healthById = new Map();

  const load = async () => {
    err.clear();
    try {
      const [data, health] = await Promise.all([
        api("GET", `/channel${query({ p: page, page_size: PAGE_SIZE, keyword: search.value.trim() })}`),
        api("GET", "/channel/health").catch(() => ({ channels: [] })),
      ]);
      healthById = new Map(health.channels.map((r) => [r.id, r]));
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
      toast(r.success ? `${c.name}: OK, ${r.model} answered in ${ms(r.latency_ms)}` : `${c.name}: test failed`);
      await load();
    }), { class: "small", dataset: { channel: String(c.id) }, "aria-label": `Test ${c.name}` });
    const enabled = c.status === 1;
    const run = (fn) => async () => {
      msg.clear();
      try { await fn(); } catch (e) { msg.bad(e.message); }
    };
    const menu = actionMenu(`More actions for ${c.name}`, [
      { label: "Edit", run: () => channelDialog(c, load) },
      { label: enabled ? "Disable" : "Enable", run: run(async () => { await api("PUT", `/channel/${c.id}`, { status: enabled ? 2 : 1 }); await load(); }) },
      { label: "Delete", danger: true, run: () => confirmDialog("Delete channel", `Delete “${c.name}”? Requests will no longer be routed to it.`, "Delete", async () => {
        await api("DELETE", `/channel/${c.id}`);
        await load();
      }) },
    ]);
    return [h("div", { class: "cell-actions" }, test, menu), msg.el];
  };

  const columns = [
    { label: "Name", render: (c) => [h("strong", { class: "break-any" }, c.name),
      h("div", { class: "muted small" }, [`#${c.id}`, TYPES[c.type] || `type ${c.type}`, c.group, relayText(c.use_relay)].filter(Boolean).join(" · "))] },
    { label: "Status", render: (c) => [statusBadge("channel", c.status), c.disabled_reason ? longText(c.disabled_reason, { lines: 2 }) : null] },
    // A disabled channel gets no traffic: its health says nothing.
    { label: "Health", render: (c) => (c.status === 1 ? healthCell(healthById.get(c.id)) : h("span", { class: "muted" }, "—")) },
    { label: "Models", render: (c) => (c.models.length ? longText(c.models.join(", ")) : h("span", { class: "muted" }, "none")) },
    { label: "Priority · weight", render: (c) => `${c.priority} · ${c.weight}` },
    { label: "Used", num: true, render: (c) => usd(c.used_quota, per) },
    { label: "Last test", render: lastTest },
    { label: "Actions", render: actions },
  ];

  const create = button("New channel", () => channelDialog(null, load), { class: "primary", id: "new-channel" });
  const testAll = button("Test all channels", () => busy(testAll, err, async () => {
    report.textContent = "Testing…";
    try {
      const r = await api("POST", "/channel/test");
      report.textContent = summary(r);
    } catch (e) {
      report.textContent = "";
      throw e;
    }
    await load();
  }), { id: "test-all" });
  search.addEventListener("input", () => { page = 1; clearTimeout(search.timer); search.timer = setTimeout(load, 250); });
  root.append(pageHead("Channels", testAll, create),
    h("p", { class: "muted" }, "Upstream providers. Requests go to enabled channels serving the model: highest priority first, weighted inside a priority."),
    h("div", { class: "row" }, h("div", { class: "field" }, search)), err.el, report, list);
  await load();
}
