// Entry point: hash router, session guard and page loading.

import { api, session, setUnauthorizedHandler } from "./api.js";
import { h } from "./dom.js";
import { renderBare, renderShell } from "./shell.js";
import { toast } from "./ui.js";

const ROUTES = {
  login: { page: "login", bare: true, public: true, title: "Sign in" },
  register: { page: "login", bare: true, public: true, title: "Create account" },
  password: { page: "account", bare: true, title: "Change password" },
  dashboard: { page: "dashboard", label: "Dashboard", title: "Dashboard" },
  keys: { page: "keys", label: "API keys", title: "API keys" },
  logs: { page: "logs", label: "Usage logs", title: "Usage logs" },
  playground: { page: "playground", label: "Playground", title: "Playground" },
  account: { page: "account", label: "Account", title: "Account" },
  channels: { page: "channels", label: "Channels", title: "Channels", role: 10 },
  users: { page: "users", label: "Users", title: "Users", role: 10 },
  settings: { page: "settings", label: "Settings", title: "Settings", role: 100 },
};

const app = document.getElementById("app");
const ctx = {
  status: { system_name: "LLM Gateway", register_enabled: false, quota_per_unit: 500000 },
  get user() { return session.get()?.user || null; },
  get isAdmin() { return (this.user?.role || 0) >= 10; },
  get isRoot() { return (this.user?.role || 0) >= 100; },
  go(route) { if (location.hash === `#/${route}`) render(); else location.hash = `#/${route}`; },
  async refreshUser() {
    const user = await api("GET", "/user/self");
    session.setUser(user);
    return user;
  },
  cleanup: [],
};

function currentRoute() {
  const name = location.hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return ROUTES[name] ? name : null;
}

/** Where the guard sends this visit, or null to stay. */
function redirectFor(name) {
  const user = ctx.user;
  if (!user) return ROUTES[name]?.public ? null : "login";
  if (user.must_change_password) return name === "password" ? null : "password";
  if (!name || ROUTES[name].public || name === "password") return "dashboard";
  if ((ROUTES[name].role || 0) > user.role) return "dashboard";
  return null;
}

function navLinks() {
  return Object.entries(ROUTES)
    .filter(([, r]) => r.label && (r.role || 0) <= (ctx.user?.role || 0))
    .map(([route, r]) => ({ route, label: r.label, section: r.role ? "Admin" : "Workspace" }));
}

async function logout() {
  try { await api("POST", "/user/logout"); } catch { /* the session ends here regardless */ }
  session.clear();
  sessionStorage.removeItem("gw.playground.key");
  ctx.go("login");
}

let renderSeq = 0;
async function render() {
  const seq = ++renderSeq;
  for (const fn of ctx.cleanup.splice(0)) fn();
  const name = currentRoute();
  const target = redirectFor(name);
  if (target) { location.replace(`#/${target}`); return; }
  const route = ROUTES[name];
  document.title = `${route.title} · ${ctx.status.system_name}`;
  const container = route.bare
    ? renderBare(app, ctx.status.system_name)
    : renderShell(app, { name: ctx.status.system_name, user: ctx.user, links: navLinks(), current: name, onLogout: logout });
  try {
    const mod = await import(`./pages/${route.page}.js`);
    if (seq !== renderSeq) return;
    const pageCtx = Object.assign(Object.create(ctx), { route: name, onLeave: (fn) => ctx.cleanup.push(fn) });
    await mod.render(container, pageCtx);
  } catch (e) {
    container.append(h("p", { class: "error", role: "alert" }, `This page failed to load: ${e.message}`));
  }
  if (seq === renderSeq) {
    const heading = container.querySelector("h1") || document.getElementById("main");
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

setUnauthorizedHandler(() => {
  session.clear();
  toast("Your session has ended. Please sign in again.");
  ctx.go("login");
});

async function boot() {
  try {
    Object.assign(ctx.status, await api("GET", "/status", undefined, { auth: false }));
  } catch (e) {
    toast(e.message);
  }
  if (session.get()) {
    try { await ctx.refreshUser(); } catch { /* a 401 already cleared the session */ }
  }
  window.addEventListener("hashchange", render);
  render();
}

boot();
