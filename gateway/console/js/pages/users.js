// Admin: users (search, balance, group, role, status) and creating accounts.

import { api, query } from "../api.js";
import { confirmDialog, formDialog } from "../dialog.js";
import { h, mount } from "../dom.js";
import { num, usd } from "../format.js";
import { limitFields, limitSummary } from "../limits.js";
import { actionMenu } from "../menu.js";
import { badge, button, errorBox, field, loading, pageHead, pager, roleName, rowMessage, statusBadge, table } from "../ui.js";

const PAGE_SIZE = 20;

function userDialog(ctx, u, done) {
  const per = ctx.status.quota_per_unit;
  const username = h("input", { id: "user-username", value: u?.username || "", disabled: !!u, autocomplete: "off" });
  const display = h("input", { id: "user-display", value: u?.display_name || "" });
  const email = h("input", { id: "user-email", type: "email", value: u?.email || "" });
  const quota = h("input", { id: "user-quota", type: "number", min: 0, step: 1, value: u ? u.quota : "", inputmode: "numeric", placeholder: u ? "" : "new-user default" });
  const quotaHint = h("span");
  const sync = () => { quotaHint.textContent = quota.value === "" ? "" : `= ${usd(quota.value, per)}`; };
  quota.addEventListener("input", sync);
  sync();
  const group = h("input", { id: "user-group", value: u?.group || "default" });
  const role = h("select", { id: "user-role", disabled: !ctx.isRoot || (u && u.role >= 100) },
    [[1, "User"], [10, "Admin"], ...(u?.role >= 100 ? [[100, "Root"]] : [])].map(([v, l]) => h("option", { value: v, selected: (u?.role ?? 1) === v }, l)));
  const password = h("input", { id: "user-password", type: "password", autocomplete: "new-password" });
  const limits = limitFields(u, per, "user", { usagePath: u ? `/user/${u.id}/usage` : null, note: "Apply to all of the user's keys together." });
  const fields = [
    h("div", { class: "form-grid" },
      field("Username", username), field("Display name", display),
      field("Email", email), field("Group", group),
      field("Balance (quota)", quota, quotaHint),
      field("Role", role, ctx.isRoot ? "" : "Only root changes roles")),
    field(u ? "New password" : "Password", password, u ? "Leave empty to keep it. 8–72 characters." : "8–72 characters"),
    limits.el,
  ];
  return formDialog(u ? `Edit ${u.username}` : "New user", fields, u ? "Save" : "Create user", async () => {
    const lim = limits.read();
    const body = { display_name: display.value.trim(), email: email.value.trim(), group: group.value.trim() || "default" };
    if (quota.value !== "") body.quota = Number(quota.value);
    if (!role.disabled) body.role = Number(role.value);
    if (password.value) body.password = password.value;
    if (u) {
      if (!ctx.isRoot || u.id === ctx.user.id) delete body.role;
      await api("PUT", `/user/${u.id}`, { ...body, ...lim });
    } else {
      body.username = username.value.trim();
      if (!body.password) throw new Error("Set a password for the new user.");
      const made = await api("POST", "/user", body);
      // Creating takes no limits: set them right after, when there are any.
      if (Object.values(lim).some((v) => v > 0)) await api("PUT", `/user/${made.id}`, lim);
    }
    if (u && u.id === ctx.user.id) await ctx.refreshUser().catch(() => {});
    done();
  });
}

export async function render(root, ctx) {
  const per = ctx.status.quota_per_unit;
  const list = h("div", null, loading());
  const err = errorBox();
  const search = h("input", { type: "search", placeholder: "Search username, name or email", "aria-label": "Search users", id: "user-search" });
  let page = 1;

  const load = async () => {
    err.clear();
    try {
      const data = await api("GET", `/user${query({ p: page, page_size: PAGE_SIZE, keyword: search.value.trim() })}`);
      mount(list, table(columns, data.items, { empty: "No users match.", caption: "Users" }),
        pager(data.page, data.page_size, data.total, (p) => { page = p; load(); }));
    } catch (e) {
      mount(list);
      err.show(e.message);
    }
  };

  const actions = (u) => {
    const msg = rowMessage();
    const run = (fn) => async () => {
      msg.clear();
      try { await fn(); } catch (e) { msg.bad(e.message); }
    };
    const edit = button("Edit", () => userDialog(ctx, u, load), { class: "small", "aria-label": `Edit ${u.username}` });
    const self = u.id === ctx.user.id;
    const enabled = u.status === 1;
    // Admins cannot disable or delete themselves: no menu on their own row.
    const menu = self ? null : actionMenu(`More actions for ${u.username}`, [
      { label: enabled ? "Disable" : "Enable", run: run(async () => {
        await api("PUT", `/user/${u.id}`, { status: enabled ? 2 : 1 });
        await load();
      }) },
      { label: "Delete", danger: true, run: () => confirmDialog("Delete user", `Delete ${u.username} and their keys?`, "Delete", async () => {
        await api("DELETE", `/user/${u.id}`);
        await load();
      }) },
    ]);
    return [h("div", { class: "cell-actions" }, edit, menu), msg.el];
  };

  const columns = [
    { label: "User", render: (u) => [h("strong", null, u.username), h("div", { class: "muted small" }, `#${u.id}${u.display_name && u.display_name !== u.username ? ` · ${u.display_name}` : ""}`)] },
    { label: "Role", render: (u) => badge(roleName(u.role), u.role >= 10 ? "accent" : null) },
    { label: "Group", render: (u) => [u.group, limitSummary(u, per)] },
    { label: "Status", render: (u) => [statusBadge("user", u.status), u.must_change_password ? h("div", { class: "muted small" }, "must change password") : null] },
    { label: "Balance", num: true, render: (u) => [usd(u.quota, per), h("div", { class: "muted small" }, num(u.quota))] },
    { label: "Used", num: true, render: (u) => usd(u.used_quota, per) },
    { label: "Requests", num: true, render: (u) => num(u.request_count) },
    { label: "Actions", render: actions },
  ];

  const create = button("New user", () => userDialog(ctx, null, load), { class: "primary", id: "new-user" });
  search.addEventListener("input", () => { page = 1; clearTimeout(search.timer); search.timer = setTimeout(load, 250); });
  root.append(pageHead("Users", create), h("div", { class: "row" }, h("div", { class: "field" }, search)), err.el, list);
  await load();
}
