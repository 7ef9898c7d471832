// Modal dialogs on the native <dialog> element (focus trap, Escape and backdrop for free).

import { h } from "./dom.js";
import { busy, errorBox } from "./ui.js";

/** Opens a modal; returns {dialog, close}. `body` is a node or a list of nodes. */
export function openDialog(title, body, { onClose } = {}) {
  const closeBtn = h("button", { type: "button", class: "link", "aria-label": "Close" }, "✕");
  const heading = h("h2", null, title);
  const dlg = h("dialog", { "aria-label": title },
    h("div", { class: "dialog-head" }, heading, closeBtn),
    h("div", { class: "dialog-body" }, body));
  const close = () => dlg.close();
  closeBtn.addEventListener("click", close);
  dlg.addEventListener("close", () => {
    dlg.remove();
    if (onClose) onClose();
  });
  document.body.append(dlg);
  dlg.showModal();
  return { dialog: dlg, close };
}

/**
 * A form inside a dialog: `fields` are nodes, `submit` is called with no arguments and
 * may throw; its error shows above the buttons. Resolves the dialog on success.
 */
export function formDialog(title, fields, submitLabel, submit, { onClose } = {}) {
  const err = errorBox();
  const save = h("button", { type: "submit", class: "primary" }, submitLabel);
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { novalidate: true }, fields, err.el, h("div", { class: "dialog-foot" }, cancel, save));
  const d = openDialog(title, form, { onClose });
  cancel.addEventListener("click", d.close);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(save, err, async () => {
      const keepOpen = await submit(d);
      if (keepOpen !== true) d.close();
    });
  });
  const first = form.querySelector("input, select, textarea");
  if (first) first.focus();
  return d;
}

/** Asks before a destructive action; runs `action` and shows its error in the dialog. */
export function confirmDialog(title, message, actionLabel, action) {
  return formDialog(title, [h("p", null, message)], actionLabel, action);
}
