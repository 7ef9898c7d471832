// Sign in and (when the operator allows it) create an account.

import { api, session } from "../api.js";
import { h } from "../dom.js";
import { busy, errorBox, field } from "../ui.js";

async function signIn(ctx, username, password) {
  const data = await api("POST", "/user/login", { username, password }, { auth: false });
  session.set(data.token, data.user);
  ctx.go(data.user.must_change_password ? "password" : "dashboard");
}

export function render(root, ctx) {
  return ctx.route === "register" ? registerForm(root, ctx) : loginForm(root, ctx);
}

function loginForm(root, ctx) {
  const username = h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const err = errorBox();
  const submit = h("button", { type: "submit", class: "primary", id: "login-submit" }, "Sign in");
  const form = h("form", { novalidate: true },
    h("h1", null, "Sign in"),
    field("Username", username),
    field("Password", password),
    err.el,
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!username.value.trim() || !password.value) {
      err.show("Enter your username and password.");
      return;
    }
    busy(submit, err, () => signIn(ctx, username.value.trim(), password.value));
  });
  root.append(form, firstRunHint());
  if (ctx.status.register_enabled) {
    root.append(h("p", { class: "muted small section" }, "No account yet? ", h("a", { href: "#/register" }, "Create one")));
  }
  username.focus();
}

// A new gateway has one user, `admin`, whose password only the operator can read.
function firstRunHint() {
  return h("details", { class: "muted small section", id: "first-run-hint" },
    h("summary", null, "First sign-in or lost the admin password?"),
    h("p", null, "The user is ", h("code", null, "admin"), ". On its first start the gateway prints a random password once in its log, in a line starting with ",
      h("code", null, "initial admin password:"), " (unless the operator set ", h("code", null, "INITIAL_ADMIN_PASSWORD"),
      "). You choose a new password right after signing in."),
    h("p", null, "Lost it? On the server, run ", h("code", null, "gateway reset-admin-password"),
      " with the gateway's environment: it prints a new one and ends the old sessions."),
    h("p", null, "Integrating? The management API is described in ",
      h("a", { href: "/api/openapi.json" }, "/api/openapi.json"), " (OpenAPI 3.1)."));
}

function registerForm(root, ctx) {
  root.append(h("h1", null, "Create account"));
  if (!ctx.status.register_enabled) {
    root.append(h("p", null, "Registration is closed on this gateway. Ask an administrator for an account."),
      h("p", null, h("a", { href: "#/login" }, "Back to sign in")));
    return;
  }
  const username = h("input", { autocomplete: "username", required: true, minlength: 3, maxlength: 32, autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { type: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 72 });
  const confirm = h("input", { type: "password", autocomplete: "new-password", required: true });
  const err = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Create account");
  const form = h("form", { novalidate: true },
    field("Username", username, "3–32 letters, digits, _ . -"),
    field("Password", password, "8–72 characters"),
    field("Repeat password", confirm),
    err.el,
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (password.value !== confirm.value) {
      err.show("The two passwords differ.");
      return;
    }
    busy(submit, err, async () => {
      await api("POST", "/user/register", { username: username.value.trim(), password: password.value }, { auth: false });
      await signIn(ctx, username.value.trim(), password.value);
    });
  });
  root.append(form, h("p", { class: "muted small section" }, "Have an account? ", h("a", { href: "#/login" }, "Sign in")));
}
