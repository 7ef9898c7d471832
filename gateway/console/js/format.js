// Number, money and time formatting.

const nf = new Intl.NumberFormat();

export function num(n) {
  return nf.format(Number(n) || 0);
}

/** "1 request", "2 requests", "1,024 tokens". */
export function plural(n, one, many = `${one}s`) {
  return `${num(n)} ${Number(n) === 1 ? one : many}`;
}

/** Quota in USD (quota / quota_per_unit). */
export function usd(quota, perUnit) {
  const v = (Number(quota) || 0) / (Number(perUnit) || 500000);
  // Up to 6 decimals so that small charges stay visible ($9.999936, not $10.00).
  return `$${v.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 6 })}`;
}

export function dateTime(unix) {
  if (!unix) return "—";
  const d = new Date(unix * 1000);
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString(undefined, {
    year: sameYear ? undefined : "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

export function day(unix) {
  return new Date(unix * 1000).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}

export function ms(v) {
  if (v === null || v === undefined) return "—";
  return v >= 10000 ? `${(v / 1000).toFixed(1)} s` : `${num(v)} ms`;
}

/** Unix seconds → value for <input type="datetime-local">. */
export function toLocalInput(unix) {
  if (!unix) return "";
  const d = new Date(unix * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** <input type="datetime-local"> value → unix seconds, or null when empty. */
export function fromLocalInput(value) {
  if (!value) return null;
  const t = new Date(value).getTime();
  return Number.isFinite(t) ? Math.floor(t / 1000) : null;
}

/** "a, b ,c" → ["a","b","c"]. */
export function splitList(text) {
  return String(text || "").split(/[,\n]/).map((x) => x.trim()).filter(Boolean);
}
