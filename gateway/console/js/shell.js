// The page frame: navigation (sidebar on desktop, menu button on phones), theme toggle,
// the signed-in user and sign-out.

import { h } from "./dom.js";
import { roleName } from "./ui.js";

const ICON = () => h("img", { src: new URL("../icon.svg", import.meta.url).href, alt: "" });

function effectiveTheme() {
  const set = document.documentElement.dataset.theme;
  if (set) return set;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/** A button that flips between light and dark and remembers the choice. */
export function themeToggle() {
  const btn = h("button", { type: "button", class: "small", id: "theme-toggle" });
  const paint = () => {
    const dark = effectiveTheme() === "dark";
    btn.setAttribute("aria-pressed", String(dark));
    btn.textContent = `${dark ? "☾" : "☀"} Dark theme`;
    btn.title = dark ? "Dark theme is on: switch to light" : "Dark theme is off: switch to dark";
  };
  btn.addEventListener("click", () => {
    const next = effectiveTheme() === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    try { localStorage.setItem("gw.theme", next); } catch { /* not persisted */ }
    paint();
  });
  paint();
  return btn;
}

function brand(name) {
  return h("div", { class: "brand" }, ICON(), h("span", null, name));
}

/**
 * Builds the signed-in layout; returns the element pages render into.
 * `links`: [{route, label, section?}], `current`: the active route.
 */
export function renderShell(app, { name, user, links, current, onLogout }) {
  const menuBtn = h("button", { type: "button", class: "small", "aria-expanded": "false", "aria-controls": "sidebar" }, "☰ Menu");
  menuBtn.addEventListener("click", () => {
    const open = app.classList.toggle("nav-open");
    menuBtn.setAttribute("aria-expanded", String(open));
  });
  let section = null;
  const items = [];
  for (const l of links) {
    if (l.section && l.section !== section) {
      section = l.section;
      items.push(h("li", { class: "nav-section", role: "presentation" }, section));
    }
    items.push(h("li", null, h("a", { href: `#/${l.route}`, "aria-current": l.route === current ? "page" : null }, l.label)));
  }
  const logout = h("button", { type: "button", class: "small", id: "logout" }, "Sign out");
  logout.addEventListener("click", onLogout);
  const content = h("div", { class: "content" });
  app.className = "app with-nav";
  app.replaceChildren(
    h("header", { class: "topbar" }, brand(name), menuBtn),
    h("aside", { class: "sidebar", id: "sidebar" },
      brand(name),
      h("nav", { "aria-label": "Main" }, h("ul", { class: "nav" }, items)),
      h("div", { class: "sidebar-foot" },
        h("div", { class: "who" }, h("strong", null, user.display_name || user.username), h("br"),
          h("span", { class: "muted" }, `${user.username} · ${roleName(user.role)}`)),
        themeToggle(), logout)),
    h("main", { id: "main", tabindex: "-1" }, content));
  return content;
}

/** The centred layout of the sign-in, register and forced password pages. */
export function renderBare(app, name) {
  const card = h("div", { class: "card auth-card" }, brand(name));
  app.className = "app";
  app.replaceChildren(h("div", { class: "auth-top" }, themeToggle()),
    h("main", { id: "main", class: "auth-wrap", tabindex: "-1" }, card));
  return card;
}
