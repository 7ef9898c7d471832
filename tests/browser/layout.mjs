// Geometry checks for "nothing is clipped": measured in the page, not judged by eye.
//
// For the page and every table (`.table-wrap`): the page does not scroll sideways, a
// table needs no sideways scrolling, every visible control in a table (buttons, links,
// inputs, badges) lies fully inside its table box and the viewport and shows all of its
// text, no cell's content is wider than the cell, and text clamped to a few lines has a
// visible "Show all" button. Controls outside tables (page
// head, filters, pager) must lie inside the viewport too.

import assert from "node:assert/strict";

/** Runs in the page; returns a list of problems (empty when everything fits). */
async function measure() {
  // Let layout and the resize observers (the "Show all" buttons) settle first.
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const out = [];
  const vw = document.documentElement.clientWidth;
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden"
    && !el.closest(".visually-hidden, [popover]:not(:popover-open)");
  const name = (el) => `${el.tagName.toLowerCase()} "${(el.textContent || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 50)}"`;
  const px = (n) => Math.round(n);
  if (document.documentElement.scrollWidth > vw + 1) {
    out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
  }
  const main = document.getElementById("main");
  for (const el of main ? main.querySelectorAll("button, a, input, select, textarea") : []) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.right > vw + 0.5) out.push(`${name(el)} is outside the viewport: ${px(r.left)}–${px(r.right)} of ${vw}`);
  }
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    if (!visible(wrap)) continue;
    const box = wrap.getBoundingClientRect();
    if (wrap.scrollWidth > wrap.clientWidth + 1) out.push(`a table scrolls sideways: ${wrap.scrollWidth} > ${wrap.clientWidth}`);
    for (const el of wrap.querySelectorAll("button, a, input, select, .badge")) {
      if (!visible(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) {
        out.push(`${name(el)} is clipped by its table: ${px(r.left)}–${px(r.right)} outside ${px(box.left)}–${px(box.right)}`);
      }
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${name(el)} cuts its text: ${el.scrollWidth} > ${el.clientWidth}`);
    }
    // Text clamped to a few lines must offer its "Show all" button.
    for (const el of wrap.querySelectorAll(".long-text")) {
      if (!visible(el) || el.scrollHeight <= el.clientHeight + 1) continue;
      const more = el.parentElement.querySelector("button.more");
      if (!more || !visible(more)) out.push(`"${el.textContent.slice(0, 50)}" is clamped without a "Show all" button`);
    }
    for (const td of wrap.querySelectorAll("td")) {
      if (visible(td) && td.scrollWidth > td.clientWidth + 1) {
        out.push(`a cell is wider than its column: "${td.textContent.trim().slice(0, 60)}" ${td.scrollWidth} > ${td.clientWidth}`);
      }
    }
  }
  return out;
}

/** Fails with every clipped or overflowing element of the current page. */
export async function assertFits(page, label) {
  const problems = await page.evaluate(measure);
  assert.deepEqual(problems, [], `${label} at ${page.viewportSize().width} px:\n${problems.join("\n")}`);
}

/** How many controls a page's tables hold (so a fit check never passes on an empty page). */
export async function tableControls(page) {
  return page.locator(".table-wrap button:visible").count();
}

/** Opens a row's "More" menu and checks each item is inside the viewport. */
export async function openMenu(page, row, label) {
  await row.getByRole("button", { name: label }).click();
  const menu = page.getByRole("menu", { name: label });
  await menu.waitFor();
  const vp = page.viewportSize();
  for (const item of await menu.getByRole("menuitem").all()) {
    const b = await item.boundingBox();
    assert.ok(b && b.x >= 0 && b.y >= 0 && b.x + b.width <= vp.width && b.y + b.height <= vp.height,
      `menu item ${await item.innerText()} is outside the ${vp.width}×${vp.height} viewport: ${JSON.stringify(b)}`);
  }
  return menu;
}
