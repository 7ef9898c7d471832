// The management API client and the login session.
//
// The session (JWT + user) lives in sessionStorage: it is gone when the tab closes, is
// not shared with other tabs, and a stolen copy of the browser profile does not carry a
// live admin token. Sessions are short (TOKEN_EXPIRY_HOURS) anyway.

const SESSION_KEY = "gw.session";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    } catch {
      return null;
    }
  },
  set(token, user) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token, user }));
  },
  setUser(user) {
    const cur = this.get();
    if (cur) this.set(cur.token, user);
  },
  clear() {
    sessionStorage.removeItem(SESSION_KEY);
  },
};

let onUnauthorized = () => {};
/** Called when a request with a session answers 401 (expired or revoked JWT). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

async function parse(res) {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** Calls `/api{path}` and returns `data`, or throws ApiError with the server's message. */
export async function api(method, path, body, { auth = true } = {}) {
  const headers = { Accept: "application/json" };
  const cur = session.get();
  if (auth && cur) headers.Authorization = `Bearer ${cur.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError("Cannot reach the gateway. Check your connection.", 0);
  }
  const json = await parse(res);
  if (res.ok && json && json.success !== false) return json.data;
  const message = (json && (json.message || json.error?.message)) || `Request failed (HTTP ${res.status})`;
  if (res.status === 401 && auth && cur) onUnauthorized(message);
  throw new ApiError(message, res.status);
}

/** Builds a query string from the non-empty entries of an object. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
