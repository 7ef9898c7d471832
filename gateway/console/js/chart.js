// Inline SVG charts: stacked bars per day and horizontal bars per model. Colours come
// from CSS classes s0…s7 so they follow the theme.

import { h, s } from "./dom.js";
import { day as fmtDay, num } from "./format.js";

const COLORS = 8;
const DAY = 86400;

/** A round axis maximum above `v`. */
function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function short(v) {
  if (v >= 1e9) return `${+(v / 1e9).toFixed(1)}B`;
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (v > 0 && v < 1) return String(+v.toPrecision(2));
  return String(+v.toFixed(2));
}

export { short };

export function legend(names) {
  return h("ul", { class: "legend" }, names.map((n, i) =>
    h("li", null, h("span", { class: `swatch s${i % COLORS}`, "aria-hidden": "true" }), n)));
}

/**
 * Groups `by_model_day` rows into days × series (top models, the rest as "other").
 * `metric` picks the field (quota, requests, prompt_tokens, …).
 */
export function dailySeries(rows, metric, fromDay, days) {
  const totals = new Map();
  for (const r of rows) totals.set(r.model_name, (totals.get(r.model_name) || 0) + (r[metric] || 0));
  const ranked = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a));
  const top = ranked.slice(0, COLORS - 1);
  const names = ranked.length > top.length ? [...top, "other"] : top;
  const dayList = Array.from({ length: days }, (_, i) => fromDay + i * DAY);
  const values = names.map(() => new Array(days).fill(0));
  for (const r of rows) {
    const di = Math.round((r.day - fromDay) / DAY);
    if (di < 0 || di >= days) continue;
    const si = top.includes(r.model_name) ? top.indexOf(r.model_name) : names.length - 1;
    values[si][di] += r[metric] || 0;
  }
  return { days: dayList, names, values };
}

/**
 * Stacked bars per day, drawn at `width` CSS pixels so text keeps its size.
 * `format` renders values for tooltips, `axis` for the y-axis labels.
 */
export function stackedBars({ days, names, values }, { label, format = num, axis = short, width = 640, empty = "No usage in this period yet." } = {}) {
  const sums = days.map((_, i) => values.reduce((acc, v) => acc + v[i], 0));
  const total = sums.reduce((a, b) => a + b, 0);
  if (!total) return h("p", { class: "chart-empty" }, empty);
  const max = niceMax(Math.max(...sums));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => max * f);
  const W = Math.max(260, width), H = 220, R = 6, T = 10, B = 24;
  const L = 10 + 7 * Math.max(...ticks.map((t) => axis(t).length));
  const band = (W - L - R) / days.length;
  const bw = Math.max(2, band * 0.7);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const grid = ticks.map((t) => [
    s("line", { class: "grid-line", x1: L, x2: W - R, y1: y(t), y2: y(t) }),
    s("text", { x: L - 6, y: y(t) + 4, "text-anchor": "end" }, axis(t)),
  ]);
  const every = Math.ceil(days.length / Math.max(2, Math.floor((W - L) / 56)));
  const bars = days.map((d, i) => {
    let acc = 0;
    const x = L + i * band + (band - bw) / 2;
    const segs = names.map((n, si) => {
      const v = values[si][i];
      if (!v) return null;
      const rect = s("rect", { class: `s${si % COLORS}`, x, width: bw, y: y(acc + v), height: y(acc) - y(acc + v), rx: 2 },
        s("title", null, `${fmtDay(d)} · ${n}: ${format(v)}`));
      acc += v;
      return rect;
    });
    const tick = i % every === 0 ? s("text", { x: x + bw / 2, y: H - 8, "text-anchor": "middle" }, fmtDay(d)) : null;
    return [segs, tick];
  });
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${label}: ${format(total)} over ${days.length} days` }, grid, bars);
  return h("div", null, svg, legend(names));
}

/** Horizontal bars, one per item {label, value}. */
export function hBars(items, { label, format = num, width = 640, empty = "No usage in this period yet." } = {}) {
  const list = items.filter((i) => i.value > 0).sort((a, b) => b.value - a.value).slice(0, 10);
  if (!list.length) return h("p", { class: "chart-empty" }, empty);
  const W = Math.max(260, width), row = 30;
  const L = Math.min(W * 0.35, 10 + 7 * Math.max(...list.map((i) => Math.min(22, i.label.length))));
  const R = 10 + 7 * Math.max(...list.map((i) => format(i.value).length));
  const H = list.length * row + 6;
  const max = Math.max(...list.map((i) => i.value));
  const bars = list.map((it, i) => {
    const w = Math.max(2, ((W - L - R) * it.value) / max);
    const yy = i * row + 4;
    const name = it.label.length > 22 ? `${it.label.slice(0, 21)}…` : it.label;
    return [
      s("text", { x: L - 8, y: yy + 17, "text-anchor": "end" }, name),
      s("rect", { class: `s${i % COLORS}`, x: L, y: yy + 4, width: w, height: row - 10, rx: 3 },
        s("title", null, `${it.label}: ${format(it.value)}`)),
      s("text", { x: L + w + 6, y: yy + 17 }, format(it.value)),
    ];
  });
  return s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${label}: ${list.map((i) => `${i.label} ${format(i.value)}`).join(", ")}` }, bars);
}
