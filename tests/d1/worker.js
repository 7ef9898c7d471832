// A local stand-in for Cloudflare's D1 query API, served by `wrangler dev --local` over real
// (local) D1 bindings, so the gateway's D1 client is exercised end to end in tests.
//
//   POST /client/v4/accounts/:account/d1/database/:db/query
//        {"sql": "...", "params": [...]}  or  {"batch": [{"sql", "params"}, ...]}
//   -> {"success", "errors", "messages", "result": [{"results", "success", "meta"}]}
//
// `:db` names one of the bindings DB0..DBn (case-insensitive: "db7" is DB7). A single `sql`
// without params may hold several statements; like the real API, they run as one batch.
//
// Test isolation: the POOL binding holds a lease table. `POST /client/v4/__test/pool/acquire`
// leases the free database released longest ago, wipes it (drops every table, including
// d1_migrations) and returns its name; `POST /client/v4/__test/pool/release/:db` frees it.
// Leases live in D1, so they hold across test processes; a lease older than LEASE_TTL_MS is
// reclaimed in case a test process died without releasing it.

const QUERY_PATH = /^\/client\/v4\/accounts\/([^/]+)\/d1\/database\/([^/]+)\/query$/;
const ACQUIRE_PATH = "/client/v4/__test/pool/acquire";
const RELEASE_PATH = /^\/client\/v4\/__test\/pool\/release\/([^/]+)$/;
const LEASE_TTL_MS = 20 * 60 * 1000;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/health") {
      return new Response("ok");
    }
    if (request.headers.get("authorization") !== `Bearer ${env.API_TOKEN}`) {
      // What Cloudflare answers for a missing or wrong API token.
      return envelope(400, null, [{ code: 10000, message: "Authentication error" }]);
    }
    if (request.method !== "POST") {
      return envelope(405, null, [{ code: 10405, message: "Method not allowed" }]);
    }
    let match = url.pathname.match(QUERY_PATH);
    if (match) {
      const db = database(env, match[2]);
      if (!db) {
        return envelope(404, null, [{ code: 7404, message: "The database could not be found" }]);
      }
      return query(db, request);
    }
    if (url.pathname === ACQUIRE_PATH) {
      return acquire(env);
    }
    match = url.pathname.match(RELEASE_PATH);
    if (match) {
      await ensurePool(env);
      await env.POOL.prepare("UPDATE pool SET leased_at = NULL, released_at = ? WHERE name = ?")
        .bind(Date.now(), match[1].toLowerCase())
        .run();
      return envelope(200, [], []);
    }
    return envelope(404, null, [{ code: 7000, message: "No route for that URI" }]);
  },
};

function envelope(status, result, errors) {
  return Response.json(
    { result, success: errors.length === 0, errors, messages: [] },
    { status },
  );
}

function poolNames(env) {
  return Object.keys(env)
    .filter((k) => /^DB\d+$/.test(k))
    .map((k) => k.toLowerCase());
}

function database(env, name) {
  const key = String(name).toUpperCase();
  return /^DB\d+$/.test(key) ? env[key] : undefined;
}

function statement(db, q) {
  if (!q || typeof q.sql !== "string") {
    throw new TypeError("each query needs a string `sql`");
  }
  const params = Array.isArray(q.params) ? q.params : [];
  return db.prepare(q.sql).bind(...params);
}

function shape(r) {
  return { results: r.results ?? [], success: r.success !== false, meta: r.meta ?? {} };
}

async function query(db, request) {
  let body;
  try {
    body = await request.json();
  } catch {
    return envelope(400, null, [{ code: 7400, message: "Request body is not valid JSON" }]);
  }
  try {
    let statements;
    if (Array.isArray(body.batch)) {
      statements = body.batch.map((q) => statement(db, q));
    } else if (!Array.isArray(body.params) || body.params.length === 0) {
      // Several statements in one text run as a batch, as on Cloudflare.
      statements = splitStatements(String(body.sql ?? "")).map((sql) => db.prepare(sql));
    } else {
      statements = [statement(db, body)];
    }
    if (statements.length === 0) {
      return envelope(400, null, [{ code: 7500, message: "No SQL statement given" }]);
    }
    const results = await db.batch(statements);
    return envelope(200, results.map(shape), []);
  } catch (e) {
    const message = String(e?.cause?.message ?? e?.message ?? e);
    return envelope(400, null, [{ code: 7500, message }]);
  }
}

// Splits SQL text on top-level semicolons, skipping quotes, comments and trigger bodies.
function splitStatements(sql) {
  const out = [];
  let start = 0;
  let depth = 0; // BEGIN ... END nesting inside CREATE TRIGGER
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`" || c === "[") {
      const close = c === "[" ? "]" : c;
      i = sql.indexOf(close, i + 1);
      if (i < 0) break;
      i += 1;
    } else if (c === "-" && sql[i + 1] === "-") {
      i = sql.indexOf("\n", i);
      if (i < 0) break;
    } else if (c === "/" && sql[i + 1] === "*") {
      i = sql.indexOf("*/", i + 2);
      if (i < 0) break;
      i += 2;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j])) j += 1;
      const word = sql.slice(i, j).toUpperCase();
      if (word === "BEGIN" && /\bTRIGGER\b/i.test(sql.slice(start, i))) depth += 1;
      if (word === "END" && depth > 0) depth -= 1;
      i = j;
    } else if (c === ";" && depth === 0) {
      out.push(sql.slice(start, i));
      start = i + 1;
      i += 1;
    } else {
      i += 1;
    }
  }
  out.push(sql.slice(start));
  return out.filter((s) => s.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, "").trim() !== "");
}

async function ensurePool(env) {
  const names = poolNames(env);
  await env.POOL.batch([
    env.POOL.prepare(
      "CREATE TABLE IF NOT EXISTS pool (name TEXT PRIMARY KEY, leased_at INTEGER, released_at INTEGER NOT NULL DEFAULT 0)",
    ),
    ...names.map((n) =>
      env.POOL.prepare("INSERT INTO pool (name) VALUES (?) ON CONFLICT (name) DO NOTHING").bind(n),
    ),
  ]);
}

async function acquire(env) {
  await ensurePool(env);
  const now = Date.now();
  // One statement, so two concurrent acquires never get the same database.
  const leased = await env.POOL.prepare(
    "UPDATE pool SET leased_at = ? WHERE name = (SELECT name FROM pool " +
      "WHERE leased_at IS NULL OR leased_at < ? ORDER BY leased_at IS NOT NULL, released_at, name LIMIT 1) " +
      "RETURNING name",
  )
    .bind(now, now - LEASE_TTL_MS)
    .first();
  if (!leased) {
    return envelope(503, null, [{ code: 7503, message: "every test database is leased" }]);
  }
  const db = database(env, leased.name);
  try {
    await wipe(db);
  } catch (e) {
    await env.POOL.prepare("UPDATE pool SET leased_at = NULL WHERE name = ?").bind(leased.name).run();
    return envelope(500, null, [{ code: 7500, message: `wipe failed: ${e?.message ?? e}` }]);
  }
  return envelope(200, { name: leased.name }, []);
}

async function wipe(db) {
  const { results } = await db
    .prepare(
      "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') " +
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
    )
    .all();
  if (results.length === 0) return;
  const drops = results.map((r) =>
    db.prepare(`DROP ${r.type === "view" ? "VIEW" : "TABLE"} IF EXISTS "${r.name.replaceAll('"', '""')}"`),
  );
  // Tables reference each other; foreign keys are checked only at the end of the batch.
  await db.batch([db.prepare("PRAGMA defer_foreign_keys = on"), ...drops]);
}
