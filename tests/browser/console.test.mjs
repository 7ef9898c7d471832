// End-to-end test of the web console in headless Chromium. Needs the debug binaries
// `gateway` and `mock-upstream` (see README) and Debian's /usr/bin/chromium.
// Run: npm ci && npm test   (screenshots land in ./artifacts)

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, startAll, stopAll } from "./harness.mjs";

const NEW_PASSWORD = "browser-test-password-1";
const MESSAGE = "Hello from the browser test";
const TIMEOUT = 15000;

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

async function shot(name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
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

describe("web console", { timeout: 180000 }, () => {
  before(async () => {
    env = await startAll();
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 860 } });
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

  step("admin signs in and must change the default password", async () => {
    await page.getByLabel("Password").fill("123456");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
    await shot("02-forced-password-change");
    await page.getByLabel("Current password").fill("123456");
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("Repeat new password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await page.locator("#balance-usd").waitFor();
    await shot("03-dashboard-empty");
  });

  step("admin creates a channel pointing at the mock upstream and tests it", async () => {
    await go("channels");
    await page.getByText("No channels yet").waitFor();
    await page.getByRole("button", { name: "New channel" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByLabel("Name").fill("mock upstream");
    // An API error shows inside the dialog, next to the button that caused it.
    await dlg.getByLabel("Type").selectOption("99");
    await dlg.getByLabel("API key").fill("sk-mock-upstream-key-0123456789");
    await dlg.getByRole("button", { name: "Create channel" }).click();
    await dlg.getByRole("alert").filter({ hasText: /base_url/ }).waitFor();
    await dlg.getByLabel("Type").selectOption("1");
    await dlg.getByLabel("Base URL").fill(env.mockUrl);
    await dlg.getByLabel("API key").fill("sk-mock-upstream-key-0123456789");
    await dlg.getByLabel("Models").fill("gpt-4o");
    await shot("04-channel-form");
    await dlg.getByRole("button", { name: "Create channel" }).click();
    await dlg.waitFor({ state: "detached" });
    const row = page.locator("tr", { hasText: "mock upstream" });
    await row.getByText("Enabled").waitFor();
    await row.getByRole("button", { name: "Test mock upstream" }).click();
    await page.locator(".row-msg.good", { hasText: "OK" }).waitFor();
    await shot("05-channels");
  });

  step("admin gives itself quota on the users page", async () => {
    await go("users");
    const row = page.locator("tr", { hasText: "admin" });
    await row.getByRole("button", { name: "Edit admin" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByLabel("Balance (quota)").fill("5000000");
    await dlg.getByRole("button", { name: "Save" }).click();
    await dlg.waitFor({ state: "detached" });
    await page.locator("tr", { hasText: "admin" }).getByText("$10.00").waitFor();
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
    await row.getByRole("button", { name: "Disable" }).click();
    await row.getByText("Disabled").waitFor();
    await row.getByRole("button", { name: "Enable" }).click();
    await row.getByText("Enabled").waitFor();
    await shot("08-keys");
  });

  step("playground streams a chat answer from the mock", async () => {
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
  });

  step("the request shows in the usage logs", async () => {
    await go("logs");
    const row = page.locator("tbody tr", { hasText: "gpt-4o" });
    await row.first().waitFor();
    assert.match(await row.first().innerText(), /stream/);
    assert.match(await row.first().innerText(), /browser test/);
    assert.equal(await page.locator("#total-requests").innerText(), "1");
    await page.getByLabel("Model", { exact: true }).fill("no-such-model");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("No requests match these filters.").waitFor();
    await page.getByRole("button", { name: "Reset" }).click();
    await row.first().waitFor();
    await shot("10-logs");
  });

  step("the balance went down and the charts show the usage", async () => {
    const afterQuota = await balance();
    assert.ok(afterQuota < env.before, `balance ${afterQuota} should be below ${env.before}`);
    await page.locator("svg.chart rect").first().waitFor();
    await page.locator("tbody tr", { hasText: "gpt-4o" }).first().waitFor();
    await shot("11-dashboard");
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
    await shot("12-settings");
  });

  step("account page", async () => {
    await go("account");
    await shot("13-account");
  });

  step("phone-sized screens get a menu button and stacked layout", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await balance();
    await page.locator("svg.chart").first().waitFor();
    await shot("14-phone-dashboard");
    const menu = page.getByRole("button", { name: /Menu/ });
    await menu.click();
    assert.equal(await menu.getAttribute("aria-expanded"), "true");
    await shot("15-phone-menu");
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    await shot("16-phone-keys");
    await go("playground");
    await page.locator(".msg").first().waitFor({ state: "detached" }).catch(() => {});
    await shot("17-phone-playground");
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  step("dark theme follows the system and the toggle", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    await go("dashboard");
    await page.locator("svg.chart").first().waitFor();
    await shot("18-dark-dashboard");
    const toggle = page.locator("#theme-toggle");
    assert.equal(await toggle.getAttribute("aria-pressed"), "true");
    await toggle.click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
    await toggle.click();
    await go("channels");
    await shot("19-dark-channels");
    await page.emulateMedia({ colorScheme: "light" });
  });

  step("keyboard users can sign out and register a new account", async () => {
    await page.locator("#logout").focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByRole("link", { name: "Create one" }).click();
    await page.getByRole("heading", { name: "Create account" }).waitFor();
    await shot("20-register");
    await page.getByLabel("Username").fill("alice");
    await page.keyboard.press("Tab");
    await page.keyboard.type("alice-password-1");
    await page.keyboard.press("Tab");
    await page.keyboard.type("alice-password-1");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await page.getByText("No requests yet").waitFor();
    assert.equal(await page.getByRole("link", { name: "Channels" }).count(), 0, "users see no admin pages");
    await shot("21-new-user-dashboard");
  });

  step("no script errors or CSP violations happened", async () => {
    assert.deepEqual(pageErrors, []);
  });
});
