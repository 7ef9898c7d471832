// Account: profile and password. Also the forced password change of the default admin.
// A password change ends every other session and hands back this one's new token.

import { api, session } from "../api.js";
import { h } from "../dom.js";
import { busy, errorBox, field, pageHead, toast } from "../ui.js";

function passwordForm(ctx, forced) {
  const current = h("input", { type: "password", autocomplete: "current-password", id: "current-password" });
  const next = h("input", { type: "password", autocomplete: "new-password", id: "new-password", minlength: 8, maxlength: 72 });
  const confirm = h("input", { type: "password", autocomplete: "new-password", id: "confirm-password" });
  const err = errorBox();
  const submit = h("button", { type: "submit", class: "primary", id: "password-submit" }, "Change password");
  const form = h("form", { novalidate: true },
    field("Current password", current),
    field("New password", next, "8–72 characters"),
    field("Repeat new password", confirm),
    err.el,
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (next.value.length < 8) return err.show("The new password needs at least 8 characters.");
    if (next.value !== confirm.value) return err.show("The two new passwords differ.");
    if (next.value === current.value) return err.show("Choose a password different from the current one.");
    return busy(submit, err, async () => {
      const data = await api("PUT", "/user/self", { current_password: current.value, password: next.value });
      // The old JWT is now invalid; the answer carries the new one.
      const { token, expires_at: _expires, ...user } = data;
      session.set(token, user);
      toast("Password changed.");
      ctx.go("dashboard");
    });
  });
  return form;
}

function profileForm(ctx) {
  const user = ctx.user;
  const name = h("input", { value: user.display_name || "", maxlength: 64, autocomplete: "name" });
  const email = h("input", { type: "email", value: user.email || "", autocomplete: "email" });
  const err = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Save profile");
  const form = h("form", { novalidate: true },
    field("Display name", name), field("Email", email), err.el, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(submit, err, async () => {
      const updated = await api("PUT", "/user/self", { display_name: name.value.trim(), email: email.value.trim() });
      session.setUser(updated);
      toast("Profile saved.");
    });
  });
  return form;
}

export function render(root, ctx) {
  if (ctx.route === "password") {
    const logout = h("button", { type: "button", class: "link" }, "Sign out instead");
    logout.addEventListener("click", () => { session.clear(); ctx.go("login"); });
    root.append(h("h1", null, "Choose a new password"),
      h("p", { class: "muted" }, ctx.user.must_change_password
        ? `The account "${ctx.user.username}" still has its initial password. Choose a new one before continuing.`
        : "Change your password."),
      passwordForm(ctx, true), h("p", { class: "section" }, logout));
    return;
  }
  root.append(pageHead("Account"),
    h("div", { class: "grid two" },
      h("section", { class: "card", "aria-labelledby": "profile-h" }, h("h2", { id: "profile-h" }, "Profile"),
        h("p", { class: "muted small" }, `Signed in as ${ctx.user.username}.`), profileForm(ctx)),
      h("section", { class: "card", "aria-labelledby": "pw-h" }, h("h2", { id: "pw-h" }, "Password"),
        h("p", { class: "muted small" }, "Changing it signs you out everywhere else."), passwordForm(ctx, false))));
}
