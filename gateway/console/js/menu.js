// "More actions" menus for table rows: a button opening a popover list. The popover
// sits in the top layer, so a table's scroll box never clips it; it is placed under
// its button and kept inside the viewport, and works with the keyboard (arrows, Home,
// End, Escape returns to the button).

import { h, uid } from "./dom.js";

function place(btn, pop) {
  const r = btn.getBoundingClientRect();
  const w = pop.offsetWidth, ht = pop.offsetHeight;
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const left = Math.min(Math.max(8, r.right - w), vw - w - 8);
  const below = r.bottom + 4;
  const top = below + ht > vh - 8 && r.top - ht - 4 > 8 ? r.top - ht - 4 : below;
  pop.style.left = `${Math.max(8, left)}px`;
  pop.style.top = `${Math.max(8, top)}px`;
}

/**
 * `items`: [{label, run, danger?}] (falsy entries are skipped). `label` names the menu
 * for screen readers, e.g. "More actions for mock upstream".
 */
export function actionMenu(label, items) {
  const id = uid("menu");
  const btn = h("button", { type: "button", class: "small menu-button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": id, "aria-label": label, title: label }, "More ▾");
  const pop = h("div", { id, popover: "auto", role: "menu", class: "menu", "aria-label": label });
  const entries = items.filter(Boolean).map((it) => h("button", {
    type: "button", role: "menuitem", class: ["menu-item", it.danger && "danger"],
    on: { click: () => { pop.hidePopover(); it.run(); } },
  }, it.label));
  pop.append(...entries);
  btn.popoverTargetElement = pop;
  // The menu belongs to its row: a scroll or resize would leave it floating elsewhere.
  const close = () => pop.hidePopover();
  const watch = (on) => {
    const f = on ? addEventListener : removeEventListener;
    f.call(window, "resize", close);
    f.call(document, "scroll", close, true);
  };
  pop.addEventListener("toggle", (e) => {
    const open = e.newState === "open";
    btn.setAttribute("aria-expanded", String(open));
    watch(open);
    if (open) {
      place(btn, pop);
      entries[0]?.focus({ preventScroll: true });
    } else if (pop.contains(document.activeElement) || document.activeElement === document.body) {
      btn.focus();
    }
  });
  pop.addEventListener("keydown", (e) => {
    const i = entries.indexOf(document.activeElement);
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: entries.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    entries[(to + entries.length) % entries.length].focus();
  });
  return h("span", { class: "menu-wrap" }, btn, pop);
}
