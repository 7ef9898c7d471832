// End-to-end test of the web console in headless Chromium. Needs the debug binaries
// `gateway` and `mock-upstream` (see README) and Debian's /usr/bin/chromium.
// Run: npm ci && npm test   (screenshots land in ./artifacts)
//
// Tables are checked by geometry (layout.mjs) at 1280 px and at a phone's 390 px.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, MOCK_KEY, startAll, stopAll } from "./harness.mjs";
import { assertFits, openMenu, tableControls } from "./layout.mjs";

const NEW_PASSWORD = "browser-test-password-1";
const MESSAGE = "Hello from the browser test";
const TIMEOUT = 15000;
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
// A channel whose key the mock refuses: its test fails, and its long name and model
// must wrap inside their cells.
const BROKEN = "broken-upstream-with-a-deliberately-long-channel-name";
const LONG_MODEL = "a-very-long-model-name-without-any-spaces-that-must-wrap-inside-its-cell-0123456789";

let env;
let page;
let failed = false;
const pageErrors = [];

/** A test step that is skipped once an earlier step failed (they build on each other). */
function step(name, fn) {
  it(name, async (t) => {
    if (failed) return t.skip("an earlier step failed");
    try {
      await fn();
    } catch (e) {
      failed = true;
      if (page) await page.screenshot({ path: join(ARTIFACTS, `FAILED-${name.replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => {});
      throw e;
    }
  });
}

/** A screenshot; `full: false` keeps what is on screen (an open menu closes on scroll). */
async function shot(name, { full = true } = {}) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: full });
}

async function go(route) {
  await page.evaluate((r) => { location.hash = `#/${r}`; }, route);
  await page.locator("h1").first().waitFor();
}

/** The quota behind the dashboard's balance card. */
async function balance() {
  await go("dashboard");
  const card = page.locator("#balance-usd[data-quota]");
  await card.waitFor({ timeout: TIMEOUT });
  return Number(await card.getAttribute("data-quota"));
}

/** The getting-started steps as {channel: done?, …}, or null when the list is gone. */
async function checklist() {
  await go("dashboard");
  await page.locator("#period-card .value").waitFor();
  const items = page.locator("#getting-started li[data-step]");
  if (!(await items.count())) return null;
  const out = {};
  for (const li of await items.all()) out[await li.getAttribute("data-step")] = (await li.getAttribute("data-done")) === "true";
  return out;
}

/** A chat request with a key, as an app would send it (not through the console). */
async function chat(key, model, content = "hi") {
  const res = await fetch(`${env.gatewayUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content }] }),
  });
  await res.text();
  return res.status;
}

/** Calls the management API as the signed-in console user (for setup the UI has no form for). */
async function adminApi(method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const s = JSON.parse(sessionStorage.getItem("gw.session"));
    const res = await fetch(`/api${p}`, {
      method: m,
      headers: { Authorization: `Bearer ${s.token}`, "Content-Type": "application/json" },
      body: b === null ? undefined : JSON.stringify(b),
    });
    return { status: res.status, body: await res.json() };
  }, [method, path, body ?? null]);
}

/** Loads a table page and checks its geometry (the table must have controls). */
async function fits(route, label, minControls = 1) {
  await go(route);
  await page.locator(".table-wrap").first().waitFor();
  assert.ok(await tableControls(page) >= minControls, `${label}: the table has no controls to check`);
  await assertFits(page, label);
}

describe("web console", { timeout: 240000 }, () => {
  before(async () => {
    env = await startAll();
    const context = await env.browser.newContext({ viewport: DESKTOP });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: env.gatewayUrl }).catch(() => {});
    page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      // 4xx answers the test provokes on purpose show up as resource errors; keep the rest.
      if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await stopAll();
  });

  step("GET / keeps answering JSON to API clients and serves the console to browsers", async () => {
    for (const headers of [{}, { Accept: "application/json" }, { Accept: "*/*" }]) {
      const res = await fetch(`${env.gatewayUrl}/`, { headers });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type"), /application\/json/);
      assert.equal((await res.json()).service, "llm-gateway");
    }
    const res = await fetch(`${env.gatewayUrl}/`, { headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    assert.match(res.headers.get("content-type"), /text\/html/);
    assert.match(res.headers.get("content-security-policy"), /default-src 'self'/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const html = await res.text();
    const script = /src="(\/console\/[0-9a-f]+\/js\/main\.js)"/.exec(html);
    assert.ok(script, "the page loads a versioned main.js");
    const asset = await fetch(`${env.gatewayUrl}${script[1]}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get("content-type"), /text\/javascript/);
    assert.match(asset.headers.get("cache-control"), /immutable/);
    assert.equal(asset.headers.get("x-content-type-options"), "nosniff");
    const health = await fetch(`${env.gatewayUrl}/health`);
    assert.equal((await health.json()).status, "ok");
  });

  step("login page rejects a wrong password next to the form", async () => {
    await page.goto(`${env.gatewayUrl}/`);
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: /invalid|incorrect|wrong/i }).waitFor();
    await shot("01-login-error");
  });

  step("admin signs in, must change the first password, and sees the getting-started list", async () => {
    await page.getByLabel("Password").fill(env.adminPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
    await shot("02-forced-password-change");
    await page.getByLabel("Current password").fill(env.adminPassword);
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("Repeat new password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    assert.deepEqual(await checklist(), { channel: false, quota: false, key: false, request: false });
    assert.equal(await page.locator("#period-sub").innerText(), "0 requests · 0 tokens");
    await page.getByRole("link", { name: "Add a channel" }).waitFor();
    await shot("03-dashboard-empty");
  });

  step("admin creates a channel, fetching its models from the upstream, and tests it", async () => {
    await go("channels");
    await page.getByText("No channels yet").waitFor();
    await page.getByRole("button", { name: "New channel" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByLabel("Name").fill("mock upstream");
    // An API error shows inside the dialog, next to the button that caused it.
    await dlg.getByLabel("Type").selectOption("99");
    await dlg.getByLabel("API key").fill(MOCK_KEY);
    await dlg.getByRole("button", { name: "Create channel" }).click();
    await dlg.getByRole("alert").filter({ hasText: /base_url/ }).waitFor();
    await dlg.getByLabel("Type").selectOption("1");
    await dlg.getByLabel("Base URL").fill(env.mockUrl);
    await dlg.getByLabel("API key").fill(MOCK_KEY);
    // Several keys fit (one a line), and what is typed stays hidden like a password.
    assert.equal(await dlg.getByLabel("API key").evaluate((e) => e.tagName), "TEXTAREA");
    assert.equal(await dlg.getByLabel("API key").evaluate((e) => getComputedStyle(e).webkitTextSecurity), "disc");
    await dlg.getByRole("button", { name: "Fetch models" }).click();
    await dlg.getByText("Added 4 of 4 models the provider lists.").waitFor();
    const models = (await dlg.getByLabel("Models").inputValue()).split(/,\s*/);
    assert.deepEqual(models.sort(), ["gpt-3.5-turbo-instruct", "gpt-4o", "gpt-4o-mini", "text-embedding-3-small"]);
    assert.ok(!(await page.content()).includes(MOCK_KEY) || (await dlg.getByLabel("API key").inputValue()) === MOCK_KEY,
      "the key shows only in its own (password) field");
    await shot("04-channel-form-fetched-models");
    await dlg.getByRole("button", { name: "Create channel" }).click();
    await dlg.waitFor({ state: "detached" });
    const row = page.locator("tr", { hasText: "mock upstream" });
    await row.getByText("Enabled").waitFor();
    await row.getByText("never tested").waitFor();
    await row.getByRole("button", { name: "Test mock upstream" }).click();
    await row.locator(".badge", { hasText: "OK" }).waitFor();

    // A second channel with a key the mock refuses; it serves only LONG_MODEL.
    await page.getByRole("button", { name: "New channel" }).click();
    await dlg.getByLabel("Name").fill(BROKEN);
    await dlg.getByLabel("Base URL").fill(env.mockUrl);
    await dlg.getByLabel("API key").fill("sk-wrong-key-the-mock-refuses-0000");
    await dlg.getByLabel("Models").fill(LONG_MODEL);
    await dlg.getByRole("button", { name: "Fetch models" }).click();
    await dlg.locator(".row-msg.bad", { hasText: "401" }).waitFor();
    assert.ok(!(await dlg.locator(".row-msg").innerText()).includes("sk-wrong"), "the error does not echo the key");
    assert.equal(await dlg.getByLabel("Models").inputValue(), LONG_MODEL, "a failed fetch leaves the list alone");
    await dlg.getByRole("button", { name: "Create channel" }).click();
    await dlg.waitFor({ state: "detached" });
    await page.locator("tr", { hasText: BROKEN }).getByText("never tested").waitFor();
    await shot("05-channels");
  });

  step("admin gives itself quota on the users page and adds a user", async () => {
    await go("users");
    const row = page.locator("tr", { hasText: "admin" });
    await row.getByRole("button", { name: "Edit admin" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByLabel("Balance (quota)").fill("5000000");
    await dlg.getByRole("button", { name: "Save" }).click();
    await dlg.waitFor({ state: "detached" });
    await page.locator("tr", { hasText: "admin" }).getByText("$10.00").waitFor();
    await page.getByRole("button", { name: "New user" }).click();
    await dlg.getByLabel("Username").fill("bob");
    await dlg.getByLabel("Password", { exact: true }).fill("bob-password-1");
    await dlg.getByRole("button", { name: "Create user" }).click();
    await dlg.waitFor({ state: "detached" });
    const bob = page.locator("tr", { hasText: "bob" });
    const menu = await openMenu(page, bob, "More actions for bob");
    await shot("06-users-menu", { full: false });
    await menu.getByRole("menuitem", { name: "Disable" }).click();
    await bob.getByText("Disabled").waitFor();
    await fits("users", "Users");
    await shot("06-users");
  });

  step("user creates an API key and sees it once", async () => {
    await go("keys");
    await page.getByRole("button", { name: "New API key" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByLabel("Name").fill("browser test");
    await dlg.getByRole("button", { name: "Create key" }).click();
    const shown = page.locator("#new-key-value");
    await shown.waitFor();
    env.key = await shown.inputValue();
    assert.match(env.key, /^sk-[A-Za-z0-9]{48}$/);
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByText(/Copied|Ctrl\+C/).waitFor();
    await shot("07-key-created");
    await page.getByRole("button", { name: "Done" }).click();
    const row = page.locator("tr", { hasText: "browser test" });
    await row.getByText("Enabled").waitFor();
    assert.ok(!(await page.content()).includes(env.key), "the full key is not shown after the dialog closes");
    await (await openMenu(page, row, "More actions for browser test")).getByRole("menuitem", { name: "Disable" }).click();
    await row.getByText("Disabled").waitFor();
    await (await openMenu(page, row, "More actions for browser test")).getByRole("menuitem", { name: "Enable" }).click();
    await row.getByText("Enabled").waitFor();
    await row.getByText("0 requests").waitFor();
    await fits("keys", "API keys");
    await shot("08-keys");
    assert.deepEqual(await checklist(), { channel: true, quota: true, key: true, request: false });
  });

  step("playground streams a chat answer from the mock; the dashboard counts 1 request", async () => {
    env.before = await balance();
    assert.equal(env.before, 5000000);
    await go("playground");
    await page.getByLabel("API key").fill(env.key);
    await page.getByRole("button", { name: "Load models" }).click();
    await page.locator("#pg-model option[value='gpt-4o']").waitFor({ state: "attached" });
    await page.getByLabel("Model", { exact: true }).selectOption("gpt-4o");
    await page.getByRole("textbox", { name: "Message" }).fill(MESSAGE);
    await page.getByRole("button", { name: "Send" }).click();
    const answer = page.locator(".msg.assistant");
    await answer.locator(".text", { hasText: `Echo: ${MESSAGE}` }).waitFor();
    await answer.locator(".meta", { hasText: "tokens" }).waitFor();
    await shot("09-playground");
    assert.equal(await checklist(), null, "the list is gone after the first successful request");
    assert.match(await page.locator("#period-sub").innerText(), /^1 request · \d+ tokens$/);
  });

  step("failed requests: an upstream error and a refusal", async () => {
    // The broken channel is the only one serving LONG_MODEL: the mock answers 401.
    assert.equal(await chat(env.key, LONG_MODEL), 502);
    // Nobody serves this model: the gateway refuses before calling any upstream.
    const refused = await chat(env.key, "no-such-model");
    assert.ok(refused >= 400 && refused < 600, `refused with ${refused}`);
    env.refusedStatus = refused;
  });

  step("channels keep the failed test, test all reports each channel, and the table fits", async () => {
    await go("channels");
    const broken = page.locator("tr", { hasText: BROKEN });
    await broken.getByRole("button", { name: `Test ${BROKEN}` }).click();
    await broken.locator(".badge", { hasText: "Failed" }).waitFor();
    await broken.getByText(/401/).first().waitFor();
    // Still there after a reload: the outcome is stored, not only shown once.
    await go("account");
    await go("channels");
    await broken.locator(".badge", { hasText: "Failed" }).waitFor();
    await page.getByRole("button", { name: "Test all channels" }).click();
    await page.locator("#test-all-summary", { hasText: "Tested 2 channels: 1 passed, 1 failed." }).waitFor();
    await page.locator("tr", { hasText: "mock upstream" }).locator(".badge", { hasText: "OK" }).waitFor();
    await assertFits(page, "Channels");
    await shot("10-channels-tested");
    const menu = await openMenu(page, broken, `More actions for ${BROKEN}`);
    await assertFits(page, "Channels with a menu open");
    await shot("10-channels-menu", { full: false });
    await menu.getByRole("menuitem", { name: "Edit" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByRole("button", { name: "Cancel" }).click();
    await dlg.waitFor({ state: "detached" });
  });

  step("usage logs filter by outcome and status code, and the table fits", async () => {
    await go("logs");
    const rows = page.locator("tbody tr");
    await rows.first().waitFor();
    assert.equal(await page.locator("#total-requests").innerText(), "3");
    await assertFits(page, "Usage logs");
    await shot("11-logs");
    const filter = async (outcome, status, expect) => {
      await page.getByLabel("Outcome").selectOption(outcome);
      await page.getByLabel("Status code").fill(status);
      await page.getByRole("button", { name: "Apply" }).click();
      // The button is busy until the list and the totals are back.
      await page.locator("#log-apply:not([aria-busy])").waitFor();
      assert.equal(await page.locator("#total-requests").innerText(), String(expect));
    };
    await filter("success", "", 1);
    assert.match(await rows.first().innerText(), /gpt-4o[\s\S]*browser test|browser test[\s\S]*gpt-4o/);
    assert.match(await rows.first().innerText(), /stream/);
    // The price applied: gpt-4o's built-in ratio ($2.50 per million input tokens).
    assert.equal(await rows.first().locator(".log-price").innerText(), "×1.25 (built-in)");
    await filter("error", "", 1);
    assert.match(await rows.first().innerText(), /502[\s\S]*credentials/);
    await filter("refused", "", 1);
    assert.match(await rows.first().innerText(), /no-such-model/);
    await filter("", String(env.refusedStatus), 1);
    await filter("success", "502", 0);
    await page.getByText("No requests match these filters.").waitFor();
    await page.getByRole("button", { name: "Reset" }).click();
    await page.locator("#total-requests", { hasText: /^3$/ }).waitFor();
    await page.getByLabel("Model", { exact: true }).fill("no-such-model");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.locator("#total-requests", { hasText: /^1$/ }).waitFor();
    await page.getByRole("button", { name: "Reset" }).click();
  });

  step("the balance went down and the charts show the usage", async () => {
    const afterQuota = await balance();
    assert.ok(afterQuota < env.before, `balance ${afterQuota} should be below ${env.before}`);
    await page.locator("svg.chart rect").first().waitFor();
    await page.locator("tbody tr", { hasText: "gpt-4o" }).first().waitFor();
    assert.match(await page.locator("#period-sub").innerText(), /^3 requests · \d+ tokens$/);
    await shot("12-dashboard");
  });

  step("settings edit ratios as tables and save", async () => {
    await go("settings");
    const table = page.locator("#opt-model-ratio");
    await table.getByRole("button", { name: "Add model" }).click();
    await table.getByLabel("Model").last().fill("gpt-4o");
    await table.getByLabel("Ratio").last().fill("2.5");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.locator(".toast", { hasText: "Settings saved" }).waitFor();
    await go("account");
    await go("settings");
    assert.equal(await page.locator("#opt-model-ratio").getByLabel("Ratio").last().inputValue(), "2.5");
    await shot("13-settings");
  });

  step("built-in prices: a row overridden into the cache ratio tables and saved", async () => {
    await go("settings");
    const row = page.locator("tbody tr", { hasText: "claude-sonnet-4-5" });
    await row.getByRole("button", { name: "Override claude-sonnet-4-5" }).click();
    const read = page.locator("#opt-cache-read-ratio");
    assert.equal(await read.getByLabel("Model").last().inputValue(), "claude-sonnet-4-5");
    assert.equal(await read.getByLabel("Ratio").last().inputValue(), "0.1");
    assert.equal(await page.locator("#opt-cache-write-1h-ratio").getByLabel("Ratio").last().inputValue(), "2");
    await read.getByLabel("Ratio").last().fill("0.2");
    await page.getByRole("button", { name: "Save settings" }).click();
    // The previous step's toast may still be fading out.
    await page.locator(".toast", { hasText: "Settings saved" }).last().waitFor();
    await go("account");
    await go("settings");
    assert.equal(await page.locator("#opt-cache-read-ratio").getByLabel("Ratio").last().inputValue(), "0.2");
    // The table shows the ratio in force, now the operator's.
    const cells = await page.locator("tbody tr", { hasText: "claude-sonnet-4-5" }).locator("td").allInnerTexts();
    assert.equal(cells[4], "0.2", cells.join(" | "));
  });

  step("limits: key and user forms take limits, spend shows against budgets, channels show cool-downs", async () => {
    await go("keys");
    let row = page.locator("tr", { hasText: "browser test" });
    await row.getByRole("button", { name: "Edit browser test" }).click();
    let dlg = page.getByRole("dialog");
    await dlg.getByLabel("Requests / minute").fill("60");
    await dlg.getByLabel("Daily budget").fill("1000000");
    await dlg.locator("#key-daily-budget-hint", { hasText: "$2.00" }).waitFor();
    await assertFits(page, "Key form with limits");
    await shot("13a-key-limits");
    await dlg.getByRole("button", { name: "Save" }).click();
    await dlg.waitFor({ state: "detached" });
    await row.getByText("60 RPM · $2.00/day").waitFor();
    // Spend counts against the budget from now on.
    assert.equal(await chat(env.key, "gpt-4o"), 200);
    await row.getByRole("button", { name: "Edit browser test" }).click();
    dlg = page.getByRole("dialog");
    assert.equal(await dlg.getByLabel("Requests / minute").inputValue(), "60");
    const today = dlg.locator("#key-budget-usage .budget[data-period=daily]");
    await today.waitFor();
    const text = await today.innerText();
    assert.match(text, /^Today: \$[\d.,]+ of \$2\.00 \(\d+%\)$/);
    assert.doesNotMatch(text, /^Today: \$0\.00 /, "the request's spend is counted");
    await shot("13b-key-budget-usage");
    await dlg.getByRole("button", { name: "Cancel" }).click();
    await dlg.waitFor({ state: "detached" });

    await go("users");
    row = page.locator("tr", { hasText: "admin" });
    await row.getByRole("button", { name: "Edit admin" }).click();
    dlg = page.getByRole("dialog");
    await dlg.getByLabel("Monthly budget").fill("50000000");
    await dlg.getByLabel("Concurrent requests").fill("4");
    await assertFits(page, "User form with limits");
    await dlg.getByRole("button", { name: "Save" }).click();
    await dlg.waitFor({ state: "detached" });
    await page.locator("tr", { hasText: "admin" }).getByText("4 at once · $100.00/month").waitFor();
    await fits("users", "Users with limits");

    // A channel with two keys whose upstream does not answer: each failure cools a key
    // down for longer; the channels page says until when, per key.
    const made = await adminApi("POST", "/channel", {
      type: 1, name: "cooling upstream", base_url: "http://127.0.0.1:9", models: ["cool-model"],
      key: "sk-first-dead-key-0000000001\nsk-second-dead-key-000000002", use_relay: false,
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    for (let i = 0; i < 10; i++) assert.ok((await chat(env.key, "cool-model")) >= 500);
    const health = await adminApi("GET", "/channel/health");
    const mine = health.body.data.channels.find((c) => c.id === made.body.data.id);
    assert.equal(mine.keys.length, 2);
    assert.ok(mine.cooling_until > Date.now(), JSON.stringify(mine));
    assert.ok(mine.keys.every((k) => k.state === "cooling" && k.cooling_until > Date.now()), JSON.stringify(mine));
    assert.ok(!JSON.stringify(health.body).includes("dead-key"), "keys are not shown");
    await go("channels");
    const cooling = page.locator("tr", { hasText: "cooling upstream" });
    await cooling.locator(".badge", { hasText: "Cooling down" }).waitFor();
    await cooling.locator(".cooling-until", { hasText: /^until \d/ }).waitFor();
    await cooling.getByText("0 of 2 keys ready").click();
    await cooling.locator("li.key-cooling", { hasText: /^key 1 …0001: cooling until / }).waitFor();
    await cooling.locator("li.key-cooling", { hasText: /^key 2 …0002: cooling until / }).waitFor();
    await page.locator("tr", { hasText: "mock upstream" }).first().locator(".badge", { hasText: "Ready" }).waitFor();
    assert.equal(await page.locator("tr", { hasText: BROKEN }).locator(".badge", { hasText: "Ready" }).count(), 0, "a disabled channel is not 'Ready'");
    await assertFits(page, "Channels with health");
    await shot("13c-channels-health");
  });

  step("phone-sized screens: menu button, stacked tables, nothing clipped", async () => {
    await page.setViewportSize(PHONE);
    await balance();
    await page.locator("svg.chart").first().waitFor();
    await assertFits(page, "Dashboard");
    await shot("14-phone-dashboard");
    const menu = page.getByRole("button", { name: /Menu/ });
    await menu.click();
    assert.equal(await menu.getAttribute("aria-expanded"), "true");
    await shot("15-phone-menu");
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    await fits("keys", "API keys");
    await shot("16-phone-keys");
    await fits("channels", "Channels", 4);
    await shot("17-phone-channels");
    await openMenu(page, page.locator("tr", { hasText: BROKEN }), `More actions for ${BROKEN}`);
    await shot("17-phone-channels-menu", { full: false });
    await page.keyboard.press("Escape");
    await fits("users", "Users");
    await shot("18-phone-users");
    await go("logs");
    await page.locator("tbody tr").first().waitFor();
    await assertFits(page, "Usage logs");
    await shot("19-phone-logs");
    await go("playground");
    await shot("20-phone-playground");
    await page.setViewportSize(DESKTOP);
  });

  step("dark theme follows the system and the toggle", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    await go("dashboard");
    await page.locator("svg.chart").first().waitFor();
    await shot("21-dark-dashboard");
    const toggle = page.locator("#theme-toggle");
    assert.equal(await toggle.getAttribute("aria-pressed"), "true");
    await toggle.click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
    await toggle.click();
    await go("channels");
    await shot("22-dark-channels");
    await page.emulateMedia({ colorScheme: "light" });
  });

  step("keyboard users can sign out and register a new account", async () => {
    await page.locator("#logout").focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByRole("link", { name: "Create one" }).click();
    await page.getByRole("heading", { name: "Create account" }).waitFor();
    await shot("23-register");
    await page.getByLabel("Username").fill("alice");
    await page.keyboard.press("Tab");
    await page.keyboard.type("alice-password-1");
    await page.keyboard.press("Tab");
    await page.keyboard.type("alice-password-1");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await page.getByText("No requests yet").waitFor();
    assert.equal(await page.getByRole("link", { name: "Channels" }).count(), 0, "users see no admin pages");
    // A user's list: the admin's steps are facts, not links.
    assert.deepEqual(await checklist(), { channel: true, quota: false, key: false, request: false });
    await page.getByText("An administrator sets a balance on your account.").waitFor();
    await shot("24-new-user-dashboard");
  });

  step("a refused request: the cards and the charts tell the same story", async () => {
    await go("keys");
    await page.getByRole("button", { name: "New API key" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByLabel("Name").fill("alice key");
    await dlg.getByRole("button", { name: "Create key" }).click();
    const key = await page.locator("#new-key-value").inputValue();
    await page.getByRole("button", { name: "Done" }).click();
    // alice has no quota: refused, nothing billed, no tokens.
    const status = await chat(key, "gpt-4o");
    assert.ok(status >= 400, `alice without quota got ${status}`);
    await go("dashboard");
    await page.locator("#period-sub", { hasText: "1 request · 0 tokens" }).waitFor();
    await page.locator(".chart-empty").first().waitFor();
    for (const text of await page.locator(".chart-empty").allInnerTexts()) {
      assert.equal(text, "1 request in this period, costing $0.00.");
    }
    await page.getByLabel("Show").selectOption("requests");
    await page.locator("svg.chart rect").first().waitFor();
    await shot("25-refused-request-dashboard");
    assert.deepEqual(await checklist(), { channel: true, quota: false, key: true, request: false });
  });

  step("no script errors or CSP violations happened", async () => {
    assert.deepEqual(pageErrors, []);
  });
});
