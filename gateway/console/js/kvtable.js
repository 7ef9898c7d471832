// An editable table of name → value pairs (model ratios, model mappings).

import { h } from "./dom.js";
import { button } from "./ui.js";

/**
 * `entries`: an object. `numeric`: values are numbers ≥ 0. Returns {el, read(), set(k, v)}
 * where read() gives the object back or throws an Error naming the bad row, and set()
 * changes a row's value (adding the row when missing).
 */
export function kvTable(entries, { keyLabel = "Name", valueLabel = "Value", numeric = false, addLabel = "Add row", id } = {}) {
  const body = h("tbody");
  const addRow = (k = "", v = "") => {
    const key = h("input", { value: k, "aria-label": keyLabel, placeholder: keyLabel });
    const val = h("input", { value: v, "aria-label": valueLabel, placeholder: valueLabel, ...(numeric ? { type: "number", min: 0, step: "any", inputmode: "decimal" } : {}) });
    const tr = h("tr", null, h("td", null, key), h("td", null, val),
      h("td", null, button("Remove", () => { tr.remove(); }, { class: "small danger", "aria-label": `Remove ${k || "row"}` })));
    body.append(tr);
    return key;
  };
  for (const [k, v] of Object.entries(entries || {})) addRow(k, String(v));
  const add = button(addLabel, () => addRow().focus(), { class: "small" });
  const el = h("div", { id },
    h("table", { class: "kv" }, h("thead", null, h("tr", null, h("th", null, keyLabel), h("th", null, valueLabel), h("th", null, h("span", { class: "visually-hidden" }, "Actions")))), body),
    add);
  const read = () => {
    const out = {};
    for (const tr of body.rows) {
      const [k, v] = [...tr.querySelectorAll("input")].map((i) => i.value.trim());
      if (!k && !v) continue;
      if (!k) throw new Error(`${keyLabel} missing in a row of ${valueLabel.toLowerCase()}s.`);
      if (k in out) throw new Error(`${k} appears twice.`);
      if (numeric) {
        const n = Number(v);
        if (v === "" || !Number.isFinite(n) || n < 0) throw new Error(`${k}: ${valueLabel.toLowerCase()} must be a number ≥ 0.`);
        out[k] = n;
      } else {
        if (!v) throw new Error(`${k}: ${valueLabel.toLowerCase()} is empty.`);
        out[k] = v;
      }
    }
    return out;
  };
  const set = (k, v) => {
    for (const tr of body.rows) {
      const [key, val] = tr.querySelectorAll("input");
      if (key.value.trim() === k) { val.value = String(v); return; }
    }
    addRow(k, String(v));
  };
  return { el, read, set };
}
