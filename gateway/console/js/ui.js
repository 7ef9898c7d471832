// Shared widgets: labelled fields, error boxes, busy buttons, tables, pagers, badges.

import { h, uid } from "./dom.js";

/** A labelled form control; `control` gets an id tied to the label (and hint). */
export function field(label, control, hint) {
  const id = control.id || uid();
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    const hid = `${id}-hint`;
    control.setAttribute("aria-describedby", hid);
    parts.push(h("div", { class: "hint", id: hid }, hint));
  }
  return h("div", { class: "field" }, parts);
}

/** A labelled checkbox. */
export function checkbox(label, checked, attrs = {}) {
  const input = h("input", { type: "checkbox", checked: !!checked, ...attrs });
  return { input, el: h("label", { class: "check field" }, input, label) };
}

/** An inline error region, shown next to the action it belongs to. */
export function errorBox() {
  const el = h("div", { class: "error", role: "alert" });
  return {
    el,
    show(msg) { el.textContent = msg || ""; },
    clear() { el.textContent = ""; },
  };
}

/** Runs `fn` with the button busy; shows a failure in `err` (an errorBox or element). */
export async function busy(button, err, fn) {
  if (button.getAttribute("aria-busy") === "true") return undefined;
  if (err) (err.clear ? err.clear() : (err.textContent = ""));
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  try {
    return await fn();
  } catch (e) {
    const msg = e?.message || String(e);
    if (err) (err.show ? err.show(msg) : (err.textContent = msg));
    else toast(msg);
    return undefined;
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = false;
  }
}

/** A button; `onClick` receives the click event. */
export function button(label, onClick, attrs = {}) {
  return h("button", { type: "button", ...attrs, on: { click: onClick } }, label);
}

/**
 * A data table. columns: [{label, render(row) → node|string, num?: bool}].
 * An empty list shows `empty` instead of rows.
 */
export function table(columns, rows, { empty = "Nothing here yet.", caption } = {}) {
  const head = h("tr", null, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)));
  const body = rows.length
    ? rows.map((r) => h("tr", null, columns.map((c) => h("td", { class: [c.num && "num", c.nowrap && "nowrap"], "data-label": c.label }, h("div", { class: "cell" }, c.render(r))))))
    : [h("tr", null, h("td", { class: "empty", colspan: columns.length }, empty))];
  return h("div", { class: "table-wrap" },
    h("table", null, caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", null, head), h("tbody", null, body)));
}

/** "Page x of y" with previous/next buttons. */
export function pager(page, pageSize, total, go) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("span", { class: "muted small" }, `${total} total · page ${page} of ${pages}`),
    button("Previous", () => go(page - 1), { class: "small", disabled: page <= 1 }),
    button("Next", () => go(page + 1), { class: "small", disabled: page >= pages }));
}

export function badge(text, kind) {
  return h("span", { class: ["badge", kind] }, text);
}

const TOKEN_STATUS = { 1: ["Enabled", "ok"], 2: ["Disabled", "bad"], 3: ["Expired", "warn"], 4: ["Exhausted", "warn"] };
const CHANNEL_STATUS = { 1: ["Enabled", "ok"], 2: ["Disabled", "bad"], 3: ["Auto-disabled", "warn"] };
const USER_STATUS = { 1: ["Enabled", "ok"], 2: ["Disabled", "bad"] };

export function statusBadge(kind, status) {
  const map = { token: TOKEN_STATUS, channel: CHANNEL_STATUS, user: USER_STATUS }[kind];
  const [text, cls] = map[status] || [`Status ${status}`, null];
  return badge(text, cls);
}

export function roleName(role) {
  return role >= 100 ? "Root" : role >= 10 ? "Admin" : "User";
}

/** A small message under a table row's buttons. */
export function rowMessage() {
  const el = h("span", { class: "row-msg", role: "status" });
  return {
    el,
    good(msg) { el.className = "row-msg good"; el.textContent = msg; },
    bad(msg) { el.className = "row-msg bad"; el.textContent = msg; },
    clear() { el.textContent = ""; },
  };
}

/** A transient notice, announced to screen readers. */
export function toast(msg) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const t = h("div", { class: "toast" }, msg);
  box.append(t);
  setTimeout(() => t.remove(), 3500);
}

export function stat(label, value, sub, id) {
  return h("div", { class: "card stat" },
    h("p", { class: "label" }, label),
    h("div", { class: "value", id }, value),
    sub ? h("div", { class: "sub" }, sub) : null);
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

export function pageHead(title, ...actions) {
  return h("div", { class: "page-head" },
    h("h1", { tabindex: "-1" }, title),
    actions.length ? h("div", { class: "actions" }, actions) : null);
}

/**
 * A long message (an upstream error, a model list) wrapped inside its cell and clamped
 * to a few lines; a "Show all" button appears whenever the clamp actually hides text
 * (measured after layout, so it follows the column's real width).
 */
export function longText(text, { kind, lines = 3 } = {}) {
  const clamp = `clamp-${lines}`;
  const body = h("span", { class: ["long-text", clamp, kind] }, text);
  const more = h("button", { type: "button", class: "link small more", "aria-expanded": "false", hidden: true }, "Show all");
  more.addEventListener("click", () => {
    const open = !body.classList.toggle(clamp);
    more.setAttribute("aria-expanded", String(open));
    more.textContent = open ? "Show less" : "Show all";
  });
  const sync = () => {
    if (!body.isConnected || !body.classList.contains(clamp)) return;
    more.hidden = body.scrollHeight <= body.clientHeight + 1;
  };
  new ResizeObserver(sync).observe(body);
  return h("div", { class: "long" }, body, more);
}
